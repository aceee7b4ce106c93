"""Read run folders back into one pandas DataFrame of trials, with run context joined.

The one validating reader of runs: `check`, `trend` (through
`harness.compare.source`), `report` and users in a notebook all read here, so
every one refuses the same corrupt records (`harness.results.validate`:
duplicate trial ids, latencies that are not finite, not positive or absurd,
with file and line). Trials are always read from trials.jsonl, never from the
parquet files made from it. Every row carries the
context needed to trust it (device model, SoC, fingerprint, ABI, binary kind
and sha256), so trials of many runs and many hosts can sit in one table.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError, ResultsError
from harness.results.files import is_run_file
from harness.results.frame import TRIAL_DTYPES, coerce, trials_frame
from harness.results.meta import RunMeta
from harness.results.store import (
    META_FILE,
    TRIALS_FILE,
    TRIALS_PARQUET,
    cache_digest,
    read_jsonl,
    read_meta,
    write_cache,
)
from harness.stored import Stored
from harness.vocab import Config

if TYPE_CHECKING:  # pandas is imported when a table is read, not by every importer
    import pandas as pd

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

# Columns joined from meta.json: name -> the stored key of the trial's device
# (`devices[device_serial]`), of its binary (`binaries[...]`), or of the run.
DEVICE_COLUMNS: dict[str, str] = {
    "device_platform": "platform",
    "device_hardware": "hardware",
    "device_fingerprint": "fingerprint",
    "device_abi": "abi",
    "device_android_release": "android_release",
    "device_sdk": "sdk",
    "device_emulated": "emulated",
}
BINARY_COLUMNS: dict[str, str] = {"binary_version": "version_line"}
RUN_COLUMNS: dict[str, str] = {
    "run_created_at": "created_at",
    "run_status": "status",
    "harness_version": "harness_version",
    "run_seed": "seed",
}
META_COLUMNS: tuple[str, ...] = (
    *DEVICE_COLUMNS,
    *BINARY_COLUMNS,
    *RUN_COLUMNS,
    "config",
)


def load_meta(run_dir: PathLike) -> RunMeta:
    """meta.json of one run folder; SchemaVersionError for an unknown schema."""
    return read_meta(Path(run_dir))


def run_dirs(paths: PathLike | Iterable[PathLike]) -> list[Path]:
    """Expand `paths` to run folders: each is a run folder or a folder of them."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    found: list[Path] = []
    for item in items:
        path = Path(item)
        if (path / META_FILE).is_file():
            found.append(path)
        elif path.is_dir():
            children = sorted(p for p in path.iterdir() if (p / META_FILE).is_file())
            if not children:
                raise ResultsError("no run folders here (no meta.json)", path=str(path))
            found.extend(children)
        else:
            raise ResultsError("no such run folder", path=str(path))
    return found


def _read_trials(run_dir: Path, meta: RunMeta) -> pd.DataFrame:
    """The trials of one run, validated, from trials.jsonl (the record).

    The parquet files beside it are never read back (a forged one whose stamp
    matches would otherwise be believed); a stale one is rebuilt from the
    records (best effort: a read-only folder is read all the same).
    """
    contents = read_jsonl(run_dir / TRIALS_FILE, meta)
    if contents.torn is not None:
        log.warning("%s: ignoring a torn last line (a trial in flight when it stopped)", run_dir)
    frame = trials_frame(contents.records)
    parquet = run_dir / TRIALS_PARQUET
    if contents.torn is None and is_run_file(parquet) and cache_digest(parquet) != contents.digest:
        try:
            write_cache(run_dir, frame, contents.digest)
            log.info("%s: rebuilt the parquet files from %s", run_dir, TRIALS_FILE)
        except (OSError, HarnessError) as exc:
            log.warning("%s: parquet files not rebuilt (%s)", run_dir, exc)
    return frame


def _join_meta(frame: pd.DataFrame, meta: RunMeta) -> pd.DataFrame:
    # pandas is heavy: importing harness.results must not load it.
    import pandas as pd

    serials = [str(s) if pd.notna(s) else None for s in frame["device_serial"]]
    devices = [meta.device(s) if s is not None else None for s in serials]
    binaries = [meta.binary(s) if s is not None else None for s in serials]

    def lookup(records: Sequence[Stored | None], key: str) -> list[Any]:
        # As stored: None where the run has no such device or its record lacks the key.
        return [None if r is None else r.stored(key) for r in records]

    for column, key in DEVICE_COLUMNS.items():
        frame[column] = pd.Series(lookup(devices, key), index=frame.index, dtype="object")
    for column, key in BINARY_COLUMNS.items():
        frame[column] = pd.Series(lookup(binaries, key), index=frame.index, dtype="object")
    for column, key in RUN_COLUMNS.items():
        value = meta.stored(key)
        frame[column] = pd.Series([value] * len(frame), index=frame.index, dtype="object")
    # The record's own values win; meta only fills what a record left empty.
    for column, records, key in (
        ("device_model", devices, "model"),
        ("binary_kind", binaries, "kind"),
        ("binary_sha256", binaries, "sha256"),
    ):
        fill = pd.Series(lookup(records, key), index=frame.index, dtype="string")
        current = frame[column].astype("string")
        if column == "binary_kind":
            current = current.mask(current == "unknown")
        frame[column] = current.fillna(fill).fillna("unknown" if column == "binary_kind" else pd.NA)
    frame["run_id"] = frame["run_id"].fillna(meta.run_id)
    frame["config"] = pd.Series(
        [
            Config(str(v), str(q), int(t), str(c), str(x), str(a)).key
            for v, q, t, c, x, a in zip(
                frame["variant"],
                frame["quant"],
                frame["threads"],
                frame["cores"],
                frame["xnnpack"],
                frame["accelerator"],
                strict=True,
            )
        ],
        index=frame.index,
        dtype="string",
    )
    return frame


def _tidy(column: pd.Series) -> pd.Series:
    """Give an object column a nullable dtype when its values allow one."""
    values = column.dropna()
    if values.empty:
        return column.astype("string")
    if all(isinstance(v, bool) for v in values):
        return column.astype("boolean")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return column.astype("Int64")
    return column.astype("string")


def empty_frame() -> pd.DataFrame:
    """The loaded-trials frame with no rows (every column, right dtypes)."""
    return _finish([_join_meta(trials_frame([]), RunMeta.from_dict({}))])


def _finish(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-run frames and settle every column's dtype once."""
    # pandas is heavy: importing harness.results must not load it.
    import pandas as pd

    columns = list(TRIAL_DTYPES) + list(META_COLUMNS)
    non_empty = [f for f in frames if len(f)] or frames[:1]
    joined = pd.concat(non_empty, ignore_index=True) if len(non_empty) > 1 else non_empty[0]
    joined = coerce(joined[columns].copy())
    for column in (*DEVICE_COLUMNS, *BINARY_COLUMNS, *RUN_COLUMNS):
        joined[column] = _tidy(joined[column].astype("object"))
    return joined


def load(paths: PathLike | Sequence[PathLike]) -> pd.DataFrame:
    """Trials of every run folder under `paths` as one DataFrame, meta columns joined.

    Each path is a run folder or a folder of run folders (e.g. ``results/``).
    trials.jsonl is the record (trials.parquet is rebuilt from it when stale,
    never read back). Raises
    SchemaVersionError for a schema this harness does not know, and
    ResultsError (exit 2, naming file and line) for a path that holds no run
    or a corrupt record.
    """
    frames: list[pd.DataFrame] = []
    for run_dir in run_dirs(paths):
        meta = read_meta(run_dir)
        frame = _read_trials(run_dir, meta)
        frames.append(_join_meta(frame, meta))
    if not frames:
        return empty_frame()
    return _finish(frames)
