"""Does the harness's own CPU time per trial stay flat as a lab grows?

1, 2, 4 and 8 simulated phones split over two real adb servers (the bundled
adb started twice, `-P`), one `harness run` over all of them (leases, one
worker per phone). The phones run in this process; the harness runs as a
child, so `wait4` charges it only its own CPU (user + system), never the
simulated phones' or their benchmark processes'.

Per-trial cost is a difference, so start-up and preparation fall out: for
each lab size the same phones run `--trials T` and then `--trials 2T`, and

    harness CPU per trial = (cpu(2T) - cpu(T)) / (phones * T)

The phones draw synthetic latencies (the stand-in's deterministic mode), so a
busy host changes the trials' CPU, not the count of what the harness does per
trial. The smallest variant; `--runs` sets how long a trial is.

    python benchmarks/bench_lab.py [--sizes 1,2,4,8] [--trials 4] [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from harness.sim import SimDevice

VARIANT = "mobilenet_v2_0.35_96"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(adb: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = dict(os.environ, ADB_EMU="0", ADB_MDNS="0", ADB_USB="0")
    proc = subprocess.Popen(
        [adb, "-P", str(port), "server", "nodaemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        start_new_session=True,
    )
    for _ in range(300):
        if subprocess.run(
            [adb, "-P", str(port), "version"], capture_output=True, env=env, check=False
        ).returncode == 0 and _listening(port):
            return proc, port
        time.sleep(0.1)
    raise SystemExit(f"adb server on {port} did not start")


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _harness_cpu(args: list[str]) -> tuple[float, float, int]:
    """Run `harness run ARGS --json` as a child: (CPU s, wall s, trials stored)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "run", *args, "--json"], stdout=out, stderr=err
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"harness run failed:\n{err.read()[-3000:]}")
        outcome = json.loads(out.read())
    return usage.ru_utime + usage.ru_stime, wall, int(outcome["trials_total"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,2,4,8")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--runs", type=int, default=200)
    opts = parser.parse_args()
    adb = str(resources.files("adbutils") / "binaries" / "adb")
    tmp = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    servers = [_start_server(adb, tmp / f"adb-{i}.log") for i in range(2)]
    specs = [f"127.0.0.1:{port}" for _proc, port in servers]
    phones: list[SimDevice] = []
    rows = []
    try:
        for size in (int(s) for s in opts.sizes.split(",")):
            while len(phones) < size:
                phone = SimDevice.start()
                phone.faults.set_synthetic(len(phones) + 1)
                port = servers[len(phones) % 2][1]
                subprocess.run(
                    [adb, "-P", str(port), "connect", phone.serial], capture_output=True, check=True
                )
                phones.append(phone)
            devices = [
                a for p in phones[:size] for a in ("-d", f"{p.serial}@{specs[phones.index(p) % 2]}")
            ]
            base = [
                *devices,
                *(a for s in specs for a in ("--adb-server", s)),
                "--variants",
                VARIANT,
                "--runs",
                str(opts.runs),
                "--warmup",
                "1",
                "--cooldown-temp",
                "0",
                "--no-report",
                "--out",
                str(tmp / "runs"),
            ]
            _harness_cpu([*base, "--trials", "1"])  # push binary, models, scripts
            cpu1, wall1, n1 = _harness_cpu([*base, "--trials", str(opts.trials)])
            cpu2, wall2, n2 = _harness_cpu([*base, "--trials", str(2 * opts.trials)])
            per_trial = (cpu2 - cpu1) / max(1, n2 - n1)
            rows.append((size, n2, cpu2, wall2, per_trial))
            print(
                f"{size} phone(s): {n1} + {n2} trials; harness CPU {cpu1:.2f} s / "
                f"{cpu2:.2f} s (wall {wall1:.1f} s / {wall2:.1f} s); "
                f"CPU per trial {per_trial * 1e3:.1f} ms",
                flush=True,
            )
    finally:
        for phone in phones:
            phone.stop()
        for proc, _port in servers:
            proc.terminate()
            proc.wait(10)
    print(
        "\n| phones | trials (2T pass) | harness CPU, 2T pass | wall, 2T pass "
        "| harness CPU per trial |"
    )
    print("|---|---|---|---|---|")
    for size, n, cpu, wall, per in rows:
        print(f"| {size} | {n} | {cpu:.2f} s | {wall:.1f} s | {per * 1e3:.1f} ms |")


if __name__ == "__main__":
    main()
