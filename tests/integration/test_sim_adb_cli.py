"""The simulated device through the real adb server and CLI (independent client #1)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from harness.sim import SimDevice

pytestmark = [pytest.mark.integration, pytest.mark.adb_protocol]


def test_devices_lists_the_pixel_identity(sim: SimDevice, adb_server) -> None:
    out = adb_server.run("devices", "-l").stdout
    line = next(line for line in out.splitlines() if line.startswith(sim.serial))
    assert " device " in line
    assert "model:Pixel" in line
    assert "device:sailfish" in line
    assert "product:sailfish" in line


def test_exit_status_and_separate_stderr(sim: SimDevice, adb_server) -> None:
    result = adb_server.run("-s", sim.serial, "shell", "echo out; echo err >&2; exit 42")
    assert result.returncode == 42
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


def test_signal_death_reports_128_plus_n(sim: SimDevice, adb_server) -> None:
    result = adb_server.run("-s", sim.serial, "shell", "kill -9 $$")
    assert result.returncode == 128 + 9


def test_device_paths_and_tools(sim: SimDevice, adb_server) -> None:
    script = (
        "cat /sys/devices/system/cpu/cpu2/cpufreq/cpuinfo_max_freq;"
        " cat /sys/devices/system/cpu/cpu0/cpufreq/related_cpus;"
        " cat /sys/class/thermal/thermal_zone0/type;"
        " getprop ro.product.device; getprop ro.harness.simulated;"
        " echo $PATH; readlink /proc/$$/exe; touch /data/local/tmp/w && echo writable"
    )
    out = adb_server.run("-s", sim.serial, "shell", script).stdout.splitlines()
    assert out[:5] == ["2150400", "0 1", "battery", "sailfish", "1"]
    assert out[5] == "/system/bin"
    assert out[6].endswith("mksh")
    assert out[7] == "writable"
    assert (sim.root / "data" / "local" / "tmp" / "w").exists()


def test_system_is_read_only(sim: SimDevice, adb_server) -> None:
    result = adb_server.run("-s", sim.serial, "shell", "echo x > /system/bin/new")
    assert result.returncode != 0
    assert "Read-only" in result.stderr


def test_stdin_reaches_the_command(sim: SimDevice, adb_server) -> None:
    result = adb_server.run("-s", sim.serial, "shell", "cat | wc -c", input="hello device\n")
    assert result.returncode == 0
    assert result.stdout.strip() == "13"


def test_exec_out_is_raw(sim: SimDevice, adb_server) -> None:
    result = adb_server.run("-s", sim.serial, "exec-out", "printf 'a\\nb'")
    assert result.stdout == "a\nb"


def test_push_pull_20mb_with_equal_sha256(sim: SimDevice, adb_server, tmp_path: Path) -> None:
    data = os.urandom(20 * 1024 * 1024)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    push = adb_server.run(
        "-s", sim.serial, "push", str(src), "/data/local/tmp/big.bin", timeout_s=120
    )
    assert push.returncode == 0, push.stderr
    remote = adb_server.run("-s", sim.serial, "shell", "sha256sum /data/local/tmp/big.bin").stdout
    assert remote.split()[0] == hashlib.sha256(data).hexdigest()
    dst = tmp_path / "back.bin"
    pull = adb_server.run(
        "-s", sim.serial, "pull", "/data/local/tmp/big.bin", str(dst), timeout_s=120
    )
    assert pull.returncode == 0, pull.stderr
    assert hashlib.sha256(dst.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_push_creates_nested_directories_and_keeps_mode(
    sim: SimDevice, adb_server, tmp_path: Path
) -> None:
    src = tmp_path / "tool.sh"
    src.write_text("#!/system/bin/sh\necho ran\n")
    src.chmod(0o755)
    target = "/data/local/tmp/a/b/c/tool.sh"
    push = adb_server.run("-s", sim.serial, "push", str(src), target)
    assert push.returncode == 0, push.stderr
    result = adb_server.run("-s", sim.serial, "shell", target)
    assert result.stdout == "ran\n"


def test_push_outside_data_fails_cleanly(sim: SimDevice, adb_server, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_text("x")
    push = adb_server.run("-s", sim.serial, "push", str(src), "/system/bin/f")
    assert push.returncode != 0
    assert "Read-only file system" in adb_server.said(push)


def test_pull_missing_file_fails(sim: SimDevice, adb_server, tmp_path: Path) -> None:
    pull = adb_server.run("-s", sim.serial, "pull", "/data/local/tmp/nope", str(tmp_path / "x"))
    assert pull.returncode != 0
    assert "No such file" in adb_server.said(pull)


def test_two_devices_at_once(make_sim, adb_server) -> None:
    first = make_sim()
    second = make_sim(props={"ro.product.model": "Pixel XL", "ro.product.device": "marlin"})
    out = adb_server.run("devices", "-l").stdout
    assert f"{first.serial}" in out and f"{second.serial}" in out
    assert "model:Pixel_XL" in out
    model = adb_server.run("-s", second.serial, "shell", "getprop ro.product.model").stdout
    assert model == "Pixel XL\n"


def test_shell_without_command_reads_a_script_from_stdin(sim: SimDevice, adb_server) -> None:
    result = adb_server.run("-s", sim.serial, "shell", input="echo from-stdin\nexit 3\n")
    assert result.stdout == "from-stdin\n"
    assert result.returncode == 3


def test_push_and_pull_a_directory_tree(sim: SimDevice, adb_server, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.bin").write_bytes(os.urandom(70_000))
    (tree / "sub" / "deeper" / "c").write_text("c")
    push = adb_server.run("-s", sim.serial, "push", str(tree), "/data/local/tmp/")
    assert push.returncode == 0, push.stderr
    listing = adb_server.run(
        "-s", sim.serial, "shell", "cd /data/local/tmp/tree && find . -type f | sort"
    )
    assert listing.stdout.split() == ["./a.txt", "./sub/b.bin", "./sub/deeper/c"]
    back = tmp_path / "back"
    back.mkdir()
    pull = adb_server.run("-s", sim.serial, "pull", "/data/local/tmp/tree", str(back))
    assert pull.returncode == 0, pull.stderr
    for rel in ("a.txt", "sub/b.bin", "sub/deeper/c"):
        assert (back / "tree" / rel).read_bytes() == (tree / rel).read_bytes()
