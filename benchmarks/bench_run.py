"""How much time does `harness run` add around the benchmark processes it starts?

A full 22-variant MobileNetV2 sweep on the simulated Pixel 1 through a real
adb server: the harness runs as a child process (`harness run --device
127.0.0.1:PORT`), so its wall time and peak memory are its own, not the
simulated device's. A first, unmeasured pass fills the model cache and the
device's files; the measured pass then reports

    overhead ratio = harness wall time / summed wall time of the benchmark processes

(target <= 1.10 with cached models and files) and the harness's peak RSS.

    python benchmarks/bench_run.py [--trials 5] [--runs 50] [--warmup 5] [--variants v2:*]

(the defaults are `harness run`'s). The harness's bytecode is compiled first, as
installing it does: a checkout run with PYTHONDONTWRITEBYTECODE set would compile
every module again at every start. It also splits the harness's time into
start-up + preparation, the trial loop, and the end (tables), and gives the
time around each process (target <= 40 ms), for the 0.35 variants and all.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.sim import SimDevice


# `harness ARGS` as a child process, through the installed command's own entry point.
HARNESS = "import sys; from harness.cli import console; sys.exit(console())"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def sim_behind_adb() -> Iterator[tuple[SimDevice, dict[str, str]]]:
    """A simulated Pixel 1 connected to a real adb server of its own; (the device, the
    environment a harness child reaches that server with). Both are stopped on exit."""
    import adbutils

    from harness.sim import SimDevice

    port = _free_port()
    env = dict(
        os.environ, ANDROID_ADB_SERVER_PORT=str(port), ADB_EMU="0", ADB_MDNS="0", ADB_USB="0"
    )
    adb = adbutils.adb_path()
    subprocess.run([adb, "-P", str(port), "start-server"], env=env, check=True, capture_output=True)
    sim = SimDevice.start()
    try:
        subprocess.run(
            [adb, "-P", str(port), "connect", sim.serial], env=env, check=True, capture_output=True
        )
        yield sim, env
    finally:
        sim.stop()
        subprocess.run([adb, "-P", str(port), "kill-server"], env=env, capture_output=True)


def _harness(args: list[str], env: dict[str, str]) -> tuple[float, float, int, dict[str, Any], str]:
    """Run `harness ARGS --json` as a child: start epoch, wall s, peak RSS KiB, outcome, stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        epoch = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", HARNESS, *args, "--json"], stdout=out, stderr=err, env=env
        )
        # wait4: the resource usage of this child alone (and what it waited for).
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"harness run failed ({proc.returncode}):\n{stderr[-3000:]}")
    return epoch, wall, int(usage.ru_maxrss), json.loads(stdout), stderr


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def around_ms(trials: list[dict[str, Any]], chosen: list[dict[str, Any]]) -> list[float]:
    """Per chosen trial: the host's time from its start to the next trial's start, less its
    process's wall time (the last trial: to its own end). The cost the harness adds to it."""
    ordered = sorted(trials, key=lambda t: _epoch(t["started_at"]))
    following = {t["trial_id"]: _epoch(n["started_at"]) for t, n in itertools.pairwise(ordered)}
    return [
        (following.get(t["trial_id"], _epoch(t["finished_at"])) - _epoch(t["started_at"])
         - float(t["wall_s"])) * 1000
        for t in chosen
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="v2:*")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    opts = parser.parse_args()

    import harness

    compileall.compile_dir(Path(harness.__file__).parent, quiet=1)
    with sim_behind_adb() as (sim, env), tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        common = [
            "run", "--device", sim.serial, "--variants", opts.variants, "--no-report",
            "--runs", str(opts.runs), "--warmup", str(opts.warmup), "--seed", "1",
        ]  # fmt: skip
        # Warm pass: converts (cached afterwards) and pushes models (skipped afterwards).
        print("warm-up pass (conversion and pushes; not measured)...", file=sys.stderr)
        _harness([*common, "--trials", "1", "--runs", "1", "--warmup", "0",
                  "--out", str(Path(tmp) / "warm")], env)  # fmt: skip
        epoch, wall, peak_kib, outcome, _err = _harness(
            [*common, "--trials", str(opts.trials), "--out", str(Path(tmp) / "measured")], env
        )
        run_dir = Path(outcome["run_dir"])
        trials = [json.loads(x) for x in (run_dir / "trials.jsonl").read_text().splitlines() if x]

    process_s = sum(float(t["wall_s"]) for t in trials)
    first = min(_epoch(t["started_at"]) for t in trials)
    last = max(_epoch(t["finished_at"]) for t in trials)
    loop_s = last - first
    variants = len({t["variant"] for t in trials})
    print(f"sweep: {variants} variants x {opts.trials} trials = {len(trials)} trials, "
          f"--runs {opts.runs} --warmup {opts.warmup}, status {outcome['status']}")  # fmt: skip
    print(f"harness wall time:              {wall:8.2f} s")
    print(f"summed benchmark process time:  {process_s:8.2f} s")
    print(f"overhead ratio:                 {wall / process_s:8.3f}  (target <= 1.10)")
    print(f"  start-up + preparation:       {first - epoch:8.2f} s")
    print(f"  trial loop:                   {loop_s:8.2f} s  "
          f"(ratio {loop_s / process_s:.3f}, {(loop_s - process_s) / len(trials) * 1000:.1f} ms "
          "per trial around the process)")  # fmt: skip
    for label, chosen in (("0.35 variants", [t for t in trials if t["depth_multiplier"] == 0.35]),
                          ("all variants", trials)):  # fmt: skip
        around = sorted(around_ms(trials, chosen))
        if around:
            proc_ms = sum(float(t["wall_s"]) for t in chosen) / len(chosen) * 1000
            mid, mean = around[len(around) // 2], sum(around) / len(around)
            print(f"    around the process, {label}: median {mid:.1f} ms, "
                  f"mean {mean:.1f} ms per trial (process {proc_ms:.0f} ms)")  # fmt: skip
    print(f"  end (tables, exit):           {epoch + wall - last:8.2f} s")
    print(f"peak host memory (harness RSS): {peak_kib / 1024:8.1f} MiB")


if __name__ == "__main__":
    main()
