"""Status is what was seen: a cooldown nobody could check is unknown, never a pass.

A trial records `cooled: null` with `cooled_reason` when a cooldown was asked
but the phone showed no temperature. Every reader of stored trials (the
summary and its console notes, `check`, the report) must say so, and must
still name the trials the phone's own readings flag.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.compare import compare_runs
from harness.device.thermal import NO_TEMPERATURE
from harness.report.render import build
from harness.results import load, summarize
from harness.results.summary import status_notes
from tests.support.synthetic import write_run

A, B = "mobilenet_v2_1.0_224", "mobilenet_v2_0.5_160"
QUIET = [100.0, 101.0, 99.0, 100.5, 99.5]
UNKNOWN = {"cooled": None, "cooled_reason": NO_TEMPERATURE}


def test_the_summary_counts_unknown_and_failed_cooldowns_apart(tmp_path: Path) -> None:
    unknown = summarize(load(write_run(tmp_path / "u", {A: QUIET}, trial_overrides=UNKNOWN)))
    [row] = unknown.to_dict("records")
    assert (row["uncooled_trials"], row["cooled_unknown_trials"]) == (0, 5)
    [note] = status_notes(unknown)
    assert "5 trial(s) ran with no temperature readable" in note and "not passed" in note
    late = summarize(load(write_run(tmp_path / "l", {A: QUIET}, trial_overrides={"cooled": False})))
    [row] = late.to_dict("records")
    assert (row["uncooled_trials"], row["cooled_unknown_trials"]) == (5, 0)
    assert any("started before the phone cooled" in n for n in status_notes(late))
    # No cooldown asked (cooled null, no reason) is neither.
    off = summarize(load(write_run(tmp_path / "o", {A: QUIET}, trial_overrides={"cooled": None})))
    assert status_notes(off) == []


def test_console_notes_name_hot_and_throttled_trials(tmp_path: Path) -> None:
    flags = {"hot": True, "throttled": True, "proof_warnings": "hot: 61 °C before the trial"}
    run = write_run(tmp_path / "h", {A: QUIET[:2]}, trial_overrides=flags)
    summary = summarize(load(run))
    [note] = status_notes(summary)
    assert note.startswith(f"flagged: {A} fp32 t1 #0 throttled+hot; #1 throttled+hot: ")
    assert "let it cool and rerun them" in note


def test_check_and_report_say_the_cooldown_was_unknown(tmp_path: Path) -> None:
    base = write_run(tmp_path / "b", {A: QUIET, B: QUIET}, trial_overrides={"cooled": True})
    cur = write_run(tmp_path / "c", {A: QUIET, B: QUIET}, trial_overrides=UNKNOWN)
    comparison = compare_runs(base, cur)
    assert comparison.current.contexts["Pixel"].cooled_unknown_trials == 10
    assert comparison.baseline.contexts["Pixel"].cooled_unknown_trials == 0
    trouble = [w for w in comparison.warnings if "thermal trouble in the current run" in w]
    assert trouble and "10 trial(s) with no temperature readable" in trouble[0], trouble
    html = build([cur], out=tmp_path / "r.html").path.read_text()
    assert "Temperature unknown" in html and "not passed" in html
    assert "Temperature unknown" not in build([base], out=tmp_path / "b.html").path.read_text()


def test_the_report_says_a_core_policy_was_not_verified(tmp_path: Path) -> None:
    run = write_run(tmp_path / "n", {A: QUIET})
    meta_path = run / "meta.json"
    meta = json.loads(meta_path.read_text())
    [serial] = meta["devices"]
    reason = "not verified: no cpufreq topology to rank the cores by"
    meta["cores"] = {serial: {"big": {"mask": "f", "cpus": [0, 1, 2, 3], "verified": False,
                                      "reason": reason}}}  # fmt: skip
    meta_path.write_text(json.dumps(meta))
    html = build([run], out=tmp_path / "n.html").path.read_text()
    assert "big: cpu 0, 1, 2, 3 (mask 0xf), not verified" in html
