"""`harness check` end to end: runs on the simulated Pixel 1, a baseline, verdicts, exit codes.

Every step is the CLI a CI job runs: `harness run --device SERIAL` through the
real adb server, `harness baseline save`, `harness check --junit`.

The verdicts come from the simulated device's deterministic mode
(`faults={"synthetic": SEED}`, docs/sim.md "Synthetic latencies"): its
benchmark_model still loads and runs each model, but draws the times it prints
from a seeded distribution (CV 2% between trials), and the slowdown fault
scales those draws. So what a run measures depends on the seed and the fault,
never on how busy this machine is: the tests cannot flake on a loaded host,
and the margins below are those of the statistics (docs/ci.md), not of the
host. Only the code under test runs for real: adb, the device scripts, the
parser, the results store, the check. The proof sampling is off on those
phones (`QUIET`, the phone's environment): its interference figure is read from the simulated
/proc/stat, which counts this machine's other processes on purpose, and a
flagged trial turns a regression into `inconclusive`.

`test_real_latencies_pass_through_the_same_pipeline` keeps one measured run
(the real path) with checks that hold whatever the host's load.
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

# Three configurations, the fewest for which check can take out the run's shared shift.
VARIANTS = ["mobilenet_v2_0.35_96", "mobilenet_v2_0.35_128", "mobilenet_v2_0.5_96"]
SLOWED = VARIANTS[0]
# The trial wrapper's proof-sampling period, 0: off (docs/sim.md, `SimDevice.start(env=)`).
QUIET = {"HARNESS_SAMPLE_S": "0"}
XSD = Path(__file__).resolve().parents[1] / "data" / "junit.xsd"
SEED = 11


def harness_run(
    serial: str,
    out: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    trials: int = 5,
    variants: list[str] = VARIANTS,
    runs: int = 20,
) -> tuple[Path, dict[str, Any]]:
    """`harness run` on one device; returns the run folder and its JSON summary."""
    code = main(
        [
            "run",
            "--device",
            serial,
            "--variants",
            ",".join(variants),
            "--trials",
            str(trials),
            "--runs",
            str(runs),
            "--warmup",
            "2",
            "--out",
            str(out),
            "--seed",
            "7",
            "--no-report",
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    outcome = json.loads(captured.out)
    run_dir = Path(outcome["run_dir"])
    assert (run_dir / "meta.json").is_file()
    return run_dir, outcome


def check(
    baseline: Path, current: Path, junit: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any], str]:
    code = main(
        [
            "check",
            "--baseline",
            str(baseline),
            "--current",
            str(current),
            "--junit",
            str(junit),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    doc = json.loads(captured.out) if captured.out.strip() else {}
    return code, doc, captured.err


def table(result: dict[str, Any]) -> str:
    return "\n".join(
        f"{r['variant']}: {r['verdict']} {r['ratio']} {r['reason']}" for r in result.get("rows", [])
    )


def test_synthetic_baseline_same_one_slower_all_slower_other_model(
    make_sim: Callable[..., Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = make_sim(faults={"synthetic": SEED}, env=QUIET)
    base_run, outcome = harness_run(sim.serial, tmp_path / "runs", capsys)
    assert any("synthetic latencies" in c for c in outcome["caveats"]), outcome["caveats"]
    meta = json.loads((base_run / "meta.json").read_text())
    assert "SYNTHETIC latencies" in meta["binaries"][sim.serial]["version_line"]
    baseline = tmp_path / "baselines" / "pixel1.json"
    assert main(["baseline", "save", str(base_run), "-o", str(baseline)]) == 0
    capsys.readouterr()
    doc = json.loads(baseline.read_text())
    assert doc["contexts"]["Pixel"]["platform"] == "msm8996"
    assert doc["contexts"]["Pixel"]["binary_kind"] == "stand-in"
    assert doc["contexts"]["Pixel"]["latencies"] == "synthetic"
    assert {c["variant"] for c in doc["configs"]} == set(VARIANTS)
    assert all(len(c["latency_ms"]) == 5 for c in doc["configs"])

    # The same setup again: no regression.
    same, _ = harness_run(sim.serial, tmp_path / "runs", capsys)
    code, result, err = check(baseline, same, tmp_path / "same.xml", capsys)
    assert code == 0, table(result) + err
    assert {r["verdict"] for r in result["rows"]} <= {"unchanged", "inconclusive"}, table(result)
    assert len(result["rows"]) == 3 and result["context_differences"] == []

    # One model 1.25x slower on the device: that configuration regresses, as a JUnit failure.
    sim.faults.set_slowdown(1.25, models=f"*{SLOWED}-*")
    slow, _ = harness_run(sim.serial, tmp_path / "runs", capsys)
    junit = tmp_path / "slow.xml"
    code, result, err = check(baseline, slow, junit, capsys)
    assert code == 1, table(result) + err
    verdicts = {r["variant"]: r["verdict"] for r in result["rows"]}
    assert verdicts[SLOWED] == "regression", table(result)
    assert {verdicts[v] for v in VARIANTS[1:]} <= {"unchanged", "inconclusive"}, table(result)
    row = next(r for r in result["rows"] if r["variant"] == SLOWED)
    # The fault's 1.25x, within the trial noise of the draws (CV 2%, 5 trials a side).
    assert 1.18 < row["ratio"] < 1.32, table(result)
    assert 1.15 < row["own_ratio"] < 1.35, table(result)
    xml = etree.parse(str(junit))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(xml)
    failed = {
        c.get("name").split("|")[0] for c in xml.iter("testcase") if c.find("failure") is not None
    }
    assert failed == {SLOWED}
    assert xml.getroot().get("failures") == "1"

    # Every model 1.25x slower: the whole run moved, which a device change does too.
    sim.faults.set_slowdown(1.25)
    everything, _ = harness_run(sim.serial, tmp_path / "runs", capsys)
    sim.faults.set_slowdown(1.0)
    code, result, err = check(baseline, everything, tmp_path / "all.xml", capsys)
    assert code == 0, table(result) + err
    assert {r["verdict"] for r in result["rows"]} == {"inconclusive"}, table(result)
    assert all("cannot tell these apart" in r["reason"] for r in result["rows"])
    assert any("the whole run moved by about +2" in w for w in result["warnings"]), result

    # A baseline from another device model: refused, naming the difference.
    other = make_sim(props={"ro.product.model": "Pixel 2"}, faults={"synthetic": SEED}, env=QUIET)
    other_run, _ = harness_run(
        other.serial, tmp_path / "runs", capsys, trials=2, variants=VARIANTS[:1]
    )
    code, result, err = check(baseline, other_run, tmp_path / "other.xml", capsys)
    assert code == 2
    assert "device model: baseline 'Pixel' vs current 'Pixel 2'" in err
    assert "--allow-context-change" in err
    assert not (tmp_path / "other.xml").exists()


def test_real_latencies_pass_through_the_same_pipeline(
    sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Measured for real (no deterministic mode): nothing here depends on how fast or how
    # steady the host is. A run checked against its own baseline has every ratio exactly 1.
    run, outcome = harness_run(sim.serial, tmp_path / "runs", capsys, trials=2, runs=5)
    assert not any("synthetic" in c for c in outcome["caveats"]), outcome["caveats"]
    baseline = tmp_path / "real.json"
    assert main(["baseline", "save", str(run), "-o", str(baseline)]) == 0
    capsys.readouterr()
    assert json.loads(baseline.read_text())["contexts"]["Pixel"]["latencies"] == "measured"
    code, result, err = check(baseline, run, tmp_path / "real.xml", capsys)
    assert code == 0, table(result) + err
    assert [r["ratio"] for r in result["rows"]] == pytest.approx([1.0] * 3)
    assert {r["verdict"] for r in result["rows"]} <= {"unchanged", "inconclusive"}

    # Drawn and measured latencies are never compared.
    sim.faults.set_synthetic(SEED)
    drawn, _ = harness_run(sim.serial, tmp_path / "runs", capsys, trials=2, runs=5)
    sim.faults.set_synthetic(None)
    code, _, err = check(baseline, drawn, tmp_path / "mixed.xml", capsys)
    assert code == 2
    assert "latencies: baseline 'measured' vs current 'synthetic'" in err
