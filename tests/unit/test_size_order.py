"""Configurations are listed by size everywhere, largest first, never as text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.catalogue.order import config_size_key, variant_size_key
from harness.cli import main
from harness.compare import compare_runs
from harness.compare.junit import junit_xml
from harness.compare.markdown import render_markdown
from harness.compare.table import render_table
from harness.compare.trend import trend
from harness.results import load, summarize
from tests.support.synthetic import noisy_latencies, write_run

# Text order would be 0.35_96, 1.0_128, 1.0_224, 1.0_96, 1.4_224.
BY_SIZE = [
    "mobilenet_v2_1.4_224",
    "mobilenet_v2_1.0_224",
    "mobilenet_v2_1.0_128",
    "mobilenet_v2_1.0_96",
    "mobilenet_v2_0.35_96",
]
SHUFFLED = [BY_SIZE[i] for i in (3, 0, 4, 2, 1)]


def positions(text: str, names: list[str]) -> list[int]:
    """Where each name first appears (markdown escapes its underscores)."""
    text = text.replace("\\_", "_")
    return [text.index(n + "|") if n + "|" in text else text.index(n + " ") for n in names]


def test_key_puts_larger_models_first_and_own_models_last() -> None:
    assert sorted(SHUFFLED, key=variant_size_key) == BY_SIZE
    assert sorted(["my_model", "mobilenet_v2_0.35_96"], key=variant_size_key)[0] != "my_model"
    assert config_size_key("mobilenet_v2_1.0_224", "fp32", 2, "big", "on") > config_size_key(
        "mobilenet_v2_1.0_224", "fp32", 1, "big", "on"
    )
    assert config_size_key("mobilenet_v2_1.0_224", "int8", 1, "big", "on") > config_size_key(
        "mobilenet_v2_1.0_224", "fp32", 4, "big", "on"
    )


def test_run_summary_is_by_size(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r", noisy_latencies(SHUFFLED, n=3, cv=0.01))
    assert list(summarize(load(run))["variant"]) == BY_SIZE


def test_check_table_markdown_and_junit_are_by_size(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies(SHUFFLED, n=5, cv=0.01, seed=1))
    c = write_run(tmp_path / "c", noisy_latencies(SHUFFLED, n=5, cv=0.01, seed=2))
    comparison = compare_runs(b, c)
    assert [r.config.variant for r in comparison.rows] == BY_SIZE
    for text in (
        render_table(comparison),
        render_markdown(comparison),
        junit_xml(comparison).decode(),
    ):
        at = positions(text, BY_SIZE)
        assert at == sorted(at), text


def test_trend_series_are_by_size(tmp_path: Path) -> None:
    runs = [
        write_run(tmp_path / f"r{i}", noisy_latencies(SHUFFLED, n=3, cv=0.01, seed=i))
        for i in range(3)
    ]
    assert [s.config.variant for s in trend(runs).series] == BY_SIZE


def test_variants_command_is_by_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["variants", "--variants", ",".join(SHUFFLED), "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == BY_SIZE
    assert main(["variants", "--variants", "v2:1.0_*"]) == 0
    out = capsys.readouterr().out
    ids = [f"mobilenet_v2_1.0_{r}" for r in (224, 192, 160, 128, 96)]
    at = positions(out, ids)
    assert at == sorted(at)
