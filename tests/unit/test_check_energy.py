"""check judges energy per inference as it judges latency, and every output says so."""

from __future__ import annotations

import random
from pathlib import Path

from harness.compare.ab import ArmTrial, judge_pairs
from harness.compare.check import compare_runs
from harness.compare.comparison import as_energy
from harness.compare.context import DeviceContext
from harness.compare.junit import junit_xml
from harness.compare.markdown import render_markdown
from harness.compare.source import ConfigSamples, Source, _config_from_dict

CID = ("mobilenet_v2_0.35_96", "fp32", 1, "big", "default")


def _noisy(centre: float, n: int, rng: random.Random) -> tuple[float, ...]:
    return tuple(centre * (1 + rng.gauss(0, 0.01)) for _ in range(n))


def _source(name: str, energy: float, seed: int, with_energy: bool = True) -> Source:
    rng = random.Random(seed)
    samples = ConfigSamples(
        "Pixel 6", *CID, latency_ms=_noisy(5.0, 10, rng),
        energy_mj=_noisy(energy, 10, rng) if with_energy else (),
    )  # fmt: skip
    return Source(name, "run", (name,), None, "complete", {"Pixel 6": DeviceContext()},
                  {"Pixel 6": {CID: samples}})  # fmt: skip


def test_a_ten_percent_energy_regression_fails_the_gate_with_latency_unchanged() -> None:
    comparison = compare_runs(_source("base", 2.0, 1), _source("cur", 2.2, 2))
    latency, energy = comparison.rows
    assert (latency.quantity, latency.verdict) == ("latency", "unchanged")
    assert (energy.quantity, energy.verdict, energy.unit) == ("energy", "regression", "mJ")
    assert "more energy by" in energy.reason and "slower" not in energy.reason
    assert comparison.exit_code == 1 and comparison.energy_threshold == 0.05
    xml = junit_xml(comparison).decode()
    assert 'name="mobilenet_v2_0.35_96|fp32|t1|big|xnnpack=default|energy"' in xml
    assert "more energy:" in xml and 'name="energy_threshold" value="5%"' in xml
    markdown = render_markdown(comparison)
    assert "energy (mJ/inference)" in markdown and "against 5%" in markdown
    # A threshold above the change: no longer a regression.
    loose = compare_runs(_source("base", 2.0, 1), _source("cur", 2.2, 2), energy_threshold=0.2)
    assert loose.rows[1].verdict == "unchanged" and loose.exit_code == 0


def test_no_energy_row_unless_both_sides_read_energy() -> None:
    comparison = compare_runs(_source("base", 2.0, 1, with_energy=False), _source("cur", 2.2, 2))
    assert [r.quantity for r in comparison.rows] == ["latency"]
    assert "energy" not in render_markdown(comparison)


def test_a_baseline_keeps_energy_and_one_without_it_reads_as_before(tmp_path: Path) -> None:
    samples = _source("base", 2.0, 1).configs["Pixel 6"][CID]
    stored = samples.to_dict()
    assert _config_from_dict(stored, tmp_path, 0).energy_mj == samples.energy_mj
    plain = _source("base", 2.0, 1, with_energy=False).configs["Pixel 6"][CID].to_dict()
    assert "energy_mj" not in plain and _config_from_dict(plain, tmp_path, 0).energy_mj == ()


def test_ab_pairs_judge_energy_too() -> None:
    rng = random.Random(3)
    a = [ArmTrial(i, "ok", 5.0, energy_mj=2.0 * (1 + rng.gauss(0, 0.01))) for i in range(8)]
    b = [ArmTrial(i, "ok", 5.0, energy_mj=2.4 * (1 + rng.gauss(0, 0.01))) for i in range(8)]
    row = as_energy(
        judge_pairs(CID, "Pixel 6", a, b, threshold=0.05, confidence=0.99, metric="energy",
                    labels=("base", "new"))
    )  # fmt: skip
    assert row.verdict == "regression" and row.quantity == "energy"
    assert row.ratio is not None and 1.15 < row.ratio < 1.25
