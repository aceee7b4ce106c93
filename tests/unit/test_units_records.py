"""The compute unit in the configuration, the records and the summary; old runs read as CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import OptionError, PlanError
from harness.results import RunStore, load, summarize
from harness.results.meta import RunMeta
from harness.results.schema import TrialRecord
from harness.stages.settings import RunSettings, settings_from_meta
from harness.vocab import Config

from .test_results_store import make_meta, make_record


def test_the_cpus_key_is_the_key_runs_had_before_units() -> None:
    assert Config("v", "fp32", 1, "big", "off").key == "v|fp32|t1|big|xnnpack=off"
    assert Config("v", "fp32", 1, "big", "off", "cpu").key == "v|fp32|t1|big|xnnpack=off"
    gpu = Config("v", "fp32", 1, "big", "off", "gpu")
    assert gpu.key == "v|fp32|t1|big|xnnpack=off|unit=gpu" and gpu != Config(
        "v", "fp32", 1, "big", "off"
    )


def test_units_are_an_axis_in_their_canonical_spelling() -> None:
    settings = RunSettings(
        devices=["x"], variants=["mobilenet_v2_0.35_96"], threads=[1, 2],
        accelerators=["cpu", " gpu-fp32 ", "nnapi:qti-dsp"],
    )  # fmt: skip
    configs = settings.validate()
    assert len(configs) == 6
    assert {c.accelerator for c in configs} == {"cpu", "gpu-fp32", "nnapi:qti-dsp"}


@pytest.mark.parametrize("bad", ["tpu", "nnapi:", "external:", "gpu,"])
def test_an_unknown_unit_is_refused_before_a_device(bad: str) -> None:
    settings = RunSettings(devices=["x"], accelerators=bad.split(","))
    with pytest.raises(OptionError, match="--accelerator") as e:
        settings.validate()
    assert e.value.exit_code == 2


def test_no_unit_selects_nothing() -> None:
    with pytest.raises(PlanError, match="--accelerator selects nothing"):
        RunSettings(devices=["x"], accelerators=[]).validate()


def test_a_resumed_run_from_before_units_measures_on_the_cpu(tmp_path: Path) -> None:
    stored = RunMeta.from_dict({
        "seed": 42,
        "settings": {
            "variants": ["mobilenet_v2_0.35_96"], "quants": ["fp32"], "threads": [1],
            "cores": ["big"], "trials": 3, "runs": 7, "devices": ["sim"],
        },
    })  # fmt: skip
    given = RunSettings(devices=[], resume=tmp_path, accelerators=["gpu"], allow_fallback=True)
    merged = settings_from_meta(stored, given)
    assert merged.accelerators == ["cpu"] and merged.allow_fallback is False
    assert all(c.accelerator == "cpu" for c in merged.validate())
    # A run that stored its units keeps them.
    data = stored.to_dict()
    data["settings"]["accelerators"] = ["gpu", "nnapi"]
    assert settings_from_meta(RunMeta.from_dict(data), given).accelerators == ["gpu", "nnapi"]


def test_records_from_before_units_read_as_cpu(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-old"))
    store.append(make_record("run-old", 0))
    path = store.run_dir / "trials.jsonl"
    old = json.loads(path.read_text())
    for key in ("accelerator", "partitions", "delegation"):
        del old[key]
    path.write_text(json.dumps(old) + "\n")
    record = TrialRecord.from_dict(old)
    assert (
        record.accelerator == "cpu" and record.key == "mobilenet_v2_1.0_224|fp32|t1|big|xnnpack=off"
    )
    assert TrialRecord.from_dict({**old, "accelerator": None}).accelerator == "cpu"
    frame = load(store.run_dir)
    assert list(frame["accelerator"]) == ["cpu"]
    assert list(frame["config"]) == ["mobilenet_v2_1.0_224|fp32|t1|big|xnnpack=off"]
    row = summarize(frame).iloc[0]
    assert row["accelerator"] == "cpu" and row["status"] == "ok"


def test_summary_has_a_row_per_unit_and_says_fallback(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-u"))
    for i in range(2):
        store.append(make_record("run-u", i, throttled=False))
        store.append(
            make_record(
                "run-u", i, accelerator="gpu", delegation="applied", delegate="GPU",
                delegated_nodes=65, total_nodes=65, partitions=1,
                trial_id=f"s|mobilenet_v2_1.0_224|fp32|t1|big|xnnpack=off|unit=gpu|{i}",
            )
        )  # fmt: skip
        store.append(
            make_record(
                "run-u", i, accelerator="nnapi:qti-dsp", delegation="fallback", status="fallback",
                latency_ms=None, delegate="NNAPI", delegated_nodes=0, total_nodes=65,
                trial_id=f"s|mobilenet_v2_1.0_224|fp32|t1|big|xnnpack=off|unit=nnapi:qti-dsp|{i}",
            )
        )  # fmt: skip
    rows = {r["accelerator"]: r for r in summarize(load(store.run_dir)).to_dict("records")}
    assert set(rows) == {"cpu", "gpu", "nnapi:qti-dsp"}
    assert rows["gpu"]["n_ok"] == 2 and rows["gpu"]["delegation"] == "applied"
    assert rows["gpu"]["config"].endswith("|unit=gpu")
    # The published Pixel-1 figure is the CPU's: never beside another unit's row.
    assert rows["cpu"]["published_ms"] > 0 and rows["cpu"]["ratio"] > 0
    assert rows["gpu"]["published_ms"] != rows["gpu"]["published_ms"]  # NaN: none
    dsp = rows["nnapi:qti-dsp"]
    assert (dsp["status"], dsp["n_ok"], dsp["n_failed"]) == ("fallback", 0, 2)

    from harness.cli.run import summary_table

    table = summary_table(summarize(load(store.run_dir)))
    head, *lines = table.splitlines()
    assert "unit" in head.split() and "delegated" in head.split()
    gpu_line = next(line for line in lines if " gpu " in line)
    assert "65/65" in gpu_line
    assert "0/65 fallback" in next(line for line in lines if "qti-dsp" in line)


def test_a_cpu_only_table_keeps_its_columns(tmp_path: Path) -> None:
    from harness.cli.run import summary_table

    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-c"))
    store.append(make_record("run-c", 0))
    head = summary_table(summarize(load(store.run_dir))).splitlines()[0].split()
    assert "unit" not in head
