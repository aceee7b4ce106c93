"""The simulated device through adbutils, and through adb-shell without any adb server."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from adb_shell.adb_device import AdbDeviceTcp

from harness.sim import SimDevice

pytestmark = [pytest.mark.integration, pytest.mark.adb_protocol]


def test_adbutils_shell2_exit_codes(sim: SimDevice, adb_server) -> None:
    device = adb_server.client().device(sim.serial)
    ok = device.shell2("echo hi", v2=True)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "hi\n", "")
    bad = device.shell2("echo oops >&2; exit 7", v2=True)
    assert (bad.returncode, bad.stdout, bad.stderr) == (7, "", "oops\n")


def test_adbutils_getprop_and_legacy_shell(sim: SimDevice, adb_server) -> None:
    device = adb_server.client().device(sim.serial)
    assert device.getprop("ro.product.model") == "Pixel"
    assert device.getprop("ro.board.platform") == "msm8996"
    assert device.shell("getprop ro.product.manufacturer") == "Google"
    assert device.prop.model == "Pixel"


def test_adbutils_sync_push_pull_stat_list(sim: SimDevice, adb_server, tmp_path: Path) -> None:
    device = adb_server.client().device(sim.serial)
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = tmp_path / "m.tflite"
    src.write_bytes(data)
    device.sync.push(str(src), "/data/local/tmp/x/y/m.tflite", mode=0o644)
    info = device.sync.stat("/data/local/tmp/x/y/m.tflite")
    assert info.size == len(data)
    assert stat.S_IMODE(info.mode) == 0o644
    names = {entry.path for entry in device.sync.list("/data/local/tmp/x/y")}
    assert "m.tflite" in names
    assert device.sync.read_bytes("/data/local/tmp/x/y/m.tflite") == data
    dst = tmp_path / "back"
    device.sync.pull("/data/local/tmp/x/y/m.tflite", str(dst))
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()
    missing = device.sync.stat("/data/local/tmp/none")
    assert missing.size == 0 and missing.mode == 0


def test_adb_shell_package_without_server(make_sim, tmp_path: Path) -> None:
    device = make_sim(connect=False)
    client = AdbDeviceTcp("127.0.0.1", device.port, default_transport_timeout_s=10.0)
    assert client.connect(rsa_keys=None, auth_timeout_s=1.0)
    try:
        assert client.shell("getprop ro.product.device") == "sailfish\n"
        src = tmp_path / "f.bin"
        payload = os.urandom(200_000)
        src.write_bytes(payload)
        client.push(str(src), "/data/local/tmp/direct/f.bin")
        assert (
            client.shell("sha256sum /data/local/tmp/direct/f.bin").split()[0]
            == hashlib.sha256(payload).hexdigest()
        )
        dst = tmp_path / "g.bin"
        client.pull("/data/local/tmp/direct/f.bin", str(dst))
        assert dst.read_bytes() == payload
        assert client.stat("/data/local/tmp/direct/f.bin")[1] == len(payload)
    finally:
        client.close()


def test_adb_server_and_a_direct_client_at_once(sim: SimDevice, adb_server) -> None:
    direct = AdbDeviceTcp("127.0.0.1", sim.port, default_transport_timeout_s=10.0)
    assert direct.connect(rsa_keys=None, auth_timeout_s=1.0)
    try:
        assert direct.shell("echo direct") == "direct\n"
        via_server = adb_server.client().device(sim.serial).shell2("echo server", v2=True)
        assert via_server.stdout == "server\n"
        assert direct.shell("echo again") == "again\n"
    finally:
        direct.close()
