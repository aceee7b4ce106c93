"""How small a slowdown the check can see: seeded simulation of its detection rate.

Used by the statistical tests and by `benchmarks/bench_compare.py`, which
prints the minimum-detectable-change table quoted in docs/ci.md. Trial
latencies are drawn log-normal with a given coefficient of variation, the
noise model the t test on logs assumes; a real phone's noise is checked by
the end-to-end tests and by `harness check` reporting `inconclusive`.
"""

from __future__ import annotations

import math
import random

from harness.compare.stats import compare_samples

BASE_MS = 20.0
DETECTION_TARGET = 0.95  # the acceptance criterion: flagged in >= 95% of repetitions


def draw_trials(rng: random.Random, n: int, cv: float, scale: float = 1.0) -> list[float]:
    """n log-normal trial latencies with mean BASE_MS*scale and coefficient of variation cv."""
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(BASE_MS * scale) - sigma * sigma / 2.0
    return [math.exp(rng.gauss(mu, sigma)) for _ in range(n)]


def verdict_rate(
    n: int,
    cv: float,
    change: float,
    verdict: str = "regression",
    *,
    reps: int = 2000,
    seed: int = 0,
    threshold: float = 0.05,
    confidence: float = 0.99,
) -> float:
    """Fraction of `reps` seeded repetitions where a `change` (0.10 = 10% slower) gets `verdict`."""
    rng = random.Random(f"{seed}|{n}|{cv}|{change}")
    hits = 0
    for _ in range(reps):
        base = draw_trials(rng, n, cv)
        cur = draw_trials(rng, n, cv, 1.0 + change)
        res = compare_samples(base, cur, threshold=threshold, confidence=confidence)
        hits += res.verdict == verdict
    return hits / reps


def minimum_detectable_change(
    n: int,
    cv: float,
    *,
    step_pct: int = 1,
    max_pct: int = 100,
    reps: int = 2000,
    seed: int = 0,
    threshold: float = 0.05,
    confidence: float = 0.99,
) -> int | None:
    """Smallest whole-percent slowdown flagged as a regression in >= 95% of repetitions."""
    for pct in range(step_pct, max_pct + 1, step_pct):
        rate = verdict_rate(
            n, cv, pct / 100.0, reps=reps, seed=seed, threshold=threshold, confidence=confidence
        )
        if rate >= DETECTION_TARGET:
            return pct
    return None
