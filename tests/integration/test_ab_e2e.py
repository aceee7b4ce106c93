"""An A/B run end to end on the simulated Pixel 1: two model folders, ABBA order, `check --ab`.

The device runs in its deterministic mode (docs/sim.md "Synthetic latencies"),
so the verdicts depend on the seed and the slowdown fault, not on the host's
load. Both arms hold the same tiny model (tests/data/convert), under the two
names an arm folder accepts; the slowdown fault matches only the candidate's
file name on the device, so the candidate is 1.25x slower there.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from lxml import etree

from harness.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANT = "mobilenet_v2_0.35_96"
TINY = Path(__file__).resolve().parents[1] / "data" / "convert" / "tiny_fp32.tflite"
XSD = Path(__file__).resolve().parents[1] / "data" / "junit.xsd"


def _ab_run(
    serial: str, base: Path, cand: Path, out: Path, seed: int, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, str]:
    """`harness run` with arms base and cand (4 trials each): the run folder, and stderr."""
    code = main(["run", "--device", serial, "--variants", VARIANT, "--trials", "4",
                 "--runs", "10", "--warmup", "1", "--cooldown-temp", "0", "--seed", str(seed),
                 "--arm-models", f"base={base}", "--arm-models", f"cand={cand}",
                 "--out", str(out), "--no-report", "--json"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    return Path(json.loads(captured.out)["run_dir"]), captured.err


def test_ab_run_interleaves_records_arms_and_check_ab_gates(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = tmp_path / "base", tmp_path / "cand"
    base.mkdir()
    cand.mkdir()
    shutil.copyfile(TINY, base / f"{VARIANT}.tflite")
    shutil.copyfile(TINY, cand / f"{VARIANT}-fp32.tflite")
    sim = make_sim(
        faults={"synthetic": 5, "slowdown": {"factor": 1.25, "models": f"*{VARIANT}-fp32.tflite"}}
    )
    run_dir, err = _ab_run(sim.serial, base, cand, tmp_path / "runs", 3, capsys)
    records = [json.loads(x) for x in (run_dir / "trials.jsonl").read_text().splitlines()]
    records.sort(key=lambda r: r["order_index"])
    arms = [r["arm"] for r in records]
    assert sorted(arms) == ["base"] * 4 + ["cand"] * 4
    assert "".join(a[0] for a in arms) in ("bccbcbbc", "cbbcbccb")  # ABBA, BAAB
    assert all(r["status"] == "ok" for r in records)
    assert len({r["trial_id"] for r in records}) == 8
    meta = json.loads((run_dir / "meta.json").read_text())
    assert [a["label"] for a in meta["settings"]["arms"]] == ["base", "cand"]
    assert meta["arms"]["cand"]["models"][f"{VARIANT}|fp32"]["input_shape"] == [1, 8, 8, 3]
    assert "[cand]" in err  # progress lines name the arm

    junit, markdown = tmp_path / "ab.xml", tmp_path / "ab.md"
    code = main(
        [
            "check",
            "--ab",
            str(run_dir),
            "--json",
            "--junit",
            str(junit),
            "--markdown",
            str(markdown),
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 1, doc
    (row,) = doc["rows"]
    assert row["verdict"] == "regression", row
    assert 1.18 < row["ratio"] < 1.32, row
    assert row["n_current"] == 4 and doc["baseline"]["source"].endswith("arm base")
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.parse(str(junit)))
    assert "regression" in markdown.read_text()

    # The other way round the same pairs read as an improvement, which does not fail the gate.
    assert main(["check", "--ab", str(run_dir), "--a", "cand", "--b", "base"]) == 0
    table = capsys.readouterr().out
    assert "improvement" in table and "-2" in table  # about -20%

    # The report shows both arms, the ratio B/A with its interval, and the trials by arm.
    report = tmp_path / "ab.html"
    assert main(["report", str(run_dir), "-o", str(report)]) == 0
    capsys.readouterr()
    html = report.read_text()
    assert "A/B: arm cand against arm base" in html
    section = html.split("A/B: arm cand against arm base")[1].split("</table>")[0]
    assert f"{(row['ratio'] - 1) * 100:+.1f}%" in section and "regression" in section
    chart = html.split("Trials by arm, in run order", 1)[1].split("</svg>", 1)[0].lower()
    assert "#0072b2" in chart and "#e69f00" in chart  # one colour per arm

    # Resumed, an A/B run continues its arms, and refuses an arm whose model changed.
    lines = (run_dir / "trials.jsonl").read_text().splitlines(keepends=True)
    (run_dir / "trials.jsonl").write_text("".join(lines[:3]))
    shutil.copyfile(TINY.with_name("tiny_int8.tflite"), cand / f"{VARIANT}-fp32.tflite")
    resume = ["run", "--resume", str(run_dir), "--device", sim.serial, "--no-report"]
    assert main(resume) == 2
    assert "arm cand: model mobilenet_v2_0.35_96 (fp32) changed" in capsys.readouterr().err
    shutil.copyfile(TINY, cand / f"{VARIANT}-fp32.tflite")
    assert main(resume) == 0, capsys.readouterr().err[-2000:]
    capsys.readouterr()
    again = [json.loads(x) for x in (run_dir / "trials.jsonl").read_text().splitlines()]
    assert sorted((r["arm"], r["trial_index"]) for r in again) == sorted(
        (r["arm"], r["trial_index"]) for r in records
    )

    # The same model in both arms: no change.
    sim.faults.set_slowdown(1.0)
    same = str(_ab_run(sim.serial, base, cand, tmp_path / "runs", 4, capsys)[0])
    assert main(["check", "--ab", same, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["verdict"] in ("unchanged", "inconclusive") and 0.95 < row["ratio"] < 1.05, row


def test_ab_run_with_energy_reports_each_arms_energy(
    make_sim: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --energy, the report's A/B section has the arms' energy per inference side by
    side in a table of its own, judged as latency is, with each arm's figure its trials'."""
    base, cand = tmp_path / "base", tmp_path / "cand"
    base.mkdir()
    cand.mkdir()
    shutil.copyfile(TINY, base / f"{VARIANT}.tflite")
    shutil.copyfile(TINY, cand / f"{VARIANT}-fp32.tflite")
    sim = make_sim(profile="pixel6")
    code = main(["run", "--device", sim.serial, "--variants", VARIANT, "--trials", "2",
                 "--runs", "2000", "--warmup", "1", "--cooldown-temp", "0", "--seed", "5",
                 "--energy", "--arm-models", f"base={base}", "--arm-models", f"cand={cand}",
                 "--out", str(tmp_path / "runs"), "--no-report", "--json"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    run_dir = Path(json.loads(captured.out)["run_dir"])
    records = [json.loads(x) for x in (run_dir / "trials.jsonl").read_text().splitlines()]
    energy = {arm: sorted(r["energy_mj"] for r in records if r["arm"] == arm)
              for arm in ("base", "cand")}  # fmt: skip
    assert all(len(v) == 2 and all(x > 0 for x in v) for v in energy.values()), energy

    report = tmp_path / "ab.html"
    assert main(["report", str(run_dir), "-o", str(report)]) == 0
    capsys.readouterr()
    page = lxml.html.parse(str(report)).getroot()
    (table,) = page.xpath(
        '//table[contains(@class, "energy-changes")][contains(@class, "energy-arms")]'
    )
    heads = [th.text_content().strip() for th in table.xpath("./thead//th")]
    assert heads[2:4] == ["base mJ", "cand mJ"], heads
    (row,) = table.xpath("./tbody/tr")
    cells = [td.text_content().strip() for td in row.xpath("./td")]
    assert cells[:2] == [VARIANT, "fp32"], cells
    # Each arm's figure is the median of its trials' energy per inference.
    shown = [float(td.get("data-value")) for td in row.xpath("./td")[2:4]]
    for value, arm in zip(shown, ("base", "cand"), strict=True):
        assert value == pytest.approx(sum(energy[arm]) / 2, rel=1e-3), (value, energy[arm])
    assert cells[6] in ("unchanged", "inconclusive", "regression", "improvement"), cells
