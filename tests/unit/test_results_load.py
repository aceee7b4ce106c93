"""load() and summarize(): many run folders into one table, context joined, figures right."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.errors import ResultsError, SchemaVersionError
from harness.results import RunStore, load, summarize
from harness.results.load import empty_frame
from harness.results.summary import SUMMARY_COLUMNS

from .test_results_store import make_meta, make_record


def _run(tmp_path: Path, run_id: str, latencies: list[float | None], **meta: object) -> RunStore:
    store = RunStore.create(tmp_path / "results", make_meta(run_id=run_id, **meta))
    for i, lat in enumerate(latencies):
        status = "ok" if lat is not None else "failed"
        store.append(make_record(run_id, i, latency_ms=lat, status=status))
    return store


def test_load_joins_meta_columns_from_jsonl(tmp_path: Path) -> None:
    store = _run(tmp_path, "run-a", [70.0, 71.0])
    df = load(store.run_dir)
    assert len(df) == 2
    row = df.iloc[0]
    assert row["run_id"] == "run-a"
    assert row["device_model"] == "Pixel"
    assert row["device_platform"] == "msm8996"
    assert row["device_abi"] == "arm64-v8a"
    assert row["device_fingerprint"].startswith("google/sailfish")
    assert row["binary_kind"] == "stand-in"  # record said "unknown": meta fills it
    assert row["binary_sha256"] == "ab" * 32
    assert row["run_seed"] == 7
    assert row["config"] == "mobilenet_v2_1.0_224|fp32|t1|big|xnnpack=off"


def test_load_reads_parquet_and_jsonl_identically(tmp_path: Path) -> None:
    store = _run(tmp_path, "run-a", [70.0, None, 72.5])
    from_jsonl = load(store.run_dir)
    store.finalize()
    from_parquet = load(store.run_dir)
    # only run_status changes (running -> complete) between the two reads
    pd.testing.assert_frame_equal(
        from_jsonl.drop(columns=["run_status"]), from_parquet.drop(columns=["run_status"])
    )
    assert list(from_parquet["run_status"].unique()) == ["complete"]


def test_load_many_runs_and_a_parent_folder(tmp_path: Path) -> None:
    _run(tmp_path, "run-a", [70.0, 71.0])
    b = _run(tmp_path, "run-b", [80.0], seed=None)
    b.finalize()
    df = load(tmp_path / "results")
    assert sorted(df["run_id"].unique()) == ["run-a", "run-b"]
    assert len(df) == 3
    assert df["run_seed"].isna().sum() == 1
    df2 = load([tmp_path / "results" / "run-a", tmp_path / "results" / "run-b"])
    assert len(df2) == 3


def test_load_refuses_unknown_schema_clearly(tmp_path: Path) -> None:
    store = _run(tmp_path, "run-a", [70.0])
    meta_path = store.run_dir / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["schema_version"] = 3
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(SchemaVersionError, match="schema_version 3 is not supported"):
        load(store.run_dir)


def test_load_refuses_paths_without_runs(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no such run folder"):
        load(tmp_path / "missing")
    with pytest.raises(ResultsError, match="no run folders"):
        load(tmp_path)


def test_empty_run_loads_as_empty_frame_with_columns(tmp_path: Path) -> None:
    store = _run(tmp_path, "run-a", [])
    df = load(store.run_dir)
    assert len(df) == 0
    assert list(df.columns) == list(empty_frame().columns)
    assert summarize(df).empty


def test_summarize_figures(tmp_path: Path) -> None:
    lats = [70.0, 72.0, 74.0, 90.0]
    store = _run(tmp_path, "run-a", [*lats, None])
    s = summarize(load(store.run_dir))
    assert list(s.columns) == list(SUMMARY_COLUMNS)
    row = s.iloc[0]
    assert (row["n_trials"], row["n_ok"], row["n_failed"]) == (5, 4, 1)
    assert row["median_ms"] == pytest.approx(73.0)
    assert row["mean_ms"] == pytest.approx(76.5)
    assert row["std_ms"] == pytest.approx(float(np.std(lats, ddof=1)))
    assert row["cv"] == pytest.approx(row["std_ms"] / 76.5)
    assert row["p5_ms"] == pytest.approx(float(np.percentile(lats, 5)))
    assert row["p95_ms"] == pytest.approx(float(np.percentile(lats, 95)))
    assert (row["min_ms"], row["max_ms"]) == (70.0, 90.0)
    assert row["published_ms"] == 73.8  # Pixel-1 column for mobilenet_v2_1.0_224
    assert row["ratio"] == pytest.approx(73.0 / 73.8)
    assert row["throttled_trials"] == 1  # trial index 2 was marked throttled
    assert row["status"] == "partial"
    assert row["device_model"] == "Pixel"


def test_summarize_groups_by_device_and_config(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta(run_id="r"))
    store.append(make_record("r", 0))
    store.append(make_record("r", 1, xnnpack="on", trial_id="x1"))
    store.append(
        make_record("r", 2, device_serial="B", trial_id="b2", status="crashed", latency_ms=None)
    )
    store.append(
        make_record(
            "r",
            3,
            variant="mobilenet_v2_0.35_96",
            trial_id="v3",
            depth_multiplier=0.35,
            resolution=96,
        )
    )
    s = summarize(load(store.run_dir)).set_index(["device_serial", "variant", "xnnpack"])
    assert len(s) == 4
    crashed = s.loc[("B", "mobilenet_v2_1.0_224", "off")]
    assert crashed["status"] == "failed" and pd.isna(crashed["median_ms"])
    single = s.loc[("127.0.0.1:5555", "mobilenet_v2_1.0_224", "on")]
    assert single["n_ok"] == 1 and pd.isna(single["std_ms"]) and single["status"] == "ok"
    small = s.loc[("127.0.0.1:5555", "mobilenet_v2_0.35_96", "off")]
    assert small["published_ms"] == 4.5  # the README's Pixel-1 column for 0.35_96


def test_summarize_unknown_variant_has_no_published_figure(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta(run_id="r"))
    store.append(make_record("r", 0, variant="my_model.tflite", quant="file"))
    row = summarize(load(store.run_dir)).iloc[0]
    assert pd.isna(row["published_ms"]) and pd.isna(row["ratio"])
    assert row["median_ms"] == 70.0


def test_summarize_rejects_non_trial_tables() -> None:
    with pytest.raises(ValueError, match="missing columns"):
        summarize(pd.DataFrame({"x": [1]}))


def test_importing_results_does_not_import_pandas() -> None:
    # Device and bench code import TrialRecord / RunStore; pandas (1-2 s to import)
    # is only for the code that builds tables.
    import subprocess
    import sys

    code = (
        "import sys, harness.results, harness.results.schema, harness.results.store; "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
