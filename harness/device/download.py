"""Fetch the official classic `benchmark_model` nightly for an ABI, and cache it.

URLs are the nightly ones the LiteRT measurement docs give
(`tflite/g3doc/performance/measurement.md`). Nightly binaries change daily,
so the harness records the sha256 of what it fetched in a small index; a
binary whose device-side sha256 is in that index (fetched from the official
host) is reported as kind "official".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.device.elf import ABI_ELF, read_header
from harness.errors import DownloadError, HarnessError
from harness.fetch import DEFAULT_DEADLINE_S, check_url, fetch
from harness.inputs import BINARY_BYTES, SETTINGS_BYTES, read_json, sha256_file
from harness.outputs import replace_file, write_atomic
from harness.stored import Stored

log = logging.getLogger(__name__)

OFFICIAL_BASE_URL = (
    "https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/"
    "tools/nightly/latest"
)
# Android ABI -> file name prefix on the nightly bucket. x86_64 has no Android
# build there; the linux one is the closest official binary (glibc: it runs on
# an x86_64 emulator image only if that image can run glibc programs).
ABI_TARGETS = {
    "arm64-v8a": "android_aarch64",
    "armeabi-v7a": "android_arm",
    "x86_64": "linux_x86-64",
}
DOWNLOAD_TIMEOUT_S = 120.0  # one network wait
DOWNLOAD_DEADLINE_S = DEFAULT_DEADLINE_S  # the whole download
INDEX_NAME = "index.json"


@dataclass(frozen=True)
class FetchedBinary:
    """A benchmark_model on the host: where, what, from where."""

    abi: str
    path: Path
    sha256: str
    size_bytes: int
    url: str
    official: bool
    cached: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def cache_root() -> Path:
    """`$HARNESS_CACHE_DIR/binaries`, else `~/.cache/harness/binaries` (the project rule)."""
    preset = os.environ.get("HARNESS_CACHE_DIR")
    base = Path(preset).expanduser() if preset else Path.home() / ".cache" / "harness"
    return base / "binaries"


def binary_url(abi: str, base_url: str = OFFICIAL_BASE_URL) -> str:
    """The nightly URL of the classic benchmark_model for `abi`."""
    if abi not in ABI_TARGETS:
        raise HarnessError(
            f"no official benchmark_model for ABI {abi!r}",
            hint=f"choose one of {', '.join(ABI_TARGETS)}",
        )
    return f"{base_url.rstrip('/')}/{ABI_TARGETS[abi]}_benchmark_model"


def _index_path(root: Path) -> Path:
    return root / INDEX_NAME


@dataclass(frozen=True)
class IndexEntry(Stored):
    """A fetched binary as the index remembers it (by its sha256)."""

    abi: str | None = None
    url: str | None = None
    official: bool = False  # from the official nightly bucket
    size_bytes: int | None = None
    fetched_at: str | None = None


def load_index(root: Path | None = None) -> dict[str, IndexEntry]:
    """sha256 -> what the index says of every fetched binary (an unreadable index: empty)."""
    path = _index_path(root or cache_root())
    try:
        data = read_json(path, limit=SETTINGS_BYTES, what="the binary index")
    except FileNotFoundError:
        return {}
    except (OSError, HarnessError) as exc:
        log.warning("ignoring unreadable binary index %s: %s", path, exc)
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: IndexEntry.from_dict(v) for k, v in data.items() if isinstance(v, dict)}


def record(root: Path, fetched: FetchedBinary) -> None:
    """Add a fetched binary to the index (rewritten atomically)."""
    index = load_index(root)
    index[fetched.sha256] = IndexEntry(
        abi=fetched.abi,
        url=fetched.url,
        official=fetched.official,
        size_bytes=fetched.size_bytes,
        fetched_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    text = json.dumps({k: e.to_dict() for k, e in index.items()}, indent=2, sort_keys=True)
    write_atomic(_index_path(root), text.encode(), option="the binary index")


def is_official(sha256: str, root: Path | None = None) -> bool:
    """Whether `sha256` is a binary fetched from the official nightly bucket."""
    entry = load_index(root).get(sha256)
    return entry is not None and bool(entry.official)


def fetch_binary(
    abi: str,
    *,
    base_url: str = OFFICIAL_BASE_URL,
    root: Path | None = None,
    force: bool = False,
    timeout_s: float = DOWNLOAD_TIMEOUT_S,
    deadline_s: float = DOWNLOAD_DEADLINE_S,
    max_bytes: int = BINARY_BYTES,
) -> FetchedBinary:
    """Download benchmark_model for `abi` into the cache (unless cached) and index it.

    The download must be an ELF file for `abi`: an HTML error page or a
    truncated file is a DownloadError, and nothing replaces a good cached copy.
    A body over `max_bytes`, or a download still running after `deadline_s`
    (a server trickling bytes), is a DownloadError too; a malformed base URL
    is a UrlError (exit 2).
    """
    check_url(base_url)
    url = binary_url(abi, base_url)
    root = root or cache_root()
    dest = root / abi / "benchmark_model"
    official = url.startswith(OFFICIAL_BASE_URL)
    if dest.is_file() and not force:
        digest = sha256_file(dest, limit=max_bytes, what="a cached benchmark binary")
        entry = load_index(root).get(digest)
        if entry is not None:
            return FetchedBinary(
                abi,
                dest,
                digest,
                dest.stat().st_size,
                str(entry.url),
                bool(entry.official),
                cached=True,
            )
    log.info("downloading %s", url)
    tmp = dest.with_name(dest.name + ".download")
    try:
        got = fetch(url, tmp, max_bytes=max_bytes, timeout_s=timeout_s, deadline_s=deadline_s)
    except DownloadError as exc:
        raise DownloadError(
            exc.message, hint="check the network, or pass --benchmark-binary PATH"
        ) from None
    try:
        header = read_header(tmp)
    except HarnessError as exc:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{url}: the download is not a benchmark_model binary ({exc})") from exc
    if (header.bits, header.machine) != ABI_ELF[abi]:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{url}: the download is {header.describe()}, not {abi}")
    replace_file(tmp, dest, "the cached binary")
    dest.chmod(0o755)
    fetched = FetchedBinary(abi, dest, got.sha256, got.size_bytes, url, official, cached=False)
    record(root, fetched)
    return fetched
