"""Every fault of the simulated device, and what a client sees when it fires."""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path

import adbutils
import pytest

from harness.errors import SimulatorError
from harness.sim import SimDevice
from harness.sim.events import DeviceEvent

pytestmark = [pytest.mark.integration, pytest.mark.adb_protocol]

# A trigger's `fired` is set once its action has returned, which may be just after the
# client saw what the action did: wait for it (a ceiling, not a speed bound).
FIRED_S = 60.0

TINY_MODEL = Path(__file__).parents[1] / "data" / "convert" / "tiny_fp32.tflite"
# A TCP device that comes back is re-attached by the adb server within ~5-10 s.
REATTACH_TIMEOUT_S = 60.0


def _wait_usable(adb_server, serial: str) -> None:
    deadline = time.monotonic() + REATTACH_TIMEOUT_S
    while time.monotonic() < deadline:
        result = adb_server.run("-s", serial, "shell", "echo back", timeout_s=10)
        if result.stdout == "back\n":
            return
        time.sleep(0.5)
    raise AssertionError(f"{serial} did not come back within {REATTACH_TIMEOUT_S} s")


def test_drop_after_bytes_breaks_a_push(sim: SimDevice, adb_server, tmp_path: Path) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(4 * 1024 * 1024))
    sim.faults.drop_after_bytes(1024 * 1024)
    result = adb_server.run(
        "-s", sim.serial, "push", str(src), "/data/local/tmp/f.bin", timeout_s=60
    )
    assert result.returncode != 0
    assert not (
        sim.root / "data" / "local" / "tmp" / "f.bin"
    ).exists()  # no half file under the name
    _wait_usable(adb_server, sim.serial)  # the fault is one-shot; the server re-attaches
    again = adb_server.run(
        "-s", sim.serial, "push", str(src), "/data/local/tmp/f.bin", timeout_s=60
    )
    assert again.returncode == 0, again.stderr


def test_drop_after_commands(sim: SimDevice, adb_server) -> None:
    sim.faults.drop_after_commands(2)
    assert adb_server.run("-s", sim.serial, "shell", "echo 1").stdout == "1\n"
    assert adb_server.run("-s", sim.serial, "shell", "echo 2").stdout == "2\n"
    third = adb_server.run("-s", sim.serial, "shell", "echo 3")
    assert third.stdout != "3\n"
    assert third.returncode != 0
    _wait_usable(adb_server, sim.serial)


def test_drop_at_a_time_cuts_a_running_command(sim: SimDevice, adb_server) -> None:
    device = adb_server.client().device(sim.serial)
    sim.faults.drop_at(1.0)
    # The command would run for 20 minutes: only the cut can end it before the client's
    # timeout, and a timeout is not what a cut connection looks like.
    with pytest.raises((adbutils.AdbError, EOFError, OSError)) as info:
        device.shell2("sleep 1234; echo done", v2=True, timeout=120)
    assert not isinstance(info.value, adbutils.AdbTimeout | TimeoutError), info.value
    _wait_usable(adb_server, sim.serial)


def test_hang_matching_commands_only(sim: SimDevice, adb_server) -> None:
    sim.faults.hang_commands(r"^cat /proc/loadavg$")
    device = adb_server.client().device(sim.serial)
    with pytest.raises(adbutils.AdbTimeout):
        device.shell2("cat /proc/loadavg", v2=True, timeout=2)
    assert device.shell2("echo fine", v2=True, timeout=10).stdout == "fine\n"
    with pytest.raises(SimulatorError):
        sim.faults.hang_commands("(unclosed")


def test_push_fails_with_enospc_and_leaves_nothing(
    sim: SimDevice, adb_server, tmp_path: Path
) -> None:
    src = tmp_path / "model.tflite"
    src.write_bytes(os.urandom(300_000))
    sim.faults.fail_pushes(after_bytes=100_000)
    result = adb_server.run("-s", sim.serial, "push", str(src), "/data/local/tmp/model.tflite")
    assert result.returncode != 0
    assert "No space left on device" in adb_server.said(result)
    leftovers = list((sim.root / "data" / "local" / "tmp").iterdir())
    assert leftovers == []
    device = adb_server.client().device(sim.serial)
    with pytest.raises(adbutils.AdbError):
        device.sync.push(str(src), "/data/local/tmp/model.tflite")
    sim.faults.fail_pushes(None)
    ok = adb_server.run("-s", sim.serial, "push", str(src), "/data/local/tmp/model.tflite")
    assert ok.returncode == 0, ok.stderr


def test_offline_and_back(sim: SimDevice, adb_server) -> None:
    sim.faults.go_offline()  # returns once the port is closed; away until told
    gone = adb_server.run("-s", sim.serial, "shell", "echo x", timeout_s=15)
    assert gone.returncode != 0
    assert "offline" in gone.stderr or "not found" in gone.stderr or "closed" in gone.stderr
    sim.faults.back_online()
    _wait_usable(adb_server, sim.serial)
    adb_server.wait_state(sim.serial, "device")
    sim.faults.go_offline(0.0)  # a timed spell: over at once, the device comes back by itself
    _wait_usable(adb_server, sim.serial)


def test_an_offline_device_keeps_its_port_for_when_it_comes_back() -> None:
    """Offline, the port refuses connections yet stays the device's: a free-port pick by
    another program (another device, an adb server) cannot take it meanwhile."""
    with SimDevice.start() as device:
        device.faults.go_offline()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", device.port), timeout=10).close()
        with socket.socket() as other, pytest.raises(OSError) as taken:
            other.bind(("127.0.0.1", device.port))
        assert taken.value.errno == errno.EADDRINUSE
        device.faults.back_online()
        socket.create_connection(("127.0.0.1", device.port), timeout=10).close()


def test_faults_keyed_to_device_events(sim: SimDevice, adb_server) -> None:
    """A command's event comes before it runs, a benchmark's before it loads its model
    and before it exits; the device waits for the action, and one that cuts the
    connection at a command keeps that command from running."""
    tmp = "/data/local/tmp"
    ran = sim.root / "data" / "local" / "tmp" / "ran"
    cut = sim.faults.on("command", lambda _e: sim.faults.drop_now(), match=r"touch .*/ran$")
    result = adb_server.run("-s", sim.serial, "shell", f"touch {tmp}/ran", timeout_s=30)
    assert cut.fired.wait(FIRED_S)
    # What proves it is the device: the command did not run. The client's exit code
    # differs: the bundled adb exits 1, Debian's adb 29 exits 0 when the connection
    # closes before any exit status (seen here), so it says nothing either way.
    assert not ran.exists(), "the command ran though its connection was cut first"
    if adb_server.kind == "bundled":
        assert result.returncode != 0, result
    _wait_usable(adb_server, sim.serial)

    pushed = adb_server.run("-s", sim.serial, "push", str(TINY_MODEL), f"{tmp}/m.tflite")
    assert pushed.returncode == 0, pushed.stderr
    seen: list[tuple[str, bool]] = []

    def look(event: DeviceEvent) -> None:  # what the device holds at that moment
        seen.append((event.kind, (sim.root / "data/local/tmp/out.txt").exists()))

    start = sim.faults.on("benchmark_start", look)
    end = sim.faults.on("benchmark_end", look)
    command = f"benchmark_model --graph={tmp}/m.tflite --num_runs=2 --warmup_runs=1 >{tmp}/out.txt"
    assert adb_server.run("-s", sim.serial, "shell", command, timeout_s=120).returncode == 0
    [started], [ended] = start.events, end.events
    assert started.stdout == f"{tmp}/out.txt" and started.pid == ended.pid
    assert "--graph=/data/local/tmp/m.tflite" in started.text and ended.exit_code == 0
    assert seen == [("benchmark_start", True), ("benchmark_end", True)]
    assert ended.count == started.count  # the device's own counts of each kind
    assert start.errors == [] and end.errors == []


def test_thermal_throttling_is_visible_to_scripts(sim: SimDevice, adb_server) -> None:
    script = (
        "cat /sys/class/thermal/thermal_zone7/type /sys/class/thermal/thermal_zone7/temp"
        " /sys/devices/system/cpu/cpu2/cpufreq/scaling_max_freq"
        " /sys/devices/system/cpu/cpu3/cpufreq/scaling_cur_freq"
        " /sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq"
    )
    before = adb_server.run("-s", sim.serial, "shell", script).stdout.split()
    assert before == ["tsens_tz_sensor4", "34500", "2150400", "2150400", "1593600"]
    sim.faults.set_thermal(temps_c={"tsens_tz_sensor4": 78.5, 0: 41.0}, max_khz={2: 1036800})
    hot = adb_server.run("-s", sim.serial, "shell", script).stdout.split()
    assert hot == ["tsens_tz_sensor4", "78500", "1036800", "1036800", "1593600"]
    assert (
        adb_server.run(
            "-s", sim.serial, "shell", "cat /sys/class/thermal/thermal_zone0/temp"
        ).stdout
        == "41000\n"
    )
    sim.faults.clear_thermal()
    assert adb_server.run("-s", sim.serial, "shell", script).stdout.split() == before
    with pytest.raises(SimulatorError):
        sim.faults.set_thermal(temps_c={"no_such_zone": 50.0})


def test_faults_given_at_start(make_sim, adb_server, tmp_path: Path) -> None:
    device = make_sim(faults={"fail_pushes": 0})
    src = tmp_path / "x"
    src.write_text("x")
    result = adb_server.run("-s", device.serial, "push", str(src), "/data/local/tmp/x")
    assert result.returncode != 0
    assert "No space left on device" in adb_server.said(result)
    with pytest.raises(SimulatorError):
        SimDevice.start(faults={"no_such_fault": 1})
