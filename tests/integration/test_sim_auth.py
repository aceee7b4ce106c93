"""A phone that has not trusted this host's adb key, through the real adb server.

The simulated device answers CNXN with AUTH(TOKEN) like adbd with auth on;
the adb server then shows it `unauthorized`, which is what the harness's
device layer and `harness devices` must explain to the user.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import HarnessConfig
from harness.device.select import connect
from harness.errors import (
    EXIT_DEVICE,
    DeviceNotFoundError,
    DeviceUnauthorizedError,
    SimulatorError,
)
from harness.sim import SimDevice
from harness.sim import auth as simauth
from harness.sim import protocol as p

pytestmark = [pytest.mark.integration, pytest.mark.adb_protocol]

NO_CONFIG = HarnessConfig()
REATTACH_TIMEOUT_S = 60.0  # the server re-attaches a dropped TCP device within ~5-10 s (idle host)


def _adb_connect(adb_server: Any, serial: str) -> str:
    """`adb connect`; the server answers "failed to authenticate" for an unauthorized phone."""
    return str(adb_server.run("connect", serial).stdout)


def _devices_line(adb_server: Any, serial: str) -> str:
    out = adb_server.run("devices", "-l").stdout
    return next((line for line in out.splitlines() if line.startswith(serial + " ")), "")


@pytest.fixture
def refusing(adb_server: Any) -> Iterator[SimDevice]:
    """A simulated phone that never trusts the host, `adb connect`ed and listed unauthorized."""
    device = SimDevice.start(auth="refuse")
    try:
        _adb_connect(adb_server, device.serial)
        adb_server.wait_state(device.serial, "unauthorized")
        yield device
    finally:
        device.stop()
        adb_server.run("disconnect", device.serial)


def _fake_key_payload() -> bytes:
    """An adb public key payload with a random modulus (the device only parses it here)."""
    modulus = os.urandom(256)
    raw = struct.pack("<II", 64, 1) + modulus + bytes(256) + struct.pack("<I", 65537)
    return base64.b64encode(raw) + b" tester@raw\0"


class _RawHost:
    """Bare-socket adb host, to see the AUTH packets exactly as the device sends them."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)

    def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        self.sock.sendall(p.encode(p.Packet(command, arg0, arg1, data), with_checksum=False))

    def recv(self, timeout_s: float) -> p.Packet | None:
        """The next packet, or None if nothing comes within timeout_s."""
        self.sock.settimeout(timeout_s)
        try:
            header = self.sock.recv(24, socket.MSG_WAITALL)
        except TimeoutError:
            return None
        command, arg0, arg1, length, _check, _magic = p.HEADER.unpack(header)
        data = self.sock.recv(length, socket.MSG_WAITALL) if length else b""
        return p.Packet(command, arg0, arg1, data)


@pytest.mark.parametrize("policy", ["refuse", "accept-after:1"])
def test_auth_packets(policy: str) -> None:
    with SimDevice.start(auth=policy) as device:
        host = _RawHost(device.port)
        try:
            host.send(p.A_CNXN, p.VERSION_SKIP_CHECKSUM, p.MAX_PAYLOAD, b"host::\0")
            first = host.recv(5)
            assert first is not None and (first.command, first.arg0, first.arg1) == (
                p.A_AUTH,
                simauth.AUTH_TOKEN,
                0,
            )
            assert len(first.data) == 20
            host.send(p.A_OPEN, 1, 0, b"shell:echo no\0")  # before the handshake: ignored
            host.send(p.A_AUTH, simauth.AUTH_SIGNATURE, 0, os.urandom(256))
            again = host.recv(5)
            assert again is not None and again.command == p.A_AUTH
            assert again.arg0 == simauth.AUTH_TOKEN and again.data != first.data
            host.send(p.A_AUTH, simauth.AUTH_RSAPUBLICKEY, 0, _fake_key_payload())
            assert host.recv(0.5) is None  # the prompt is up; nothing until someone taps
            late = host.recv(3)
            if policy == "refuse":
                assert late is None and device.faults.trusted_keys.keys() == []
            else:
                assert late is not None and late.command == p.A_CNXN
                assert late.data.startswith(b"device::")
                [key] = device.faults.trusted_keys.keys()
                assert key.comment == "tester@raw"
        finally:
            host.sock.close()


# -- the simulated device, seen by the adb CLI and adbutils --------------------------------


def test_refusing_device_is_unauthorized_for_adb_cli_and_adbutils(adb_server: Any) -> None:
    with SimDevice.start(auth="refuse") as device:
        try:
            answer = _adb_connect(adb_server, device.serial)
            assert "failed to authenticate" in answer  # what adb says for such a phone
            adb_server.wait_state(device.serial, "unauthorized")
            time.sleep(2.0)  # nobody taps Allow: it stays that way
            assert _devices_line(adb_server, device.serial).split()[1] == "unauthorized"
            [info] = [
                d for d in adb_server.client().list(extended=True) if d.serial == device.serial
            ]
            assert info.state == "unauthorized"
            assert "model" not in info.tags  # the banner (with the model) never arrived
            shell = adb_server.run("-s", device.serial, "shell", "echo", "hi")
            assert shell.returncode != 0 and "unauthorized" in shell.stderr
        finally:
            adb_server.run("disconnect", device.serial)


def test_accept_after_becomes_a_device(adb_server: Any) -> None:
    with SimDevice.start(auth="accept-after:2") as device:
        try:
            started = time.monotonic()
            assert "failed to authenticate" in _adb_connect(adb_server, device.serial)
            assert _devices_line(adb_server, device.serial).split()[1] == "unauthorized"
            adb_server.wait_state(device.serial, "device")
            assert time.monotonic() - started >= 1.5  # not before the user "tapped Allow"
            assert "model:Pixel" in _devices_line(adb_server, device.serial)
            out = adb_server.run("-s", device.serial, "shell", "getprop", "ro.product.model")
            assert out.stdout.strip() == "Pixel"
        finally:
            adb_server.run("disconnect", device.serial)


def _shell_ok_within(adb_server: Any, serial: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = adb_server.run("-s", serial, "shell", "echo", "back", timeout_s=10)
        if out.returncode == 0 and out.stdout.strip() == "back":
            return True
        time.sleep(0.5)
    return False


def test_trusted_key_gets_back_in_by_signature_revoked_key_does_not(adb_server: Any) -> None:
    with SimDevice.start(auth="accept-after:0.2") as device:
        try:
            _adb_connect(adb_server, device.serial)
            adb_server.wait_state(device.serial, "device")
            assert len(device.faults.trusted_keys.keys()) == 1
            # No new key is ever accepted now: only the adb server's signature with the
            # key accepted above (checked by the device) can bring it back.
            device.faults.set_auth("refuse", revoke=False)
            device.faults.drop_now()
            assert _shell_ok_within(adb_server, device.serial, REATTACH_TIMEOUT_S)
            # Revoked, with another host's key trusted instead: this host stays outside.
            device.faults.set_auth("refuse")
            other = simauth.PublicKey(
                int.from_bytes(os.urandom(256), "big") | 1 | 1 << 2047, 65537, "other@host"
            )
            device.faults.trusted_keys.add(other)
            device.faults.drop_now()
            adb_server.wait_state(device.serial, "unauthorized", timeout_s=REATTACH_TIMEOUT_S)
        finally:
            adb_server.run("disconnect", device.serial)


def test_signature_check_is_real() -> None:
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n = private.public_key().public_numbers().n
    n0inv = (-pow(n, -1, 1 << 32)) % (1 << 32)
    rr = pow(1 << 2048, 2, n)
    raw = struct.pack("<II", 64, n0inv) + n.to_bytes(256, "little") + rr.to_bytes(256, "little")
    raw += struct.pack("<I", 65537)
    key = simauth.parse_public_key(base64.b64encode(raw) + b" me@host\0")
    assert key is not None and key.modulus == n and key.comment == "me@host"
    token = os.urandom(simauth.TOKEN_SIZE)
    # adb signs the raw token as if it were a SHA-1 digest (RSA_sign(NID_sha1, ...)).
    sig = private.sign(token, padding.PKCS1v15(), Prehashed(hashes.SHA1()))
    assert simauth.verify(key, token, sig)
    assert not simauth.verify(key, os.urandom(simauth.TOKEN_SIZE), sig)
    assert not simauth.verify(key, token, sig[:-1] + bytes([sig[-1] ^ 1]))
    assert simauth.parse_public_key(b"not base64!\0") is None


@pytest.mark.parametrize(
    "value", ["maybe", "accept-after", "accept-after:-1", "accept-after:x", "accept-after:inf"]
)
def test_bad_auth_values_are_refused(value: str) -> None:
    with pytest.raises(SimulatorError, match="auth"):
        SimDevice.start(auth=value)


def test_serve_unauthorized_cli(adb_server: Any) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sim", "serve", "--unauthorized", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["auth"] == "refuse"
        _adb_connect(adb_server, info["serial"])
        adb_server.wait_state(info["serial"], "unauthorized")
        adb_server.run("disconnect", info["serial"])
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0
    clash = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "sim",
            "serve",
            "--unauthorized",
            "--auth",
            "accept-after:1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert clash.returncode == 3 and "contradicts" in clash.stderr


# -- the harness's device layer ---------------------------------------------------------------


def _assert_tells_what_to_do(exc: BaseException) -> None:
    text = str(exc)
    assert "Allow USB debugging" in text  # accept the prompt on the phone ...
    assert "revoke" in text and "replug" in text  # ... or start over when none shows


def test_select_by_serial_is_unauthorized_with_advice(refusing: SimDevice) -> None:
    with pytest.raises(DeviceUnauthorizedError) as info:
        connect([refusing.serial], config=NO_CONFIG)
    assert info.value.serial == refusing.serial and info.value.exit_code == EXIT_DEVICE
    assert "unauthorized" in str(info.value)
    _assert_tells_what_to_do(info.value)


def test_select_by_host_port_not_yet_connected(
    adb_server: Any, make_sim: Callable[..., SimDevice]
) -> None:
    device = make_sim(connect=False, auth="refuse")  # make_sim stops and disconnects it
    with pytest.raises(DeviceUnauthorizedError) as info:
        connect([f"127.0.0.1:{device.port}"], config=NO_CONFIG)
    _assert_tells_what_to_do(info.value)
    assert _devices_line(adb_server, device.serial).split()[1] == "unauthorized"


def test_select_by_name_lists_the_unauthorized_device(refusing: SimDevice) -> None:
    # An unauthorized phone has no model yet, so `pixel` cannot match it: the error
    # must show it and its state, and say what to do.
    with pytest.raises(DeviceNotFoundError) as info:
        connect(["pixel"], config=NO_CONFIG)
    assert f"{refusing.serial} (unauthorized)" in str(info.value)
    _assert_tells_what_to_do(info.value)


def test_all_uses_the_good_device_and_warns_about_the_other(
    sim: SimDevice, refusing: SimDevice, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="harness.device.select"):
        sessions = connect(["all"], config=NO_CONFIG)
    assert [s.serial for s in sessions] == [sim.serial]
    assert sessions[0].shell(["echo", "ok"], timeout_s=10).stdout.strip() == "ok"
    [warning] = [r.getMessage() for r in caplog.records if r.name == "harness.device.select"]
    assert f"{refusing.serial} (unauthorized)" in warning and sim.serial not in warning
    _assert_tells_what_to_do(Exception(warning))
    # Named explicitly next to `all`, the unauthorized phone is an error, not skipped.
    with pytest.raises(DeviceUnauthorizedError):
        connect(["all", refusing.serial], config=NO_CONFIG)


def test_all_with_only_an_unauthorized_device(refusing: SimDevice) -> None:
    with pytest.raises(DeviceNotFoundError) as info:
        connect(["all"], config=NO_CONFIG)
    assert "no usable device" in str(info.value)
    assert f"attached: {refusing.serial} (unauthorized)" in str(info.value)
    _assert_tells_what_to_do(info.value)


def _harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # ANDROID_ADB_SERVER_PORT (the test server) is inherited from the adb_server fixture.
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=dict(os.environ),
    )


def test_harness_devices_lists_unauthorized_with_state(
    sim: SimDevice, refusing: SimDevice, tmp_path: Path
) -> None:
    out = _harness("devices", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    by_serial = {d["serial"]: d for d in json.loads(out.stdout)}
    assert by_serial[sim.serial]["state"] == "device"
    assert by_serial[sim.serial]["model"] == "Pixel"
    bad = by_serial[refusing.serial]
    assert bad["state"] == "unauthorized" and bad["model"] is None
    _assert_tells_what_to_do(Exception(" ".join(bad["warnings"])))
    table = _harness("devices", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert f"{refusing.serial}  unauthorized" in table.stdout
    assert "Traceback" not in table.stderr


def test_harness_devices_with_the_unauthorized_one_selected(
    refusing: SimDevice, tmp_path: Path
) -> None:
    out = _harness("devices", "--json", "--device", refusing.serial, cwd=tmp_path)
    assert out.returncode == EXIT_DEVICE and out.stdout == ""
    assert out.stderr.startswith(f"error: {refusing.serial}: device is unauthorized")
    _assert_tells_what_to_do(Exception(out.stderr))
    assert "Traceback" not in out.stderr
