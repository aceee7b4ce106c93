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
import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import __version__
from harness.errors import ResultsError
from harness.outputs import fsync_dir
from harness.results.files import (
    CACHE_KEY,
    LOCK_FILE,
    META_FILE,
    RUN_ID_PATTERN,
    SUMMARY_PARQUET,
    TORN_FILE,
    TRIALS_FILE,
    TRIALS_PARQUET,
    cache_digest,
    check_run_layout,
    jsonl_digest,
    lock_run_dir,
    new_run_id,
    open_run_file,
    unlock_run_dir,
    utc_now,
    write_cache,
    write_json_atomic,
)
from harness.results.frame import json_safe, trials_frame
from harness.results.meta import RunMeta
from harness.results.read import JsonlContents, read_jsonl, read_meta
from harness.results.schema import SCHEMA_VERSION, TrialRecord
from harness.results.summary import summarize
from harness.results.validate import meta_problem
from harness.results.versions import check_schema_version
from harness.vocab import RUN_STATUSES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CACHE_KEY",
    "LOCK_FILE",
    "META_FILE",
    "SUMMARY_PARQUET",
    "TORN_FILE",
    "TRIALS_FILE",
    "TRIALS_PARQUET",
    "JsonlContents",
    "RunStore",
    "cache_digest",
    "check_schema_version",
    "jsonl_digest",
    "new_run_id",
    "read_jsonl",
    "read_meta",
    "utc_now",
    "write_cache",
    "write_json_atomic",
]

log = logging.getLogger(__name__)


def _stored(meta: RunMeta, path: Path) -> dict[str, Any]:
    """meta.json's object for `meta`, refused (ResultsError) where a reader would refuse it."""
    data: dict[str, Any] = json_safe(meta.to_dict())
    problem = meta_problem(data)
    if problem:
        raise ResultsError(problem, path=str(path))
    return data


def _append_bytes(path: Path, data: bytes) -> None:
    """Append `data` to one of the run folder's own files (created if absent) and fsync it."""
    fd = open_run_file(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    with os.fdopen(fd, "ab") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class RunStore:
    """One run folder, opened for appending trials.

    Thread-safe (one worker per device appends to one store) and exclusive to
    one process at a time (a flock on RUN_DIR/.lock).
    """

    def __init__(self, run_dir: Path, meta: RunMeta, records: Iterable[TrialRecord]) -> None:
        self.run_dir = Path(run_dir)
        self._meta = meta
        self._records: list[TrialRecord] = list(records)
        self._done: set[str] = {r.trial_id for r in self._records}
        # (records summarised, summary): what finalize computed, for the run's end to reuse.
        self._summary: tuple[int, pd.DataFrame] | None = None
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
        return self._meta.run_id

    @property
    def meta(self) -> RunMeta:
        """The run's meta as meta.json holds it (change it with `update_meta`)."""
        with self._lock:
            return self._meta

    # -- creating and opening ------------------------------------------------------------
    @classmethod
    def create(cls, out_dir: str | os.PathLike[str], meta: RunMeta) -> RunStore:
        """Make RUN_DIR = out_dir/<run_id> and write its meta.json.

        `meta` follows docs/design.md "results"; `run_id`, `created_at`, `status`
        and `harness_version` are filled in when empty, `schema_version` is this
        harness's. Refuses an existing folder so that two runs never mix.
        """
        check_schema_version(meta.schema_version, path=Path(out_dir))
        run_id = meta.run_id or new_run_id([d.model or s for s, d in meta.devices.items()])
        if not RUN_ID_PATTERN.match(run_id):
            raise ResultsError(f"run_id {run_id!r} is not a safe folder name", path=str(out_dir))
        full = meta.replace(
            schema_version=SCHEMA_VERSION,
            run_id=run_id,
            created_at=meta.created_at or utc_now(),
            finished_at=meta.finished_at,
            status=meta.status or "running",
            harness_version=meta.harness_version or __version__,
        )
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
        lock_run_dir(run_dir)
        stored = _stored(full, run_dir / META_FILE)
        write_json_atomic(run_dir / META_FILE, stored)
        (run_dir / TRIALS_FILE).touch()
        fsync_dir(run_dir)
        fsync_dir(out)
        log.info("created run folder %s", run_dir)
        return cls(run_dir, RunMeta.from_dict(stored), [])

    @classmethod
    def open(cls, run_dir: str | os.PathLike[str]) -> RunStore:
        """Reopen a run folder (for --resume), repairing a torn last trial line.

        The torn bytes are moved to trials.jsonl.torn (nothing is deleted) and
        described in `.recovered`; SchemaVersionError for unknown versions;
        ResultsError if another harness process has the run open.
        """
        path = Path(run_dir)
        check_run_layout(path)  # nothing below may write through a link out of the folder
        meta = read_meta(path)
        lock_run_dir(path)  # before any repair: another writer may be mid-append
        trials = path / TRIALS_FILE
        contents = read_jsonl(trials, meta)
        store = cls(path, meta, contents.records)
        if contents.torn is not None:
            _append_bytes(path / TORN_FILE, contents.torn.rstrip(b"\n") + b"\n")
            fd = open_run_file(trials, os.O_RDWR)
            try:
                os.ftruncate(fd, contents.good_size)
                os.fsync(fd)
            finally:
                os.close(fd)
            msg = (
                f"{trials}: dropped a torn last line ({len(contents.torn)} bytes, kept in "
                f"{TORN_FILE}); that trial was in flight and will run again"
            )
            log.warning("%s", msg)
            store.recovered.append(msg)
        elif contents.missing_newline:
            _append_bytes(trials, b"\n")
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
                _append_bytes(self.trials_path, line.encode("utf-8"))
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
    def update_meta(self, **changes: Any) -> RunMeta:
        """Set fields of the run's meta and rewrite meta.json atomically; the new meta.

        The values are checked as a reader checks them, so a file this store
        wrote is one every reader reads.
        """
        if "schema_version" in changes:
            check_schema_version(changes["schema_version"], path=self.meta_path)
        if "run_id" in changes and changes["run_id"] != self.run_id:
            raise ResultsError("the run_id of a run folder cannot change", path=str(self.meta_path))
        if "status" in changes and changes["status"] not in RUN_STATUSES:
            msg = f"unknown run status {changes['status']!r}"
            raise ResultsError(msg, path=str(self.meta_path))
        with self._lock:
            stored = _stored(self._meta.replace(**changes), self.meta_path)
            write_json_atomic(self.meta_path, stored)
            self._meta = RunMeta.from_dict(stored)
            return self._meta

    def close(self) -> None:
        """Let other processes open the run and remove `.lock`: call it when the run ends."""
        unlock_run_dir(self.run_dir)

    def finalize(self, status: str = "complete") -> tuple[Path, Path]:
        """Write trials.parquet and summary.parquet and mark the run `status`.

        Returns the two parquet paths. Safe to call again after more appends.
        """
        with self._lock:
            frame = trials_frame(self._records)
            digest = jsonl_digest(self.trials_path)
            count = len(self._records)
        summary = summarize(frame)
        paths = write_cache(self.run_dir, frame, digest, summary)
        with self._lock:
            self._summary = (count, summary)
        self.update_meta(status=status, finished_at=utc_now())
        return paths

    def summary(self) -> pd.DataFrame:
        """The summary of the stored trials (`summarize`): the one `finalize` wrote, while
        no trial was appended since; it takes longer than the rest of a run's end."""
        with self._lock:
            if self._summary is not None and self._summary[0] == len(self._records):
                return self._summary[1]
            frame = trials_frame(self._records)
        return summarize(frame)
