"""The `sync:` service (file transfer), following AOSP `SYNC.TXT`.

Requests are `[id 4 bytes][len u32 LE][path]`: STAT (16-byte v1 answer), STA2
and LST2 (72-byte v2 answer with errno), LIST (DENT...DONE), LIS2 (DNT2...),
SEND `path,mode` then DATA chunks and DONE(mtime), RECV (DATA...DONE or FAIL),
QUIT. Device paths are resolved through `DeviceFS`; only /data is writable.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable

from harness.errors import SyncClosed
from harness.sim.fs import DeviceFS
from harness.sim.transport import Stream

_REQ = struct.Struct("<4sI")
_STAT_V1 = struct.Struct("<4s3I")
_STAT_V2 = struct.Struct("<4sIQQ4IQqqq")
_DENT_V1 = struct.Struct("<4s4I")
_DENT_V2 = struct.Struct("<4sIQQ4IQqqqI")
MAX_CHUNK = 64 * 1024
MAX_PATH = 1024


class Reader:
    """Exact-size reads over a stream's WRTE payloads."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.pos = 0

    async def exactly(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n:
            data = await self.stream.read()
            if not data:
                raise SyncClosed
            if self.pos:
                del self.buf[: self.pos]
                self.pos = 0
            self.buf += data
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out


def _stat_v2(ident: bytes, st: os.stat_result | None, err: int) -> bytes:
    if st is None:
        return _STAT_V2.pack(ident, err, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    return _STAT_V2.pack(
        ident, 0, st.st_dev, st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid,
        st.st_size, int(st.st_atime), int(st.st_mtime), int(st.st_ctime),
    )  # fmt: skip


class SyncSession:
    """Serves sync requests on one stream until QUIT or close."""

    def __init__(self, stream: Stream, fs: DeviceFS, push_fault: Callable[[], int | None]) -> None:
        self.stream = stream
        self.fs = fs
        self.push_fault = push_fault  # bytes a push may write before ENOSPC, or None
        self.reader = Reader(stream)
        self.out = bytearray()

    async def flush(self) -> None:
        if self.out:
            data, self.out = bytes(self.out), bytearray()
            await self.stream.write(data)

    async def fail(self, message: str) -> None:
        raw = message.encode()
        self.out += _REQ.pack(b"FAIL", len(raw)) + raw
        await self.flush()

    async def run(self) -> None:
        try:
            while True:
                ident, length = _REQ.unpack(await self.reader.exactly(_REQ.size))
                if ident == b"QUIT":
                    return
                if length > MAX_PATH:
                    await self.fail(f"path too long: {length}")
                    return
                path = (await self.reader.exactly(length)).decode("utf-8", "surrogateescape")
                if not await self.handle(ident, path):
                    return
        except SyncClosed:
            return

    async def handle(self, ident: bytes, path: str) -> bool:
        if ident == b"STAT":
            st = self.fs.lstat(path)
            if st is None:
                self.out += _STAT_V1.pack(b"STAT", 0, 0, 0)
            else:
                self.out += _STAT_V1.pack(
                    b"STAT", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime)
                )
        elif ident in (b"STA2", b"LST2"):
            try:
                st = self.fs.stat(path) if ident == b"STA2" else self.fs.lstat_or_raise(path)
                self.out += _stat_v2(ident, st, 0)
            except OSError as exc:
                self.out += _stat_v2(ident, None, exc.errno or errno.EIO)
        elif ident in (b"LIST", b"LIS2"):
            await self.listing(path, v2=ident == b"LIS2")
        elif ident == b"RECV":
            await self.recv(path)
        elif ident == b"SEND":
            ok = await self.send(path)
            await self.flush()
            return ok
        else:
            await self.fail(f"unknown sync request {ident!r}")
            return False
        await self.flush()
        return True

    async def listing(self, path: str, *, v2: bool) -> None:
        for name, st in self.fs.listdir(path):
            raw = name.encode("utf-8", "surrogateescape")
            if v2:
                self.out += _DENT_V2.pack(
                    b"DNT2", 0, st.st_dev, st.st_ino, st.st_mode, st.st_nlink, st.st_uid,
                    st.st_gid, st.st_size, int(st.st_atime), int(st.st_mtime), int(st.st_ctime),
                    len(raw),
                ) + raw  # fmt: skip
            else:
                self.out += (
                    _DENT_V1.pack(
                        b"DENT", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime), len(raw)
                    )
                    + raw
                )
            if len(self.out) > MAX_CHUNK:
                await self.flush()
        if v2:
            self.out += _DENT_V2.pack(b"DONE", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        else:
            self.out += _DENT_V1.pack(b"DONE", 0, 0, 0, 0)

    async def recv(self, path: str) -> None:
        try:
            fh = self.fs.open_read(path)
        except OSError as exc:
            await self.fail(f"open failed: {exc.strerror}")
            return
        with fh:
            while True:
                chunk = fh.read(MAX_CHUNK)
                if not chunk:
                    break
                self.out += _REQ.pack(b"DATA", len(chunk)) + chunk
                # Batch chunks into max-payload writes: fewer WRTE/OKAY round trips.
                if len(self.out) >= self.stream.conn.max_payload:
                    await self.flush()
        self.out += _REQ.pack(b"DONE", 0)

    async def send(self, spec: str) -> bool:
        path, _, mode_text = spec.rpartition(",")
        try:
            mode = int(mode_text)
        except ValueError:
            path, mode = spec, 0o100644
        allowance = self.push_fault()
        written = 0
        try:
            target = self.fs.open_write(path, mode)
        except OSError as exc:
            # adbd reports FAIL at once, then swallows the rest of the transfer.
            await self.fail(f"couldn't create file: {exc.strerror}")
            await self._discard_data()
            return False
        mtime = 0
        with target:
            while True:
                ident, length = _REQ.unpack(await self.reader.exactly(_REQ.size))
                if ident == b"DONE":
                    mtime = length
                    break
                if ident != b"DATA" or length > MAX_CHUNK:
                    target.abort()
                    await self.fail(f"invalid data message {ident!r} of {length} bytes")
                    return False
                data = await self.reader.exactly(length)
                if allowance is not None and written + len(data) > allowance:
                    target.abort()
                    await self.fail("write failed: No space left on device")
                    await self._discard_data()
                    return False
                target.write(data)
                written += len(data)
            try:
                target.commit(mtime)
            except OSError as exc:
                target.abort()
                await self.fail(f"write failed: {exc.strerror}")
                return False
        self.out += _REQ.pack(b"OKAY", 0)
        return True

    async def _discard_data(self) -> None:
        """Read a refused push's DATA/DONE so the failure answers a complete request."""
        while True:
            ident, length = _REQ.unpack(await self.reader.exactly(_REQ.size))
            if ident != b"DATA":
                return
            await self.reader.exactly(length)
