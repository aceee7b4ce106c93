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
so that a minority of configurations that really changed does not move it).
Each configuration's own change is its log ratio minus that shift. Its
standard error has four parts:

- its within-run variance, a third its own and two thirds the device's mean
  over all k configurations (degrees of freedom by Satterthwaite's formula):
  5+5 trials estimate a variance poorly, and the family-wise level below
  would otherwise need the far tail of a t with 8 degrees of freedom (with
  OWN_WEIGHT = 1, the benchmark's simulation flags a 10% slowdown at 22
  configurations in 68% of checks, not 91%); the third
  of its own keeps a configuration that is noisier than the others from
  being judged by their noise alone;
- the uncertainty of the median (pi/2 * mean se^2 / k);
- SHARE_SPREAD x the shift: configurations do not move by exactly the same
  factor when a device changes;
- OWN_SPREAD: each configuration also moves a little on its own between runs.

A device's configurations share one false-alarm budget (Bonferroni): each own
change is decided at level (1 - confidence) / k, by the same rules as the
plain test otherwise; `harness.compare.check` says how the verdicts combine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.compare.stats import Effect, median

MIN_CONFIGS = 3  # with fewer, a configuration's change cannot be told from the run's
# Configurations do not move by exactly the same factor when a device changes (a
# throttle costs a long model more than a short one): their shares of a shift are
# allowed to differ by this fraction of it (one standard error).
SHARE_SPREAD = 0.05
OWN_WEIGHT = 1.0 / 3.0  # a configuration's own variance's weight; the device mean has the rest
# A configuration's own movement between two runs, as a log-scale standard deviation:
# the noise model's 0.5% per run (benchmarks/bench_check_power.py), times sqrt(2) for two.
OWN_SPREAD = 0.007


@dataclass(frozen=True)
class OwnChange:
    """One configuration's change with the run's shared shift taken out."""

    effect: Effect  # log_ratio: own change; se and df as the module docstring says
    shift: float  # log ratio shared by the run's configurations (their median)


def family_confidence(confidence: float, k: int) -> float:
    """The level each of k own changes is decided at: one 1 - confidence budget for all k."""
    return 1.0 - (1.0 - confidence) / k


def _trial_variance(e: Effect) -> float:
    """The pooled within-run variance of one configuration's log latencies."""
    return e.se * e.se / (1.0 / e.n_baseline + 1.0 / e.n_current)


def _moderated(effects: Sequence[Effect]) -> list[tuple[float, int]]:
    """Each configuration's trial variance shrunk towards the device's mean, with its df.

    Weights: OWN_WEIGHT on its own, the rest spread evenly over all k (itself
    included); degrees of freedom by Satterthwaite (1 / sum of weight^2 / df),
    rounded down, assuming the configurations' true variances are alike.
    """
    k = len(effects)
    variances = [_trial_variance(e) for e in effects]
    mean_var = sum(variances) / k
    share = (1.0 - OWN_WEIGHT) / k
    out = []
    for i, v in enumerate(variances):
        weights = [share + (OWN_WEIGHT if j == i else 0.0) for j in range(k)]
        df = 1.0 / sum(w * w / o.df for w, o in zip(weights, effects, strict=True))
        out.append((OWN_WEIGHT * v + (1.0 - OWN_WEIGHT) * mean_var, int(df)))
    return out


def own_changes(effects: Sequence[Effect]) -> list[OwnChange] | None:
    """Each effect relative to the median of all; None below MIN_CONFIGS effects."""
    k = len(effects)
    if k < MIN_CONFIGS:
        return None
    shift = median([e.log_ratio for e in effects])
    assert shift is not None  # k >= MIN_CONFIGS > 0
    moderated = _moderated(effects)
    se2 = [
        v * (1.0 / e.n_baseline + 1.0 / e.n_current)
        for e, (v, _) in zip(effects, moderated, strict=True)
    ]
    # Variance of a median of k estimates ~ pi/2 x their mean variance / k.
    var_shift = math.pi / 2.0 * sum(se2) / (k * k)
    spread2 = (SHARE_SPREAD * shift) ** 2 + OWN_SPREAD**2
    out = []
    for eff, s2, (_, df) in zip(effects, se2, moderated, strict=True):
        se = math.sqrt(s2 + var_shift + spread2)
        own = Effect(eff.log_ratio - shift, se, df, eff.n_baseline, eff.n_current)
        out.append(OwnChange(own, shift))
    return out


def shared_shift(effects: Sequence[Effect]) -> float | None:
    """The run's shift as a ratio (median over configurations), None below MIN_CONFIGS."""
    if len(effects) < MIN_CONFIGS:
        return None
    m = median([e.log_ratio for e in effects])
    return None if m is None else math.exp(m)
