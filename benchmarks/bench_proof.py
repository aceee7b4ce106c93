"""What the proof sampling costs, and how often the trial scripts wake up.

1. Sampling cost, on the simulated Pixel 1 through a real adb server: runs of
   the same configuration alternate with run_trial.sh's sampler on and off
   (HARNESS_SAMPLE_S=0 in the device's environment), and the trials' mean
   latencies are compared:

       cost = mean latency with sampling / mean latency without - 1   (target within 1 %)

2. Wake-ups per second of a trial, under mksh on the host: every `sleep` the
   scripts run is one wake-up of a process that shares the phone with the
   benchmark. A PATH shim counts them while `begin` returns at once and
   `collect` then waits for a trial of TRIAL_S seconds, for main's
   run_trial.sh (`git show main:device_scripts/run_trial.sh`) and this one.

    python benchmarks/bench_proof.py [--pairs 3] [--trials 3] [--runs 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "device_scripts" / "run_trial.sh"
TRIAL_S = 3.0
MARK = "@@harness-bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wakeups(script_text: str, work: Path) -> float:
    """`sleep` calls per second while collect waits for a TRIAL_S trial."""
    work.mkdir(parents=True)
    (work / "run_trial.sh").write_text(script_text)
    (work / "state.sh").write_text("echo battery_level=80\n")
    shim = work / "bin"
    shim.mkdir()
    log = work / "sleeps.log"
    real = shutil.which("sleep") or "/bin/sleep"
    (shim / "sleep").write_text(f'#!/bin/sh\necho x >>"{log}"\nexec {real} "$@"\n')
    (shim / "sleep").chmod(0o755)
    env = dict(os.environ, PATH=f"{shim}:{os.environ['PATH']}", HARNESS_SAMPLE_S="0.5")
    cmd = ["mksh", str(work / "run_trial.sh")]
    trial = work / "t"
    start = time.monotonic()
    # The benchmark stand-in sleeps by absolute path: its own sleep is no wake-up of ours.
    subprocess.run(
        [*cmd, "begin", str(trial), "1", "0", MARK, "0", "--", real, str(TRIAL_S)],
        env=env, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        [*cmd, "collect", str(trial), "60", MARK, "0"],
        env=env, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    elapsed = time.monotonic() - start
    count = len(log.read_text().splitlines()) if log.exists() else 0
    return count / elapsed


def _latencies(run_dir: Path) -> tuple[list[float], float]:
    """Ok trials' latencies, and the mean number of proof samples per trial."""
    rows = [json.loads(x) for x in (run_dir / "trials.jsonl").read_text().splitlines() if x]
    ok = [r for r in rows if r["status"] == "ok"]
    samples = statistics.mean(r.get("proof_samples") or 0 for r in ok) if ok else 0.0
    return [float(r["latency_ms"]) for r in ok], samples


def sampling_cost(pairs: int, trials: int, runs: int) -> tuple[float, float, float]:
    """Mean trial latency (ms) with and without sampling, and the relative cost."""
    import adbutils

    from harness.run import RunSettings, run
    from harness.sim import SimDevice

    port = _free_port()
    env = dict(
        os.environ, ANDROID_ADB_SERVER_PORT=str(port), ADB_EMU="0", ADB_MDNS="0", ADB_USB="0"
    )
    adb = adbutils.adb_path()
    subprocess.run([adb, "-P", str(port), "start-server"], env=env, check=True, capture_output=True)
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(port)
    sim = SimDevice.start()
    on: list[float] = []
    off: list[float] = []
    try:
        subprocess.run(
            [adb, "-P", str(port), "connect", sim.serial], env=env, check=True, capture_output=True
        )
        from harness.device.select import connect

        with tempfile.TemporaryDirectory() as tmp:
            # ABBA order (on off off on ...) so a steady drift of the host's load
            # falls on both sides alike; pass 0 is unmeasured and fills caches.
            for i in range(pairs * 2 + 1):
                sampling = i > 0 and (i - 1) % 4 in (0, 3)
                sim._core.spawner.env["HARNESS_SAMPLE_S"] = "0.5" if sampling else "0"
                settings = RunSettings(
                    devices=[sim.serial], variants=["mobilenet_v2_0.35_96"], trials=trials,
                    runs=runs, warmup=3, out=Path(tmp) / str(i), seed=i, report=False,
                )  # fmt: skip
                outcome = run(settings, sessions=list(connect([sim.serial])))
                if i == 0:
                    continue
                got, samples = _latencies(outcome.run_dir)
                print(
                    f"  pass {i}: sampling {'on ' if sampling else 'off'} "
                    f"mean {statistics.mean(got):.3f} ms over {len(got)} trials, "
                    f"{samples:.1f} samples per trial"
                )
                (on if sampling else off).extend(got)
    finally:
        sim.stop()
        subprocess.run([adb, "-P", str(port), "kill-server"], env=env, capture_output=True)
    with_s, without = statistics.mean(on), statistics.mean(off)
    return with_s, without, with_s / without - 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=3)
    # Enough runs that a trial spans several 500 ms samples.
    parser.add_argument("--runs", type=int, default=1500)
    args = parser.parse_args()
    old = subprocess.run(
        ["git", "-C", str(ROOT), "show", "main:device_scripts/run_trial.sh"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        before = wakeups(old, Path(tmp) / "before")
        after = wakeups(SCRIPT.read_text(), Path(tmp) / "after")
    print(f"wake-ups per second of a {TRIAL_S:g} s trial (begin, then collect waiting):")
    print(f"  before (main's run_trial.sh): {before:6.1f}/s")
    print(f"  after  (sampling every 0.5 s, polls >= 200 ms): {after:6.1f}/s")
    with_s, without, cost = sampling_cost(args.pairs, args.trials, args.runs)
    verdict = "within" if abs(cost) <= 0.01 else "OUTSIDE"
    print("trial latency on the simulated Pixel 1 (mobilenet_v2_0.35_96, big cores):")
    print(f"  with sampling {with_s:.3f} ms, without {without:.3f} ms")
    print(f"  sampling cost {cost * 100:+.2f} % ({verdict} the 1 % target)")
    sys.exit(0)


if __name__ == "__main__":
    main()
