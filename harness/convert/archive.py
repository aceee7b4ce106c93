"""Models that arrive ready-made: a `.tflite` file, or an official checkpoint `.tgz`.

The official MobileNet checkpoint archives (as linked from the published
tables) hold a float `.tflite` beside the TF checkpoint; this module downloads
such an archive (atomically, size-checked) and takes the `.tflite` out of it
without extracting anything to disk, so a hostile archive cannot write files.
"""

from __future__ import annotations

import contextlib
import http.client
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from harness.convert.analysis import FILE_IDENTIFIER
from harness.convert.cache import write_atomic
from harness.errors import DownloadError, ModelError

DOWNLOAD_CHUNK = 1 << 20
DEFAULT_DOWNLOAD_TIMEOUT_S = 60.0
# The largest `.tflite` member taken out of an archive (docs/convert.md): the
# biggest catalogue model is ~17 MB, so this leaves room for any MobileNet while
# a hostile or mistaken archive cannot make `inspect` read gigabytes into memory.
MAX_MEMBER_BYTES = 128 << 20


def is_url(source: str) -> bool:
    """True for http(s) URLs (everything else is a local path)."""
    return urllib.parse.urlsplit(source).scheme in ("http", "https")


def download(url: str, dest: Path, *, timeout_s: float = DEFAULT_DOWNLOAD_TIMEOUT_S) -> Path:
    """Fetch `url` into `dest` atomically; `DownloadError` on any failure.

    A response shorter than its Content-Length is an error, so a dropped
    connection never leaves a truncated archive behind.
    """
    received = 0
    expected: int | None = None

    def chunks(response: urllib.response.addinfourl) -> Iterator[bytes]:
        nonlocal received
        while block := response.read(DOWNLOAD_CHUNK):
            received += len(block)
            yield block
        if expected is not None and received != expected:
            raise DownloadError(f"{url}: connection closed after {received} of {expected} bytes")

    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            write_atomic(dest, chunks(response))
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"{url}: {exc.reason}") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise DownloadError(f"{url}: {type(exc).__name__} {exc}".rstrip()) from None
    return dest


def tflite_from_archive(path: Path, *, prefer: str | None = None) -> tuple[str, bytes]:
    """(member name, bytes) of the `.tflite` inside a `.tgz` checkpoint archive.

    With several `.tflite` members, the one whose file name is `prefer`.tflite
    wins (the official V1 archives hold only one; being explicit costs nothing).
    """
    try:
        with tarfile.open(path, "r:*") as archive:
            members: list[tarfile.TarInfo] = []
            for member in archive:  # headers one by one: a huge member is refused on sight
                if member.isfile() and member.name.endswith(".tflite"):
                    _refuse_large(member, path)
                    members.append(member)
            if not members:
                raise ModelError("the archive holds no .tflite file", path=str(path))
            chosen = members[0]
            if len(members) > 1:
                named = [m for m in members if PurePosixPath(m.name).stem == prefer]
                if len(named) != 1:
                    names = ", ".join(m.name for m in members)
                    raise ModelError(
                        f"the archive holds several .tflite files ({names})",
                        path=str(path),
                        hint="name the variant to pick one",
                    )
                chosen = named[0]
            _refuse_large(chosen, path)  # from the header, before a byte of it is read
            handle = archive.extractfile(chosen)
            if handle is None:
                raise ModelError(f"cannot read {chosen.name} in the archive", path=str(path))
            with contextlib.closing(handle):
                return chosen.name, handle.read(MAX_MEMBER_BYTES)
    except FileNotFoundError:
        raise ModelError("no such file", path=str(path)) from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ModelError(f"not a readable .tgz archive: {exc}", path=str(path)) from None


def _refuse_large(member: tarfile.TarInfo, path: Path) -> None:
    if member.size > MAX_MEMBER_BYTES:
        raise ModelError(
            f"{member.name} in the archive is {member.size / 1e6:.0f} MB, over the "
            f"{MAX_MEMBER_BYTES >> 20} MiB limit for a model",
            path=str(path),
            hint="a MobileNet .tflite is under 20 MB; is this the right archive?",
        )


def read_tflite(path: Path) -> bytes:
    """The bytes of a ready `.tflite`, checked for the TFLite file identifier."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError("no such file", path=str(path)) from None
    except OSError as exc:
        raise ModelError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if data[4:8] != FILE_IDENTIFIER:
        raise ModelError("not a TFLite flatbuffer", path=str(path))
    return data
