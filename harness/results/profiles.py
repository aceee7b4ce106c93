"""Op-profile storage: `profiles.jsonl` (one record per device x config) and `ops.parquet`.

Profiling adds overhead to every op, so its timings never share a file with the
latency trials. The files live beside trials.jsonl and follow its rules:
appended and fsynced one line at a time; on reading, only a torn *last* line
(a crash mid-append) is tolerated; a malformed line anywhere else is a damaged
file and is refused, so nothing is silently skipped. `report` reads these
through here and never imports `harness.bench`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ResultsError
from harness.inputs import TRIALS_BYTES, loads_json, read_bytes
from harness.logs.optable import OpNode
from harness.outputs import write_atomic
from harness.results.files import OPS_PARQUET, PROFILES_FILE, open_run_file
from harness.results.frame import json_safe
from harness.results.shapes import fields_checker
from harness.stored import Stored

__all__ = [
    "OPS_PARQUET",
    "PROFILES_FILE",
    "ProfileRecord",
    "append_profile",
    "read_profiles",
    "write_ops_table",
    "write_profiles",
]


@dataclass(frozen=True)
class ProfileRecord(Stored):
    """One line of profiles.jsonl: one op-profiling process (harness.bench.profile).

    A device whose binary cannot profile gets a record of its serial, config `*`
    and status `unsupported` only.
    """

    device_serial: str
    device_model: str
    config: str
    variant: str
    quant: str
    threads: int
    cores: str
    xnnpack: str
    core_mask: str
    status: str
    error: str | None
    num_runs: int
    profiled_avg_us: float | None  # slower than a latency trial by the profiler's overhead
    wall_s: float | None
    ops: tuple[OpNode, ...]  # the Run Order rows of the regular runs
    binary_sha256: str | None
    model_sha256: str | None


_profile_problem = fields_checker(ProfileRecord.field_types())
# Columns copied from the profile record onto each of its rows in ops.parquet.
_OP_CONTEXT = (
    "device_serial", "device_model", "config", "variant", "quant", "threads", "cores", "xnnpack",
)  # fmt: skip


def read_profiles(run_dir: Path) -> list[ProfileRecord]:
    """The stored profile records, oldest first (empty when the run has none).

    A torn last line is dropped (that profile runs again on resume); any other
    unreadable line raises ResultsError naming the file and line.
    """
    path = Path(run_dir) / PROFILES_FILE
    try:
        blob = read_bytes(path, limit=TRIALS_BYTES, what=PROFILES_FILE, follow=False)
    except FileNotFoundError:
        return []
    # What follows the last newline is empty for a whole file, else an append
    # that never finished: either way not a record.
    complete = blob.split(b"\n")[:-1]
    out: list[ProfileRecord] = []
    for number, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            record = loads_json(raw)
        except ValueError as exc:
            raise ResultsError(
                f"{path}:{number}: not a JSON record ({exc})", path=str(path)
            ) from exc
        if not isinstance(record, dict):
            raise ResultsError(f"{path}:{number}: not a JSON object", path=str(path))
        problem = _profile_problem(record)
        if problem:
            raise ResultsError(f"{path}:{number}: {problem}", path=str(path))
        out.append(ProfileRecord.from_dict(record))
    return out


def append_profile(run_dir: Path, record: ProfileRecord) -> None:
    """Append one profile record and fsync it (a crash loses at most this line)."""
    line = json.dumps(json_safe(record.to_dict()), sort_keys=True, allow_nan=False) + "\n"
    fd = open_run_file(Path(run_dir) / PROFILES_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    with os.fdopen(fd, "ab") as fh:
        fh.write(line.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def write_profiles(run_dir: Path, records: Sequence[ProfileRecord]) -> Path:
    """Write a whole profiles.jsonl at once (sample runs, fixtures), then ops.parquet."""
    path = Path(run_dir) / PROFILES_FILE
    path.unlink(missing_ok=True)
    for record in records:
        append_profile(run_dir, record)
    write_ops_table(run_dir)
    return path


def write_ops_table(run_dir: Path) -> Path | None:
    """ops.parquet: one row per op per profiled configuration (None when nothing was profiled).

    For people and notebooks: the report reads profiles.jsonl (`read_profiles`), never this.
    """
    # pandas is heavy: importing harness.results must not load it.
    import pandas as pd

    # One row per op per profiled configuration: the op's columns after its context.
    rows = [
        {**{k: rec.stored(k) for k in _OP_CONTEXT}, **op.to_dict()}
        for rec in read_profiles(run_dir)
        for op in rec.ops
    ]
    if not rows:
        return None
    out = Path(run_dir) / OPS_PARQUET
    frame = pd.DataFrame(rows)
    # Op tables mix numbers and names across eras; store mixed columns as text.
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: None if v is None else str(v))
    write_atomic(out, frame.to_parquet(index=False), option=OPS_PARQUET)
    return out
