"""The files of a run folder: names, atomic writes, the run lock and the parquet cache.

meta.json is only ever replaced atomically (tmp + fsync + rename); one
process at a time appends to a run (flock on `.lock`); parquet files are a
cache of trials.jsonl stamped with the sha256 of the bytes they were made from.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import stat
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.errors import ResultsError
from harness.inputs import TRIALS_BYTES, file_kind, read_bytes
from harness.outputs import write_atomic
from harness.results.frame import json_safe
from harness.results.summary import summarize

META_FILE = "meta.json"
TRIALS_FILE = "trials.jsonl"
TRIALS_PARQUET = "trials.parquet"
SUMMARY_PARQUET = "summary.parquet"
TORN_FILE = "trials.jsonl.torn"  # bytes of a torn last line, kept rather than lost
LOCK_FILE = ".lock"  # flock'ed by the one process that may append to the run
PROFILES_FILE = "profiles.jsonl"  # --op-profile records (harness.results.profiles)
OPS_PARQUET = "ops.parquet"  # one row per profiled op, made from profiles.jsonl
LOGS_DIR = "logs"  # RUN_DIR/logs/<trial>/{stdout,stderr}: the raw outputs
# Every file the harness keeps in a run folder: each is a regular file inside it, or refused.
RUN_FILES = (
    META_FILE,
    TRIALS_FILE,
    TRIALS_PARQUET,
    SUMMARY_PARQUET,
    TORN_FILE,
    LOCK_FILE,
    PROFILES_FILE,
    OPS_PARQUET,
)

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


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write `data` as JSON to `path` so readers see the old or the new file, never half."""
    text = json.dumps(json_safe(data), indent=2, sort_keys=True, allow_nan=False) + "\n"
    write_atomic(path, text.encode("utf-8"), option=path.name)


# -- a run folder's own files: regular files inside it, or refused ------------------------

_OUTSIDE = "a run folder's files must be regular files inside it"


def _refuse(path: Path, mode: int, links: int = 1) -> None:
    if stat.S_ISLNK(mode):
        raise ResultsError(f"is a symbolic link; {_OUTSIDE}", path=str(path))
    if not stat.S_ISREG(mode):
        raise ResultsError(f"is {file_kind(mode)}, not a regular file; {_OUTSIDE}", path=str(path))
    if links > 1:
        raise ResultsError(
            f"has {links} hard links; writing it would change a file outside the run folder",
            path=str(path),
            hint="copy the run folder (cp -r) rather than hard-linking it",
        )


def open_run_file(path: Path, flags: int, *, dir_fd: int | None = None) -> int:
    """A descriptor for writing one of a run folder's files (`flags`: O_WRONLY|O_APPEND...).

    Never through a symbolic link, never onto a device, FIFO or a file with other
    hard links: a `trials.jsonl` linked to a file elsewhere must not lead an
    append out of the folder. Checked before opening and again on the descriptor.
    """
    with contextlib.suppress(FileNotFoundError):
        where = path.name if dir_fd is not None else path
        _refuse(path, os.lstat(where, dir_fd=dir_fd).st_mode)
    safe = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path.name if dir_fd is not None else path, flags | safe, 0o666, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _refuse(path, stat.S_IFLNK)
        raise
    try:
        found = os.fstat(fd)
        _refuse(path, found.st_mode, found.st_nlink)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def is_run_file(path: Path) -> bool:
    """Whether `path` is a regular file itself (not a link, device or FIFO)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


APPENDED = (TRIALS_FILE, TORN_FILE, LOCK_FILE, PROFILES_FILE)


def check_run_layout(run_dir: Path) -> None:
    """Refuse a run folder whose own files are links, devices or FIFOs, or whose
    `logs` is not a folder inside it (before `--resume` writes anything there)."""
    for name in RUN_FILES:
        path = run_dir / name
        try:
            found = os.lstat(path)
        except FileNotFoundError:
            continue
        # Appended-to files must not share their bytes with a file elsewhere; the
        # others are only ever replaced by a rename, which ends any sharing.
        _refuse(path, found.st_mode, found.st_nlink if name in APPENDED else 1)
    logs = run_dir / LOGS_DIR
    try:
        mode = os.lstat(logs).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise ResultsError(f"is a symbolic link; {_OUTSIDE}", path=str(logs))
    if not stat.S_ISDIR(mode):
        raise ResultsError(f"is {file_kind(mode)}, not a folder", path=str(logs))


def _subfolder(parent_fd: int, name: str, path: Path) -> int:
    """A descriptor of the folder `name` under `parent_fd`, made if absent; never a link."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o777, dir_fd=parent_fd)
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ResultsError(
                f"is not a folder inside the run folder; {_OUTSIDE}", path=str(path)
            ) from None
        raise


def write_trial_logs(logs_dir: Path, trial: str, files: Mapping[str, str]) -> None:
    """Write RUN_DIR/logs/<trial>/<name> for each of `files`, staying inside the run folder.

    Each step is opened relative to the one before and never through a link,
    so a `logs` or `logs/<trial>` replaced by a link to elsewhere is refused
    rather than followed.
    """
    run_fd = os.open(logs_dir.parent, os.O_RDONLY | os.O_DIRECTORY)
    fds = [run_fd]
    try:
        fds.append(_subfolder(run_fd, logs_dir.name, logs_dir))
        fds.append(_subfolder(fds[-1], trial, logs_dir / trial))
        for name, text in files.items():
            path = logs_dir / trial / name
            fd = open_run_file(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, dir_fd=fds[-1])
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
    finally:
        for fd in reversed(fds):
            os.close(fd)


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
            fd = open_run_file(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT)
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


# Parquet files are made from trials.jsonl for people and notebooks: each carries the sha256
# of the jsonl bytes it was made from, so a stale one can be told and rebuilt. The harness
# itself never reads trials back from them (harness.results.load reads trials.jsonl).
CACHE_KEY = b"harness.trials_jsonl_sha256"


def jsonl_digest(path: Path) -> str:
    """sha256 of trials.jsonl as it is now (of no bytes when it is absent)."""
    try:
        data = read_bytes(path, limit=TRIALS_BYTES, what=path.name, follow=False)
    except FileNotFoundError:
        data = b""
    return hashlib.sha256(data).hexdigest()


def cache_digest(path: Path) -> str | None:
    """The jsonl sha256 a parquet file was made from; None if absent, unreadable or not
    a regular file of the run folder."""
    # pyarrow is heavy: importing harness.results must not load it.
    import pyarrow.parquet as pq

    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        meta = pq.read_schema(path).metadata or {}
    except Exception:  # pyarrow raises many types for a damaged file
        return None
    value = meta.get(CACHE_KEY)
    return value.decode("ascii", "replace") if value else None


def write_cache(
    run_dir: Path, frame: Any, digest: str, summary: Any | None = None
) -> tuple[Path, Path]:
    """trials.parquet and summary.parquet from a trials frame (and its summary, when the
    caller has it already: it is the slowest part), stamped with the jsonl digest."""
    trials_pq = run_dir / TRIALS_PARQUET
    summary_pq = run_dir / SUMMARY_PARQUET
    _write_parquet_atomic(frame, trials_pq, digest)
    _write_parquet_atomic(summarize(frame) if summary is None else summary, summary_pq, digest)
    return trials_pq, summary_pq


def _write_parquet_atomic(frame: Any, path: Path, digest: str) -> None:
    # pyarrow is heavy: importing harness.results must not load it.
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[CACHE_KEY] = digest.encode("ascii")
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(meta), sink)
    try:
        write_atomic(path, sink.getvalue().to_pybytes(), option=path.name)
    except OSError as exc:
        raise ResultsError(f"cannot write parquet: {exc}", path=str(path)) from None
