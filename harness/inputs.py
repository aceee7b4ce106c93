"""Input files, read the one careful way: regular files, bounded size, bounded JSON and ints.

A path given to the harness may name `/dev/zero` (endless), a FIFO (a read
that never returns), a directory, a device whose opening has side effects, or
a file of gigabytes; a file's text may nest JSON ten thousand levels deep
(RecursionError) or hold an integer of five thousand digits (ValueError, and
quadratic work). Every reader goes through here, so each of those is one
clear line and exit 2 (`InputFileError`), and the rules live in one place
(docs/design.md "Rules for input and output"):

- an input is a regular file (a symbolic link to one is followed, except for
  the files of a run folder: `follow=False`), checked before it is opened;
- it is read with a size bound (the `*_BYTES` limits below);
- JSON and TOML are parsed with a depth bound (`MAX_DEPTH`) and integers from
  text with a digit bound (`MAX_INT_DIGITS`).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from harness.errors import InputFileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MiB = 1 << 20
# Size bounds, by what a file is. Each is far above any real file of its kind.
MODEL_BYTES = 128 * MiB  # a .tflite (the largest MobileNet is ~17 MB)
ARCHIVE_BYTES = 1024 * MiB  # a checkpoint .tgz (the official ones are under 100 MB)
BINARY_BYTES = 256 * MiB  # a benchmark_model executable (~10-40 MB)
LOG_BYTES = 256 * MiB  # a benchmark_model log (op profiles included: well under 1 MB)
TRIALS_BYTES = 512 * MiB  # trials.jsonl / profiles.jsonl (a record is a few KB)
META_BYTES = 64 * MiB  # meta.json, a baseline
SETTINGS_BYTES = 4 * MiB  # harness.toml, pyproject.toml, a thresholds file, small indexes

MAX_DEPTH = 64  # JSON / TOML nesting: stored files use under 10 levels
MAX_INT_DIGITS = 20  # 2**64 has 20 digits; no count, size or seed the harness keeps has more

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def file_kind(mode: int) -> str:
    """`a FIFO`, `a directory`, ...: what a non-regular file is, for messages."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def size_text(n: int) -> str:
    """A byte count as people read it: `512 MiB`, `3.2 GiB`, `700 bytes`."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            return (
                f"{value:.0f} {unit}"
                if value >= 10 or value == int(value)
                else f"{value:.1f} {unit}"
            )
    return f"{n} bytes"


def _refuse_kind(path: Path, mode: int, follow: bool) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISLNK(mode) and not follow:
        raise InputFileError(
            "is a symbolic link; a run folder's files must be regular files inside it",
            path=str(path),
        )
    raise InputFileError(f"is {file_kind(mode)}, not a regular file", path=str(path))


def open_fd(path: Path, *, follow: bool = True) -> int:
    """A read-only descriptor of `path`, which must be a regular file.

    The kind is checked before opening (opening a device can have side effects)
    and again on the open descriptor (the path may have changed in between);
    O_NONBLOCK keeps a FIFO swapped in meanwhile from blocking the open.
    `FileNotFoundError` passes through, for callers that treat absence apart;
    every other refusal is `InputFileError`.
    """
    path = Path(path)
    try:
        before = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    _refuse_kind(path, before.st_mode, follow)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            _refuse_kind(path, stat.S_IFLNK, follow)
        raise InputFileError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    try:
        now = os.fstat(fd)
        _refuse_kind(path, now.st_mode, follow)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _over(path: Path, size: int, limit: int, what: str) -> InputFileError:
    return InputFileError(
        f"{size_text(size)} is over the {size_text(limit)} limit for {what}", path=str(path)
    )


class _Bounded(io.RawIOBase):
    """A file that refuses to be read past `limit` bytes (it may grow while it is read)."""

    def __init__(self, fd: int, path: Path, limit: int, what: str) -> None:
        super().__init__()
        self._file = os.fdopen(fd, "rb", buffering=0)
        self._path, self._limit, self._what = path, limit, what
        self._seen = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()

    def readinto(self, buffer: Any) -> int:
        n = self._file.readinto(buffer) or 0
        self._seen += n
        if self._seen > self._limit:
            raise _over(self._path, self._seen, self._limit, self._what)
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


@contextmanager
def open_binary(path: Path, *, limit: int, what: str, follow: bool = True) -> Iterator[IO[bytes]]:
    """`path` opened for reading bytes: a regular file, refused when over `limit` bytes.

    Refused up front from its size, and again if it grows past `limit` while it
    is read, so a reader that streams (a log, an archive) is bounded too.
    """
    path = Path(path)
    fd = open_fd(path, follow=follow)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise _over(path, size, limit, what)
        handle = io.BufferedReader(_Bounded(fd, path, limit, what))
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_bytes(path: Path, *, limit: int, what: str, follow: bool = True) -> bytes:
    """All of a regular file, at most `limit` bytes (else `InputFileError`)."""
    with open_binary(path, limit=limit, what=what, follow=follow) as handle:
        return handle.read()


def decode_utf8(data: bytes, *, path: Path) -> str:
    """`data` as UTF-8 text, or `InputFileError` naming the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise InputFileError(
            f"not UTF-8 text (byte 0x{bad} at offset {exc.start})", path=str(path)
        ) from None


def read_text(path: Path, *, limit: int, what: str, follow: bool = True) -> str:
    """A regular file of UTF-8 text, at most `limit` bytes."""
    return decode_utf8(read_bytes(path, limit=limit, what=what, follow=follow), path=Path(path))


# -- JSON and TOML ------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")


def _json_depth_ok(text: str) -> bool:
    """Whether `text` nests at most MAX_DEPTH levels (C-speed passes, no recursion).

    Strings are cut out first (brackets inside them do not nest); then each pass
    removes the innermost empty pairs, so a text of depth d is empty after d
    passes. Unbalanced text stops shrinking and is left for the parser to refuse.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return True
    skeleton = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    for _ in range(MAX_DEPTH):
        skeleton, removed = _EMPTY_PAIR.subn("", skeleton)
        if not skeleton or not removed:
            return True
    return not _EMPTY_PAIR.search(skeleton)


def _json_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def loads_json(data: str | bytes) -> Any:
    """`json.loads` with a depth bound and an integer digit bound.

    Refusals are `ValueError`s (as `json.loads` raises), so each reader keeps
    saying which file and line was at fault.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if not _json_depth_ok(text):
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_int=_json_int)
    except RecursionError:  # cannot happen after the depth check; never a traceback
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None


def _check_tree(value: Any) -> None:
    """Depth and integer bounds of a parsed value, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if (
                isinstance(item, int)
                and not isinstance(item, bool)
                and abs(item) >= 10**MAX_INT_DIGITS
            ):
                raise ValueError(f"an integer of over {MAX_INT_DIGITS} digits")
            continue
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def loads_toml(text: str) -> dict[str, Any]:
    """`tomllib.loads` with the same bounds as `loads_json`; `ValueError` when refused."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:  # an integer past Python's own 4,300-digit limit
        raise ValueError(f"an integer of over {MAX_INT_DIGITS} digits") from None
    _check_tree(data)
    return data


def read_json(path: Path, *, limit: int, what: str, follow: bool = True) -> Any:
    """A bounded regular file of bounded JSON; `InputFileError` for any refusal."""
    text = read_text(path, limit=limit, what=what, follow=follow)
    try:
        return loads_json(text)
    except ValueError as exc:
        raise InputFileError(f"not valid JSON: {exc}", path=str(path)) from None


def parse_int(text: str) -> int:
    """An integer written in decimal text, with at most MAX_INT_DIGITS digits (else ValueError)."""
    digits = text.strip().lstrip("+-")
    if len(digits) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def sha256_file(path: Path, *, limit: int, what: str) -> str:
    """Hex sha256 of a regular file of at most `limit` bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open_binary(path, limit=limit, what=what) as handle:
        while block := handle.read(MiB):
            digest.update(block)
    return digest.hexdigest()
