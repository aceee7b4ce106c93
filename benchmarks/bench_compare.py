"""Figures for `harness check` and `harness trend`: what the statistics can see, and how fast.

Prints:
1. the minimum detectable change (smallest whole-percent slowdown flagged as a
   regression in >= 95% of 2000 seeded repetitions, threshold 5%, confidence
   99%) per trial count and trial-to-trial CV: the table in docs/ci.md, which
   tests/unit/test_stats_power.py checks against the same simulation;
2. how often identical distributions are flagged (regression or improvement);
3. wall time of `compare_runs` and `trend` on synthetic run folders.

Items 1-2 are the trial test alone (within-run noise); how the check fares when
whole runs differ is `benchmarks/bench_check_power.py`.

Run: python benchmarks/bench_compare.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Run as `python benchmarks/bench_x.py`: the repository root comes first, so the
# harness and its test support (tests/support/: fabricated run folders,
# simulations) are imported from the same checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.compare.check import compare_runs
from harness.compare.source import read_run
from harness.compare.trend import trend
from tests.support.power import minimum_detectable_change, verdict_rate
from tests.support.synthetic import noisy_latencies, write_run

TRIAL_COUNTS = (3, 5, 7, 10)
CVS = (0.01, 0.02, 0.03)


def mdc_table(reps: int) -> None:
    print(f"minimum detectable slowdown (>= 95% flagged, {reps} reps, threshold 5%, conf 99%)")
    print("| trials | " + " | ".join(f"CV {cv:.0%}" for cv in CVS) + " |")
    print("|---:|" + "---:|" * len(CVS))
    for n in TRIAL_COUNTS:
        cells = [minimum_detectable_change(n, cv, reps=reps) for cv in CVS]
        print(f"| {n} | " + " | ".join(f"{c}%" if c else "> 100%" for c in cells) + " |")


def false_flags(reps: int) -> None:
    print(f"identical distributions flagged (regression + improvement), {reps} reps")
    for n in TRIAL_COUNTS:
        rates = [
            verdict_rate(n, cv, 0.0, "regression", reps=reps)
            + verdict_rate(n, cv, 0.0, "improvement", reps=reps)
            for cv in CVS
        ]
        print(
            f"  n={n:2d}: "
            + "  ".join(f"CV {cv:.0%}: {r:.2%}" for cv, r in zip(CVS, rates, strict=True))
        )


def timing() -> None:
    variants = [f"v{i}" for i in range(38)]
    keys = [f"{v}|{q}" for v in variants for q in ("fp32", "int8", "dynamic", "fp16")]
    with tempfile.TemporaryDirectory() as tmp:
        base = write_run(Path(tmp) / "base", noisy_latencies(keys, n=10, cv=0.02, seed=1))
        cur = write_run(Path(tmp) / "cur", noisy_latencies(keys, n=10, cv=0.02, seed=2))
        t0 = time.perf_counter()
        comparison = compare_runs(base, cur)
        dt = time.perf_counter() - t0
        rows = len(comparison.rows)
        print(f"compare_runs: {rows} configurations x 10 trials: {dt * 1000:.0f} ms")
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        runs = [
            write_run(
                Path(tmp) / f"r{i:03d}",
                noisy_latencies(variants, n=5, cv=0.02, seed=i),
                created_at=start + timedelta(days=i),
            )
            for i in range(60)
        ]
        t0 = time.perf_counter()
        for r in runs:
            read_run(r)
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = trend(runs)
        dt = time.perf_counter() - t0
        print(
            f"trend: {len(runs)} runs x {len(result.series)} configurations: {dt * 1000:.0f} ms, "
            f"of which reading the runs (trials.jsonl via harness.results.load) "
            f"{read_s * 1000:.0f} ms; {len(result.steps)} steps found in pure noise"
        )


def main() -> None:
    quick = "--quick" in sys.argv
    reps = 300 if quick else 2000
    mdc_table(reps)
    false_flags(reps)
    timing()


if __name__ == "__main__":
    main()
