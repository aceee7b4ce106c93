"""How small a slowdown the check can see, and how often it cries wolf: seeded simulations.

Two models. `verdict_rate` / `minimum_detectable_change`: one configuration,
within-run noise only (trials log-normal with a given CV), the per-trial test
on its own; `benchmarks/bench_compare.py` prints its table (docs/ci.md
"Minimum detectable change"). `check_rates`: whole runs of several
configurations with between-run noise on top (`RunNoise`), judged by the very
code `compare_runs` uses per device (`judge_configs`);
`benchmarks/bench_check_power.py` prints its figures (docs/ci.md "Between-run
noise"); with `energy=True` the same for energy per inference, judged by
`judge_energy` (`benchmarks/bench_energy.py`, docs/run.md "Energy").
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass

from harness.compare.check import judge_configs, judge_energy
from harness.compare.source import ConfigSamples
from harness.compare.stats import compare_samples
from harness.vocab import Config

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


@dataclass(frozen=True)
class RunNoise:
    """Where a run's trial latencies scatter, as log-scale standard deviations (fractions).

    Each run, independently of the other, gets a shift shared by all its
    configurations: normal with sd `shift_sd`, plus, with probability
    `big_shift_p`, a jump of uniform size in `big_shift` with a random sign (a
    host whose load changed, a throttled phone); so both runs of a pair jump
    with probability `big_shift_p` squared. Each configuration takes its share
    of its run's shift, `1 + N(0, share_sd)`, and a small run-level offset of
    its own, `N(0, config_sd)`. Trials inside a run are log-normal with
    coefficient of variation `cv`, the same for every configuration.
    """

    shift_sd: float = 0.05
    big_shift_p: float = 0.10
    big_shift: tuple[float, float] = (0.15, 0.35)
    share_sd: float = 0.05
    config_sd: float = 0.005
    cv: float = 0.02

    def describe(self) -> str:
        """One line stating the model (printed by the benchmark, quoted in docs)."""
        lo, hi = self.big_shift
        return (
            f"between runs: shared shift sd {self.shift_sd:.0%}, plus a +-{lo:.0%}..{hi:.0%} "
            f"jump in {self.big_shift_p:.0%} of runs; each configuration's share of it "
            f"varies by sd {self.share_sd:.0%}, plus its own sd {self.config_sd:.1%}; "
            f"within a run: trial CV {self.cv:.0%}"
        )


def energy_noise(meter_cv: float, latency: RunNoise | None = None) -> RunNoise:
    """Energy per inference's noise model: latency's (energy = power x latency), its trial CV
    widened by the meters' own error `meter_cv` (the spread of figure / truth)."""
    base = latency or RunNoise()
    return dataclasses.replace(base, cv=math.hypot(base.cv, meter_cv))


@dataclass(frozen=True)
class CheckRates:
    """What `check_rates` counted over its repetitions (fractions)."""

    false_per_config: float  # unchanged configurations called regression or improvement
    false_per_check: float  # checks where some unchanged configuration was a regression
    detected: float  # slowed configurations called regression
    inconclusive: float  # slowed configurations called inconclusive
    unchanged: float  # slowed configurations called unchanged
    raw_false_per_check: float  # the same checks judged by the per-trial test alone
    reps: int


def _run_shift(rng: random.Random, noise: RunNoise) -> float:
    shift = rng.gauss(0.0, noise.shift_sd)
    if rng.random() < noise.big_shift_p:
        shift += rng.choice((-1.0, 1.0)) * rng.uniform(*noise.big_shift)
    return shift


def _draw_run(
    rng: random.Random,
    means: list[float],
    n: int,
    noise: RunNoise,
    scale: dict[int, float],
    energy: bool = False,
) -> dict[Config, ConfigSamples]:
    """One run's trials: every configuration moved by the run's shift (see RunNoise).
    With `energy`, the draws are each trial's energy per inference (latency steady)."""
    shift = _run_shift(rng, noise)
    out = {}
    for j, mean in enumerate(means):
        level = shift * (1.0 + rng.gauss(0.0, noise.share_sd)) + rng.gauss(0.0, noise.config_sd)
        values = draw_trials(rng, n, noise.cv, scale.get(j, 1.0) * math.exp(level) * mean / BASE_MS)
        cid = Config(f"config{j}", "fp32", 1, "big", "default", "cpu")
        if energy:
            out[cid] = ConfigSamples("sim", cid, latency_ms=(mean,) * n, energy_mj=tuple(values))
        else:
            out[cid] = ConfigSamples("sim", cid, latency_ms=tuple(values))
    return out


def check_rates(
    *,
    configs: int = 6,
    n: int = 5,
    noise: RunNoise = RunNoise(),
    current_noise: RunNoise | None = None,
    slowdown: float = 0.0,
    slowed: int = 1,
    reps: int = 2000,
    seed: int = 0,
    threshold: float = 0.05,
    confidence: float = 0.99,
    energy: bool = False,
) -> CheckRates:
    """Pairs of runs (baseline, current) judged as `harness check` judges one device.

    The first `slowed` configurations of the current run are `slowdown` slower
    (0.10 = 10%); the rest are identical code. Latency levels are spread over
    5-300 ms as MobileNets are on a Pixel 1. `current_noise` (default: `noise`)
    lets the current run's conditions differ, e.g. a jump in every current run.
    With `energy`, the draws are energy per inference (the same spread of levels,
    in mJ) and `slowdown` is an energy increase, judged by `judge_energy`, the
    code that gives `harness check` its energy rows.
    """
    cur_noise = current_noise or noise
    what = "energy|" if energy else ""  # latency keeps its seeds (and its published figures)
    rng = random.Random(f"{what}check|{seed}|{configs}|{n}|{slowdown}|{slowed}|{noise}|{cur_noise}")
    false_cfg = false_chk = raw_chk = hits = unsure = missed = 0
    slowed = slowed if slowdown else 0
    for _ in range(reps):
        means = [rng.uniform(5.0, 300.0) for _ in range(configs)]
        base = _draw_run(rng, means, n, noise, {}, energy)
        cur = _draw_run(
            rng, means, n, cur_noise, {j: 1.0 + slowdown for j in range(slowed)}, energy
        )
        if energy:
            rows = judge_energy(base, cur, "sim", threshold=threshold, confidence=confidence)
        else:
            rows, _ = judge_configs(
                base, cur, "sim", threshold=threshold, confidence=confidence, thresholds=None
            )
        by_variant = {r.config.variant: r.verdict for r in rows}
        same = [by_variant[f"config{j}"] for j in range(slowed, configs)]
        false_cfg += sum(v in ("regression", "improvement") for v in same)
        false_chk += any(v == "regression" for v in same)
        hits += sum(by_variant[f"config{j}"] == "regression" for j in range(slowed))
        unsure += sum(by_variant[f"config{j}"] == "inconclusive" for j in range(slowed))
        missed += sum(by_variant[f"config{j}"] == "unchanged" for j in range(slowed))
        raw = [
            compare_samples(
                base[c].values("energy" if energy else "mean"),
                cur[c].values("energy" if energy else "mean"),
                threshold=threshold,
                confidence=confidence,
            ).verdict
            for c in sorted(base)
            if int(c.variant[6:]) >= slowed
        ]
        raw_chk += any(v == "regression" for v in raw)
    unchanged = reps * (configs - slowed)
    return CheckRates(
        false_per_config=false_cfg / unchanged if unchanged else 0.0,
        false_per_check=false_chk / reps,
        detected=hits / (reps * slowed) if slowed else 0.0,
        inconclusive=unsure / (reps * slowed) if slowed else 0.0,
        unchanged=missed / (reps * slowed) if slowed else 0.0,
        raw_false_per_check=raw_chk / reps,
        reps=reps,
    )
