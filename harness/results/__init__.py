"""Trial records, the run folder store, and pandas tables read back from it.

`RunStore` writes a run (append-only trials.jsonl, atomic meta.json, parquet at
the end); `load` / `load_meta` read any number of runs back; `summarize`
reduces trials to one row per device x configuration.
"""

from __future__ import annotations

from harness.results.load import load, load_meta
from harness.results.schema import SCHEMA_VERSION, TrialRecord
from harness.results.store import RunStore, new_run_id
from harness.results.summary import summarize

__all__ = [
    "SCHEMA_VERSION",
    "RunStore",
    "TrialRecord",
    "load",
    "load_meta",
    "new_run_id",
    "summarize",
]
