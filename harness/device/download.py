"""Fetch the official classic `benchmark_model` nightly for an ABI, and cache it.

URLs are the nightly ones the LiteRT measurement docs give
(`tflite/g3doc/performance/measurement.md`). Nightly binaries change daily,
so the harness records the sha256 of what it fetched in a small index; a
binary whose device-side sha256 is in that index (fetched from the official
host) is reported as kind "official".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import logging
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.device.elf import ABI_ELF, read_header
from harness.errors import DownloadError, HarnessError

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
DOWNLOAD_TIMEOUT_S = 120.0
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


def load_index(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """sha256 -> {abi, url, official, fetched_at, size_bytes} of every fetched binary."""
    path = _index_path(root or cache_root())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable binary index %s: %s", path, exc)
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record(root: Path, fetched: FetchedBinary) -> None:
    """Add a fetched binary to the index (rewritten atomically)."""
    index = load_index(root)
    index[fetched.sha256] = {
        "abi": fetched.abi,
        "url": fetched.url,
        "official": fetched.official,
        "size_bytes": fetched.size_bytes,
        "fetched_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    _write_atomic(_index_path(root), json.dumps(index, indent=2, sort_keys=True).encode())


def is_official(sha256: str, root: Path | None = None) -> bool:
    """Whether `sha256` is a binary fetched from the official nightly bucket."""
    entry = load_index(root).get(sha256)
    return bool(entry and entry.get("official"))


def fetch_binary(
    abi: str,
    *,
    base_url: str = OFFICIAL_BASE_URL,
    root: Path | None = None,
    force: bool = False,
    timeout_s: float = DOWNLOAD_TIMEOUT_S,
) -> FetchedBinary:
    """Download benchmark_model for `abi` into the cache (unless cached) and index it.

    The download must be an ELF file for `abi`: an HTML error page or a
    truncated file is a DownloadError, and nothing replaces a good cached copy.
    """
    if not base_url.startswith(("http://", "https://")):
        raise HarnessError(f"base URL must be http(s): {base_url!r}")
    url = binary_url(abi, base_url)
    root = root or cache_root()
    dest = root / abi / "benchmark_model"
    official = url.startswith(OFFICIAL_BASE_URL)
    if dest.is_file() and not force:
        digest = hashlib.sha256(dest.read_bytes()).hexdigest()
        entry = load_index(root).get(digest)
        if entry is not None:
            return FetchedBinary(
                abi,
                dest,
                digest,
                dest.stat().st_size,
                str(entry.get("url")),
                bool(entry.get("official")),
                cached=True,
            )
    log.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            expected = resp.headers.get("Content-Length")
            data = resp.read()
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"{url}: {reason}", hint="check the network, or pass --benchmark-binary PATH"
        ) from exc
    if expected is not None and expected.isdigit() and int(expected) != len(data):
        raise DownloadError(f"{url}: got {len(data)} bytes of {expected}")
    tmp = dest.with_name(dest.name + ".download")
    _write_atomic(tmp, data)
    try:
        header = read_header(tmp)
    except HarnessError as exc:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{url}: the download is not a benchmark_model binary ({exc})") from exc
    if (header.bits, header.machine) != ABI_ELF[abi]:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{url}: the download is {header.describe()}, not {abi}")
    os.replace(tmp, dest)
    dest.chmod(0o755)
    fetched = FetchedBinary(
        abi, dest, hashlib.sha256(data).hexdigest(), len(data), url, official, cached=False
    )
    record(root, fetched)
    return fetched
