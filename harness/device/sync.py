"""adb's file-sync protocol (`sync:` service) with a deadline on every read.

adbutils' own `sync.push` opens its connection without any socket timeout, so
a phone that hangs mid-transfer would hang the harness; these few functions
speak the same protocol (AOSP `SYNC.TXT`: STAT, SEND, RECV, DATA, DONE, OKAY,
FAIL, QUIT) over a socket the session opened, and check sizes on the way.
"""

from __future__ import annotations

import contextlib
import socket
import stat as stat_mod
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import SyncClosed, SyncFailed, SyncTimeout

# SYNC.TXT: a DATA chunk carries at most 64 KiB.
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class RemoteStat:
    """What `STAT` reports: all zero means the path does not exist."""

    mode: int
    size: int
    mtime: int

    @property
    def exists(self) -> bool:
        return self.mode != 0

    @property
    def is_file(self) -> bool:
        return stat_mod.S_ISREG(self.mode)


def recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    """Exactly `n` bytes before `deadline`; SyncTimeout, or SyncClosed at end of stream."""
    buf = bytearray()
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SyncTimeout(f"no answer within the deadline ({len(buf)}/{n} bytes)")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(n - len(buf))
        except TimeoutError as exc:
            raise SyncTimeout(f"no answer within the deadline ({len(buf)}/{n} bytes)") from exc
        if not chunk:
            raise SyncClosed(f"connection closed after {len(buf)}/{n} bytes")
        buf += chunk
    return bytes(buf)


def _send(sock: socket.socket, data: bytes, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SyncTimeout("deadline passed before sending")
    sock.settimeout(remaining)
    try:
        sock.sendall(data)
    except TimeoutError as exc:
        raise SyncTimeout("device stopped accepting data") from exc


def _request(sock: socket.socket, cmd: bytes, arg: bytes, deadline: float) -> None:
    _send(sock, cmd + struct.pack("<I", len(arg)) + arg, deadline)


def _fail_message(sock: socket.socket, length: int, deadline: float) -> str:
    return recv_exact(sock, length, deadline).decode("utf-8", "replace")


def stat(sock: socket.socket, remote: str, deadline: float) -> RemoteStat:
    """`STAT remote` (v1: 32-bit mode, size, mtime)."""
    _request(sock, b"STAT", remote.encode(), deadline)
    return _read_stat(sock, deadline)


def _read_stat(sock: socket.socket, deadline: float) -> RemoteStat:
    reply = recv_exact(sock, 16, deadline)
    if reply[:4] != b"STAT":
        raise SyncFailed(f"unexpected STAT reply {reply[:4]!r}")
    mode, size, mtime = struct.unpack("<III", reply[4:])
    return RemoteStat(mode, size, mtime)


def push(sock: socket.socket, local: Path, remote: str, mode: int, deadline: float) -> RemoteStat:
    """Send `local` to `remote` with permission bits `mode`; return the STAT after it.

    The STAT request is sent right behind DONE, before reading DONE's answer,
    as the adb client itself pipelines its requests: the device answers both
    in order, and a device that batches its replies is not left waiting.
    """
    # Real adb sends st_mode with the file-type bits; adbd keys on S_IFREG.
    spec = f"{remote},{stat_mod.S_IFREG | (mode & 0o7777)}".encode()
    _request(sock, b"SEND", spec, deadline)
    with local.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            _request(sock, b"DATA", chunk, deadline)
    _send(sock, b"DONE" + struct.pack("<I", int(time.time())), deadline)
    _request(sock, b"STAT", remote.encode(), deadline)
    head = recv_exact(sock, 8, deadline)
    status, length = head[:4], struct.unpack("<I", head[4:])[0]
    if status == b"FAIL":
        raise SyncFailed(_fail_message(sock, length, deadline))
    if status != b"OKAY":
        raise SyncFailed(f"unexpected reply {status!r} to DONE")
    return _read_stat(sock, deadline)


def pull(sock: socket.socket, remote: str, local: Path, deadline: float) -> int:
    """Receive `remote` into `local` (written whole or not at all); return bytes."""
    _request(sock, b"RECV", remote.encode(), deadline)
    tmp = local.with_name(local.name + ".part")
    received = 0
    try:
        with tmp.open("wb") as fh:
            while True:
                head = recv_exact(sock, 8, deadline)
                tag, length = head[:4], struct.unpack("<I", head[4:])[0]
                if tag == b"DATA":
                    fh.write(recv_exact(sock, length, deadline))
                    received += length
                elif tag == b"DONE":
                    break
                elif tag == b"FAIL":
                    raise SyncFailed(_fail_message(sock, length, deadline))
                else:
                    raise SyncFailed(f"unexpected reply {tag!r} to RECV")
        tmp.replace(local)
    finally:
        tmp.unlink(missing_ok=True)
    return received


def quit_(sock: socket.socket, deadline: float) -> None:
    """End the sync session politely (adbd closes the stream on QUIT)."""
    with contextlib.suppress(SyncTimeout, OSError):
        _request(sock, b"QUIT", b"", deadline)
