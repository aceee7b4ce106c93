"""The run folder on disk: meta.json, trials.jsonl, and at the end parquet tables.

Why this shape: a run can take an hour and a phone can vanish or the host can
be killed at any moment, so each trial is appended to `trials.jsonl` and
fsynced as soon as it is known (a crash loses at most the trial in flight),
and `meta.json` is only ever replaced atomically (tmp + fsync + rename), so a
reader never sees half of it. The parquet files are derived at `finalize()`
and dropped again if more trials are appended later (`--resume`), so
`trials.jsonl` is always the source of truth: each parquet file records the
sha256 of the jsonl it was made from, and readers (`harness.results.load`)
use it only while that still matches.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import ResultsError, SchemaVersionError
from harness.results.frame import json_safe, trials_frame
from harness.results.schema import SCHEMA_VERSION, TrialRecord
from harness.results.validate import meta_problem, record_problem

log = logging.getLogger(__name__)

META_FILE = "meta.json"
TRIALS_FILE = "trials.jsonl"
TRIALS_PARQUET = "trials.parquet"
SUMMARY_PARQUET = "summary.parquet"
TORN_FILE = "trials.jsonl.torn"  # bytes of a torn last line, kept rather than lost
LOCK_FILE = ".lock"  # flock'ed by the one process that may append to the run

RUN_STATUSES = ("running", "complete", "incomplete", "interrupted", "failed")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


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


def _fsync_dir(path: Path) -> None:
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
    _fsync_dir(path.parent)


# Run folders this process holds the lock of (realpath -> fd). The lock keeps a second
# harness process (a double `--resume`) from appending to the same run; within one
# process, reopening a run it already holds is allowed.
_HELD: dict[str, int] = {}
_HELD_GUARD = threading.Lock()


def _lock_run_dir(run_dir: Path) -> None:
    """Take the run folder's exclusive lock for this process, or raise ResultsError."""
    key = os.path.realpath(run_dir)
    with _HELD_GUARD:
        if key in _HELD:
            return
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
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        _HELD[key] = fd


def _unlock_run_dir(run_dir: Path) -> None:
    with _HELD_GUARD:
        fd = _HELD.pop(os.path.realpath(run_dir), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock


def check_schema_version(value: Any, *, path: Path) -> None:
    """Refuse a stored schema_version this harness does not know."""
    if value != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"schema_version {value!r} is not supported (this harness reads {SCHEMA_VERSION})",
            path=str(path),
            hint="use the harness version that wrote it, or upgrade harness",
        )


def read_meta(run_dir: Path) -> dict[str, Any]:
    """meta.json of a run folder, schema-checked."""
    path = Path(run_dir) / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(
            "not a run folder (no meta.json)",
            path=str(run_dir),
            hint="pass a RUN_DIR made by `harness run`",
        ) from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"unreadable meta.json: {exc}", path=str(path)) from None
    if not isinstance(meta, dict):
        raise ResultsError("meta.json is not a JSON object", path=str(path))
    check_schema_version(meta.get("schema_version"), path=path)
    problem = meta_problem(meta)
    if problem:
        raise ResultsError(f"meta.json: {problem}", path=str(path))
    return meta


@dataclass
class JsonlContents:
    """What reading trials.jsonl found: the records and how the file ended."""

    records: list[TrialRecord] = field(default_factory=list)
    torn: bytes | None = None  # an incomplete last line (a crash mid-append)
    missing_newline: bool = False  # last record complete, only its newline lost
    good_size: int = 0  # bytes up to and including the last complete line


class _UntrustedRecord(ValueError):
    """A well-formed line whose values cannot be trusted (`harness.results.validate`)."""


def _parse_line(raw: bytes, *, path: Path) -> TrialRecord:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    check_schema_version(data.get("schema_version"), path=path)
    problem = record_problem(data)
    if problem:
        raise _UntrustedRecord(f"trial {data.get('trial_id')!r}: {problem}")
    try:
        return TrialRecord.from_dict(data)
    except TypeError as exc:  # a required field is missing
        raise ValueError(str(exc)) from None


def _check_unique(record: TrialRecord, lineno: int, seen: dict[str, int], path: Path) -> None:
    first = seen.setdefault(record.trial_id, lineno)
    if first != lineno:
        raise ResultsError(
            f"line {lineno}: trial id {record.trial_id!r} is already on line {first}",
            path=str(path),
            hint="was the file appended to itself? keep one copy of each trial",
        )


def read_jsonl(path: Path) -> JsonlContents:
    """Parse and validate trials.jsonl, tolerating (and reporting) a torn last line only.

    Each append is one write ending in a newline, so a crash can only leave
    an unterminated last line; a bad line that is terminated is corruption
    and raises ResultsError, as do a repeated trial id and a latency that is
    not finite, not positive or absurd (ResultsError naming file and line).
    """
    out = JsonlContents()
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return out
    lines = blob.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    seen: dict[str, int] = {}  # trial id -> line
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = _parse_line(raw, path=path)
        except SchemaVersionError:
            raise
        except _UntrustedRecord as exc:
            raise ResultsError(f"line {lineno}: {exc}", path=str(path)) from None
        except ValueError as exc:
            msg = f"line {lineno} is not a trial record: {exc}"
            raise ResultsError(msg, path=str(path)) from None
        _check_unique(record, lineno, seen, path)
        out.records.append(record)
    out.good_size = len(blob) - len(tail)
    if tail.strip():
        try:
            record = _parse_line(tail, path=path)
        except SchemaVersionError:
            raise
        except _UntrustedRecord as exc:  # complete, so not torn: corrupt
            raise ResultsError(f"line {len(lines) + 1}: {exc}", path=str(path)) from None
        except ValueError:
            out.torn = tail
        else:
            _check_unique(record, len(lines) + 1, seen, path)
            out.records.append(record)
            out.missing_newline = True
            out.good_size = len(blob)
    elif tail:
        out.torn = tail  # whitespace or NUL padding only
    return out


class RunStore:
    """One run folder, opened for appending trials.

    Thread-safe (one worker per device appends to one store) and exclusive to
    one process at a time (a flock on RUN_DIR/.lock).
    """

    def __init__(self, run_dir: Path, meta: dict[str, Any], records: Iterable[TrialRecord]) -> None:
        self.run_dir = Path(run_dir)
        self._meta = meta
        self._records: list[TrialRecord] = list(records)
        self._done: set[str] = {r.trial_id for r in self._records}
        self._lock = threading.Lock()
        self.recovered: list[str] = []  # what open() had to repair, for the caller to show

    # -- paths ---------------------------------------------------------------------------
    @property
    def meta_path(self) -> Path:
        return self.run_dir / META_FILE

    @property
    def trials_path(self) -> Path:
        return self.run_dir / TRIALS_FILE

    @property
    def run_id(self) -> str:
        return str(self._meta["run_id"])

    @property
    def meta(self) -> dict[str, Any]:
        """A copy of the run's meta (change it with `update_meta`)."""
        return json.loads(json.dumps(self._meta))  # type: ignore[no-any-return]

    # -- creating and opening ------------------------------------------------------------
    @classmethod
    def create(cls, out_dir: str | os.PathLike[str], meta: Mapping[str, Any]) -> RunStore:
        """Make RUN_DIR = out_dir/<run_id> and write its meta.json.

        `meta` follows docs/design.md "results"; `run_id`, `schema_version`,
        `created_at`, `status` and `harness_version` are filled in when absent.
        Refuses an existing folder so that two runs never mix.
        """
        full: dict[str, Any] = dict(json_safe(dict(meta)))
        if "schema_version" in full:
            check_schema_version(full["schema_version"], path=Path(out_dir))
        full["schema_version"] = SCHEMA_VERSION
        if not full.get("run_id"):
            devices = full.get("devices") or {}
            names = [str((d or {}).get("model") or s) for s, d in devices.items()]
            full["run_id"] = new_run_id(names)
        run_id = str(full["run_id"])
        if not _RUN_ID.match(run_id):
            raise ResultsError(f"run_id {run_id!r} is not a safe folder name", path=str(out_dir))
        full.setdefault("created_at", utc_now())
        full.setdefault("finished_at", None)
        full.setdefault("status", "running")
        full.setdefault("harness_version", __version__)
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
            run_dir = out / run_id
            run_dir.mkdir()
        except FileExistsError:
            raise ResultsError(
                "run folder already exists",
                path=str(out / run_id),
                hint="continue it with --resume",
            ) from None
        except OSError as exc:
            raise ResultsError(f"cannot create run folder: {exc}", path=str(out)) from None
        _lock_run_dir(run_dir)
        write_json_atomic(run_dir / META_FILE, full)
        (run_dir / TRIALS_FILE).touch()
        _fsync_dir(run_dir)
        _fsync_dir(out)
        log.info("created run folder %s", run_dir)
        return cls(run_dir, full, [])

    @classmethod
    def open(cls, run_dir: str | os.PathLike[str]) -> RunStore:
        """Reopen a run folder (for --resume), repairing a torn last trial line.

        The torn bytes are moved to trials.jsonl.torn (nothing is deleted) and
        described in `.recovered`; SchemaVersionError for unknown versions;
        ResultsError if another harness process has the run open.
        """
        path = Path(run_dir)
        meta = read_meta(path)
        _lock_run_dir(path)  # before any repair: another writer may be mid-append
        trials = path / TRIALS_FILE
        contents = read_jsonl(trials)
        store = cls(path, meta, contents.records)
        if contents.torn is not None:
            with open(path / TORN_FILE, "ab") as fh:
                fh.write(contents.torn.rstrip(b"\n") + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            with open(trials, "r+b") as fh:
                fh.truncate(contents.good_size)
                fh.flush()
                os.fsync(fh.fileno())
            msg = (
                f"{trials}: dropped a torn last line ({len(contents.torn)} bytes, kept in "
                f"{TORN_FILE}); that trial was in flight and will run again"
            )
            log.warning("%s", msg)
            store.recovered.append(msg)
        elif contents.missing_newline:
            with open(trials, "ab") as fh:
                fh.write(b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            store.recovered.append(f"{trials}: added the missing newline after the last trial")
        return store

    # -- trials --------------------------------------------------------------------------
    def append(self, record: TrialRecord) -> None:
        """Append one trial as one JSON line and fsync it before returning.

        Refuses a record of another run or a trial id already stored, so
        nothing is measured twice into one run.
        """
        if record.run_id != self.run_id:
            raise ResultsError(
                f"trial {record.trial_id!r} belongs to run {record.run_id!r}, not {self.run_id!r}",
                path=str(self.run_dir),
            )
        line = json.dumps(json_safe(record.to_dict()), sort_keys=True, allow_nan=False) + "\n"
        with self._lock:
            if record.trial_id in self._done:
                msg = f"trial {record.trial_id!r} is already stored"
                raise ResultsError(msg, path=str(self.run_dir))
            self._drop_derived()
            try:
                with open(self.trials_path, "ab") as fh:
                    fh.write(line.encode("utf-8"))
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                msg = f"cannot append trial: {exc}"
                raise ResultsError(msg, path=str(self.trials_path)) from None
            self._records.append(record)
            self._done.add(record.trial_id)

    def _drop_derived(self) -> None:
        # Parquet tables describe the trials at finalize(); more trials make them stale.
        for name in (TRIALS_PARQUET, SUMMARY_PARQUET):
            with contextlib.suppress(FileNotFoundError):
                (self.run_dir / name).unlink()

    def records(self) -> list[TrialRecord]:
        """The trials stored so far, in the order they were appended."""
        with self._lock:
            return list(self._records)

    def completed_trial_ids(self, statuses: Iterable[str] | None = None) -> set[str]:
        """Ids of stored trials (optionally only those with one of `statuses`), for --resume."""
        with self._lock:
            if statuses is None:
                return set(self._done)
            wanted = set(statuses)
            return {r.trial_id for r in self._records if r.status in wanted}

    # -- meta ----------------------------------------------------------------------------
    def update_meta(self, **keys: Any) -> dict[str, Any]:
        """Set top-level meta keys and rewrite meta.json atomically; returns the new meta."""
        if "schema_version" in keys:
            check_schema_version(keys["schema_version"], path=self.meta_path)
        if "run_id" in keys and keys["run_id"] != self.run_id:
            raise ResultsError("the run_id of a run folder cannot change", path=str(self.meta_path))
        if "status" in keys and keys["status"] not in RUN_STATUSES:
            raise ResultsError(f"unknown run status {keys['status']!r}", path=str(self.meta_path))
        with self._lock:
            updated = {**self._meta, **json_safe(keys)}
            write_json_atomic(self.meta_path, updated)
            self._meta = updated
            return self.meta

    def close(self) -> None:
        """Let other processes open the run (the lock is also dropped at process exit)."""
        _unlock_run_dir(self.run_dir)

    def finalize(self, status: str = "complete") -> tuple[Path, Path]:
        """Write trials.parquet and summary.parquet and mark the run `status`.

        Returns the two parquet paths. Safe to call again after more appends.
        """
        with self._lock:
            frame = trials_frame(self._records)
            digest = jsonl_digest(self.trials_path)
        paths = write_cache(self.run_dir, frame, digest)
        self.update_meta(status=status, finished_at=utc_now())
        return paths


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
    _fsync_dir(path.parent)
