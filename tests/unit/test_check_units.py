"""`harness check` and compute units: another unit is another context; a fallback fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.compare.check import compare_runs
from harness.errors import ContextMismatchError
from harness.results import RunStore

from .test_results_store import make_meta, make_record

KEY = "127.0.0.1:5555|mobilenet_v2_1.0_224|fp32|t1|big|xnnpack=off"


def _run(tmp_path: Path, name: str, unit: str, **trial: Any) -> Path:
    store = RunStore.create(tmp_path / name, make_meta(run_id=name))
    suffix = "" if unit == "cpu" else f"|unit={unit}"
    for i in range(5):
        store.append(
            make_record(
                name, i, accelerator=unit, throttled=False, trial_id=f"{KEY}{suffix}|{i}", **trial
            )
        )
    store.finalize("complete")
    return store.run_dir


def test_a_baseline_on_another_unit_is_a_context_mismatch(tmp_path: Path) -> None:
    base, cur = _run(tmp_path, "base", "cpu"), _run(tmp_path, "cur", "gpu")
    with pytest.raises(ContextMismatchError, match="compute unit cpu -> gpu") as e:
        compare_runs(base, cur)
    assert e.value.exit_code == 2
    # Allowed, the units are told apart: nothing is compared across them.
    rows = compare_runs(base, cur, allow_context_change=True).rows
    assert sorted((r.config.accelerator, r.verdict) for r in rows) == [
        ("cpu", "missing"),
        ("gpu", "new"),
    ]


def test_the_same_unit_on_both_sides_is_compared(tmp_path: Path) -> None:
    base, cur = _run(tmp_path, "base", "gpu"), _run(tmp_path, "cur", "gpu")
    (row,) = compare_runs(base, cur).rows
    assert row.config.accelerator == "gpu" and row.key.endswith("|unit=gpu")
    assert row.verdict in ("unchanged", "improvement", "regression", "inconclusive")


@pytest.mark.parametrize(
    "trial",
    [
        {"status": "fallback", "latency_ms": None, "delegation": "fallback"},
        {"delegation": "fallback"},  # let pass as ok with --allow-fallback
    ],
)
def test_a_configuration_that_fell_back_fails(tmp_path: Path, trial: dict[str, Any]) -> None:
    base = _run(tmp_path, "base", "gpu", delegation="applied")
    cur = _run(tmp_path, "cur", "gpu", **trial)
    comparison = compare_runs(base, cur)
    (row,) = comparison.rows
    assert row.verdict == "failed" and "fell back to the CPU" in row.reason
    assert comparison.exit_code == 1
