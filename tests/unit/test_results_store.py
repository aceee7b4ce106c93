"""RunStore: meta.json written atomically, trials appended and fsynced, torn lines, parquet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.errors import ResultsError, SchemaVersionError
from harness.results import SCHEMA_VERSION, RunStore, TrialRecord, load, load_meta, new_run_id
from harness.results.meta import RunMeta
from harness.results.store import TORN_FILE, TRIALS_FILE, TRIALS_PARQUET


def make_meta(run_id: str = "20261126-121500-pixel-abc123", **extra: Any) -> RunMeta:
    """A run's meta as `harness run` stores it (the JSON object: `meta_json`)."""
    return RunMeta.from_dict(meta_json(run_id, **extra))


def meta_json(run_id: str = "20261126-121500-pixel-abc123", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "run_id": run_id,
        "seed": 7,
        "settings": {"variants": ["mobilenet_v2_1.0_224"], "trials": 3, "runs": 50},
        "devices": {
            "127.0.0.1:5555": {
                "model": "Pixel",
                "platform": "msm8996",
                "fingerprint": "google/sailfish/sailfish:10/QP1A/1:user/release-keys",
                "abi": "arm64-v8a",
                "sdk": 29,
                "emulated": True,
            }
        },
        "binaries": {
            "127.0.0.1:5555": {
                "kind": "stand-in",
                "sha256": "ab" * 32,
                "version_line": "harness benchmark_model stand-in 0.1",
                "flags": {"num_runs", "graph"},
            }
        },
    }
    meta.update(extra)
    return meta


def make_record(run_id: str, index: int, **changes: Any) -> TrialRecord:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "trial_id": f"127.0.0.1:5555|mobilenet_v2_1.0_224|fp32|t1|big|xnnpack=off|{index}",
        "device_serial": "127.0.0.1:5555",
        "device_model": "Pixel",
        "variant": "mobilenet_v2_1.0_224",
        "family": "v2",
        "depth_multiplier": 1.0,
        "resolution": 224,
        "quant": "fp32",
        "threads": 1,
        "cores": "big",
        "core_mask": "c",
        "xnnpack": "off",
        "trial_index": index,
        "order_index": index,
        "status": "ok",
        "started_at": "2026-11-26T12:15:00+00:00",
        "finished_at": "2026-11-26T12:15:05+00:00",
        "wall_s": 5.0,
        "num_runs": 50,
        "warmup_runs": 5,
        "latency_ms": 70.0 + index,
        "avg_us": (70.0 + index) * 1000,
        "count": 50,
        "freq_before": {"2": [2150400, 2150400]},
        "throttled": index == 2,
    }
    fields.update(changes)
    return TrialRecord.from_dict(fields)


def test_create_writes_meta_with_schema_and_defaults(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "results", make_meta())
    assert store.run_dir == tmp_path / "results" / "20261126-121500-pixel-abc123"
    meta = json.loads((store.run_dir / "meta.json").read_text())
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["status"] == "running"
    assert meta["finished_at"] is None
    assert meta["created_at"].endswith("+00:00")
    # a set (BinaryInfo.flags) is stored as a sorted list, not lost
    assert meta["binaries"]["127.0.0.1:5555"]["flags"] == ["graph", "num_runs"]
    assert (store.run_dir / TRIALS_FILE).read_bytes() == b""
    assert not list(store.run_dir.glob(".*tmp"))  # the atomic write left no temp file


def test_create_generates_run_id_from_device_model(tmp_path: Path) -> None:
    meta = meta_json()
    del meta["run_id"]
    store = RunStore.create(tmp_path, RunMeta.from_dict(meta))
    assert store.run_id.split("-")[2] == "pixel"
    assert store.run_dir.name == store.run_id


def test_new_run_id_names_several_devices_multi() -> None:
    assert "-multi-" in new_run_id(["Pixel", "Pixel 4"])
    assert new_run_id(["Pixel 4 XL"]).split("-")[2:5] == ["pixel", "4", "xl"]


def test_create_refuses_existing_folder_and_unsafe_ids(tmp_path: Path) -> None:
    RunStore.create(tmp_path, make_meta())
    with pytest.raises(ResultsError, match="already exists"):
        RunStore.create(tmp_path, make_meta())
    with pytest.raises(ResultsError, match="safe folder name"):
        RunStore.create(tmp_path, make_meta(run_id="../escape"))
    with pytest.raises(SchemaVersionError):
        RunStore.create(tmp_path, make_meta(run_id="x", schema_version=99))


def test_append_writes_one_line_per_trial(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    for i in range(3):
        store.append(make_record(store.run_id, i))
    lines = (store.run_dir / TRIALS_FILE).read_text().splitlines()
    assert len(lines) == 3
    assert [json.loads(line)["trial_index"] for line in lines] == [0, 1, 2]
    assert len(store.completed_trial_ids()) == 3
    assert store.completed_trial_ids(statuses=["failed"]) == set()


def test_append_refuses_duplicates_and_foreign_records(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    store.append(make_record(store.run_id, 0))
    with pytest.raises(ResultsError, match="already stored"):
        store.append(make_record(store.run_id, 0))
    with pytest.raises(ResultsError, match="belongs to run"):
        store.append(make_record("another-run", 1))
    assert len((store.run_dir / TRIALS_FILE).read_text().splitlines()) == 1


def test_failed_trial_with_nan_is_stored_as_valid_json(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    record = make_record(
        store.run_id,
        0,
        status="crashed",
        latency_ms=None,
        avg_us=float("nan"),
        exit_code=139,
        stderr_tail="Segmentation fault",
    )
    store.append(record)
    line = (store.run_dir / TRIALS_FILE).read_text()
    data = json.loads(line)  # strict JSON: NaN would not be
    assert data["avg_us"] is None and data["status"] == "crashed"


def test_reopen_tolerates_and_reports_torn_last_line(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    store.append(make_record(store.run_id, 0))
    store.append(make_record(store.run_id, 1))
    trials = store.run_dir / TRIALS_FILE
    whole = json.dumps(make_record(store.run_id, 2).to_dict())
    with open(trials, "a") as fh:
        fh.write(whole[: len(whole) // 2])  # a crash in the middle of the third append
    reopened = RunStore.open(store.run_dir)
    assert len(reopened.completed_trial_ids()) == 2
    assert reopened.recovered and "torn" in reopened.recovered[0]
    assert (store.run_dir / TORN_FILE).read_text().rstrip("\n") == whole[: len(whole) // 2]
    # the next append lands on a clean line of its own
    reopened.append(make_record(store.run_id, 2))
    lines = trials.read_text().splitlines()
    assert [json.loads(line)["trial_index"] for line in lines] == [0, 1, 2]


def test_reopen_keeps_complete_last_record_without_newline(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    store.append(make_record(store.run_id, 0))
    trials = store.run_dir / TRIALS_FILE
    with open(trials, "a") as fh:
        fh.write(json.dumps(make_record(store.run_id, 1).to_dict()))
    reopened = RunStore.open(store.run_dir)
    assert len(reopened.completed_trial_ids()) == 2
    reopened.append(make_record(store.run_id, 2))
    assert len(trials.read_text().splitlines()) == 3


def test_reopen_refuses_corruption_before_the_last_line(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    store.append(make_record(store.run_id, 0))
    trials = store.run_dir / TRIALS_FILE
    trials.write_text("{not json\n" + trials.read_text())
    with pytest.raises(ResultsError, match="line 1"):
        RunStore.open(store.run_dir)


def test_open_refuses_unknown_schema_versions(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    meta = json.loads((store.run_dir / "meta.json").read_text())
    meta["schema_version"] = 99
    (store.run_dir / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SchemaVersionError, match="99"):
        RunStore.open(store.run_dir)
    with pytest.raises(SchemaVersionError):
        load_meta(store.run_dir)

    other = RunStore.create(tmp_path, make_meta(run_id="second"))
    record = make_record("second", 0).to_dict()
    record["schema_version"] = 2
    (other.run_dir / TRIALS_FILE).write_text(json.dumps(record) + "\n")
    with pytest.raises(SchemaVersionError, match="schema_version 2"):
        RunStore.open(other.run_dir)


def test_open_requires_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"no meta\.json"):
        RunStore.open(tmp_path)


def test_update_meta_is_atomic_and_validated(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    store.update_meta(order=["a", "b"], status="interrupted")
    assert load_meta(store.run_dir).order == ("a", "b")
    assert load_meta(store.run_dir).status == "interrupted"
    with pytest.raises(ResultsError, match="status"):
        store.update_meta(status="half-done")
    with pytest.raises(ResultsError, match="run_id"):
        store.update_meta(run_id="other")
    assert load_meta(store.run_dir).status == "interrupted"


def test_finalize_writes_parquet_tables(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    for i in range(3):
        store.append(make_record(store.run_id, i))
    store.append(make_record(store.run_id, 3, status="timeout", latency_ms=None))
    trials_pq, summary_pq = store.finalize()
    trials = pd.read_parquet(trials_pq)
    assert len(trials) == 4
    assert json.loads(trials.loc[0, "freq_before"]) == {"2": [2150400, 2150400]}
    summary = pd.read_parquet(summary_pq)
    assert len(summary) == 1
    row = summary.iloc[0]
    assert (row["n_trials"], row["n_ok"], row["n_failed"]) == (4, 3, 1)
    assert row["median_ms"] == pytest.approx(71.0)
    assert row["status"] == "partial"
    meta = load_meta(store.run_dir)
    assert meta.status == "complete" and meta.finished_at


def test_append_after_finalize_drops_stale_parquet(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    store.append(make_record(store.run_id, 0))
    store.finalize()
    reopened = RunStore.open(store.run_dir)
    reopened.append(make_record(store.run_id, 1))
    assert not (store.run_dir / TRIALS_PARQUET).exists()
    assert len(load(store.run_dir)) == 2  # read from the jsonl log instead


def test_threads_append_concurrently_without_mixing_lines(tmp_path: Path) -> None:
    import threading

    store = RunStore.create(tmp_path, make_meta())
    workers = [
        threading.Thread(
            target=lambda k=k: [
                store.append(make_record(store.run_id, k * 100 + i)) for i in range(20)
            ]
        )
        for k in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    lines = (store.run_dir / TRIALS_FILE).read_text().splitlines()
    assert len(lines) == 80
    assert len({json.loads(line)["trial_id"] for line in lines}) == 80
