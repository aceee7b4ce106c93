"""Between-run noise: the change a whole run shares, taken out before judging one configuration.

Why: the t test over a run's trials sees within-run noise only. Between two
runs a phone's thermal state, background load or governor can change, and
that moves *every* configuration of the run by about the same factor; two
runs of identical code were once called a regression (+33.6%, p=0.0037) that
way. One pair of runs cannot say how large such a shift may be, but it shows
it: the other configurations moved too.

Method (docs/ci.md "Between-run noise"): on one device, with at least
MIN_CONFIGS configurations that have two ok trials on each side, the shift
shared by the run is the median log ratio over its configurations (a median,
so that a minority of configurations that really changed does not move it;
leaving each one out instead lets one regression push the others' shift and
call them improved when only three are measured). Each configuration's own
change is its log ratio minus that shift; its standard error adds the
uncertainty of the median (pi/2 * mean se^2 / k, ignoring the covariance with
the configuration itself, which only shrinks it) and an allowance for
configurations not moving by exactly the same factor (SHARE_SPREAD x the
shift, one standard error). Estimating that spread from the configurations'
scatter instead (a MAD over six of them) cost a tenth of the power against a
10% slowdown (benchmarks/bench_check_power.py). The own change is decided by
the same rules as the plain test (threshold and confidence);
`harness.compare.check` says how the two verdicts combine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.compare.stats import Effect, median

MIN_CONFIGS = 3  # with fewer, a configuration's change cannot be told from the run's
# Configurations do not move by exactly the same factor when a device changes (a
# throttle costs a long model more than a short one): their shares of a shift are
# allowed to differ by this fraction of it (one standard error). 0.1 cost 7 points
# of power against a 10% slowdown for no fewer false alarms in the realistic model.
SHARE_SPREAD = 0.05


@dataclass(frozen=True)
class OwnChange:
    """One configuration's change with the run's shared shift taken out."""

    effect: Effect  # log_ratio: own change; se: within-run, median and share terms
    shift: float  # log ratio shared by the run's configurations (their median)


def own_changes(effects: Sequence[Effect]) -> list[OwnChange] | None:
    """Each effect relative to the median of all; None below MIN_CONFIGS effects."""
    k = len(effects)
    if k < MIN_CONFIGS:
        return None
    shift = median([e.log_ratio for e in effects])
    assert shift is not None  # k >= MIN_CONFIGS > 0
    # Variance of a median of k estimates ~ pi/2 x their mean variance / k.
    var_shift = math.pi / 2.0 * sum(e.se * e.se for e in effects) / (k * k)
    spread = SHARE_SPREAD * abs(shift)
    out = []
    for eff in effects:
        se = math.sqrt(eff.se * eff.se + var_shift + spread * spread)
        own = Effect(eff.log_ratio - shift, se, eff.df, eff.n_baseline, eff.n_current)
        out.append(OwnChange(own, shift))
    return out


def shared_shift(effects: Sequence[Effect]) -> float | None:
    """The run's shift as a ratio (median over configurations), None below MIN_CONFIGS."""
    if len(effects) < MIN_CONFIGS:
        return None
    m = median([e.log_ratio for e in effects])
    return None if m is None else math.exp(m)
