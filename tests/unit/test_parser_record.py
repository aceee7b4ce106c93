"""What the parser adds to a trial: in trials.jsonl, read back, summarized; old runs read."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.results import RunStore, load, summarize
from harness.results.schema import TrialRecord

from .test_results_store import make_meta, make_record

WARNINGS = "p5_us, median_us, p95_us absent: no percentiles\nGPU delegate took only 40 of 49 nodes"


def _store(tmp_path: Path) -> RunStore:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-d"))
    for i in range(3):
        store.append(
            make_record(
                "run-d",
                i,
                delegate="GPU",
                delegated_nodes=40,
                total_nodes=49,
                model_size_mb=13.3,
                parse_warnings=WARNINGS if i else None,
            )
        )
    return store


def test_delegation_and_warnings_round_trip_through_jsonl_and_parquet(tmp_path: Path) -> None:
    store = _store(tmp_path)
    line = json.loads((store.run_dir / "trials.jsonl").read_text().splitlines()[1])
    assert line["delegate"] == "GPU" and line["parse_warnings"] == WARNINGS
    from_jsonl = load(store.run_dir)
    store.finalize()
    from_parquet = load(store.run_dir)
    for frame in (from_jsonl, from_parquet):
        assert list(frame["delegated_nodes"]) == [40, 40, 40]
        assert frame["parse_warnings"].iloc[1] == WARNINGS
        assert frame["parse_warnings"].isna().iloc[0]


def test_summary_carries_the_delegate_and_counts_warned_trials(tmp_path: Path) -> None:
    row = summarize(load(_store(tmp_path).run_dir)).iloc[0]
    assert row["delegate"] == "GPU"
    assert (row["delegated_nodes"], row["total_nodes"]) == (40, 49)
    assert row["warned_trials"] == 2


def test_records_written_before_the_new_fields_still_read(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-old"))
    store.append(make_record("run-old", 0))
    path = store.run_dir / "trials.jsonl"
    old = json.loads(path.read_text())
    for key in ("model_size_mb", "delegate", "delegated_nodes", "total_nodes", "parse_warnings"):
        del old[key]
    path.write_text(json.dumps(old) + "\n")
    assert TrialRecord.from_dict(old).figures.delegate is None
    row = summarize(load(store.run_dir)).iloc[0]
    assert pd.isna(row["delegate"]) and pd.isna(row["delegated_nodes"])
    assert row["warned_trials"] == 0 and row["status"] == "ok"


def test_report_variant_table_shows_the_delegate_and_the_warned_trials(tmp_path: Path) -> None:
    import lxml.html

    from harness.report.render import build

    store = _store(tmp_path)
    store.finalize()
    out = tmp_path / "report.html"
    build([store.run_dir], out=out)
    doc = lxml.html.fromstring(out.read_text())
    table = doc.xpath("//table[contains(@class, 'variants')]")[0]
    headers = [th.text_content().strip() for th in table.xpath("./thead//th")]
    cell = table.xpath("./tbody/tr")[0].xpath("./td")[headers.index("Delegate")]
    assert cell.text_content().strip() == "GPU, 40 of 49 nodes (2 warned)"
    assert "off" in cell.get("class", "")
