"""Throughput and latency of the simulated device through the adb CLI and adbutils.

Targets: push >= 100 MB/s with the adb CLI on loopback, `shell true`
median <= 15 ms with the adb CLI. Run: `python benchmarks/bench_adb.py [--mb N] [--shells N]`.
Starts its own adb server on a free port (ADB_EMU/MDNS/USB off) and one SimDevice.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import adbutils

from harness.sim import SimDevice


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=50, help="file size for push/pull")
    parser.add_argument(
        "--repeats", type=int, default=3, help="transfers per figure (best and median shown)"
    )
    parser.add_argument("--shells", type=int, default=40, help="`shell true` calls per figure")
    args = parser.parse_args()

    adb = adbutils.adb_path()
    port = free_port()
    env = dict(
        os.environ, ADB_EMU="0", ADB_MDNS="0", ADB_USB="0", ANDROID_ADB_SERVER_PORT=str(port)
    )
    server = subprocess.Popen(
        [adb, "-P", str(port), "server", "nodaemon"], env=env, stderr=subprocess.DEVNULL
    )
    device = SimDevice.start()
    try:
        client = adbutils.AdbClient(host="127.0.0.1", port=port, socket_timeout=60)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.server_version()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        print(client.connect(device.serial, timeout=10))

        def cli(*a: str) -> None:
            subprocess.run(
                [adb, "-P", str(port), "-s", device.serial, *a],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=300,
            )

        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "payload.bin"
            data = os.urandom(args.mb * 1024 * 1024)
            src.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            remote = "/data/local/tmp/bench/payload.bin"
            dst = Path(tmp) / "back.bin"
            mb = len(data) / 1e6
            figures: dict[str, list[float]] = {}
            figures["adb CLI push (MB/s)"] = [
                mb / timed(lambda: cli("push", str(src), remote)) for _ in range(args.repeats)
            ]
            figures["adb CLI pull (MB/s)"] = [
                mb / timed(lambda: cli("pull", remote, str(dst))) for _ in range(args.repeats)
            ]
            assert hashlib.sha256(dst.read_bytes()).hexdigest() == digest, (
                "CLI pull corrupted the data"
            )
            dev = client.device(device.serial)
            figures["adbutils sync.push (MB/s)"] = [
                mb / timed(lambda: dev.sync.push(str(src), remote)) for _ in range(args.repeats)
            ]
            figures["adbutils sync.pull (MB/s)"] = [
                mb / timed(lambda: dev.sync.pull(remote, str(dst))) for _ in range(args.repeats)
            ]
            assert hashlib.sha256(dst.read_bytes()).hexdigest() == digest, (
                "adbutils pull corrupted the data"
            )
            cli("shell", "true")
            figures["adb CLI `shell true` (ms)"] = [
                1e3 * timed(lambda: cli("shell", "true")) for _ in range(args.shells)
            ]
            figures["adbutils shell('true') (ms)"] = [
                1e3 * timed(lambda: dev.shell("true")) for _ in range(args.shells)
            ]
            figures["adbutils shell2('true', v2) (ms)"] = [
                1e3 * timed(lambda: dev.shell2("true", v2=True)) for _ in range(args.shells)
            ]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"simulated device {device.serial}, {args.mb} MB file, "
            f"host CPUs {len(os.sched_getaffinity(0))}, load {load}"
        )
        for name, values in figures.items():
            best = max(values) if "MB/s" in name else min(values)
            print(
                f"{name:36s} median {statistics.median(values):8.1f}"
                f"   best {best:8.1f}   n={len(values)}"
            )
        print("targets: adb CLI push >= 100 MB/s; adb CLI `shell true` median <= 15 ms")
    finally:
        device.stop()
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
