"""Is a configuration slower or faster than its baseline? Intervals and verdicts.

The test: Student's two-sample t on the logarithms of the trial latencies
(pooled variance), giving a confidence interval on the ratio of geometric
means (current / baseline). Why this and not a rank test or a bootstrap:

- A trial's latency is already the mean of tens of timed runs, so trial
  values are close to normal; on the log scale a slowdown is a shift and
  the interval is on the ratio people read ("12% slower").
- With the default 5 trials per side, Mann-Whitney U cannot reach p < 0.01
  unless the two samples do not overlap at all (smallest two-sided p is
  2/252), and a bootstrap of 5 values has a handful of distinct medians and
  under-covers. Neither reaches the power the CI gate needs at CV 3%.
- Pooled rather than Welch: baseline and current come from the same setup
  with equal trial counts, where the pooled t is robust to unequal variances
  and has twice the degrees of freedom at n=5.

Each verdict is a one-sided question at level `1 - confidence` (a slowdown
gate is one-sided), so `ci_low` and `ci_high` are each a one-sided
`confidence` bound; together they form the (2*confidence - 1) interval used
by the two one-sided tests of equivalence (TOST). A change counts only when
it is both larger than the threshold and significant (asv's rule).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from scipy import stats as _sps

from harness.errors import HarnessError

Verdict = Literal[
    "regression", "improvement", "unchanged", "inconclusive", "failed", "missing", "new"
]
VERDICTS: tuple[Verdict, ...] = (
    "regression",
    "improvement",
    "unchanged",
    "inconclusive",
    "failed",
    "missing",
    "new",
)
METHOD = (
    "Student t on log latencies (pooled variance), one-sided at the confidence level; "
    "effect = ratio of geometric means, must also exceed the threshold; with 3 or more "
    "configurations on a device, each is also judged against the shift the run's other "
    "configurations share (their median), so a device change does not pass for a regression"
)
MIN_TRIALS = 2  # a variance needs two values per side


class StatsInputError(HarnessError):
    """A threshold, confidence or latency value that the test cannot use."""


@dataclass(frozen=True)
class StatResult:
    """The outcome of comparing one configuration's trials (see module docstring)."""

    verdict: Verdict
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_baseline: int
    n_current: int
    reason: str


def validate_threshold(threshold: float) -> float:
    """A threshold is a fraction in (0, 1): 0.05 means 5%."""
    if not (isinstance(threshold, (int, float)) and 0.0 < threshold < 1.0):
        raise StatsInputError(f"threshold must be a fraction between 0 and 1, got {threshold!r}")
    return float(threshold)


def validate_confidence(confidence: float) -> float:
    """A confidence level in [0.5, 1): 0.99 means 99%."""
    if not (isinstance(confidence, (int, float)) and 0.5 <= confidence < 1.0):
        raise StatsInputError(f"confidence must be between 0.5 and 1, got {confidence!r}")
    return float(confidence)


@lru_cache(maxsize=256)
def _t_quantile(confidence: float, df: int) -> float:
    # Cached: the same (confidence, df) pair recurs for every configuration.
    return float(_sps.t.ppf(confidence, df))


def _logs(values: Sequence[float], side: str) -> list[float]:
    out = []
    for v in values:
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise StatsInputError(f"{side} latency {v!r} is not a positive finite number")
        out.append(math.log(v))
    return out


def _mean_var(xs: Sequence[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    ss = sum((x - m) ** 2 for x in xs)
    return m, ss


def _pct(r: float) -> str:
    return f"{(r - 1.0) * 100:+.1f}%"


@dataclass(frozen=True)
class Effect:
    """A change on the log scale: estimate, its standard error and degrees of freedom.

    `compare_samples` builds one from two trial sets; the check builds another
    for the same configuration relative to the run's shared shift
    (`harness.compare.shift`) and decides both with `decide`.
    """

    log_ratio: float
    se: float
    df: int
    n_baseline: int
    n_current: int


def effect(baseline: Sequence[float], current: Sequence[float]) -> Effect | None:
    """The pooled-t effect of `current` over `baseline`, None with fewer than 2 trials a side."""
    lb, lc = _logs(baseline, "baseline"), _logs(current, "current")
    nb, nc = len(lb), len(lc)
    if nb < MIN_TRIALS or nc < MIN_TRIALS:
        return None
    mb, ssb = _mean_var(lb)
    mc, ssc = _mean_var(lc)
    df = nb + nc - 2
    se = math.sqrt((ssb + ssc) / df * (1.0 / nb + 1.0 / nc))
    return Effect(mc - mb, se, df, nb, nc)


def decide(eff: Effect, *, threshold: float, confidence: float) -> StatResult:
    """The verdict rules (see `compare_samples`) applied to one effect."""
    diff, se, df, nb, nc = eff.log_ratio, eff.se, eff.df, eff.n_baseline, eff.n_current
    ratio = math.exp(diff)
    if se == 0.0:
        # Identical values within each side: no noise to weigh the change against.
        lo = hi = ratio
        p = 1.0 if diff == 0.0 else 0.0
    else:
        half = _t_quantile(confidence, df) * se
        lo, hi = math.exp(diff - half), math.exp(diff + half)
        p = float(_sps.t.sf(abs(diff) / se, df))
    upper, lower = 1.0 + threshold, 1.0 / (1.0 + threshold)
    level = f"{confidence * 100:g}%"
    bounds = f"{level} bounds {_pct(lo)} .. {_pct(hi)}"
    over = f"over the {threshold * 100:g}% threshold; {bounds}, p={p:.2g}"
    if ratio > upper and lo > 1.0:
        verdict: Verdict = "regression"
        reason = f"slower by {_pct(ratio)} ({over})"
    elif ratio < lower and hi < 1.0:
        verdict = "improvement"
        reason = f"faster by {_pct(ratio)} ({over})"
    elif lo >= lower and hi <= upper:
        verdict = "unchanged"
        reason = f"within ±{threshold * 100:g}% ({bounds})"
    else:
        verdict = "inconclusive"
        if abs(diff) > math.log(upper) and p >= 1.0 - confidence:
            why = f"changed by {_pct(ratio)} but not significant (p={p:.2g})"
        else:
            why = f"cannot tell a {threshold * 100:g}% change ({bounds})"
        reason = f"{why}: too noisy or too few trials (n={nb}/{nc})"
    return StatResult(verdict, ratio, lo, hi, p, nb, nc, reason)


def compare_samples(
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    threshold: float = 0.05,
    confidence: float = 0.99,
) -> StatResult:
    """Verdict for one configuration from its baseline and current trial latencies.

    regression: ratio > 1+threshold and the lower bound > 1 (significant).
    improvement: ratio < 1/(1+threshold) and the upper bound < 1.
    unchanged: both bounds within [1/(1+threshold), 1+threshold] (TOST).
    inconclusive: anything else (too noisy or too few trials at this threshold).
    """
    threshold = validate_threshold(threshold)
    confidence = validate_confidence(confidence)
    eff = effect(baseline, current)
    if eff is None:
        nb, nc = len(baseline), len(current)
        lb, lc = _logs(baseline, "baseline"), _logs(current, "current")
        ratio = math.exp(sum(lc) / nc - sum(lb) / nb) if nb and nc else None
        return StatResult(
            "inconclusive",
            ratio,
            None,
            None,
            None,
            nb,
            nc,
            f"too few ok trials to tell (baseline {nb}, current {nc}; need {MIN_TRIALS} each)",
        )
    return decide(eff, threshold=threshold, confidence=confidence)


def cv(values: Sequence[float]) -> float | None:
    """Coefficient of variation (sample std / mean), None for fewer than 2 values."""
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    var = sum((v - m) ** 2 for v in values) / (len(values) - 1)
    return math.sqrt(var) / m if m else None


def median(values: Sequence[float]) -> float | None:
    """The median, None for no values."""
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2.0
