"""Synthetic latencies (the simulated device's deterministic mode) are labelled wherever read.

The stand-in's first line, stored as the binary's `version_line` in meta.json,
is what every reader goes by: the run's caveats, the report's banner, and
the check's context (never compared with measured latencies: see
test_check_compare.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.compare.synthetic import noisy_latencies, write_run
from harness.report import render
from harness.run import caveats

A = "mobilenet_v2_1.0_224"
DRAWN = ("INFO: harness benchmark_model stand-in 1.0 (LiteRT 1.2.0); not the official TFLite "
         "tool; SYNTHETIC latencies (seeded: seed=7 cv=0.02); times are drawn, not measured")


def test_run_caveats_and_report_banner_say_synthetic(tmp_path: Path) -> None:
    run = write_run(tmp_path / "syn", noisy_latencies([A], n=3, cv=0.02, seed=1),
                    binary={"version_line": DRAWN})
    meta = json.loads((run / "meta.json").read_text())
    notes = caveats(meta, [])
    assert any(n.startswith("synthetic latencies on FA6AE0301234") for n in notes), notes
    html = Path(render([run], out=tmp_path / "r.html")).read_text()
    assert "Synthetic latencies: the simulated device" in html


def test_measured_runs_carry_no_synthetic_label(tmp_path: Path) -> None:
    run = write_run(tmp_path / "real", noisy_latencies([A], n=3, cv=0.02, seed=1))
    meta = json.loads((run / "meta.json").read_text())
    assert not any("synthetic" in n for n in caveats(meta, []))
    html = Path(render([run], out=tmp_path / "r.html")).read_text()
    assert "Synthetic latencies" not in html
