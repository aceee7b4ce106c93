"""--device selection against real adb + simulated phones: names, serials, aliases, HOST:PORT."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.config import HarnessConfig, load_config
from harness.device.select import connect
from harness.errors import (
    AmbiguousDeviceError,
    DeviceError,
    DeviceNotFoundError,
    DeviceOfflineError,
)
from harness.sim import SimDevice

pytestmark = [pytest.mark.integration, pytest.mark.adb_protocol]

NO_CONFIG = HarnessConfig()


def test_model_name_is_case_insensitive(sim: SimDevice) -> None:
    [session] = connect(["pixel"], config=NO_CONFIG)
    assert session.serial == sim.serial
    [by_device] = connect(["SAILFISH"], config=NO_CONFIG)
    assert by_device.serial == sim.serial


def test_serial(sim: SimDevice) -> None:
    assert [s.serial for s in connect([sim.serial], config=NO_CONFIG)] == [sim.serial]


def test_host_port_runs_adb_connect_first(make_sim: Callable[..., SimDevice]) -> None:
    device = make_sim(connect=False)
    [session] = connect([f"127.0.0.1:{device.port}"], config=NO_CONFIG)
    assert session.serial == device.serial
    assert session.shell(["getprop", "ro.product.model"], timeout_s=10).stdout.strip() == "Pixel"


def test_host_port_nobody_listens(adb_server: object) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DeviceNotFoundError, match="adb connect"):
        connect([f"127.0.0.1:{port}"], config=NO_CONFIG)


def test_alias_from_pyproject(
    sim: SimDevice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.harness.devices]\nlab1 = "{sim.serial}"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config().devices == {"lab1": sim.serial}
    assert [s.serial for s in connect(["LAB1"])] == [sim.serial]


def test_two_pixels_are_ambiguous_and_listed(make_sim: Callable[..., SimDevice]) -> None:
    first, second = make_sim(), make_sim()
    with pytest.raises(AmbiguousDeviceError) as info:
        connect(["pixel"], config=NO_CONFIG)
    assert first.serial in str(info.value) and second.serial in str(info.value)
    every = connect(["all"], config=NO_CONFIG)
    assert {s.serial for s in every} == {first.serial, second.serial}
    # The same device named twice is opened once.
    twice = connect([first.serial, f"{second.serial},{first.serial}"], config=NO_CONFIG)
    assert [s.serial for s in twice] == [first.serial, second.serial]


def test_custom_model_selected_by_adb_style_name(make_sim: Callable[..., SimDevice]) -> None:
    make_sim()
    other = make_sim(
        props={
            "ro.product.model": "Pixel 2",
            "ro.product.device": "walleye",
            "ro.product.name": "walleye",
        }
    )
    [session] = connect(["pixel 2"], config=NO_CONFIG)
    assert session.serial == other.serial
    [session] = connect(["walleye"], config=NO_CONFIG)
    assert session.serial == other.serial


def test_absent_device_lists_what_is_attached(sim: SimDevice) -> None:
    with pytest.raises(DeviceNotFoundError) as info:
        connect(["nokia"], config=NO_CONFIG)
    message = str(info.value)
    assert "nokia" in message and sim.serial in message and "device" in message


def test_no_phone_attached_suggests_the_simulated_one(adb_server: Any) -> None:
    with pytest.raises(DeviceNotFoundError) as info:
        connect(["pixel"], config=NO_CONFIG)
    assert "no devices attached" in str(info.value)
    assert "--device sim" in (info.value.hint or "")


def test_a_phone_attached_needs_no_sim_suggestion(sim: SimDevice) -> None:
    with pytest.raises(DeviceNotFoundError) as info:
        connect(["nokia"], config=NO_CONFIG)
    assert "--device sim" not in (info.value.hint or "")


def test_explicit_adb_server(
    sim: SimDevice, adb_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANDROID_ADB_SERVER_PORT")
    [session] = connect([sim.serial], adb_server=f"127.0.0.1:{adb_server.port}", config=NO_CONFIG)
    assert session.adb_server == f"127.0.0.1:{adb_server.port}"
    assert session.shell(["echo", "via explicit server"], timeout_s=10).stdout.strip()


def test_unreachable_remote_server_is_a_device_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DeviceError, match="cannot reach the adb server") as info:
        connect(["all"], adb_server=f"127.0.0.2:{port}", config=NO_CONFIG)
    assert info.value.exit_code == 3


def test_offline_device_is_reported_with_advice(sim: SimDevice, adb_server: Any) -> None:
    # Offline for far longer than the test, and connect told not to wait: the
    # error, not the reconnect (tested in test_run_bounds), is what is checked.
    sim.faults.go_offline(60.0)
    adb_server.wait_state(sim.serial, "offline")
    with pytest.raises(DeviceOfflineError) as info:
        connect([sim.serial], config=NO_CONFIG, wait_s=0)
    assert info.value.hint
    with pytest.raises(DeviceNotFoundError) as missing:
        connect(["nokia"], config=NO_CONFIG)
    assert "offline" in str(missing.value)
