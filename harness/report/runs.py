"""Read the run folders a report is built from (through harness.results only).

The report never touches a device: everything it shows comes from meta.json
and the stored trials. One `DeviceRun` is one device in one run, which is what
one section of the report shows.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import ResultsError
from harness.identity import BinaryInfo, DeviceInfo
from harness.results import load, load_meta
from harness.results.frame import DICT_COLUMNS
from harness.results.load import run_dirs as expand_run_dirs
from harness.results.meta import MeasuredSettings, RunMeta
from harness.results.schema import TrialRecord
from harness.results.summary import SummaryRow, summary_rows


@dataclass(frozen=True)
class DeviceRun:
    """The stored results of one device in one run."""

    run_dir: Path
    meta: RunMeta
    serial: str
    trials: list[TrialRecord]  # as read (device model and binary filled from meta.json)
    summary: list[SummaryRow]  # one per configuration (harness.results.summary)

    @property
    def key(self) -> str:
        """`run_id|serial`: how the embedded trial data are tied to their section."""
        return f"{self.meta.run_id}|{self.serial}"

    @property
    def device(self) -> DeviceInfo:
        """The phone stored in meta.json for this serial (an empty record if absent)."""
        return self.meta.device(self.serial)

    @property
    def binary(self) -> BinaryInfo:
        """The benchmark binary stored in meta.json for this serial (empty if absent)."""
        return self.meta.binary(self.serial)

    @property
    def settings(self) -> MeasuredSettings:
        """The run's settings (threads, cores, trials, ...)."""
        return self.meta.settings


def plain(value: Any) -> Any:
    """A pandas / numpy cell as a plain Python value; NA and NaN become None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def trial_records(frame: pd.DataFrame) -> list[TrialRecord]:
    """The trials of a loaded table as records: its cells as plain values, the dict
    columns (CPU frequencies, stored in the table as JSON text) as dicts again."""
    columns = list(frame.columns)
    out = []
    for row in frame.itertuples(index=False, name=None):
        values = {c: plain(v) for c, v in zip(columns, row, strict=True)}
        for name in DICT_COLUMNS:
            if isinstance(values.get(name), str):
                values[name] = json.loads(values[name])
        out.append(TrialRecord.from_dict(values))
    return out


def read_runs(paths: Sequence[str | os.PathLike[str]]) -> list[DeviceRun]:
    """Every device of every run folder under `paths`, in the order given.

    Raises ResultsError (exit 2) when a path holds no run or a run holds no
    trial at all: a report of nothing would look like a report of success.
    """
    if not paths:
        raise ResultsError("no run folder given", hint="pass one or more run folders")
    out: list[DeviceRun] = []
    for run_dir in expand_run_dirs(list(paths)):
        meta = load_meta(run_dir)
        frame = load([run_dir])
        if frame.empty:
            raise ResultsError(
                "this run has no trials yet",
                path=str(run_dir),
                hint="a run writes trials.jsonl as it measures; wait for it or rerun",
            )
        serials = list(dict.fromkeys(str(s) for s in frame["device_serial"].dropna()))
        for serial in serials:
            part = frame[frame["device_serial"] == serial]
            out.append(
                DeviceRun(
                    run_dir=run_dir,
                    meta=meta,
                    serial=serial,
                    trials=trial_records(part),
                    summary=summary_rows(part),
                )
            )
    return out
