"""Trials that disagree beyond the documented bound make a configuration `noisy`, everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.compare import compare_runs
from harness.compare.markdown import render_markdown
from harness.compare.table import render_table
from harness.results import load, summarize
from harness.results.summary import NOISY_CV, status_notes
from tests.support.synthetic import write_run

A, B = "mobilenet_v2_1.0_224", "mobilenet_v2_0.5_160"
QUIET = [100.0, 101.0, 99.0, 100.5, 99.5]  # CV under 1%
NOISY = [100.0, 130.0, 80.0, 120.0, 90.0]  # CV about 20%
# Either side of the bound: mean 100, sample std d * sqrt(2/3) for (100-d, 100, 100, 100+d).
EDGE_OK = [88.0, 100.0, 100.0, 112.0]  # CV 9.8%
EDGE_NOISY = [87.0, 100.0, 100.0, 113.0]  # CV 10.6%


def statuses(tmp_path: Path, latencies: dict[str, list[float]], **kw: object) -> dict[str, str]:
    s = summarize(load(write_run(tmp_path / "r", latencies, **kw)))  # type: ignore[arg-type]
    return dict(zip(s["variant"], s["status"], strict=True))


def test_bound_is_ten_percent_cv(tmp_path: Path) -> None:
    assert NOISY_CV == 0.10
    got = statuses(tmp_path, {A: EDGE_NOISY, B: EDGE_OK})
    assert got == {A: "noisy", B: "ok"}


def test_failures_outrank_noise_and_one_trial_is_not_noisy(tmp_path: Path) -> None:
    got = statuses(tmp_path, {A: NOISY, B: [100.0]}, failed={A: 1})
    assert got == {A: "partial", B: "ok"}


def test_notes_name_the_noisy_configurations_and_what_to_do(tmp_path: Path) -> None:
    s = summarize(load(write_run(tmp_path / "r", {A: NOISY, B: QUIET})))
    [note] = status_notes(s)
    assert A in note and B not in note
    assert "do not trust their median" in note and "--trials" in note
    assert status_notes(s[s["variant"] == B]) == []
    # The JSON of a run carries the status as it is.
    assert json.loads(s.to_json(orient="records"))[0]["status"] == "noisy"


def test_check_says_a_verdict_rests_on_noisy_trials(tmp_path: Path) -> None:
    base = write_run(tmp_path / "b", {A: QUIET, B: QUIET})
    cur = write_run(tmp_path / "c", {A: [v * 1.5 for v in NOISY], B: QUIET})
    comparison = compare_runs(base, cur)
    rows = {r.config.variant: r for r in comparison.rows}
    assert rows[A].noisy and not rows[B].noisy
    assert "noisy trials (current CV 20%" in rows[A].reason
    assert "noisy" not in rows[B].reason
    assert any("1 configuration(s) rest on noisy trials" in w for w in comparison.warnings)
    assert rows[A].to_dict()["noisy"] is True
    table = render_table(comparison)
    assert "noisy trials (current CV 20%" in table and "warning: 1 configuration(s)" in table
    assert "noisy trials" in render_markdown(comparison)


def test_quiet_runs_carry_no_noise_note(tmp_path: Path) -> None:
    base = write_run(tmp_path / "b", {A: QUIET, B: QUIET})
    cur = write_run(tmp_path / "c", {A: [v * 1.5 for v in QUIET], B: QUIET})
    comparison = compare_runs(base, cur)
    assert not any(r.noisy for r in comparison.rows)
    assert "noisy" not in render_table(comparison)


def test_report_counts_noisy_apart_from_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(tmp_path / "r", {A: NOISY, B: QUIET})
    assert main(["report", str(run), "-o", str(tmp_path / "r.html"), "--json"]) == 0
    (section,) = json.loads(capsys.readouterr().out)["sections"]
    assert (section["failed"], section["noisy"]) == (0, 1)
    assert "Noisy: trials disagree by 10% or more" in section["warnings"]
