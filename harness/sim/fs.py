"""Device paths for the sync service, resolved inside the device.

`adb push/pull/ls` see what the device's shell sees, as adbd on a user build
serves them as the shell user. Every path is opened or changed by the sync
agent (`sync_agent.py`), a process in the device's namespaces with the shell
user's rights, which hands back an open descriptor; the host only reads,
writes and stats descriptors. So the device's mounts, symlinks and permissions
decide, and a symlink made on the device never leads to a host file. Pushes go
into /data only, to a temporary name renamed on success, never through a link.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import posixpath
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import BinaryIO

AGENT_TIMEOUT_S = 10.0
AGENT_STOP_TIMEOUT_S = 5.0
MAX_ANSWER = 1 << 16
WRITABLE = "/data"

# Starts the agent inside the device: (argv after the namespace prefix, fds to pass) -> process.
Launcher = Callable[[list[str], tuple[int, ...]], "subprocess.Popen[bytes]"]


class SyncAgent:
    """The agent process and its socket; started on first use, again if it died."""

    def __init__(self, launch: Launcher, script: str) -> None:
        self._launch = launch
        self._script = script
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def call(self, op: str, *args: object) -> tuple[object, int | None]:
        """Run one operation in the device: (value, descriptor or None); OSError as the device's."""
        request = json.dumps([op, *args]).encode("utf-8", "surrogateescape")
        with self._lock:
            for attempt in (1, 2):
                sock = self._sock or self._start()
                try:
                    sock.send(request)
                    data, fds, _flags, _addr = socket.recv_fds(sock, MAX_ANSWER, 1)
                    if not data:
                        raise ConnectionResetError(errno.ECONNRESET, "the sync agent is gone")
                    break
                except (OSError, TimeoutError):
                    self._stop()
                    if attempt == 2:
                        raise OSError(errno.EIO, "the sync agent does not answer") from None
        answer = json.loads(data)
        fd = fds[0] if fds else None
        if "errno" in answer:
            if fd is not None:
                os.close(fd)
            code = int(answer["errno"])
            raise OSError(code, os.strerror(code))
        return answer.get("ok"), fd

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = self._launch(
                [sys.executable, "-I", "-S", self._script, str(theirs.fileno())], (theirs.fileno(),)
            )
        finally:
            theirs.close()
        ours.settimeout(AGENT_TIMEOUT_S)
        self._sock = ours
        return ours

    def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            # Its process group: nsenter and the agent it forked into the device.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(AGENT_STOP_TIMEOUT_S)
            self._proc = None

    def close(self) -> None:
        with self._lock:
            self._stop()


class WriteTarget:
    """A file being pushed: written to a temporary name in the device, renamed on success."""

    def __init__(self, agent: SyncAgent, final: str, mode: int) -> None:
        self.agent = agent
        self.final = final
        self.mode = mode
        parent, name = posixpath.split(final)
        self.tmp = posixpath.join(parent, f".{name}.sim-push-{os.getpid()}-{id(self)}")
        self.link = stat.S_ISLNK(mode)
        self.chunks: list[bytes] = []
        self.fh: BinaryIO | None = None
        if not self.link:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            _value, fd = agent.call("open", self.tmp, flags, 0o600)
            assert fd is not None
            self.fh = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        if self.fh is None:
            self.chunks.append(data)
        else:
            self.fh.write(data)

    def commit(self, mtime: int) -> None:
        if self.link:
            target = b"".join(self.chunks).rstrip(b"\0").decode("utf-8", "surrogateescape")
            _ignore(errno.ENOENT, lambda: self.agent.call("unlink", self.final))
            self.agent.call("symlink", target, self.final)
            return
        assert self.fh is not None
        self.fh.flush()  # before the mtime: a later write would move it
        # adbd keeps only the permission bits of a pushed file (no setuid,
        # setgid or sticky bit: the host user running the sim may be root).
        os.fchmod(self.fh.fileno(), (self.mode & 0o777) or 0o644)
        if mtime:
            os.utime(self.fh.fileno(), (mtime, mtime))
        self.fh.close()
        self.agent.call("rename", self.tmp, self.final)

    def abort(self) -> None:
        if self.fh is not None:
            if not self.fh.closed:
                self.fh.close()
            _ignore(errno.ENOENT, lambda: self.agent.call("unlink", self.tmp))
            self.fh = None

    def __enter__(self) -> WriteTarget:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.abort()
        elif self.fh is not None and not self.fh.closed:
            self.abort()  # neither committed nor aborted: the push did not finish


def _ignore(code: int, call: Callable[[], object]) -> None:
    try:
        call()
    except OSError as exc:
        if exc.errno != code:
            raise


class DeviceFS:
    """The sync service's file operations, done in the device by its agent."""

    def __init__(self, agent: SyncAgent, writable: str = WRITABLE) -> None:
        self.agent = agent
        self.writable = writable

    def _open(self, path: str, flags: int) -> int:
        if not path.startswith("/"):
            raise OSError(errno.ENOENT, f"not an absolute path: {path}")
        _value, fd = self.agent.call("open", path, flags, 0)
        assert fd is not None
        return fd

    def _fstat(self, path: str, flags: int) -> os.stat_result:
        fd = self._open(path, os.O_PATH | flags)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def lstat(self, path: str) -> os.stat_result | None:
        try:
            return self.lstat_or_raise(path)
        except OSError:
            return None

    def lstat_or_raise(self, path: str) -> os.stat_result:
        return self._fstat(path, os.O_NOFOLLOW)

    def stat(self, path: str) -> os.stat_result:
        return self._fstat(path, 0)

    def listdir(self, path: str) -> list[tuple[str, os.stat_result]]:
        try:
            fd = self._open(path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return []
        try:
            names = [".", "..", *sorted(os.listdir(fd))]
            out = []
            for name in names:
                try:
                    out.append((name, os.stat(name, dir_fd=fd, follow_symlinks=False)))
                except OSError:
                    continue
            return out
        finally:
            os.close(fd)

    def open_read(self, path: str) -> BinaryIO:
        fd = self._open(path, os.O_RDONLY)
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        return os.fdopen(fd, "rb")

    def open_write(self, path: str, mode: int) -> WriteTarget:
        """Start a push; parent folders are created (the `fixed_push_mkdir` feature)."""
        norm = posixpath.normpath(path)
        if not path.startswith("/") or not _inside(norm, self.writable):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        parent, name = posixpath.split(norm)
        self.agent.call("mkdirs", parent, 0o771)
        # Resolved in the device: a symlinked parent must still lead into /data.
        real_parent, _fd = self.agent.call("realpath", parent)
        if not isinstance(real_parent, str) or not _inside(real_parent, self.writable):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        return WriteTarget(self.agent, posixpath.join(real_parent, name), mode)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")
