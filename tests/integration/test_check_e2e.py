"""`harness check` end to end: runs on the simulated Pixel 1, a baseline, verdicts, exit codes.

Every step is the CLI a CI job runs: `harness run --device SERIAL` through the
real adb server, `harness baseline save`, `harness check --junit`. The
simulated device's slowdown fault makes every benchmark run 1.25x longer for
real (it spins on the clock), so the regression is measured, not injected into
numbers.

The stand-in benchmark_model shares this machine's cores with whatever else
runs, so on a busy host many timed runs are slower than the model is and
trial means swing by 2x (measured: load 9 on 2 cores). The two variants take
under a millisecond, so each trial has 600 runs (a few tenths of a second, as a
phone trial is a second or two); 60 runs made 36 ms trials whose fastest run
was 15% off when a burst of other work covered the whole trial (seen in CI).
The checks compare each trial's fastest run (`--metric min`), which only the
model and the fault move; the statistics themselves are tested in
tests/unit/test_stats*.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from harness.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANTS = ["mobilenet_v2_0.35_96", "mobilenet_v2_0.35_128"]
XSD = Path(__file__).resolve().parents[1] / "data" / "junit.xsd"
METRIC = ["--metric", "min"]


def harness_run(serial: str, out: Path, capsys: pytest.CaptureFixture[str], *,
                trials: int = 5, variants: list[str] = VARIANTS, runs: int = 600) -> Path:
    """`harness run` on one device; returns the run folder it reports."""
    code = main([
        "run", "--device", serial, "--variants", ",".join(variants), "--trials", str(trials),
        "--runs", str(runs), "--warmup", "3", "--out", str(out), "--seed", "7", "--no-report",
        "--json",
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    run_dir = Path(json.loads(captured.out)["run_dir"])
    assert (run_dir / "meta.json").is_file()
    return run_dir


def check(baseline: Path, current: Path, junit: Path, capsys: pytest.CaptureFixture[str]
          ) -> tuple[int, dict[str, Any], str]:
    code = main(["check", "--baseline", str(baseline), "--current", str(current), *METRIC,
                 "--junit", str(junit), "--json"])
    captured = capsys.readouterr()
    doc = json.loads(captured.out) if captured.out.strip() else {}
    return code, doc, captured.err


def test_baseline_then_same_then_slowdown_then_other_model(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_sim()
    # A first, unmeasured run converts and pushes the models and wakes the host
    # up, as a lab's CI stage would have before its baseline: a baseline taken
    # in a cold first run had trial minimums up to 2x apart (seen in CI).
    harness_run(sim.serial, tmp_path / "warm", capsys, trials=1, runs=5)
    base_run = harness_run(sim.serial, tmp_path / "runs", capsys)
    baseline = tmp_path / "baselines" / "pixel1.json"
    assert main(["baseline", "save", str(base_run), "-o", str(baseline)]) == 0
    capsys.readouterr()
    doc = json.loads(baseline.read_text())
    assert doc["contexts"]["Pixel"]["platform"] == "msm8996"
    assert doc["contexts"]["Pixel"]["binary_kind"] == "stand-in"
    assert {c["variant"] for c in doc["configs"]} == set(VARIANTS)
    assert all(len(c["min_ms"]) == 5 for c in doc["configs"])

    # The same setup again: no regression.
    same = harness_run(sim.serial, tmp_path / "runs", capsys)
    code, result, err = check(baseline, same, tmp_path / "same.xml", capsys)
    table = "\n".join(f"{r['variant']}: {r['verdict']} {r['reason']}" for r in result["rows"])
    assert code == 0, table + err
    assert {r["verdict"] for r in result["rows"]} <= {"unchanged", "inconclusive",
                                                      "improvement"}, table
    assert len(result["rows"]) == 2 and result["context_differences"] == []

    # Every benchmark run 1.25x longer: both variants regress, as JUnit failures.
    sim.faults.set_slowdown(1.25)
    slow = harness_run(sim.serial, tmp_path / "runs", capsys)
    sim.faults.set_slowdown(1.0)
    junit = tmp_path / "slow.xml"
    code, result, err = check(baseline, slow, junit, capsys)
    table = "\n".join(f"{r['variant']}: {r['verdict']} {r['ratio']} {r['reason']}"
                      for r in result["rows"])
    assert code == 1, table + err
    assert {r["variant"]: r["verdict"] for r in result["rows"]} == {
        v: "regression" for v in VARIANTS}, table
    for r in result["rows"]:
        # The fault's 1.25x, within what a busy host adds to a trial's fastest run.
        assert 1.2 < r["ratio"] < 1.45, table
    xml = etree.parse(str(junit))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(xml)
    failed = {c.get("name").split("|")[0] for c in xml.iter("testcase")
              if c.find("failure") is not None}
    assert failed == set(VARIANTS)
    assert xml.getroot().get("failures") == "2"

    # A baseline from another device model: refused, naming the difference.
    other = make_sim(props={"ro.product.model": "Pixel 2"})
    other_run = harness_run(other.serial, tmp_path / "runs", capsys, trials=2,
                            variants=VARIANTS[:1])
    code, result, err = check(baseline, other_run, tmp_path / "other.xml", capsys)
    assert code == 2
    assert "device model: baseline 'Pixel' vs current 'Pixel 2'" in err
    assert "--allow-context-change" in err
    assert not (tmp_path / "other.xml").exists()
