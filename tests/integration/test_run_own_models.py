"""A model of the user's own, beside a catalogue variant, on the simulated Pixel 1.

The file (tests/data/convert's tiny model) is measured as a variant is: its
label is the configuration's variant, its quant `file`; meta.json keeps its
facts from our flatbuffer reader, its records its sha256, and nothing gives
it a published figure.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from harness.results.meta import OwnModelSpec
from harness.run import RunSettings, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANT = "mobilenet_v2_0.35_96"
TINY = Path(__file__).resolve().parents[1] / "data" / "convert" / "tiny_fp32.tflite"


def _sessions(sim: Any) -> list[Any]:
    from harness.device.select import connect

    return list(connect([sim.serial]))


def _settings(sim: Any, tmp_path: Path, variants: list[str]) -> RunSettings:
    return RunSettings(
        devices=[sim.serial], variants=variants, trials=1, runs=2, warmup=0, cooldown_temp_c=0,
        out=tmp_path, seed=5, report=False, own_models=[OwnModelSpec(label="tiny", path=str(TINY))],
    )  # fmt: skip


def test_own_model_beside_a_variant(sim: Any, tmp_path: Path) -> None:
    outcome = run(_settings(sim, tmp_path, [VARIANT]), sessions=_sessions(sim))

    assert outcome.status == "complete" and outcome.exit_code == 0
    lines = (outcome.run_dir / "trials.jsonl").read_text().splitlines()
    records = {r["variant"]: r for r in map(json.loads, lines)}
    assert set(records) == {VARIANT, "tiny"}
    own = records["tiny"]
    assert own["status"] == "ok" and own["quant"] == "file" and own["family"] == "own"
    assert own["trial_id"] == f"{sim.serial}|tiny|file|t1|big|xnnpack=default|0"
    assert own["model_sha256"] == hashlib.sha256(TINY.read_bytes()).hexdigest()
    meta = json.loads((outcome.run_dir / "meta.json").read_text())
    facts = meta["models"]["tiny|file"]
    assert facts["sha256"] == own["model_sha256"] and facts["path"] == str(TINY)
    assert facts["input_shape"] == [1, 8, 8, 3] and facts["ops"]
    assert meta["settings"]["own_models"] == [{"label": "tiny", "path": str(TINY)}]
    # The catalogue's model keeps only what it always had.
    assert set(meta["models"][f"{VARIANT}|fp32"]) == {
        "sha256",
        "size_bytes",
        "macs",
        "weight_params",
    }
    assert outcome.summary is not None
    rows = {r["variant"]: r for r in outcome.summary.to_dict(orient="records")}
    assert rows[VARIANT]["published_ms"] > 0
    assert rows["tiny"]["published_ms"] != rows["tiny"]["published_ms"]  # NaN: none published
    # The report: no Pixel-1 figure beside it, and its MACs are our reader's count.
    from harness.report.render import build

    html = build(outcome.run_dir, out=tmp_path / "report.html").path.read_text()
    doc = lxml.html.fromstring(html)
    table = doc.xpath("//table[contains(@class, 'variants')]")[0]
    head = [th.text_content().strip() for th in table.xpath("./thead//th")]
    cells = {
        tr.xpath("./td")[0].text_content(): dict(
            zip(head, (td.text_content().strip() for td in tr.xpath("./td")), strict=True)
        )
        for tr in table.xpath("./tbody/tr")
    }
    assert cells["tiny"]["Pixel 1 ms"] == "–" and cells[VARIANT]["Pixel 1 ms"] != "–"
    assert float(cells["tiny"]["MACs (M)"]) == pytest.approx(facts["macs"] / 1e6, rel=0.01)


def test_own_model_alone_converts_nothing(sim: Any, tmp_path: Path) -> None:
    said: list[str] = []
    outcome = run(_settings(sim, tmp_path, []), sessions=_sessions(sim), emit=said.append)

    assert outcome.status == "complete" and outcome.exit_code == 0, said
    assert not any(m.startswith("models:") for m in said)
    lines = (outcome.run_dir / "trials.jsonl").read_text().splitlines()
    assert [json.loads(x)["variant"] for x in lines] == ["tiny"]
