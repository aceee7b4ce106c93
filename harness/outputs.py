"""Output paths, checked before any work: a file where a file goes, a writable place.

A command that measures for minutes and then fails to write its report, or
writes `IsADirectoryError` at the end, wastes the run. These checks run first
and fail with one line: exit 2 when the path names the wrong kind of thing
(a folder for a file, a file for a folder), exit 3 when the host will not let
us write there (permission, read-only filesystem).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from harness.errors import OutputPathError, StorageError, from_os_error


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


def output_file(path: Path, option: str) -> Path:
    """`path` if a file can be written there; else `OutputPathError` / `StorageError`."""
    if path.is_dir():
        raise OutputPathError(f"{option} names a folder; give a file name", path=str(path))
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
