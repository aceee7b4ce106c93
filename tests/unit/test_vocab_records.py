"""A configuration is one `Config` in code, while what is printed and stored keeps its flat
fields: `check --json` rows, `trend --json` steps and series, baseline entries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness.compare import compare_runs
from harness.compare.comparison import ROW_KEYS
from harness.compare.source import _config_from_dict
from harness.compare.trend import trend
from harness.vocab import Config, DeviceConfig
from tests.support.synthetic import noisy_latencies, write_run

A, B = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96"
FLAT = ["device_model", "variant", "quant", "threads", "cores", "xnnpack", "accelerator"]


def test_a_config_keys_dicts_and_sorts_as_its_fields_do() -> None:
    gpu = Config(A, "fp32", 1, "big", "on", "gpu")
    assert {gpu: 1}[Config(A, "fp32", 1, "big", "on", "gpu")] == 1
    configs = [Config(B, "int8", 2, "big", "on"), gpu, Config(A, "fp32", 1, "big", "on")]
    # As the tuple of its fields sorts (variant ids as text): what the old tuple keys gave.
    assert [c.key for c in sorted(configs)] == [
        f"{B}|int8|t2|big|xnnpack=on",
        f"{A}|fp32|t1|big|xnnpack=on",
        f"{A}|fp32|t1|big|xnnpack=on|unit=gpu",
    ]
    on = DeviceConfig("Pixel", gpu)
    assert on.key == gpu.key and list(on.fields()) == FLAT


def test_check_json_rows_keep_their_flat_fields_in_their_order(tmp_path: Path) -> None:
    base = write_run(tmp_path / "b", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    cur = write_run(tmp_path / "c", noisy_latencies([A, B], n=5, cv=0.01, seed=2))
    comparison = compare_runs(base, cur)
    for row in comparison.rows:
        out = row.to_dict()
        assert tuple(out) == ROW_KEYS
        assert out["config"] == row.key and out["variant"] == row.config.variant
        assert out["accelerator"] == "cpu" and out["device_model"] == row.device_model


def test_trend_json_and_baseline_entries_are_flat(tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    dirs = [
        write_run(
            tmp_path / f"r{i}",
            noisy_latencies([A], n=5, cv=0.01, seed=i, scale={A: 1.3 if i >= 3 else 1.0}),
            created_at=start + timedelta(hours=i),
        )
        for i in range(6)
    ]
    doc = trend(dirs).to_dict()
    (step,) = doc["steps"]
    assert list(step)[: len(FLAT)] == FLAT and "config" not in step
    assert list(step)[len(FLAT) :] == ["at_run_id", "at_index", "before_ms", "after_ms", "ratio"]
    (series,) = doc["series"]
    assert list(series) == [*FLAT, "points", "segments"]
    # A baseline entry is written flat and read back as the same configuration.
    row = compare_runs(dirs[0], dirs[1]).rows[0]
    entry = _source_entry(dirs[0])
    assert list(entry)[: len(FLAT)] == FLAT
    assert _config_from_dict(entry, tmp_path, 0).config == row.config


def _source_entry(run_dir: Path) -> dict[str, object]:
    from harness.compare.source import read_run

    (by_config,) = read_run(run_dir).configs.values()
    (samples,) = by_config.values()
    return samples.to_dict()
