"""The transport rules checked packet by packet with a bare socket (no adb code at all)."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.sim import SimDevice
from harness.sim import protocol as p

pytestmark = [pytest.mark.integration, pytest.mark.adb_protocol]


class RawHost:
    """A minimal adb host written from protocol.txt, to see exactly what the device sends."""

    def __init__(self, port: int, version: int, max_payload: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.version = version
        self.max_payload = max_payload

    def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        self.sock.sendall(p.encode(p.Packet(command, arg0, arg1, data), with_checksum=True))

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def recv(self, timeout_s: float = 10.0) -> tuple[p.Packet, int]:
        self.sock.settimeout(timeout_s)
        header = self._exact(24)
        command, arg0, arg1, length, check, magic = p.HEADER.unpack(header)
        assert magic == command ^ 0xFFFFFFFF
        data = self._exact(length) if length else b""
        return p.Packet(command, arg0, arg1, data), check

    def handshake(self) -> p.Packet:
        self.send(p.A_CNXN, self.version, self.max_payload, b"host::features=shell_v2\0")
        packet, _ = self.recv()
        return packet


@pytest.fixture
def device() -> Iterator[SimDevice]:
    with SimDevice.start() as dev:
        yield dev


def test_old_protocol_gets_checksums_and_a_banner(device: SimDevice) -> None:
    host = RawHost(device.port, p.VERSION_CHECKSUM, 4096)
    try:
        self_cnxn = host.handshake()
        assert self_cnxn.command == p.A_CNXN
        assert self_cnxn.arg0 == p.VERSION_CHECKSUM
        assert self_cnxn.data.startswith(b"device::ro.product.name=sailfish;")
        assert b"features=shell_v2" in self_cnxn.data
        host.send(p.A_OPEN, 5, 0, b"shell:echo hi\0")
        okay, _ = host.recv()
        assert (okay.command, okay.arg1) == (p.A_OKAY, 5)
        data, check = host.recv()
        assert data.command == p.A_WRTE and data.data == b"hi\n"
        assert check == sum(b"hi\n")
    finally:
        host.sock.close()


def test_unknown_service_is_refused_with_clse(device: SimDevice) -> None:
    host = RawHost(device.port, p.VERSION_SKIP_CHECKSUM, p.MAX_PAYLOAD)
    try:
        host.handshake()
        host.send(p.A_OPEN, 9, 0, b"jdwp:1234\0")
        refused, _ = host.recv()
        assert (refused.command, refused.arg0, refused.arg1) == (p.A_CLSE, 0, 9)
    finally:
        host.sock.close()


def test_v2_stdin_flow_control_exit_and_clse(device: SimDevice) -> None:
    host = RawHost(device.port, p.VERSION_SKIP_CHECKSUM, 4096)
    try:
        host.handshake()
        host.send(p.A_OPEN, 1, 0, b"shell,v2,raw:cat; yes | head -c 20000\0")
        okay, _ = host.recv()
        local = okay.arg0
        frames = struct.pack("<BI", 0, 6) + b"stdin\n" + struct.pack("<BI", 4, 0)
        host.send(p.A_WRTE, 1, local, frames)
        ack, _ = host.recv()
        assert (ack.command, ack.arg0, ack.arg1) == (
            p.A_OKAY,
            local,
            1,
        )  # every WRTE is acknowledged
        stream = b""
        first, _ = host.recv()
        assert first.command == p.A_WRTE and len(first.data) <= 4096
        stream += first.data
        # Flow control: nothing more arrives until this WRTE is acknowledged.
        with pytest.raises(TimeoutError):
            host.recv(timeout_s=0.5)
        while True:
            host.send(p.A_OKAY, 1, local)
            packet, _ = host.recv()
            if packet.command == p.A_CLSE:
                break
            assert packet.command == p.A_WRTE and len(packet.data) <= 4096
            stream += packet.data
        frames_seen: list[tuple[int, bytes]] = []
        while stream:
            ident, length = struct.unpack_from("<BI", stream)
            frames_seen.append((ident, stream[5 : 5 + length]))
            stream = stream[5 + length :]
        stdout = b"".join(d for i, d in frames_seen if i == 1)
        assert stdout == b"stdin\n" + b"y\n" * 10000
        assert frames_seen[-1] == (3, b"\x00")  # exit status, last
    finally:
        host.sock.close()


def test_host_close_is_answered_and_kills_the_command(device: SimDevice) -> None:
    host = RawHost(device.port, p.VERSION_SKIP_CHECKSUM, p.MAX_PAYLOAD)
    try:
        host.handshake()
        host.send(p.A_OPEN, 3, 0, b"shell,v2,raw:echo started; sleep 30.4321\0")
        okay, _ = host.recv()
        started, _ = host.recv()
        assert started.data.endswith(b"started\n")
        host.send(p.A_OKAY, 3, okay.arg0)
        host.send(p.A_CLSE, 3, okay.arg0)
        answer, _ = host.recv(timeout_s=5)
        assert (answer.command, answer.arg0, answer.arg1) == (p.A_CLSE, okay.arg0, 3)
        deadline = time.monotonic() + 5
        while _running("sleep 30.4321") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running("sleep 30.4321")
    finally:
        host.sock.close()


def _running(cmdline: str) -> bool:
    """Whether any host process has exactly this command line (the device's are host processes)."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace") == cmdline:
                return True
    return False


def test_garbage_drops_only_that_connection(device: SimDevice) -> None:
    bad = socket.create_connection(("127.0.0.1", device.port), timeout=5)
    bad.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"\0" * 8)
    assert bad.recv(100) == b""
    bad.close()
    host = RawHost(device.port, p.VERSION_SKIP_CHECKSUM, p.MAX_PAYLOAD)
    try:
        assert host.handshake().command == p.A_CNXN
    finally:
        host.sock.close()
