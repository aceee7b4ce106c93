"""Sequential trials: the phone time, false alarms and power of `harness.compare.sequential`.

Seeded simulations judged by the module's own rules (`pairs_half_width` for A/B,
`half_width` for precision, `ab_codes`; the fixed design by the paired t interval
`harness check --ab` uses, read by the same `ab_codes`, which are `stats.decide`'s
rules). Prints:

1. A/B that decides (`decide_pairs`, equivalence margin 2%, confidence 99%,
   a look after every ABBA block, at most MAX_TRIALS pairs): how often each
   verdict comes and after how many pairs, for identical arms and B 5% or 10%
   slower; against the fixed design with the same power (the fewest whole
   blocks at which `check --ab` on the same data gives the right verdict at
   least as often), the phone time needed, and a floor on what any design with
   that power could need (`least`); the false-alarm rate, and that of naive
   repeated testing (the fixed test after every block on the same data);
2. `precision` (target ±2%): trials until confident and how often the interval
   then holds the true median, against a fixed interval re-checked each trial.

Noise model, stated: `tests.support.power.RunNoise()` (benchmarks/bench_check_power.py).
Its run-level parts (the run's shift and jumps, each configuration's share and
offset) move every trial of a configuration in a run alike: they cancel in an A/B
pair's ratio, and they are part of the run's median that `precision` pins down.
What is left is the trials' own noise, simulated three ways: log-normal with
CV 2% (RunNoise.cv); heavy-tailed (Student t with 3 degrees of freedom on the log
scale, the same standard deviation); and disturbed (log-normal CV 2%, and 5% of
trials slowed by 10-50%: a background job, a thermal step).

Monte Carlo uncertainty: rates and means with their 95% interval over the
repetitions; phone-time ratios with a 95% interval from a Poisson bootstrap of
the repetitions. Run: python benchmarks/bench_sequential.py [--quick]
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

# Run as `python benchmarks/bench_x.py`: the repository root comes first, so the
# harness and its test support (tests/support/power.py: the noise model) are
# imported from the same checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.compare.sequential import (
    AB_VERDICTS,
    MAX_TRIALS,
    ab_codes,
    decide_pairs,
    half_width,
    pairs_half_width,
)
from harness.compare.stats import _t_quantile
from harness.results.summary import NOISY_CV
from tests.support.power import RunNoise

Array = npt.NDArray[np.float64]
MARGIN = 0.02  # --equivalence 2%
TARGET = 0.02  # --target-ci ±2%
CONFIDENCE = 0.99
FIXED_CAP = 160  # the largest fixed design searched, in pairs
PLANNED = 5  # `harness run --trials` default: precision looks from there
CHANGES = (0.0, 0.05, 0.10)
# Matched up to 99%: beyond it the fixed design's size hangs on a handful of unlucky
# runs, which the repetitions cannot measure.
POWER_CAP = 0.99
CHUNK = 10_000  # runs simulated at a time (memory)
BOOT = 200  # bootstrap resamples of the runs, for the ratios' intervals
SLOWER, FASTER, EQUIVALENT = (AB_VERDICTS.index(v) for v in ("slower", "faster", "equivalent"))
BLOCKS = np.arange(1, max(FIXED_CAP, MAX_TRIALS), 2)  # columns after each ABBA block: n = 2, 4, ...
CHECKED = 100  # runs per row replayed through decide_pairs


def _lognormal(rng: np.random.Generator, shape: tuple[int, int], cv: float) -> Array:
    return rng.standard_normal(shape) * math.sqrt(math.log1p(cv * cv))


def _heavy(rng: np.random.Generator, shape: tuple[int, int], cv: float) -> Array:
    sd = math.sqrt(math.log1p(cv * cv))
    return rng.standard_t(3, shape) * sd / math.sqrt(3.0)  # t3's sd is sqrt(3)


def _disturbed(rng: np.random.Generator, shape: tuple[int, int], cv: float) -> Array:
    hit = rng.random(shape) < 0.05
    return _lognormal(rng, shape, cv) + np.where(hit, np.log1p(rng.uniform(0.1, 0.5, shape)), 0.0)


Noise = Callable[[np.random.Generator, tuple[int, int], float], Array]
NOISES: dict[str, Noise] = {
    "log-normal": _lognormal,
    "heavy-tailed": _heavy,
    "disturbed": _disturbed,
}
CV = RunNoise().cv


def running(x: Array) -> tuple[Array, Array, Array]:
    """n, mean and sum of squared deviations of every prefix of each row."""
    n = np.arange(1, x.shape[1] + 1, dtype=np.float64)
    total = np.cumsum(x, axis=1)
    mean = total / n
    ss = np.cumsum(x * x, axis=1) - total * mean
    return n, mean, ss


def first(hit: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Column of each row's first True, the last column where there is none."""
    return np.where(hit.any(axis=1), hit.argmax(axis=1), hit.shape[1] - 1)


def pct(p: float, reps: int, digits: int = 1) -> str:
    """A rate with its 95% Monte Carlo interval."""
    err = 1.96 * math.sqrt(max(p * (1.0 - p), 1.0 / reps) / reps)
    return f"{p * 100:.{digits}f}% ± {err * 100:.{digits}f}"


def mean_ci(x: Array) -> str:
    return f"{x.mean():.1f} ± {1.96 * x.std(ddof=1) / math.sqrt(len(x)):.1f}"


class Case:
    """One noise model and true change: sequential runs and fixed designs on the same pairs."""

    def __init__(self, rng: np.random.Generator, noise: Noise, change: float, reps: int) -> None:
        right = EQUIVALENT if change == 0.0 else SLOWER
        parts = [
            self._chunk(rng, noise, change, min(CHUNK, reps - i), right)
            for i in range(0, reps, CHUNK)
        ]
        self.verdict, self.pairs, self.naive, self.seq_right, self.fixed_right = (
            np.concatenate(column) for column in zip(*parts, strict=True)
        )
        self._check_api(rng, noise, change)

    @staticmethod
    def _chunk(
        rng: np.random.Generator, noise: Noise, change: float, reps: int, right: int
    ) -> tuple[npt.NDArray[np.int8], Array, npt.NDArray[np.int8], Array, Array]:
        pairs = max(FIXED_CAP, MAX_TRIALS)
        shape = (reps, pairs)
        d = noise(rng, shape, CV) - noise(rng, shape, CV) + math.log1p(change)  # log B/A
        verdict, stop = sequential(d)
        n, mean, ss = running(d)
        dfs = np.maximum(n - 1, 1)
        t = np.array([_t_quantile(CONFIDENCE, int(df)) for df in dfs])
        fixed_half = np.where(n >= 2, t * np.sqrt(ss / dfs / n), np.inf)
        fixed = ab_codes(mean, fixed_half, margin=MARGIN)[:, BLOCKS]  # n = 2, 4, ... FIXED_CAP
        naive = fixed[np.arange(reps), first(fixed[:, : MAX_TRIALS // 2] != 0)]
        return (
            verdict,
            stop,
            naive,
            (verdict == right).astype(np.float64),
            (fixed == right).astype(np.float64),
        )

    @staticmethod
    def _check_api(rng: np.random.Generator, noise: Noise, change: float) -> None:
        """The array rules are decide_pairs's: replay a few runs through it, block by block."""
        d = noise(rng, (CHECKED, MAX_TRIALS), CV) - noise(rng, (CHECKED, MAX_TRIALS), CV)
        d += math.log1p(change)
        verdict, stop = sequential(d)
        for row, v, n in zip(d, verdict, stop, strict=True):
            pairs = [(20.0, 20.0 * math.exp(x)) for x in row]
            for k in range(2, MAX_TRIALS + 1, 2):
                got = decide_pairs(pairs[:k], margin=MARGIN, confidence=CONFIDENCE)
                if got.stop_reason or k == MAX_TRIALS:
                    assert (got.verdict, k) == (AB_VERDICTS[v], n), (got, AB_VERDICTS[v], n)
                    break

    def rate(self, verdict: str) -> float:
        return float(np.mean(self.verdict == AB_VERDICTS.index(verdict)))

    def matched(self, weights: Array) -> tuple[npt.NDArray[np.int64], Array, Array]:
        """Per row of weights over the runs: the pairs of the fixed design with the same
        power (POWER_CAP at most; 0: none up to FIXED_CAP), the sequential mean pairs, and
        the fewest mean pairs any design with that power could spend (`least`)."""
        total = weights.sum(axis=1)
        power = np.minimum(weights @ self.seq_right / total, POWER_CAP)
        fixed_power = weights @ self.fixed_right / total[:, None]
        reach = fixed_power >= power[:, None] - 1e-12
        n_fixed = np.where(reach.any(axis=1), 2 * (reach.argmax(axis=1) + 1), 0)
        return n_fixed, weights @ self.pairs / total, least(power, fixed_power)


def least(power: Array, fixed_power: Array) -> Array:
    """A floor on the mean pairs of any sequential design with this power, looking after
    every block: by a look after n pairs it can have given the right verdict no more often
    than the fixed test on those n pairs does (the test at the full 1% on all the data so
    far; a look at n that did better would be a better fixed test). A run goes on past a
    block while it is not yet right or among the (1 - power) that end otherwise, so
    mean pairs >= 2 * sum over blocks k >= 0 of max(0, power - fixed power after k blocks).
    """
    before = np.hstack([np.zeros((len(power), 1)), fixed_power[:, : MAX_TRIALS // 2 - 1]])
    return 2.0 * np.maximum(power[:, None] - before, 0.0).sum(axis=1)


def sequential(d: Array) -> tuple[npt.NDArray[np.int8], Array]:
    """Each run's verdict and pairs spent: a look after every block, at most MAX_TRIALS pairs."""
    n, mean, ss = running(d[:, :MAX_TRIALS])
    looks = BLOCKS[BLOCKS < MAX_TRIALS]
    half = pairs_half_width(n, ss, confidence=CONFIDENCE, horizon=MAX_TRIALS)
    codes = ab_codes(mean, half, margin=MARGIN)[:, looks]
    stop = first(codes != 0)
    return codes[np.arange(len(d)), stop], 2.0 * (stop + 1)


def _ratio(seq: Array, fixed: npt.NDArray[np.int64]) -> str:
    """Point ratio (first row: the runs as drawn) and its bootstrap 95% interval."""
    if not fixed[0]:
        return "-"
    r = seq[1:] / np.where(fixed[1:] > 0, fixed[1:], FIXED_CAP)
    lo, hi = np.percentile(r, [2.5, 97.5])
    return f"{seq[0] / fixed[0]:.0%} ({lo:.0%}..{hi:.0%})"


def _where(change: float) -> str:
    return "identical" if change == 0 else f"{change:+.0%}"


def ab_tables(reps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    weights = np.vstack([np.ones(reps), rng.poisson(1.0, (BOOT, reps))]).astype(np.float64)
    print(
        f"A/B that decides: equivalence margin {MARGIN:.0%}, confidence {CONFIDENCE:.0%}, a look "
        f"after every ABBA block, at most {MAX_TRIALS} pairs; {reps} seeded runs per row"
    )
    print()
    print(
        "| trial noise | B against A | slower | faster | equivalent | undecided | pairs "
        "| fixed design, same power | phone time vs fixed | least any design needs |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    errors, single = [], []
    for label, noise in NOISES.items():
        cases = {c: Case(rng, noise, c, reps) for c in CHANGES}
        matched = {c: case.matched(weights) for c, case in cases.items()}
        for change, case in cases.items():
            n_fixed, n_seq, floor = matched[change]
            fixed = f"{n_fixed[0]}" if n_fixed[0] else f"> {FIXED_CAP}"
            cells = [pct(case.rate(v), reps) for v in AB_VERDICTS[1:] + AB_VERDICTS[:1]]
            print(
                f"| {label} | {_where(change)} | {' | '.join(cells)} | {mean_ci(case.pairs)} "
                f"| {fixed} | {_ratio(n_seq, n_fixed)} | {_ratio(floor, n_fixed)} |"
            )
        # One fixed design must serve every change, not knowing which: the largest of the three.
        n_all = np.max([np.where(m[0] > 0, m[0], FIXED_CAP) for m in matched.values()], axis=0)
        ratios = " | ".join(_ratio(matched[c][1], n_all) for c in CHANGES)
        single.append(f"| {label} | {n_all[0]} | {ratios} |")
        same = cases[0.0]
        naive = [
            float(np.mean(np.isin(same.naive, codes))) for codes in ((SLOWER,), (SLOWER, FASTER))
        ]
        errors.append(
            f"| {label} | {pct(same.rate('slower'), reps, 2)} "
            f"| {pct(same.rate('slower') + same.rate('faster'), reps, 2)} "
            f"| {pct(naive[0], reps, 2)} | {pct(naive[1], reps, 2)} "
            f"| {pct(cases[0.05].rate('slower'), reps)} | {pct(cases[0.10].rate('slower'), reps)} |"
        )
    print()
    print(
        "fixed design: `check --ab`'s paired t test (threshold = the margin) after a fixed number "
        "of whole blocks; same power: the right verdict (equivalent for identical arms, slower "
        f"otherwise) at least as often as the sequential design, up to {POWER_CAP:.0%}; "
        "phone time: the sequential design's mean pairs over the fixed design's"
    )
    print()
    print(
        "one fixed design for every case (the change is not known in advance): the fewest pairs "
        "as good as the sequential design in all three, and the sequential design's phone time "
        "in each as a share of it"
    )
    print()
    print("| trial noise | fixed pairs | identical | +5% | +10% |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(single))
    print()
    print(
        f"identical arms (false alarms, nominal {1 - CONFIDENCE:.0%} each way) and power; naive: "
        "the fixed test after every block on the same pairs, stopped at its first verdict"
    )
    print()
    print(
        "| trial noise | sequential: slower | slower or faster | naive: slower | slower or faster "
        "| power: +5% called slower | +10% called slower |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(errors))
    print()
    print(
        f"(decide_pairs replayed block by block on {CHECKED} more runs of every row: "
        "the same verdicts after the same pairs)"
    )


def precision_table(reps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    width = math.log1p(TARGET)
    print(
        f"precision: target ±{TARGET:.0%}, confidence {CONFIDENCE:.0%}, {PLANNED} planned trials, "
        f"a look after every added trial, at most {MAX_TRIALS}; {reps} seeded configurations"
    )
    print()
    print(
        "| trial noise | CV | always-valid: trials | confident | holds the median (nominal 98%) "
        "| re-checked t interval: trials | confident | holds the median (nominal 98%) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, noise, cv in (
        ("log-normal", _lognormal, 0.01),
        ("log-normal", _lognormal, 0.02),
        ("log-normal", _lognormal, 0.03),
        ("heavy-tailed", _heavy, 0.02),
        ("disturbed", _disturbed, 0.02),
    ):
        x = noise(rng, (reps, MAX_TRIALS), cv)
        truth = float(np.median(noise(rng, (1, 2_000_000), cv)))  # the trials' true median (log)
        n, mean, ss = running(x)
        raw = np.exp(x)
        _, raw_mean, raw_ss = running(raw)
        with np.errstate(invalid="ignore", divide="ignore"):
            quiet = np.sqrt(raw_ss / (n - 1)) / raw_mean < NOISY_CV  # summary's `noisy`, negated
        dfs = np.maximum(n - 1, 1)
        t = np.array([_t_quantile(CONFIDENCE, int(df)) for df in dfs])
        cells = []
        for half in (
            half_width(n, ss, confidence=CONFIDENCE),
            np.where(n >= 2, t * np.sqrt(ss / dfs / n), np.inf),
        ):
            done = (half <= width) & quiet
            done[:, : PLANNED - 1] = False
            stop = first(done)
            rows = np.arange(reps)
            confident = done[rows, stop]
            holds = np.abs(mean[rows, stop] - truth) <= half[rows, stop]
            cells += [
                mean_ci(stop + 1.0),
                pct(float(confident.mean()), reps),
                pct(float(holds[confident].mean()), int(confident.sum()), 2),
            ]
        print(f"| {label} | {cv:.0%} | " + " | ".join(cells) + " |")


def main() -> None:
    reps = 5000 if "--quick" in sys.argv else 50_000
    t0 = time.perf_counter()
    print(f"noise model (realistic): {RunNoise().describe()}")
    print(
        "trial noise: log-normal CV 2%; heavy-tailed: Student t, 3 df, on the log scale, same sd; "
        "disturbed: log-normal CV 2% and 5% of trials slowed by 10-50%"
    )
    print()
    ab_tables(reps, seed=25)
    print()
    precision_table(reps, seed=26)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
