"""The report and summary by compute unit: the unit of each row, its delegation, the chart
across units, and the Pixel-1 column only beside the configuration it was measured in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lxml.html
import pandas as pd

from harness.report.render import build
from harness.results import RunStore, load, summarize
from harness.results.summary import is_paper_configuration

from .test_results_store import make_meta, make_record

V = "mobilenet_v2_1.0_224"


def _key(unit: str = "cpu", threads: int = 1, quant: str = "fp32", cores: str = "big") -> str:
    key = f"s|{V}|{quant}|t{threads}|{cores}|xnnpack=off"
    return key if unit == "cpu" else f"{key}|unit={unit}"


def _store(tmp_path: Path) -> RunStore:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-u"))
    rows: list[dict[str, Any]] = [
        {},
        {"threads": 4},
        {"cores": "little"},
        {"quant": "int8"},
        {"accelerator": "gpu", "delegation": "applied", "delegate": "GPU",
         "delegated_nodes": 65, "total_nodes": 65, "partitions": 1},
        {"accelerator": "nnapi", "delegation": "partial", "delegate": "NNAPI",
         "delegated_nodes": 63, "total_nodes": 65, "partitions": 2},
        {"accelerator": "nnapi:qti-dsp", "delegation": "fallback", "status": "fallback",
         "latency_ms": None, "delegate": "NNAPI", "delegated_nodes": 0, "total_nodes": 65},
    ]  # fmt: skip
    for i in range(2):
        for row in rows:
            key = _key(
                row.get("accelerator", "cpu"),
                row.get("threads", 1),
                row.get("quant", "fp32"),
                row.get("cores", "big"),
            )
            store.append(make_record("run-u", i, throttled=False, trial_id=f"{key}|{i}", **row))
    return store


def test_the_published_column_stands_only_beside_the_papers_configuration(
    tmp_path: Path,
) -> None:
    assert is_paper_configuration("fp32", 1, "big", "cpu")
    for other in (("int8", 1, "big", "cpu"), ("fp32", 4, "big", "cpu"),
                  ("fp32", 1, "little", "cpu"), ("fp32", 1, "big", "gpu")):  # fmt: skip
        assert not is_paper_configuration(*other)
    frame = summarize(load(_store(tmp_path).run_dir))
    published = frame[frame["published_ms"].notna()]
    assert list(published["config"]) == [f"{V}|fp32|t1|big|xnnpack=off"]
    assert published["ratio"].notna().all()
    assert frame[frame["published_ms"].isna()]["ratio"].isna().all()
    assert len(frame) == 7 and pd.isna(frame.set_index("threads").loc[4, "published_ms"])


def _table(html: str) -> list[dict[str, str]]:
    doc = lxml.html.fromstring(html)
    table = doc.xpath("//table[contains(@class, 'variants')]")[0]
    head = [th.text_content().strip() for th in table.xpath("./thead//th")]
    return [
        dict(zip(head, (td.text_content().strip() for td in tr.xpath("./td")), strict=True))
        for tr in table.xpath("./tbody/tr")
    ]


def test_the_report_says_each_rows_unit_and_delegation(tmp_path: Path) -> None:
    rendered = build(_store(tmp_path).run_dir, out=tmp_path / "report.html")
    html = rendered.path.read_text()
    rows = _table(html)
    assert {r["Unit"] for r in rows} == {"cpu", "gpu", "nnapi", "nnapi:qti-dsp"}
    by_unit = {r["Unit"]: r for r in rows if r["Quant"] == "fp32 t1 big xnnpack=off"}
    assert by_unit["gpu"]["Delegate"] == "GPU, 65 of 65 nodes"
    assert by_unit["nnapi"]["Delegate"] == "NNAPI, 63 of 65 nodes (partial)"
    assert by_unit["nnapi:qti-dsp"]["Delegate"].startswith("NNAPI, 0 of 65 nodes (fallback)")
    assert by_unit["nnapi:qti-dsp"]["Status"].startswith("fallback")
    # The Pixel-1 figure: only in the row of the configuration it was measured in.
    shown = [r for r in rows if r["Pixel 1 ms"] not in ("–", "")]
    assert [(r["Unit"], r["Quant"]) for r in shown] == [("cpu", "fp32 t1 big xnnpack=off")]
    doc = lxml.html.fromstring(html)
    chart = doc.xpath("//figure[@data-chart='dev1-units']")
    title = chart[0].xpath("./h4")[0].text_content()
    assert title.startswith("Each model on each compute unit")
    # One bar per unit that ran: cpu, gpu and nnapi in each group that has them.
    assert chart[0].xpath(".//*[@class='marks']")
    # The unit that fell back has no bar: its status stands in its place.
    assert "nnapi:qti-dsp: fallback" in html


def test_a_cpu_only_report_has_no_unit_column_nor_units_chart(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-c"))
    for i in range(2):
        store.append(make_record("run-c", i, throttled=False))
    html = build(store.run_dir, out=tmp_path / "report.html").path.read_text()
    assert "Unit" not in _table(html)[0]
    assert "Each model on each compute unit" not in html
