"""`harness check` names a simulated, stand-in or synthetic run as such; a missing row once."""

from __future__ import annotations

import json
from pathlib import Path

from harness.compare import compare_runs, render_table
from harness.compare.junit import junit_xml
from harness.compare.markdown import render_markdown
from tests.support.synthetic import noisy_latencies, write_run

A, B = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96"
PHONE = {"kind": "official", "sha256": "cd" * 32}  # a binary kind the harness records


def test_a_phone_run_has_no_such_header(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A], n=5, cv=0.01, seed=1), binary=PHONE)
    c = write_run(tmp_path / "c", noisy_latencies([A], n=5, cv=0.01, seed=2), binary=PHONE)
    comparison = compare_runs(b, c)
    assert comparison.stand_in == ""
    assert render_table(comparison).startswith("verdict")
    assert render_markdown(comparison).startswith("### harness check: no regression\n")


def test_stand_in_and_simulated_runs_are_named_in_table_and_markdown(tmp_path: Path) -> None:
    sim = {"emulated": True}
    b = write_run(tmp_path / "b", noisy_latencies([A], n=5, cv=0.01, seed=1), device=sim)
    c = write_run(tmp_path / "c", noisy_latencies([A], n=5, cv=0.01, seed=2), device=sim)
    comparison = compare_runs(b, c)
    first = render_table(comparison).splitlines()[0]
    assert first == (
        "harness check: simulated device, stand-in binary (baseline and current): "
        "not a phone's latencies"
    )
    md = render_markdown(comparison)
    assert md.startswith("### harness check: no regression (simulated device, stand-in binary)")
    assert "**Simulated device, stand-in binary (baseline and current): not a phone" in md


def test_sides_that_differ_are_named_apart(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A], n=5, cv=0.01, seed=1), binary=PHONE)
    c = write_run(
        tmp_path / "c",
        noisy_latencies([A], n=5, cv=0.01, seed=2),
        device={"props": {"ro.harness.simulated": "1"}},
        binary=PHONE,
    )
    comparison = compare_runs(b, c)
    assert comparison.stand_in == "current simulated device: not a phone's latencies"


def test_synthetic_latencies_are_named(tmp_path: Path) -> None:
    drawn = {"version_line": "harness benchmark_model stand-in (synthetic latencies)"}
    b = write_run(tmp_path / "b", noisy_latencies([A], n=5, cv=0.01, seed=1), binary=drawn)
    c = write_run(tmp_path / "c", noisy_latencies([A], n=5, cv=0.01, seed=2), binary=drawn)
    assert "synthetic latencies" in render_table(compare_runs(b, c)).splitlines()[0]


def test_a_missing_row_is_printed_once(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    c = write_run(tmp_path / "c", noisy_latencies([A], n=5, cv=0.01, seed=2))
    comparison = compare_runs(b, c)
    text = render_table(comparison)
    assert sum(B in line for line in text.splitlines()) == 1, text
    assert "MISSING" in text
    assert json.loads(json.dumps(comparison.to_dict()))["rows"]  # the JSON is untouched
    assert B.replace("_", "\\_") in render_markdown(comparison)
    assert junit_xml(comparison).count(B.encode()) >= 1
