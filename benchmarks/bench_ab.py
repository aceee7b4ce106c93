"""A/B in one session against a stored baseline, when the device changes half-way through a run.

On the simulated Pixel 1 in its deterministic mode (docs/sim.md "Synthetic
latencies": times drawn with a 2% CV between trials, seeded), so the figures
depend on the statistics, not on how busy this machine is. The "CPU hog"
is the simulator's slowdown fault (every inference HOG x as long), switched on
after a trial drawn at random from the middle of each run: half-way through,
and sometimes between the two trials of a pair.

- A/B: `harness run --arm-models base=DIR --arm-models cand=DIR2` (one run, ABBA
  blocks), gated with `harness check --ab` (`harness.compare.ab.compare_arms`).
- Baseline: one stored run of `base` before the experiment, then each
  repetition is one run of `cand`, gated with `harness check --baseline`
  (`harness.compare.check.compare_runs`).

Two candidates: the same file (identical arms), and a model 10% heavier (the
same graph padded so that the device's latency model, 5 ms per MB at 224x224,
gives exactly 10% more). docs/ci.md "A/B or baseline" quotes the output.

Run: python benchmarks/bench_ab.py [--same 20] [--heavier 10] [--trials 10]
(12 minutes on the project's shared 2-core host with the defaults; --same 5
--heavier 5 for a quick look)
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

VARIANT = "mobilenet_v2_0.35_96"
HOG = 1.25  # what the hog costs every inference once it runs
SEED = 5
PROGRESS = re.compile(r"^\[(\d+)/(\d+)\]")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _models(tmp: Path) -> tuple[Path, Path, Path]:
    """Folders base/, same/ (identical file) and heavier/ (+10% nominal latency)."""
    from harness import catalogue
    from harness.convert import convert_many
    from harness.sim.tools.benchmark_model import SYNTHETIC_FLOOR_MS, SYNTHETIC_MS_PER_MB

    (model,) = convert_many(catalogue.select([VARIANT]), ("fp32",), progress=False)
    folders = [tmp / name for name in ("base", "same", "heavier")]
    for folder in folders:
        folder.mkdir()
        shutil.copyfile(model.path, folder / f"{VARIANT}.tflite")
    data = Path(model.path).read_bytes()
    pixels = 96 * 96 / (224 * 224)
    nominal_ms = SYNTHETIC_MS_PER_MB * len(data) / 1e6 * pixels + SYNTHETIC_FLOOR_MS
    extra = int(0.10 * nominal_ms / (SYNTHETIC_MS_PER_MB * pixels) * 1e6)
    # Trailing bytes: the interpreter ignores them, the latency model counts them.
    (folders[2] / f"{VARIANT}.tflite").write_bytes(data + bytes(extra))
    return folders[0], folders[1], folders[2]


class Experiment:
    """One simulated device through one adb server; runs with a hog switched on mid-run."""

    def __init__(self, sim: Any, adb_server: str, out: Path, trials: int) -> None:
        self.sim, self.adb_server, self.out, self.trials = sim, adb_server, out, trials
        self.rng = random.Random(SEED)

    def run(self, arms: list[tuple[str, Path]], *, hog: bool) -> Path:
        """One `harness run` (as the CLI makes it); the hog starts after a mid-run trial."""
        from harness.run import RunSettings, run

        self.sim.faults.set_slowdown(1.0)
        total = self.trials * len(arms)
        # Half-way, give or take a trial: the onset falls inside a pair as often as not.
        onset = total // 2 + self.rng.choice((-1, 0, 1)) if hog else None

        def emit(message: str) -> None:
            m = PROGRESS.match(message)
            if onset is not None and m and int(m.group(1)) == onset:
                self.sim.faults.set_slowdown(HOG)

        settings = RunSettings(
            devices=[self.sim.serial],
            variants=[VARIANT],
            trials=self.trials,
            runs=10,
            warmup=1,
            cooldown_temp_c=None,
            out=self.out,
            adb_server=self.adb_server,
            seed=self.rng.randrange(1, 2**31),
            report=False,
            arms=[{"label": label, "binary": None, "models": str(path)} for label, path in arms],
        )
        outcome = run(settings, emit=emit)
        self.sim.faults.set_slowdown(1.0)
        if outcome.status != "complete" or outcome.trials_failed:
            raise SystemExit(f"run {outcome.run_dir} ended {outcome.status}")
        return outcome.run_dir


def _verdict(comparison: Any) -> tuple[str, float | None]:
    (row,) = comparison.rows
    return str(row.verdict), row.ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--same", type=int, default=20, help="repetitions, identical arms")
    parser.add_argument("--heavier", type=int, default=10, help="repetitions, 10%% heavier")
    parser.add_argument("--trials", type=int, default=10, help="trials per arm")
    opts = parser.parse_args()

    import adbutils

    from harness.compare.ab import compare_arms
    from harness.compare.check import compare_runs
    from harness.sim import SimDevice

    port = _free_port()
    os.environ.update(ANDROID_ADB_SERVER_PORT=str(port), ADB_EMU="0", ADB_MDNS="0", ADB_USB="0")
    adb = adbutils.adb_path()
    subprocess.run([adb, "-P", str(port), "start-server"], check=True, capture_output=True)
    sim = SimDevice.start(faults={"synthetic": SEED})
    started = time.perf_counter()
    tally: dict[tuple[str, str], Counter[str]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    try:
        subprocess.run(
            [adb, "-P", str(port), "connect", sim.serial], check=True, capture_output=True
        )
        with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
            base, same, heavier = _models(Path(tmp))
            exp = Experiment(sim, f"127.0.0.1:{port}", Path(tmp) / "runs", opts.trials)
            stored = exp.run([("base", base)], hog=False)  # the baseline, before any hog
            for name, cand, reps in (
                ("identical", same, opts.same),
                ("10% heavier", heavier, opts.heavier),
            ):
                for rep in range(reps):
                    ab = exp.run([("base", base), ("cand", cand)], hog=True)
                    verdict, ratio = _verdict(compare_arms(ab))
                    tally.setdefault((name, "A/B"), Counter())[verdict] += 1
                    ratios.setdefault((name, "A/B"), []).append(ratio or float("nan"))
                    alone = exp.run([("cand", cand)], hog=True)
                    verdict_b, ratio_b = _verdict(compare_runs(stored, alone))
                    tally.setdefault((name, "baseline"), Counter())[verdict_b] += 1
                    ratios.setdefault((name, "baseline"), []).append(ratio_b or float("nan"))
                    print(
                        f"{name} #{rep + 1}: A/B {verdict} {ratio or 0:.3f}; "
                        f"baseline {verdict_b} {ratio_b or 0:.3f}",
                        file=sys.stderr,
                    )
    finally:
        sim.stop()
        subprocess.run([adb, "-P", str(port), "kill-server"], capture_output=True)

    print(
        f"{VARIANT} fp32 on the simulated Pixel 1 (synthetic latencies, CV 2%), "
        f"{opts.trials} trials per arm, --runs 10; hog: every inference x{HOG} from a trial "
        "near the middle of each run; threshold 5%, confidence 99%"
    )
    print()
    print(
        "| candidate | gate | regression | inconclusive | unchanged | improvement | median ratio |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for key, counts in tally.items():
        n = sum(counts.values())
        values = sorted(ratios[key])
        cells = " | ".join(
            f"{counts.get(v, 0)}/{n}"
            for v in ("regression", "inconclusive", "unchanged", "improvement")
        )
        print(f"| {key[0]} | {key[1]} | {cells} | {values[len(values) // 2]:.3f} |")
    print()
    print(f"wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
