"""`harness sim serve` in the foreground, attached through the real adb server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sim", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_json_props_faults_and_clean_stop(adb_server, tmp_path: Path) -> None:
    root = tmp_path / "dev"
    proc = _serve(
        "--json", "--prop", "ro.product.model=Pixel 9", "--root", str(root), "--cap", "2=1036800"
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["model"] == "Pixel 9" and info["serial"] == f"127.0.0.1:{info['port']}"
        adb_server.connect(info["serial"])
        out = adb_server.run(
            "-s",
            info["serial"],
            "shell",
            "getprop ro.product.model; cat /sys/devices/system/cpu/cpu3/cpufreq/scaling_max_freq",
        )
        assert out.stdout == "Pixel 9\n1036800\n"
        adb_server.run("disconnect", info["serial"])
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0
    assert (root / "data" / "local" / "tmp").is_dir()  # a given root is kept


def test_serve_a_pixel6_on_battery(adb_server) -> None:
    proc = _serve("--json", "--profile", "pixel6", "--unplugged")
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert (info["profile"], info["model"], info["device"]) == ("pixel6", "Pixel 6", "oriole")
        adb_server.connect(info["serial"])
        out = adb_server.run(
            "-s",
            info["serial"],
            "shell",
            "cat /sys/class/power_supply/battery/status /sys/bus/iio/devices/iio:device0/name",
        )
        assert out.stdout == "Discharging\ns2mpg10-odpm\n"
        adb_server.run("disconnect", info["serial"])
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--port", "5555"], 3, "emulator range"),
        (["--prop", "nonsense"], 2, "expected KEY=VALUE"),
        (["--topology", "/no/such.json"], 3, "cannot read topology"),
        # Values outside an option's documented range are bad input (exit 2).
        (["--thermal", "hot=very"], 2, "--thermal must be a number from -50 to 150"),
        (["--slowdown", "0.5"], 2, "--slowdown must be >= 1"),
        (["--hangup", "process"], 3, "unknown hang-up policy"),
        (["--profile", "pixel9"], 2, "unknown device profile 'pixel9'"),
    ],
)
def test_bad_options_are_clear_errors(args: list[str], code: int, message: str) -> None:
    proc = _serve(*args)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err
