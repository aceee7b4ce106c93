"""The files of a run folder: names, atomic writes, the run lock and the parquet cache.

meta.json is only ever replaced atomically (tmp + fsync + rename); one
process at a time appends to a run (flock on `.lock`); parquet files are a
cache of trials.jsonl stamped with the sha256 of the bytes they were made from.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.errors import ResultsError
from harness.results.frame import json_safe

META_FILE = "meta.json"
TRIALS_FILE = "trials.jsonl"
TRIALS_PARQUET = "trials.parquet"
SUMMARY_PARQUET = "summary.parquet"
TORN_FILE = "trials.jsonl.torn"  # bytes of a torn last line, kept rather than lost
LOCK_FILE = ".lock"  # flock'ed by the one process that may append to the run

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string (seconds precision)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[:40] or "device"


def new_run_id(devices: Sequence[str] = (), *, now: datetime | None = None) -> str:
    """A fresh run id such as ``20261126-121500-pixel-3f9a1c``.

    `devices` are model names or serials; several devices give ``multi``. The
    random suffix keeps two runs started in the same second apart.
    """
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    names = sorted({_slug(d) for d in devices})
    who = names[0] if len(names) == 1 else "multi" if names else "run"
    return f"{stamp}-{who}-{secrets.token_hex(3)}"


def fsync_dir(path: Path) -> None:
    # A rename or a new file is durable only once its directory entry is.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write `data` as JSON to `path` so readers see the old or the new file, never half."""
    text = json.dumps(json_safe(data), indent=2, sort_keys=True, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


# Run folders this process holds the lock of (realpath -> fd). The lock keeps a second
# harness process (a double `--resume`) from appending to the same run; within one
# process, reopening a run it already holds is allowed.
_HELD: dict[str, int] = {}
_HELD_GUARD = threading.Lock()


def lock_run_dir(run_dir: Path) -> None:
    """Take the run folder's exclusive lock for this process, or raise ResultsError."""
    key = os.path.realpath(run_dir)
    with _HELD_GUARD:
        if key in _HELD:
            return
        while True:
            fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise ResultsError(
                    f"run folder is in use by another harness process (pid {holder})",
                    path=str(run_dir),
                    hint="wait for that run to end, or stop it, before resuming",
                ) from None
            if _is_current(fd, run_dir / LOCK_FILE):
                break
            # The holder removed the file as it let go (close); a lock on that orphan
            # would not exclude a process that creates the file anew: take the new one.
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        _HELD[key] = fd


def _is_current(fd: int, path: Path) -> bool:
    """Whether `fd` is still the file at `path` (not one unlinked since it was opened)."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def unlock_run_dir(run_dir: Path) -> None:
    """Drop the lock and its file: a finished run folder keeps no `.lock`.

    The file goes while the flock is still held, so a process that opened it meanwhile
    either fails to lock it or (see `_is_current`) notices it is gone and starts over.
    """
    with _HELD_GUARD:
        fd = _HELD.pop(os.path.realpath(run_dir), None)
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(run_dir / LOCK_FILE)
            os.close(fd)  # closing the descriptor releases the flock


# Parquet files are a cache of trials.jsonl: each carries the sha256 of the jsonl bytes it
# was made from, and a reader uses it only while they still match (else: rebuilt).
CACHE_KEY = b"harness.trials_jsonl_sha256"


def jsonl_digest(path: Path) -> str:
    """sha256 of trials.jsonl as it is now (of no bytes when it is absent)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    return hashlib.sha256(data).hexdigest()


def cache_digest(path: Path) -> str | None:
    """The jsonl sha256 a parquet file was made from; None if absent or unreadable."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception:  # pyarrow raises many types for a damaged file
        return None
    value = meta.get(CACHE_KEY)
    return value.decode("ascii", "replace") if value else None


def write_cache(run_dir: Path, frame: Any, digest: str) -> tuple[Path, Path]:
    """trials.parquet and summary.parquet from a trials frame, stamped with the jsonl digest."""
    from harness.results.summary import summarize  # pandas work lives there

    trials_pq = run_dir / TRIALS_PARQUET
    summary_pq = run_dir / SUMMARY_PARQUET
    _write_parquet_atomic(frame, trials_pq, digest)
    _write_parquet_atomic(summarize(frame), summary_pq, digest)
    return trials_pq, summary_pq


def _write_parquet_atomic(frame: Any, path: Path, digest: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[CACHE_KEY] = digest.encode("ascii")
        pq.write_table(table.replace_schema_metadata(meta), tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ResultsError(f"cannot write parquet: {exc}", path=str(path)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)
