"""Models that arrive ready-made: a `.tflite` file, or an official checkpoint `.tgz`.

The official MobileNet checkpoint archives (as linked from the published
tables) hold a float `.tflite` beside the TF checkpoint; this module downloads
such an archive (`harness.fetch`: atomic, size-capped, with a deadline) and
takes the `.tflite` out of it without extracting anything to disk, so a
hostile archive cannot write files.

An archive is read once, front to back, and the work is bounded by its size:
at most `UNPACK_RATIO` times its own bytes (plus `UNPACK_MARGIN`, at most
`MAX_UNPACKED`) come out of the decompressor, at most `MAX_MEMBERS` headers are
read, and a `.tflite` member is taken only when its header says it is at most
`inputs.MODEL_BYTES`. So a member whose header claims 8 GiB, a compressed
bomb or an archive of a million empty members is refused (exit 2) after
bounded work, never a hang.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from harness import inputs
from harness.convert.analysis import FILE_IDENTIFIER
from harness.errors import ModelError, TooMuch
from harness.fetch import DEFAULT_DEADLINE_S, DEFAULT_TIMEOUT_S, fetch

DEFAULT_DOWNLOAD_TIMEOUT_S = DEFAULT_TIMEOUT_S
# The official archives unpack to about their own size (weights barely compress);
# text members compress a few times. Eight times plus a margin leaves room for
# any of them while a 10 MB bomb cannot make us inflate gigabytes.
UNPACK_RATIO = 8
UNPACK_MARGIN = 64 * inputs.MiB
MAX_UNPACKED = 1024 * inputs.MiB
MAX_MEMBERS = 10_000  # an official archive holds about ten


def is_url(source: str) -> bool:
    """True for what looks like an http(s) URL (everything else is a local path)."""
    return source.lower().startswith(("http://", "https://"))


def download(
    url: str,
    dest: Path,
    *,
    timeout_s: float = DEFAULT_DOWNLOAD_TIMEOUT_S,
    deadline_s: float = DEFAULT_DEADLINE_S,
) -> Path:
    """Fetch a checkpoint archive into `dest` (atomically, at most `inputs.ARCHIVE_BYTES`).

    `DownloadError` (exit 3) on any failure, `UrlError` (exit 2) for a malformed URL.
    """
    fetch(url, dest, max_bytes=inputs.ARCHIVE_BYTES, timeout_s=timeout_s, deadline_s=deadline_s)
    return dest


class _Unpacked:
    """The decompressed stream, refusing to yield more than `limit` bytes."""

    def __init__(self, stream: _Readable, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._used = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or self._used + size > self._limit:
            size = self._limit - self._used + 1
        data = self._stream.read(size)
        self._used += len(data)
        if self._used > self._limit:
            raise TooMuch(f"unpacks to over {inputs.size_text(self._limit)}")
        return data


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _decompressed(raw: IO[bytes]) -> _Readable:
    """`raw` through the decompressor its first bytes name (gzip, bzip2, xz), or as is."""
    head = raw.read(6)
    raw.seek(0)
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head[:3] == b"BZh":
        return bz2.BZ2File(raw, mode="rb")
    if head[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(raw, mode="rb")
    return raw


def tflite_from_archive(path: Path, *, prefer: str | None = None) -> tuple[str, bytes]:
    """(member name, bytes) of the `.tflite` inside a `.tgz` checkpoint archive.

    With several `.tflite` members, the one whose file name is `prefer`.tflite
    wins (the official V1 archives hold only one; being explicit costs nothing).
    """
    try:
        with inputs.open_binary(path, limit=inputs.ARCHIVE_BYTES, what="an archive") as raw:
            size = os.fstat(raw.fileno()).st_size
            limit = min(MAX_UNPACKED, UNPACK_RATIO * size + UNPACK_MARGIN)
            stream = _Unpacked(_decompressed(raw), limit)
            with tarfile.open(fileobj=stream, mode="r|") as archive:  # type: ignore[call-overload]
                return _pick(archive, path, prefer)
    except FileNotFoundError:
        raise ModelError("no such file", path=str(path)) from None
    except TooMuch as exc:
        raise ModelError(
            f"the archive {exc}, more than its size allows",
            path=str(path),
            hint="an official checkpoint .tgz unpacks to about its own size",
        ) from None
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        raise ModelError(f"not a readable .tgz archive: {exc}", path=str(path)) from None


def _pick(archive: tarfile.TarFile, path: Path, prefer: str | None) -> tuple[str, bytes]:
    """Read the archive's members in order, keeping the `.tflite` to return."""
    names: list[str] = []
    first: tuple[str, bytes] | None = None  # the first .tflite, and the first named `prefer`
    preferred: tuple[str, bytes] | None = None
    n_preferred = 0
    count = 0
    while (member := archive.next()) is not None:
        count += 1
        if count > MAX_MEMBERS:
            raise ModelError(
                f"the archive holds over {MAX_MEMBERS} members; not a model checkpoint",
                path=str(path),
            )
        if not (member.isfile() and member.name.endswith(".tflite")):
            continue
        _refuse_large(member, path)  # from the header, before a byte of it is read
        names.append(member.name)
        wanted = PurePosixPath(member.name).stem == prefer
        n_preferred += wanted
        if (first is not None and not wanted) or (wanted and preferred is not None):
            continue
        found = (member.name, _member_bytes(archive, member, path))
        first = first or found
        if wanted:
            preferred = found
    if first is None:
        raise ModelError("the archive holds no .tflite file", path=str(path))
    if len(names) == 1:
        return first
    if n_preferred != 1 or preferred is None:
        raise ModelError(
            f"the archive holds several .tflite files ({', '.join(names)})",
            path=str(path),
            hint="name the variant to pick one",
        )
    return preferred


def _member_bytes(archive: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> bytes:
    handle = archive.extractfile(member)
    if handle is None:
        raise ModelError(f"cannot read {member.name} in the archive", path=str(path))
    with contextlib.closing(handle):
        return handle.read(inputs.MODEL_BYTES)


def _refuse_large(member: tarfile.TarInfo, path: Path) -> None:
    if member.size > inputs.MODEL_BYTES:
        raise ModelError(
            f"{member.name} in the archive is {member.size / 1e6:.0f} MB, over the "
            f"{inputs.size_text(inputs.MODEL_BYTES)} limit for a model",
            path=str(path),
            hint="a MobileNet .tflite is under 20 MB; is this the right archive?",
        )


def read_tflite(path: Path) -> bytes:
    """The bytes of a ready `.tflite`, checked for the TFLite file identifier."""
    try:
        data = inputs.read_bytes(path, limit=inputs.MODEL_BYTES, what="a model")
    except FileNotFoundError:
        raise ModelError("no such file", path=str(path)) from None
    except OSError as exc:
        raise ModelError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if data[4:8] != FILE_IDENTIFIER:
        raise ModelError("not a TFLite flatbuffer", path=str(path))
    return data
