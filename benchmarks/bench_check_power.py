"""False alarms and power of `harness check` when runs differ, not only trials.

The per-trial t test sees within-run noise only; two runs also differ as a
whole (thermal state, background load, governor). This prints, for seeded
pairs of runs judged by the code `compare_runs` runs per device
(`harness.compare.check.judge_configs`), how often identical code is flagged
and how often a real slowdown of one configuration is, under the noise model
`harness.compare.power.RunNoise` states (printed first). docs/ci.md
"Between-run noise" quotes the table; tests/unit/test_check_power.py checks
its headline figures against the same simulation.

Run: python benchmarks/bench_check_power.py [--quick]
"""

from __future__ import annotations

import sys
import time

from harness.compare.power import CheckRates, RunNoise, check_rates

REALISTIC = RunNoise()
QUIET = RunNoise(shift_sd=0.0, big_shift_p=0.0, share_sd=0.0, config_sd=0.0)
JUMPED = RunNoise(big_shift_p=1.0)  # the current run always jumped: issue 11's incident


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def row(label: str, same: CheckRates, slow: CheckRates) -> str:
    return (
        f"| {label} | {pct(same.false_per_check)} | {pct(same.false_per_config)} | "
        f"{pct(same.raw_false_per_check)} | {pct(slow.detected)} |"
    )


def main() -> None:
    reps = 500 if "--quick" in sys.argv else 2000
    t0 = time.perf_counter()
    print(f"noise model (realistic): {REALISTIC.describe()}")
    print(f"{reps} seeded pairs of runs per cell; 5 trials a side; threshold 5%, confidence 99%")
    print()
    print(
        "| between-run noise, configurations | false alarms per check | per configuration "
        "| per check, trial test alone | 10% slowdown of one flagged |"
    )
    print("|---|---:|---:|---:|---:|")
    cases = [
        ("realistic, 6", dict(noise=REALISTIC, configs=6)),
        ("realistic, 3", dict(noise=REALISTIC, configs=3)),
        ("realistic, 12", dict(noise=REALISTIC, configs=12)),
        ("none (trials only), 6", dict(noise=QUIET, configs=6)),
        ("current run jumped 15-35%, 6", dict(noise=REALISTIC, current_noise=JUMPED, configs=6)),
    ]
    for label, kw in cases:
        same = check_rates(reps=reps, **kw)  # type: ignore[arg-type]
        slow = check_rates(reps=reps, slowdown=0.10, **kw)  # type: ignore[arg-type]
        print(row(label, same, slow))
    print()
    every = check_rates(reps=reps, noise=REALISTIC, configs=6, slowdown=0.10, slowed=6)
    print(
        f"every one of 6 configurations 10% slower (realistic noise): regression "
        f"{pct(every.detected)}, inconclusive {pct(every.inconclusive)}, unchanged "
        f"{pct(every.unchanged)} (a change the whole run shares reads as a device change)"
    )
    two = check_rates(reps=reps, noise=REALISTIC, configs=2)
    print(
        f"only 2 configurations (no shared shift can be taken out), identical code: "
        f"false alarms per check {pct(two.false_per_check)}"
    )
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
