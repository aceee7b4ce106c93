"""Output paths, checked before any work, and the one atomic way files are written.

A command that measures for minutes and then fails to write its report, or
writes `IsADirectoryError` at the end, wastes the run. These checks run first
and fail with one line: exit 2 when the path names the wrong kind of thing
(a folder for a file, a file for a folder, a device, FIFO or socket for a
file), exit 3 when the host will not let us write there (permission,
read-only filesystem).

Every file the harness writes goes through `write_atomic` (a temporary file,
fsync, rename), so a reader sees the old file or the whole new one. A rename
replaces whatever has the name, so an output goes only to a regular file or a
new path: `harness report -o /dev/null` run as root must not put a regular
file where the null device was.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from harness.errors import OutputPathError, StorageError, from_os_error
from harness.inputs import file_kind


def _existing_ancestor(path: Path) -> Path:
    """`path` or its nearest parent that exists (what a write there would create under)."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _refuse_unwritable(folder: Path, target: Path, option: str) -> None:
    if os.access(folder, os.W_OK | os.X_OK):
        return
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    reason = "read-only filesystem" if read_only else f"permission denied on {folder}"
    raise StorageError(f"{option}: cannot write here ({reason})", path=str(target))


def refuse_non_regular(path: Path, option: str) -> None:
    """Refuse an existing `path` that is not a regular file (or a link to one).

    A device, FIFO or socket would be replaced by the rename (or written into):
    outputs go only to a regular file or a new path.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:  # absent (a new path), or a dangling link the rename replaces
        return
    if stat.S_ISDIR(mode):
        raise OutputPathError(f"{option} names a folder; give a file name", path=str(path))
    if not stat.S_ISREG(mode):
        raise OutputPathError(
            f"{option} names {file_kind(mode)}, not a regular file; give a file name or a new path",
            path=str(path),
        )


def output_file(path: Path, option: str) -> Path:
    """`path` if a file can be written there; else `OutputPathError` / `StorageError`."""
    refuse_non_regular(path, option)
    folder = _existing_ancestor(path.parent)
    if not folder.is_dir():
        raise OutputPathError(f"{option}: {folder} is a file, not a folder", path=str(path))
    _refuse_unwritable(folder, path, option)
    return path


def output_folder(path: Path, option: str) -> Path:
    """`path` if it is (or can be made) a writable folder; else the same errors."""
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{option} names a file; give a folder", path=str(path))
    folder = _existing_ancestor(path)
    if not folder.is_dir():
        raise OutputPathError(f"{option}: {folder} is a file, not a folder", path=str(path))
    _refuse_unwritable(folder, path, option)
    return path


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an `OSError` while writing `path` (a full disk, say) into one line naming it."""
    try:
        yield
    except OSError as exc:
        raise from_os_error(exc, path=str(path)) from None


def usual_file_mode() -> int:
    """The mode `open()` gives a new file: 0o666 less the umask (0644 under the default 022).

    `tempfile.mkstemp` makes 0600 files; an atomic write renames one into place, so
    without this the report, a baseline or a cached model would be private to us.
    """
    try:  # Linux shows the umask without changing it (os.umask would, for all threads)
        for line in Path("/proc/self/status").read_text("ascii").splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def give_usual_mode(fd: int) -> None:
    """Give a temporary file (from `tempfile.mkstemp`) the mode a plain new file gets."""
    os.fchmod(fd, usual_file_mode())


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable (not every filesystem allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_file(tmp: Path | str, path: Path, option: str = "output") -> None:
    """Rename the finished `tmp` onto `path`, unless `path` became a non-regular file."""
    refuse_non_regular(path, option)
    os.replace(tmp, path)


def write_atomic(path: Path, data: bytes | Iterable[bytes], *, option: str = "output") -> None:
    """Write `path` so that readers see the old file or the whole new one.

    `path` must be a regular file or a new path (checked before writing and
    again before the rename). A crash leaves at most a hidden `.tmp` file; a
    Python-level interruption removes it.
    """
    refuse_non_regular(path, option)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        give_usual_mode(fd)
        with os.fdopen(fd, "wb") as handle:
            for chunk in [data] if isinstance(data, bytes) else data:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        replace_file(tmp, path, option)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
