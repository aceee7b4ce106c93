"""False alarms and power of `harness check` when runs differ, not only trials.

The per-trial t test sees within-run noise only; two runs also differ as a
whole (thermal state, background load, governor). This prints, for seeded
pairs of runs judged by the code `compare_runs` runs per device
(`harness.compare.check.judge_configs`), how often identical code is flagged
and how often a real slowdown of one configuration is, under the noise model
`tests.support.power.RunNoise` states (printed first). docs/ci.md
"Between-run noise" quotes the table; tests/unit/test_check_power.py checks
its headline figures against the same simulation.

Run: python benchmarks/bench_check_power.py [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

# Run as `python benchmarks/bench_x.py`: the repository root comes first, so the
# harness and its test support (tests/support/: fabricated run folders,
# simulations) are imported from the same checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.power import CheckRates, RunNoise, check_rates

REALISTIC = RunNoise()
QUIET = RunNoise(shift_sd=0.0, big_shift_p=0.0, share_sd=0.0, config_sd=0.0)
JUMPED = RunNoise(big_shift_p=1.0)  # every current run jumped: a host whose load changed


def pct(x: float, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f}%"


def row(label: str, same: CheckRates, slow: CheckRates) -> str:
    """One table row; per configuration with two decimals (0.05% at 22 is not 0.0%)."""
    return (
        f"| {label} | {pct(same.false_per_check)} | {pct(same.false_per_config, 2)} | "
        f"{pct(same.raw_false_per_check)} | {pct(slow.detected)} |"
    )


CONFIGS = (3, 6, 12, 22)  # 22: every MobileNetV2 variant, `harness run`'s default


def cases() -> list[tuple[str, dict[str, object]]]:
    """The table's rows: (label, check_rates keywords); test_check_power.py reads the same."""
    out: list[tuple[str, dict[str, object]]] = []
    for label, kw in (
        ("realistic", dict(noise=REALISTIC)),
        ("none (trials only)", dict(noise=QUIET)),
        ("current run jumped 15-35%", dict(noise=REALISTIC, current_noise=JUMPED)),
    ):
        out += [(f"{label}, {k}", {**kw, "configs": k}) for k in CONFIGS]
    return out


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
    for label, kw in cases():
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
