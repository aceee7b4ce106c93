"""A run folder written by the first schema is read, and written back, unchanged.

tests/data/runs/v1 was made by `harness run --device sim` before the records
were reshaped (`Figures` inside `TrialRecord`, typed `RunMeta`); these tests
hold the stored shape to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.bench.parser import parse
from harness.results.frame import trials_frame
from harness.results.schema import TRIAL_FIELDS, Figures, TrialRecord

V1 = Path(__file__).resolve().parents[1] / "data" / "runs" / "v1"


def _lines() -> list[dict[str, object]]:
    text = (V1 / "trials.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_a_v1_trial_line_round_trips_through_the_record() -> None:
    for line in _lines():
        record = TrialRecord.from_dict(line)
        assert record.figures.avg_us == line["avg_us"]
        assert record.to_dict() == line
        assert list(record.to_dict()) == list(TRIAL_FIELDS)


def test_the_parquet_columns_of_a_v1_run_are_the_stored_fields() -> None:
    stored = pd.read_parquet(V1 / "trials.parquet")
    rebuilt = trials_frame(TrialRecord.from_dict(line) for line in _lines())
    assert list(stored.columns) == list(rebuilt.columns) == list(TRIAL_FIELDS)
    assert dict(stored.dtypes.astype(str)) == dict(rebuilt.dtypes.astype(str))


def test_parse_warnings_are_stored_one_per_line_and_gathered_back() -> None:
    figures = Figures(avg_us=5.0, parse_warnings=("one", "two"))
    assert figures.to_flat()["parse_warnings"] == "one\ntwo"
    assert Figures.from_flat(figures.to_flat()) == figures
    assert Figures().to_flat()["parse_warnings"] is None


def test_the_parser_and_the_record_share_one_figures_type() -> None:
    parsed = parse("count=3 first=5 curr=4 min=4 max=5 avg=4.5 std=0\n")
    assert isinstance(parsed.figures, Figures)
    record = TrialRecord.from_dict({**_lines()[0], **parsed.figures.to_flat()})
    assert record.figures == parsed.figures
