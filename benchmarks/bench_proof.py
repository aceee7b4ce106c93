"""What the proof sampling costs, and how often the trial scripts wake up.

1. Sampling cost, on the simulated Pixel 1 through a real adb server: the
   trials of one run alternate (on, off, off, on, ...) between run_trial.sh's
   sampler on and off (HARNESS_SAMPLE_S=0 in the device's environment), and
   each ABBA block's mean latencies are compared:

       cost = median over blocks of (mean with sampling / mean without) - 1   (target within 1 %)

2. The sampler's own CPU time, under mksh on the host, which load does not
   blur as it blurs latency: a trial whose "benchmark" is `sleep` (no CPU of
   its own) runs begin + collect with sampling on and off; this process is
   the child subreaper, so the detached wrapper and sampler are reaped here
   and their CPU time is counted (RUSAGE_CHILDREN). The difference per second
   of trial is the share of one CPU the sampling takes; it runs pinned off the
   measured cores, so this is an upper bound on its cost to the benchmark even
   if it ran on them.

3. Wake-ups per second of a trial, under mksh on the host: every `sleep` the
   scripts run is one wake-up of a process that shares the phone with the
   benchmark. A PATH shim counts them while `begin` returns at once and
   `collect` then waits for a trial of TRIAL_S seconds, for run_trial.sh as
   it was before the proof sampling (BEFORE, the parent of 71793d9, which
   added it) and for this one.

    python benchmarks/bench_proof.py [--blocks 6] [--runs 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
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
BEFORE = "71793d9^"  # run_trial.sh before the proof sampling was added
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The scripts' arguments: `begin DIR MASK` then these, then CPUs; `collect DIR` then these.
# BEFORE waited in whole seconds; this one counts hundredths and takes the beat.
BEFORE_ARGS = (["0", MARK], ["60", MARK])
ARGS = (["0", "200", MARK], ["6000", "200", MARK])


def wakeups(script_text: str, work: Path, args: tuple[list[str], list[str]] = ARGS) -> float:
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
        [*cmd, "begin", str(trial), "1", *args[0], "0", "--", real, str(TRIAL_S)],
        env=env, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        [*cmd, "collect", str(trial), *args[1], "0"],
        env=env, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    elapsed = time.monotonic() - start
    count = len(log.read_text().splitlines()) if log.exists() else 0
    return count / elapsed


def _reap_all() -> None:
    """Wait for every child, including orphans handed to this subreaper."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def script_cpu_s(work: Path, sample_s: str, trial_s: float) -> tuple[float, int]:
    """CPU seconds run_trial.sh's processes used for one trial, and its samples."""
    work.mkdir(parents=True)
    shutil.copy(SCRIPT, work / "run_trial.sh")
    (work / "state.sh").write_text("echo battery_level=80\n")
    env = dict(os.environ, HARNESS_SAMPLE_S=sample_s)
    cmd = ["mksh", str(work / "run_trial.sh")]
    trial = work / "t"
    real = shutil.which("sleep") or "/bin/sleep"
    cpus = sorted(os.sched_getaffinity(0))
    _reap_all()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [*cmd, "begin", str(trial), "1", *ARGS[0], "--no-before", str(cpus[0]), "--",
         real, f"{trial_s:g}"],
        env=env, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        [*cmd, "collect", str(trial), *ARGS[1], str(cpus[0])],
        env=env, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    _reap_all()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    samples_file = trial / "samples"
    text = samples_file.read_text() if samples_file.exists() else ""
    return used, sum(line.startswith("sample ") for line in text.splitlines())


def sampler_cpu(repeats: int, trial_s: float) -> tuple[float, float, float]:
    """Median CPU s per trial with and without sampling, and samples per trial."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    on: list[float] = []
    off: list[float] = []
    samples: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            used, n = script_cpu_s(Path(tmp) / f"on{i}", "0.5", trial_s)
            on.append(used)
            samples.append(n)
            off.append(script_cpu_s(Path(tmp) / f"off{i}", "0", trial_s)[0])
    return statistics.median(on), statistics.median(off), statistics.median(samples)


def _latencies(run_dir: Path) -> tuple[list[float], float]:
    """Ok trials' latencies, and the mean number of proof samples per trial."""
    rows = [json.loads(x) for x in (run_dir / "trials.jsonl").read_text().splitlines() if x]
    ok = [r for r in rows if r["status"] == "ok"]
    samples = statistics.mean(r.get("proof_samples") or 0 for r in ok) if ok else 0.0
    return [float(r["latency_ms"]) for r in ok], samples


def sampling_cost(blocks: int, runs: int) -> tuple[list[float], list[float], list[float]]:
    """Latencies (ms) of trials with and without sampling, and each ABBA block's ratio.

    One run on the simulated Pixel 1; between trials (as each trial's
    benchmark ends on the device, docs/sim.md "Device events") the device's
    HARNESS_SAMPLE_S is switched, so the trials go on, off, off, on, ... and a
    drift of the host's load falls on both sides alike. Which side a trial was
    on is read from its record (proof samples taken or not), not assumed from
    the order.
    """
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

    def side(index: int) -> str:
        return "0.5" if index % 4 in (0, 3) else "0"

    def alternate(_event: object) -> None:
        """The n-th trial's benchmark has ended: the next trial goes on side(n)."""
        ended.append(1)
        sim.set_env("HARNESS_SAMPLE_S", side(len(ended)))

    ended: list[int] = []

    try:
        subprocess.run(
            [adb, "-P", str(port), "connect", sim.serial], env=env, check=True, capture_output=True
        )
        from harness.device.select import connect

        with tempfile.TemporaryDirectory() as tmp:
            for name, trials in (("warm", 2), ("measured", blocks * 4)):
                ended.clear()
                sim.set_env("HARNESS_SAMPLE_S", side(0))
                switch = sim.faults.on("benchmark_end", alternate, match="--graph=", every=True)
                settings = RunSettings(
                    devices=[sim.serial], variants=["mobilenet_v2_0.35_96"], trials=trials,
                    runs=runs, warmup=3, out=Path(tmp) / name, seed=1, report=False,
                )  # fmt: skip
                outcome = run(settings, sessions=list(connect([sim.serial])))
                switch.cancel()
            path = outcome.run_dir / "trials.jsonl"
            rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    finally:
        sim.stop()
        subprocess.run([adb, "-P", str(port), "kill-server"], env=env, capture_output=True)
    rows.sort(key=lambda r: r["order_index"])
    on: list[float] = []
    off: list[float] = []
    ratios: list[float] = []
    for b in range(0, len(rows) - 3, 4):
        block = [r for r in rows[b : b + 4] if r["status"] == "ok"]
        a = [float(r["latency_ms"]) for r in block if r.get("proof_samples")]
        z = [float(r["latency_ms"]) for r in block if not r.get("proof_samples")]
        on.extend(a)
        off.extend(z)
        if a and z:
            ratios.append(statistics.mean(a) / statistics.mean(z))
    return on, off, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=6, help="ABBA blocks of 4 trials")
    # Enough runs that a trial spans several 500 ms samples.
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5, help="CPU-time trials per side")
    args = parser.parse_args()
    old = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{BEFORE}:device_scripts/run_trial.sh"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        before = wakeups(old, Path(tmp) / "before", BEFORE_ARGS)
        after = wakeups(SCRIPT.read_text(), Path(tmp) / "after")
    print(f"wake-ups per second of a {TRIAL_S:g} s trial (begin, then collect waiting):")
    print(f"  before (run_trial.sh at {BEFORE}): {before:6.1f}/s")
    print(f"  now (sampling every 0.5 s, waits on a fifo, alive every 2 s): {after:6.1f}/s")
    cpu_on, cpu_off, samples = sampler_cpu(args.repeats, TRIAL_S)
    share = (cpu_on - cpu_off) / TRIAL_S
    print(f"the scripts' CPU time per {TRIAL_S:g} s trial (median of {args.repeats}, mksh):")
    print(f"  sampling on  {cpu_on * 1000:7.1f} ms ({samples:g} samples)")
    print(f"  sampling off {cpu_off * 1000:7.1f} ms")
    per = (cpu_on - cpu_off) / samples * 1000 if samples else float("nan")
    print(
        f"  the sampler: {per:.2f} ms per sample, {share * 100:.2f} % of one CPU "
        f"({'within' if share <= 0.01 else 'OUTSIDE'} 1 % even if it ran on a measured core)"
    )
    on, off, ratios = sampling_cost(args.blocks, args.runs)
    if not on or not off or not ratios:
        print(f"no comparison: {len(on)} trials with sampling, {len(off)} without")
        sys.exit(1)
    with_s, without = statistics.mean(on), statistics.mean(off)
    cost = statistics.median(ratios) - 1.0
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    verdict = "within" if abs(cost) <= 0.01 else "OUTSIDE"
    print("trial latency on the simulated Pixel 1 (mobilenet_v2_0.35_96, big cores, one run):")
    print(
        f"  with sampling {with_s:.3f} ms ({len(on)} trials), without {without:.3f} ms ({len(off)})"
    )
    print(
        f"  sampling cost, median of {len(ratios)} ABBA blocks: {cost * 100:+.2f} % "
        f"(quartiles {(q[0] - 1) * 100:+.2f} % .. {(q[2] - 1) * 100:+.2f} %; "
        f"{verdict} the 1 % target)"
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
