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


def test_a_v1_run_folder_reads_and_resumes(tmp_path: Path) -> None:
    import shutil

    from harness.results import RunStore, load

    frame = load(V1)
    assert len(frame) == 2 and set(frame["status"]) == {"ok"}
    assert set(frame["run_status"]) == {"complete"}
    copy = tmp_path / V1.name
    shutil.copytree(V1, copy)
    store = RunStore.open(copy)
    try:
        assert len(store.records()) == 2
        meta = store.run_meta
        assert meta.schema_version == 1 and meta.status == "complete"
        assert meta.order == [r.trial_id for r in store.records()]
    finally:
        store.close()


def test_run_meta_round_trips_meta_json_and_keeps_unknown_keys() -> None:
    from harness.results.schema import RunMeta

    stored = json.loads((V1 / "meta.json").read_text(encoding="utf-8"))
    assert RunMeta.from_dict(stored).to_dict() == stored
    newer = {**stored, "label": "nightly"}
    meta = RunMeta.from_dict(newer)
    assert meta.extra == {"label": "nightly"} and meta.to_dict() == newer


def test_earlier_versions_are_upgraded_step_by_step_and_the_future_refused() -> None:
    import pytest

    from harness.errors import SchemaVersionError
    from harness.results.versions import upgrade

    def update_to_2(data: dict[str, object]) -> dict[str, object]:
        out = dict(data)
        out["renamed"] = out.pop("old")
        return out

    def update_to_3(data: dict[str, object]) -> dict[str, object]:
        return {**data, "added": True}

    steps = {1: update_to_2, 2: update_to_3}
    here = Path("meta.json")
    got = upgrade({"schema_version": 1, "old": 5}, path=here, steps=steps, current=3)
    assert got == {"schema_version": 3, "renamed": 5, "added": True}
    got = upgrade({"schema_version": 2, "renamed": 5}, path=here, steps=steps, current=3)
    assert got == {"schema_version": 3, "renamed": 5, "added": True}
    for refused in (4, 0, None, "1", True):
        with pytest.raises(SchemaVersionError):
            upgrade({"schema_version": refused}, path=here, steps=steps, current=3)
