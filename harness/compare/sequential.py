"""Sequential trials: measure until the answer is known, with error rates that hold at every look.

Two questions, asked again after every trial (or ABBA block) until they are
answered or the phone time runs out:

- `precision`: is one configuration's median pinned down to ±target?
- `decide_pairs`: is arm B slower, faster, or equivalent within a margin to A?

A fixed-n interval re-checked after each trial is optimistic: stopping the
first time it looks narrow (or significant) picks the luckiest of many looks.

`precision` reads an interval that holds at every look with no horizon, Lai's
confidence sequence for a normal mean with unknown variance (T. L. Lai, "On
confidence sequences", Ann. Statist. 1976): with x_1..x_n the log latencies,
S = sum(x_i - mu) and V = sum((x_i - mu)^2),

    M_n(mu) = sqrt(c / (n + c)) * (1 - S^2 / ((n + c) V)) ** (-n / 2)

is the likelihood ratio of the scale-free part of the data (the mixture over a
N(0, 1/c) standardized effect), a martingale under mu for any variance, so by
Ville's inequality P(M_n(mu) >= 1/alpha for some n) <= alpha. The interval at
n is {mu : M_n(mu) < 1/alpha}, with the closed-form half-width of
`half_width`. A configuration may get more trials in a later `--more` pass, so
its looks have no last one.

`decide_pairs` has a last look, `max_pairs`, and spends its error exactly
over the looks up to it: a group sequential paired t test (Pocock's constant
nominal level, for unknown variance), whose repeated confidence interval
mean +- b_n * se_n holds at every n from 2 to max_pairs at once. The t
statistic's path is pivotal under normal values (its law is the same for
every variance), so the one nominal level is calibrated exactly, up to a
stated Monte Carlo error, by a seeded simulation of it (`pairs_boundary`).

As in `harness.compare.stats`, each end is a one-sided `confidence` bound.
Why these and not others: docs/ci.md "Sequential trials",
benchmarks/bench_sequential.py.

Pure: numbers in, decisions out; the caller measures and keeps the budget.
`half_width`, `pairs_half_width` and `ab_codes` take numpy arrays so the
benchmark runs the very rules the decisions use.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

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
# The calibration of `pairs_boundary`: seeded, so the same settings give the same
# boundary in every run and every resume; its size caps the normal values drawn.
CALIBRATION_SEED = 20_260_625
CALIBRATION_RUNS = 200_000
CALIBRATION_VALUES = 16_000_000

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


# `calibrate`'s answers for the settings most runs use (99%, `--max-trials` 80 and 20),
# as computed here: a run or `check --ab` with them pays no calibration (~1 s), and
# their boundary does not move with numpy's random streams. A unit test calibrates
# them again.
CALIBRATED: dict[tuple[float, int], float] = {
    (0.99, 80): 0.0006425237147198471,
    (0.99, 20): 0.0011454822606099555,
}


def nominal_level(confidence: float, horizon: int) -> float:
    """The one-sided nominal level p of every look of `pairs_boundary` (recorded or
    calibrated)."""
    known = CALIBRATED.get((confidence, horizon))
    return known if known is not None else calibrate(confidence, horizon)


@functools.lru_cache(maxsize=16)
def calibrate(confidence: float, horizon: int) -> float:
    """The one-sided nominal level p of every look of `pairs_boundary`, by simulation.

    The chance that the paired t statistic ever exceeds its 1 - p quantile
    at some n in 2..horizon, under a true mean of 0 and normal values, is at
    most alpha = 1 - confidence: p is the alpha quantile of each simulated
    path's smallest nominal p-value, taken two Monte Carlo standard errors
    low so the true rate stays under alpha (~0.96% at the defaults).
    """
    alpha = 1.0 - validate_confidence(confidence)
    horizon = _check_max("max_pairs", horizon)
    runs = max(20_000, min(CALIBRATION_RUNS, CALIBRATION_VALUES // horizon))
    rng = np.random.Generator(np.random.PCG64(CALIBRATION_SEED))
    n = np.arange(1, horizon + 1, dtype=np.float64)
    df = np.maximum(n - 1.0, 1.0)
    near = special.stdtrit(df, 1.0 - min(0.5, 10.0 * alpha))  # paths that may matter
    smallest = []
    for start in range(0, runs, max(1, 4_000_000 // horizon)):
        rows = min(max(1, 4_000_000 // horizon), runs - start)
        x = rng.standard_normal((rows, horizon))
        total = np.cumsum(x, axis=1)
        mean = total / n
        ss = np.maximum(np.cumsum(x * x, axis=1) - total * mean, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.nan_to_num(mean / np.sqrt(ss / df / n), nan=-np.inf)
        t[:, 0] = -np.inf  # n = 1: no look
        row, col = np.nonzero(t > near)
        p = np.ones(rows)
        np.minimum.at(p, row, special.stdtr(df[col], -t[row, col]))
        smallest.append(p)
    ordered = np.sort(np.concatenate(smallest))
    k = math.floor(alpha * runs - 2.0 * math.sqrt(alpha * (1.0 - alpha) * runs))
    return float(ordered[max(k, 0)])


@functools.lru_cache(maxsize=16)
def pairs_boundary(confidence: float, horizon: int) -> npt.NDArray[np.float64]:
    """b_n for n = 0..horizon: the paired t statistic's bound at a look after n pairs.

    Every look has the same nominal level (`nominal_level`), Pocock's design
    for looks at every n up to the horizon; the harness looks after every
    block, a subset, so its error is at most alpha. inf for n < 2.
    """
    n = np.arange(horizon + 1, dtype=np.float64)
    p = nominal_level(confidence, horizon)
    out = np.full(horizon + 1, np.inf)
    out[2:] = special.stdtrit(n[2:] - 1.0, 1.0 - p)
    out.setflags(write=False)
    return out


def pairs_half_width(
    n: npt.ArrayLike, ss: npt.ArrayLike, *, confidence: float, horizon: int
) -> npt.NDArray[np.float64]:
    """Half-width of the repeated confidence interval on the mean log ratio after n pairs
    with sum of squared deviations ss: b_n * se_n; inf for n < 2 or n > horizon."""
    n_ = np.asarray(n, dtype=np.float64)
    ss_ = np.maximum(np.asarray(ss, dtype=np.float64), 0.0)
    bound = pairs_boundary(confidence, horizon)
    index = np.clip(n_, 0, horizon).astype(np.intp)
    with np.errstate(divide="ignore", invalid="ignore"):
        width = bound[index] * np.sqrt(ss_ / (n_ - 1.0) / n_)
    return np.where((n_ >= 2) & (n_ <= horizon), width, np.inf)


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


def _level(confidence: float, kind: str = "always-valid") -> str:
    return f"{kind} {confidence * 100:g}% bounds"


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
    B/A of the pairs; `low`/`high` its group sequential bounds (None while unbounded).
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

    slower / faster / equivalent as `ab_codes` reads the group sequential
    interval (`pairs_half_width`, horizon max_pairs or n if more; each false
    verdict at most 1 - confidence however often it is asked up to max_pairs);
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
    level = _level(confidence, "group sequential")
    bounds = f"{level} unbounded, pairs n={n}"
    if n:
        mean, ss = _mean_var(ratios)
        horizon = max(max_pairs, n)
        half = float(pairs_half_width(n, ss, confidence=confidence, horizon=horizon))
        ratio = math.exp(mean)
        verdict = AB_VERDICTS[int(ab_codes(mean, half, margin=margin))]
        if math.isfinite(half):
            low, high = math.exp(mean - half), math.exp(mean + half)
            bounds = f"{level} {_pct(low)} .. {_pct(high)}, pairs n={n}"
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
