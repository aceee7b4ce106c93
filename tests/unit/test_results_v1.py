"""A run folder written by the first schema is read, and written back, unchanged.

tests/data/runs/v1 was made by `harness run --device sim` before the records
were reshaped (`Figures` inside `TrialRecord`, typed `RunMeta`); these tests
hold the stored shape to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.logs.parser import parse
from harness.results.frame import trials_frame
from harness.results.schema import TRIAL_FIELDS, Figures, TrialRecord

V1 = Path(__file__).resolve().parents[1] / "data" / "runs" / "v1"


def _lines() -> list[dict[str, object]]:
    text = (V1 / "trials.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


# Fields added since v1 (optional, additive: a v1 record reads them as None).
ADDED = [f for f in TRIAL_FIELDS if f not in _lines()[0]]


def test_fields_added_since_v1_are_optional_additions_only() -> None:
    # Every v1 field is still stored; what was added since is the lab, proof and A/B
    # block, why a cooldown is unknown and energy, all optional (None in a v1 record).
    assert set(_lines()[0]) <= set(TRIAL_FIELDS)
    assert set(ADDED) <= {
        "adb_server", "arm", "affinity_cpus", "proof_samples", "freq_min_khz", "freq_max_khz",
        "temp_max_c", "interference_pct", "hot", "interfered", "log_version", "log_threads",
        "log_xnnpack", "log_mismatch", "proof_warnings", "cooled_reason",
        "accelerator", "partitions", "delegation",
        "energy_mj", "power_mw", "idle_power_mw", "energy_source", "energy_rails",
        "energy_rail_mj", "energy_biased", "energy_bound_pct", "energy_reason",
    }  # fmt: skip


def test_a_v1_trial_line_round_trips_through_the_record() -> None:
    for line in _lines():
        record = TrialRecord.from_dict(line)
        assert record.figures.avg_us == line["avg_us"]
        out = record.to_dict()
        assert {k: v for k, v in out.items() if k in line} == line
        # Absent means what it meant then: a v1 trial ran on the CPU; the rest is None.
        assert out["accelerator"] == "cpu"
        assert all(out[k] is None for k in ADDED if k != "accelerator")
        assert list(out) == list(TRIAL_FIELDS)


def test_the_parquet_columns_of_a_v1_run_are_the_stored_fields() -> None:
    stored = pd.read_parquet(V1 / "trials.parquet")
    rebuilt = trials_frame(TrialRecord.from_dict(line) for line in _lines())
    assert list(rebuilt.columns) == list(TRIAL_FIELDS)
    assert list(stored.columns) == [c for c in TRIAL_FIELDS if c not in ADDED]
    shared = dict(stored.dtypes.astype(str))
    assert shared == {c: t for c, t in rebuilt.dtypes.astype(str).items() if c in shared}


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
        meta = store.meta
        assert meta.schema_version == 1 and meta.status == "complete"
        assert meta.order == tuple(r.trial_id for r in store.records())
    finally:
        store.close()


def test_run_meta_round_trips_meta_json_and_keeps_unknown_keys() -> None:
    from harness.results.meta import RunMeta

    stored = json.loads((V1 / "meta.json").read_text(encoding="utf-8"))
    assert RunMeta.from_dict(stored).to_dict() == stored
    # A key a newer harness added survives a read and a write by this one.
    newer = {**stored, "lease_host": "lab-3"}
    meta = RunMeta.from_dict(newer)
    assert meta.extra == {"lease_host": "lab-3"} and meta.to_dict() == newer
    # `label` (harness run --label) is a field now, not an unknown key.
    labelled = RunMeta.from_dict({**stored, "label": "nightly"})
    assert labelled.label == "nightly" and labelled.extra == {}


def test_a_resume_writes_back_the_meta_it_read_byte_for_byte(tmp_path: Path) -> None:
    """The store holds the typed RunMeta and writes it back: a key the run was stored
    without stays absent, an unknown one stays, every value and its type stay."""
    import shutil

    from harness.results import RunStore

    copy = tmp_path / V1.name
    shutil.copytree(V1, copy)
    stored = json.loads((V1 / "meta.json").read_text(encoding="utf-8"))
    # As an older harness wrote it (no `cores`, a device without `kernel`, a core choice
    # without `reason`) and a newer one (keys this one does not know, at every level).
    del stored["cores"]
    serial = next(iter(stored["devices"]))
    del stored["devices"][serial]["kernel"]
    stored["fixed_performance"] = {serial: None}
    stored["devices"][serial]["lab_slot"] = 3
    stored["settings"]["thermal_budget"] = {"zones": ["cpu"]}
    stored["lease_host"] = "lab-3"
    text = json.dumps(stored, indent=2, sort_keys=True) + "\n"
    (copy / "meta.json").write_text(text, encoding="utf-8")
    store = RunStore.open(copy)
    try:
        assert store.meta.device(serial).kernel is None and store.meta.cores == {}
        store.update_meta(status="complete")  # what a resume that adds nothing writes
    finally:
        store.close()
    assert (copy / "meta.json").read_text(encoding="utf-8") == text


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
