"""Device paths -> host paths, for the sync service.

The same view the sandboxed shell has: /data is the instance's writable data
folder, /system and the sysfs trees are the instance's read-only copies, and
everything else is the host's, read-only. Writes never follow a symlink out of
the writable area (the sim runs as root in CI).
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from pathlib import Path
from types import TracebackType
from typing import BinaryIO


class WriteTarget:
    """A file being pushed: written to a temporary name, renamed on success."""

    def __init__(self, final: Path, mode: int) -> None:
        self.final = final
        self.mode = mode
        self.tmp = final.with_name(f".{final.name}.sim-push-{os.getpid()}-{id(self)}")
        self.link = stat.S_ISLNK(mode)
        self.chunks: list[bytes] = []
        self.fh: BinaryIO | None = None if self.link else open(self.tmp, "wb")  # noqa: SIM115

    def write(self, data: bytes) -> None:
        if self.fh is None:
            self.chunks.append(data)
        else:
            self.fh.write(data)

    def commit(self, mtime: int) -> None:
        if self.link:
            target = b"".join(self.chunks).rstrip(b"\0").decode("utf-8", "surrogateescape")
            if self.final.is_symlink() or self.final.exists():
                self.final.unlink()
            self.final.symlink_to(target)
            return
        assert self.fh is not None
        self.fh.close()
        os.chmod(self.tmp, stat.S_IMODE(self.mode) or 0o644)
        if mtime:
            os.utime(self.tmp, (mtime, mtime))
        if self.final.is_dir() and not self.final.is_symlink():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        os.replace(self.tmp, self.final)

    def abort(self) -> None:
        if self.fh is not None and not self.fh.closed:
            self.fh.close()
        if self.fh is not None:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> WriteTarget:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.abort()
        elif self.fh is not None and not self.fh.closed:
            self.abort()  # neither committed nor aborted: the push did not finish


class DeviceFS:
    """Resolves device paths for one instance root."""

    def __init__(self, root: Path) -> None:
        root = root.resolve()
        self.root = root
        self.data = root / "data"
        # Longest prefix first.
        self.mounts: list[tuple[str, Path]] = [
            ("/sys/devices/system/cpu", root / "sysfs" / "cpu"),
            ("/sys/class/thermal", root / "sysfs" / "thermal"),
            ("/system", root / "system"),
            ("/data", root / "data"),
        ]

    def host_path(self, device_path: str) -> Path:
        """Where a device path lives on the host (lexically normalised, absolute)."""
        if not device_path.startswith("/"):
            raise OSError(errno.ENOENT, f"not an absolute path: {device_path}")
        norm = posixpath.normpath(device_path)
        if norm.startswith("//"):
            norm = "/" + norm.lstrip("/")
        for prefix, host in self.mounts:
            if norm == prefix or norm.startswith(prefix + "/"):
                return host / norm[len(prefix) :].lstrip("/")
        if norm.split("/")[1] in ("vendor",):
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
        return Path(norm)

    def lstat(self, path: str) -> os.stat_result | None:
        try:
            return self.lstat_or_raise(path)
        except OSError:
            return None

    def lstat_or_raise(self, path: str) -> os.stat_result:
        return os.lstat(self.host_path(path))

    def stat(self, path: str) -> os.stat_result:
        return os.stat(self.host_path(path))

    def listdir(self, path: str) -> list[tuple[str, os.stat_result]]:
        try:
            host = self.host_path(path)
            names = [".", "..", *sorted(os.listdir(host))]
        except OSError:
            return []
        out = []
        for name in names:
            try:
                out.append((name, os.lstat(host / name)))
            except OSError:
                continue
        return out

    def open_read(self, path: str) -> BinaryIO:
        host = self.host_path(path)
        if host.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        return open(host, "rb")

    def open_write(self, path: str, mode: int) -> WriteTarget:
        """Start a push; parent folders are created (the `fixed_push_mkdir` feature)."""
        host = self.host_path(path)
        if not self._inside_data(host):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        parent = host.parent
        if not parent.is_dir():
            parent.mkdir(parents=True, exist_ok=True, mode=0o771)
        # Resolve after mkdir: a symlinked parent must still land inside /data.
        if not self._inside_data(parent.resolve() / host.name):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        if host.is_symlink():
            host.unlink()  # a push replaces a link; it never writes through it
        return WriteTarget(parent.resolve() / host.name, mode)

    def _inside_data(self, host: Path) -> bool:
        try:
            host.relative_to(self.data)
        except ValueError:
            return str(host) == str(self.data)
        return True
