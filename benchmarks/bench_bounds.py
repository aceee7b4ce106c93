"""How long do the bounds docs/run.md promises actually take?

Through a real adb server and the simulated Pixel 1, each figure is measured
from the event that starts it to the event that ends it:

- stop:   SIGTERM / SIGINT sent (right after a trial is stored) -> the harness
          process has exited, its simulated phone stopped and its temporary
          folder removed. Promise: <= 2 s.
- hung:   a `run_trial.sh begin` that never answers -> its `timeout` record
          (the record's own started/finished times). Promise: <= --trial-timeout
          + 45 s (trial call margin, the `true` probe, the kill).
- lost:   the phone goes away for good mid-run -> run() returns `interrupted`.
          Promise: <= --reconnect-timeout + 25 s.

    python benchmarks/bench_bounds.py [--repeat 3]

Prints one line per figure: median and worst of the repeats, and the promise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

VARIANT = "mobilenet_v2_0.35_96"
TRIAL_TIMEOUT_S = 5.0
RECONNECT_TIMEOUT_S = 3.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _adb_server() -> Iterator[dict[str, str]]:
    import adbutils

    port = _free_port()
    env = dict(
        os.environ, ANDROID_ADB_SERVER_PORT=str(port), ADB_EMU="0", ADB_MDNS="0", ADB_USB="0"
    )
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(port)
    adb = adbutils.adb_path()
    proc = subprocess.Popen([adb, "-P", str(port), "server", "nodaemon"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            adbutils.AdbClient(port=port).server_version()
            break
        except Exception:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    try:
        yield env
    finally:
        proc.kill()
        proc.wait()


def _connect(env: dict[str, str], serial: str) -> None:
    import adbutils

    subprocess.run([adbutils.adb_path(), "-P", env["ANDROID_ADB_SERVER_PORT"], "connect", serial],
                   env=env, capture_output=True, timeout=30, check=True)  # fmt: skip
    deadline = time.monotonic() + 20
    client = adbutils.AdbClient(port=int(env["ANDROID_ADB_SERVER_PORT"]))
    while {d.serial: d.state for d in client.list()}.get(serial) != "device":
        if time.monotonic() > deadline:
            raise SystemExit(f"{serial} never attached")
        time.sleep(0.1)


def stop_latency(env: dict[str, str], sig: signal.Signals) -> float:
    """Seconds from the signal to the exit of `harness run --device sim` (cleanup included)."""
    with tempfile.TemporaryDirectory() as tmp:
        out, tmpdir = Path(tmp) / "out", Path(tmp) / "tmp"
        tmpdir.mkdir()
        code = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"
        argv = ["run", "--device", "sim", "--variants", VARIANT, "--trials", "4", "--runs",
                "5000", "--cooldown-temp", "0", "--out", str(out), "--no-report"]  # fmt: skip
        proc = subprocess.Popen([sys.executable, "-c", code, *argv],
                                env=dict(env, TMPDIR=str(tmpdir)), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        while not any(p.stat().st_size for p in out.glob("*/trials.jsonl")):
            if proc.poll() is not None:
                raise SystemExit("the run ended before a trial was stored")
            time.sleep(0.01)
        sent = time.perf_counter()
        proc.send_signal(sig)
        proc.wait(120)
        took = time.perf_counter() - sent
        if list(tmpdir.glob("harness-sim-*")):
            raise SystemExit("the simulated phone's temporary folder was left behind")
        return took


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def hung_call(env: dict[str, str]) -> float:
    """Seconds from a hung trial's launch to its `timeout` record (by the record)."""
    from harness.device.select import connect
    from harness.run import RunSettings, run
    from harness.sim import SimDevice

    with SimDevice.start() as dev, tempfile.TemporaryDirectory() as tmp:
        _connect(env, dev.serial)
        dev.faults.hang_commands(r"run_trial\.sh begin ")
        settings = RunSettings(devices=[dev.serial], variants=[VARIANT], trials=1, runs=3,
                               warmup=1, out=Path(tmp), report=False, cooldown_temp_c=None,
                               trial_timeout_s=TRIAL_TIMEOUT_S)  # fmt: skip
        outcome = run(settings, sessions=connect([dev.serial]))
        [line] = (outcome.run_dir / "trials.jsonl").read_text().splitlines()
        record: dict[str, Any] = json.loads(line)
        if record["status"] != "timeout":
            raise SystemExit(f"expected a timeout record, got {record['status']}")
        return _epoch(record["finished_at"]) - _epoch(record["started_at"])


def lost_device(env: dict[str, str]) -> float:
    """Seconds from the phone going away for good to run() returning `interrupted`."""
    from harness.device.select import connect
    from harness.run import RunSettings, run
    from harness.sim import SimDevice

    with SimDevice.start() as dev, tempfile.TemporaryDirectory() as tmp:
        _connect(env, dev.serial)
        gone: list[float] = []

        def emit(message: str) -> None:
            if message.startswith("[1/") and not gone:
                gone.append(time.perf_counter())
                dev.faults.go_offline(600.0)

        settings = RunSettings(devices=[dev.serial], variants=[VARIANT], trials=3, runs=3,
                               warmup=1, out=Path(tmp), report=False, cooldown_temp_c=None,
                               reconnect_timeout_s=RECONNECT_TIMEOUT_S)  # fmt: skip
        outcome = run(settings, sessions=connect([dev.serial]), emit=emit)
        took = time.perf_counter() - gone[0]
        if outcome.status != "interrupted":
            raise SystemExit(f"expected interrupted, got {outcome.status}")
        return took


def _line(name: str, values: list[float], promise: str) -> str:
    return (f"{name:<18} median {statistics.median(values):6.2f} s  worst {max(values):6.2f} s"
            f"  (n={len(values)}; promise {promise})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    with _adb_server() as env:
        rows = []
        for sig, name in ((signal.SIGTERM, "stop (SIGTERM)"), (signal.SIGINT, "stop (SIGINT)")):
            rows.append(_line(name, [stop_latency(env, sig) for _ in range(opts.repeat)],
                              "<= 2 s"))  # fmt: skip
        rows.append(_line("hung call", [hung_call(env) for _ in range(opts.repeat)],
                          f"<= trial timeout {TRIAL_TIMEOUT_S:g} s + 45 s"))  # fmt: skip
        rows.append(_line("lost device", [lost_device(env) for _ in range(opts.repeat)],
                          f"<= reconnect timeout {RECONNECT_TIMEOUT_S:g} s + 25 s"))  # fmt: skip
    print("\n".join(rows))


if __name__ == "__main__":
    main()
