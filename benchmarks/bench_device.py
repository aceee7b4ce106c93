"""Device-layer costs on the simulated Pixel 1 through a real adb server.

Prints: adb round trips and wall time to prepare a device (identity, core
masks, benchmark binary, model pushes) cold (fresh device) and warm (same
device, new session: everything already there), the latency of one shell
round trip, and push throughput. Run: python benchmarks/bench_device.py
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import adbutils

from harness.device.binary import prepare_binary
from harness.device.cores import select_cores
from harness.device.files import push_many
from harness.device.info import read_info
from harness.device.select import connect
from harness.device.servers import adb_connect, make_client
from harness.device.session import DeviceSession
from harness.sim import SimDevice

MODEL_BYTES = (14_000_000, 6_000_000, 3_500_000)  # roughly v2 1.0 fp32, 0.75, 0.35 sizes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server() -> subprocess.Popen[bytes]:
    port = _free_port()
    os.environ.update(ADB_EMU="0", ADB_MDNS="0", ADB_USB="0", ANDROID_ADB_SERVER_PORT=str(port))
    proc = subprocess.Popen(
        [adbutils.adb_path(), "-P", str(port), "server", "nodaemon"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            make_client().server_version()
            return proc
        except Exception:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def prepare(session: DeviceSession, models: list[Path]) -> None:
    """What `harness run` does per device before measuring."""
    read_info(session)
    select_cores(session, "big")
    prepare_binary(session, None)
    push_many(session, [(m, f"models/{m.name}") for m in models])


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    server = _start_server()
    sim: Any = SimDevice.start()  # its attributes are set in start(), beyond mypy's view
    try:
        with tempfile.TemporaryDirectory() as tmp:
            models = []
            for i, size in enumerate(MODEL_BYTES):
                path = Path(tmp) / f"model_{i}.tflite"
                path.write_bytes(os.urandom(size))
                models.append(path)
            adb_connect(make_client(), sim.serial)
            print(
                f"device: simulated Pixel 1 at {sim.serial}; models "
                f"{sum(MODEL_BYTES) / 1e6:.1f} MB in {len(models)} files"
            )
            for label in ("cold", "warm", "warm"):
                [session] = connect([sim.serial])
                wall = timed(lambda s=session: prepare(s, models))  # type: ignore[misc]
                print(
                    f"prepare {label}: {session.round_trips:3d} adb round trips, "
                    f"{wall * 1e3:7.1f} ms"
                )
            [session] = connect([sim.serial])
            steps = {
                "info": lambda: read_info(session),
                "cores": lambda: select_cores(session, "big"),
                "binary probe": lambda: prepare_binary(session, None),
                "model hash check": lambda: push_many(
                    session, [(m, f"models/{m.name}") for m in models]
                ),
            }
            print(
                "warm steps: "
                + ", ".join(f"{k} {timed(fn) * 1e3:.0f} ms" for k, fn in steps.items())
            )
            samples = [timed(lambda: session.shell(["true"], timeout_s=10)) for _ in range(30)]
            median_ms = statistics.median(samples) * 1e3
            print(
                f"shell round trip (shell_v2 `true`): median {median_ms:.1f} ms, "
                f"min {min(samples) * 1e3:.1f} ms over {len(samples)}"
            )
            marker = DeviceSession(make_client(), sim.serial, shell_v2=False)
            samples = [timed(lambda: marker.shell(["true"], timeout_s=10)) for _ in range(30)]
            print(
                f"shell round trip (legacy shell + exit marker): median "
                f"{statistics.median(samples) * 1e3:.1f} ms"
            )
            big = Path(tmp) / "big.bin"
            big.write_bytes(os.urandom(20_000_000))
            secs = timed(
                lambda: session.push(big, "/data/local/tmp/harness/big.bin", timeout_s=120)
            )
            print(f"push 20 MB (verified size): {secs * 1e3:.0f} ms, {20 / secs:.0f} MB/s")
            secs = timed(
                lambda: session.pull(
                    "/data/local/tmp/harness/big.bin", Path(tmp) / "back.bin", timeout_s=120
                )
            )
            print(f"pull 20 MB: {secs * 1e3:.0f} ms, {20 / secs:.0f} MB/s")
    finally:
        sim.stop()
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
