"""Synthetic latencies (the simulated device's deterministic mode) are labelled wherever read.

The stand-in's first line, stored as the binary's `version_line` in meta.json,
is what every reader goes by: the run's caveats, the report's banner, and
the check's context (never compared with measured latencies: see
test_check_compare.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.report import render
from harness.results import load_meta
from harness.stages.finish import caveats
from tests.support.synthetic import noisy_latencies, write_run

A = "mobilenet_v2_1.0_224"
DRAWN = (
    "INFO: harness benchmark_model stand-in 1.0 (LiteRT 1.2.0); not the official TFLite "
    "tool; SYNTHETIC latencies (seeded: seed=7 cv=0.02); times are drawn, not measured"
)


def test_run_caveats_and_report_banner_say_synthetic(tmp_path: Path) -> None:
    run = write_run(
        tmp_path / "syn", noisy_latencies([A], n=3, cv=0.02, seed=1), binary={"version_line": DRAWN}
    )
    notes = caveats(load_meta(run), [])
    assert any(n.startswith("synthetic latencies on FA6AE0301234") for n in notes), notes
    html = Path(render([run], out=tmp_path / "r.html")).read_text()
    assert "Synthetic latencies: the simulated device" in html


def test_measured_runs_carry_no_synthetic_label(tmp_path: Path) -> None:
    run = write_run(tmp_path / "real", noisy_latencies([A], n=3, cv=0.02, seed=1))
    assert not any("synthetic" in n for n in caveats(load_meta(run), []))
    html = Path(render([run], out=tmp_path / "r.html")).read_text()
    assert "Synthetic latencies" not in html


def test_the_mode_is_set_on_the_device_side(tmp_path: Path) -> None:
    # `harness sim serve --synthetic SEED` and `faults={"synthetic": ...}` both end in the
    # state file the device's benchmark_model reads; nothing in the harness under test changes.
    from harness.errors import SimulatorError
    from harness.sim import topology
    from harness.sim.faults import Faults
    from harness.sim.serve import fault_settings

    assert fault_settings(synthetic=5) == {"synthetic": 5}
    assert fault_settings() == {}
    (tmp_path / "state").mkdir()
    faults = Faults(tmp_path, topology.load(None))
    faults.apply({"synthetic": 5, "slowdown": {"factor": 1.25, "models": "*0.35_96-*"}})
    assert (tmp_path / "state" / "synthetic").read_text() == "seed=5 cv=0.02 run_cv=0.01\n"
    assert (tmp_path / "state" / "synthetic.count").read_text() == "{}"
    assert (tmp_path / "state" / "slowdown").read_text() == "1.25 *0.35_96-*\n"
    faults.apply({"synthetic": {"seed": 6, "cv": 0.05}})
    assert (tmp_path / "state" / "synthetic").read_text() == "seed=6 cv=0.05 run_cv=0.01\n"
    faults.set_synthetic(None)
    assert (tmp_path / "state" / "synthetic").read_text() == ""
    for bad in (
        {"synthetic": "x"},
        {"synthetic": {"seed": 1, "cv": 2.0}},
        {"slowdown": {"factor": 1.1, "models": "a b"}},
    ):
        with pytest.raises(SimulatorError):
            faults.apply(bad)
