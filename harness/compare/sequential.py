"""Sequential trials: measure until the answer is known, with error rates that hold at every look.

Two questions, asked again after every trial (or ABBA block) until they are
answered or the phone time runs out:

- `precision`: is one configuration's median pinned down to ±target?
- `decide_pairs`: is arm B slower, faster, or equivalent within a margin to A?

A fixed-n interval re-checked after each trial is optimistic: stopping the
first time it looks narrow (or significant) picks the luckiest of many looks.
Both questions therefore read one always-valid interval, Lai's confidence
sequence for a normal mean with unknown variance (T. L. Lai, "On confidence
sequences", Ann. Statist. 1976): with x_1..x_n the log latencies (or log
ratios B/A of pairs), S = sum(x_i - mu) and V = sum((x_i - mu)^2),

    M_n(mu) = sqrt(c / (n + c)) * (1 - S^2 / ((n + c) V)) ** (-n / 2)

is the likelihood ratio of the scale-free part of the data (the mixture over a
N(0, 1/c) standardized effect), a martingale under mu for any variance, so by
Ville's inequality P(M_n(mu) >= 1/alpha for some n) <= alpha. The interval at
n is {mu : M_n(mu) < 1/alpha}, symmetric about the mean of the logs, with the
closed-form half-width of `half_width`. As in `harness.compare.stats`, each
end is a one-sided `confidence` bound (alpha = 2 (1 - confidence), split
between the ends by symmetry). Why this and not group sequential designs, and
what it costs: docs/ci.md "Sequential trials", benchmarks/bench_sequential.py.

Pure: numbers in, decisions out; the caller measures and keeps the budget.
`half_width` and `ab_codes` take numpy arrays so the benchmark runs the very
rules the decisions use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from harness.compare.stats import (
    _logs,
    _mean_var,
    _pct,
    cv,
    validate_confidence,
    validate_threshold,
)
from harness.errors import StatsInputError
from harness.results.summary import NOISY_CV, is_noisy
from harness.vocab import SEQUENTIAL_MAX_TRIALS, StopReason

# The mixture's precision c on the standardized effect (effect / sd ~ N(0, 1/c)):
# c = 1 keeps the interval within ~1.5x the fixed-n t interval from 10 to 80
# values, where the stops fall at CV 1-3% (docs/ci.md "Sequential trials").
MIXTURE = 1.0
# Per configuration (trials) or per A/B configuration (pairs).
MAX_TRIALS = SEQUENTIAL_MAX_TRIALS

ABVerdict = Literal["undecided", "slower", "faster", "equivalent"]
AB_VERDICTS: tuple[ABVerdict, ...] = ("undecided", "slower", "faster", "equivalent")


def half_width(
    n: npt.ArrayLike, ss: npt.ArrayLike, *, confidence: float, mixture: float = MIXTURE
) -> npt.NDArray[np.float64]:
    """Half-width of the always-valid interval on a mean after n values with sum of squares ss.

    ss is the sum of squared deviations from their mean; inf where the
    interval is still the whole line (always for n < 2).
    """
    alpha = 2.0 * (1.0 - confidence)
    n_ = np.asarray(n, dtype=np.float64)
    ss_ = np.maximum(np.asarray(ss, dtype=np.float64), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_k = -math.log(alpha) + 0.5 * np.log((n_ + mixture) / mixture)
        # q = 1 - K^(-2/n), the largest S^2 / ((n + c) V) M_n stays below 1/alpha at.
        q = -np.expm1(-2.0 * log_k / n_)
        room = n_ - q * (n_ + mixture)
        width = np.sqrt(q * (n_ + mixture) * ss_ / (n_ * room))
    return np.where((n_ >= 2) & (room > 0), width, np.inf)


def ab_codes(mean: npt.ArrayLike, half: npt.ArrayLike, *, margin: float) -> npt.NDArray[np.int8]:
    """Index into AB_VERDICTS for a mean log ratio B/A and the half-width of its interval.

    The rules of `stats.decide` with the equivalence margin as threshold:
    slower when the estimate is over the margin and the lower bound over 0;
    faster likewise; equivalent when both bounds are within ±margin.
    """
    m = math.log1p(margin)
    mean_, half_ = np.asarray(mean, dtype=np.float64), np.asarray(half, dtype=np.float64)
    low, high = mean_ - half_, mean_ + half_
    rules = [(mean_ > m) & (low > 0), (mean_ < -m) & (high < 0), (low >= -m) & (high <= m)]
    codes = [AB_VERDICTS.index(v) for v in ("slower", "faster", "equivalent")]
    return np.select(rules, codes, AB_VERDICTS.index("undecided")).astype(np.int8)


def within_budget(spent_s: float, budget_s: float | None, next_trial_s: float) -> bool:
    """Whether one more trial, expected to last next_trial_s, ends within the budget.

    A trial is started only if it should end in time, so the budget is a
    limit, not a target overshot by one trial. None: no time limit.
    """
    return budget_s is None or spent_s + next_trial_s <= budget_s


def _check_max(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise StatsInputError(f"{name} must be a whole number of at least 2, got {value!r}")
    return value


def _level(confidence: float) -> str:
    return f"always-valid {confidence * 100:g}% bounds"


@dataclass(frozen=True)
class Precision:
    """How well one configuration's trials pin its median down, and whether to measure more.

    `stop_reason` None means: take another trial. `median_ms` is the geometric
    mean of the trials, the median of log-normal trials; `low_ms`/`high_ms`
    are its always-valid bounds (None while unbounded: below 6 trials at 99%).
    """

    stop_reason: StopReason | None
    n: int
    median_ms: float | None
    low_ms: float | None
    high_ms: float | None
    cv: float | None
    reason: str
    detail: str = ""  # the reason less its verdict: the interval, the CV, the target

    @property
    def confident(self) -> bool:
        return self.stop_reason == "confident"


def precision(
    latencies: Sequence[float],
    *,
    target: float = 0.02,
    confidence: float = 0.99,
    max_trials: int = MAX_TRIALS,
    out_of_budget: bool = False,
) -> Precision:
    """Whether a configuration's trial latencies (ms) are confident, or need another trial.

    Confident: both always-valid bounds within ±target of the estimate and the
    trials not `noisy` (CV under NOISY_CV). Otherwise it stops at max_trials,
    or when the caller's phone-time budget is spent (`within_budget`).
    """
    target, confidence = validate_threshold(target), validate_confidence(confidence)
    max_trials = _check_max("max_trials", max_trials)
    logs = _logs(latencies, "trial")
    n = len(logs)
    spread = cv(latencies)
    median_ms = low_ms = high_ms = None
    half = math.inf
    if n:
        mean, ss = _mean_var(logs)
        half = float(half_width(n, ss, confidence=confidence))
        median_ms = math.exp(mean)
        if math.isfinite(half):
            low_ms, high_ms = math.exp(mean - half), math.exp(mean + half)
    wide = f"±{math.expm1(half) * 100:.1f}%" if math.isfinite(half) else "unbounded"
    bounds = f"{_level(confidence)} {wide}, target ±{target * 100:g}% (n={n})"
    noisy = is_noisy(spread)
    stop: StopReason | None
    why = bounds
    if half <= math.log1p(target) and not noisy:
        stop, reason = "confident", f"confident: {bounds}"
    else:
        why = f"noisy (CV {spread:.1%}, bound {NOISY_CV:.0%}); {bounds}" if noisy else bounds
        if n >= max_trials:
            stop, reason = "max_trials", f"not confident after max_trials={max_trials}: {why}"
        elif out_of_budget:
            stop, reason = "budget", f"not confident when the phone-time budget ran out: {why}"
        else:
            stop, reason = None, f"measure more: {why}"
    detail = why if stop != "confident" else bounds
    return Precision(stop, n, median_ms, low_ms, high_ms, spread, reason, detail)


@dataclass(frozen=True)
class ABDecision:
    """Arm B against arm A after the pairs so far, and whether to add an ABBA block.

    `stop_reason` None means: add a block. `ratio` is the geometric mean ratio
    B/A of the pairs; `low`/`high` its always-valid bounds (None while unbounded).
    """

    verdict: ABVerdict
    stop_reason: StopReason | None
    n: int
    ratio: float | None
    low: float | None
    high: float | None
    reason: str


def decide_pairs(
    pairs: Sequence[tuple[float, float]],
    *,
    margin: float = 0.02,
    confidence: float = 0.99,
    max_pairs: int = MAX_TRIALS,
    out_of_budget: bool = False,
) -> ABDecision:
    """Sequential paired test on log(B/A) of (A, B) latency pairs; ask after every block.

    slower / faster / equivalent as `ab_codes` reads the always-valid interval
    (each false verdict at most 1 - confidence however often it is asked);
    otherwise undecided, stopped at max_pairs or when the budget is spent.
    """
    margin, confidence = validate_threshold(margin), validate_confidence(confidence)
    max_pairs = _check_max("max_pairs", max_pairs)
    a_logs = _logs([a for a, _ in pairs], "arm A")
    b_logs = _logs([b for _, b in pairs], "arm B")
    ratios = [b - a for a, b in zip(a_logs, b_logs, strict=True)]
    n = len(ratios)
    ratio = low = high = None
    verdict: ABVerdict = "undecided"
    bounds = f"{_level(confidence)} unbounded, pairs n={n}"
    if n:
        mean, ss = _mean_var(ratios)
        half = float(half_width(n, ss, confidence=confidence))
        ratio = math.exp(mean)
        verdict = AB_VERDICTS[int(ab_codes(mean, half, margin=margin))]
        if math.isfinite(half):
            low, high = math.exp(mean - half), math.exp(mean + half)
            bounds = f"{_level(confidence)} {_pct(low)} .. {_pct(high)}, pairs n={n}"
    stop: StopReason | None = "decided"
    if verdict in ("slower", "faster") and ratio is not None:
        reason = f"{verdict} by {_pct(ratio)} ({bounds})"
    elif verdict == "equivalent":
        reason = f"equivalent within ±{margin * 100:g}% ({bounds})"
    elif n >= max_pairs:
        stop, reason = "max_trials", f"undecided after max_pairs={max_pairs} ({bounds})"
    elif out_of_budget:
        stop, reason = "budget", f"undecided when the phone-time budget ran out ({bounds})"
    else:
        stop, reason = None, f"undecided: add a block ({bounds})"
    return ABDecision(verdict, stop, n, ratio, low, high, reason)
