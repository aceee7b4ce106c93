"""Reading a run folder's stored files: meta.json and trials.jsonl, validated and upgraded.

Every stored dict passes `harness.results.versions` (earlier schema versions
are upgraded in memory, later ones refused) and `harness.results.validate`
before it becomes a record. trials.jsonl may end in a torn line (a crash
mid-append), which is reported, never silently dropped; any other bad line
is corruption.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ResultsError, SchemaVersionError, UntrustedRecord
from harness.inputs import META_BYTES, TRIALS_BYTES, loads_json, read_bytes, read_text
from harness.results.files import META_FILE
from harness.results.meta import RunMeta
from harness.results.schema import TrialRecord
from harness.results.validate import meta_problem, plan_problem, planned_ids, record_problem
from harness.results.versions import upgrade_meta, upgrade_trial


def read_meta(run_dir: Path) -> RunMeta:
    """meta.json of a run folder: every value checked against its type, then the record."""
    path = Path(run_dir) / META_FILE
    try:
        text = read_text(path, limit=META_BYTES, what=META_FILE, follow=False)
        meta = loads_json(text)
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
    meta = upgrade_meta(meta, path=path)
    problem = meta_problem(meta)
    if problem:
        raise ResultsError(problem, path=str(path))
    return RunMeta.from_dict(meta)


EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


@dataclass
class JsonlContents:
    """What reading trials.jsonl found: the records and how the file ended."""

    records: list[TrialRecord] = field(default_factory=list)
    torn: bytes | None = None  # an incomplete last line (a crash mid-append)
    missing_newline: bool = False  # last record complete, only its newline lost
    good_size: int = 0  # bytes up to and including the last complete line
    digest: str = EMPTY_DIGEST  # sha256 of the bytes read (what a parquet file is stamped with)


def parse_line(raw: bytes, *, path: Path) -> TrialRecord:
    data = loads_json(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    data = upgrade_trial(data, path=path)
    problem = record_problem(data)
    if problem:
        raise UntrustedRecord(f"trial {data.get('trial_id')!r}: {problem}")
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


def read_jsonl(path: Path, meta: RunMeta) -> JsonlContents:
    """Parse and validate trials.jsonl, tolerating (and reporting) a torn last line only.

    Each append is one write ending in a newline, so a crash can only leave
    an unterminated last line; a bad line that is terminated is corruption
    and raises ResultsError, as do a repeated trial id, a value of the wrong
    type, a latency that is not finite, not positive or absurd, and a record
    that is not one of the run's (`meta`) planned trials (naming file and line).
    """
    planned = planned_ids(meta)

    def check_plan(record: TrialRecord, lineno: int) -> None:
        why = plan_problem(record.trial_id, record.run_id, meta, planned)
        if why:
            raise ResultsError(f"line {lineno}: {why}", path=str(path))

    out = JsonlContents()
    try:
        blob = read_bytes(path, limit=TRIALS_BYTES, what=path.name, follow=False)
    except FileNotFoundError:
        return out
    out.digest = hashlib.sha256(blob).hexdigest()
    lines = blob.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    seen: dict[str, int] = {}  # trial id -> line
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = parse_line(raw, path=path)
        except SchemaVersionError:
            raise
        except UntrustedRecord as exc:
            raise ResultsError(f"line {lineno}: {exc}", path=str(path)) from None
        except ValueError as exc:
            msg = f"line {lineno} is not a trial record: {exc}"
            raise ResultsError(msg, path=str(path)) from None
        _check_unique(record, lineno, seen, path)
        check_plan(record, lineno)
        out.records.append(record)
    out.good_size = len(blob) - len(tail)
    if tail.strip():
        try:
            record = parse_line(tail, path=path)
        except SchemaVersionError:
            raise
        except UntrustedRecord as exc:  # complete, so not torn: corrupt
            raise ResultsError(f"line {len(lines) + 1}: {exc}", path=str(path)) from None
        except ValueError:
            out.torn = tail
        else:
            _check_unique(record, len(lines) + 1, seen, path)
            check_plan(record, len(lines) + 1)
            out.records.append(record)
            out.missing_newline = True
            out.good_size = len(blob)
    elif tail:
        out.torn = tail  # whitespace or NUL padding only
    return out
