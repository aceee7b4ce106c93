"""The report's energy: a column, the energy-vs-latency chart, the rails table, warnings.

Run folders are written by tests/support/sample.py as `harness run --energy`
stores them (meta.json `energy`, the trials' `energy_*` fields); the HTML is
parsed with lxml, so the checks are about the document a browser builds.
"""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest

from harness.report import render
from harness.report.energy_charts import energy_vs_latency
from harness.report.render import build
from tests.support.sample import SampleEnergy, SampleSpec, write_sample_run

SELECTION = "v2:0.35_*,v2:1.0_224"  # 6 variants
XSS = "<img src=x onerror=alert(1)>"
RAILS = {"S2M_VDD_CPUCL2": "CPU(BIG)", f"S5M_{XSS}": f"INT </script>{XSS}"}


def _spec(run_id: str, energy: SampleEnergy | None, seed: int = 0) -> SampleSpec:
    return SampleSpec(variants=SELECTION, trials=4, run_id=run_id, seed=seed, cv=0.005,
                      energy=energy)  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("energy-runs")
    more = {"mobilenet_v2_1.0_224": 1.5}  # the same latency, half as much energy again
    return {
        "rails": write_sample_run(
            root, _spec("rails", SampleEnergy(rails=RAILS, missing=["mobilenet_v2_0.35_96"]))
        ),
        "base": write_sample_run(root, _spec("base", SampleEnergy(rails=RAILS), seed=1)),
        "more": write_sample_run(root, _spec("more", SampleEnergy(rails=RAILS, more=more), 2)),
        "biased": write_sample_run(
            root, _spec("biased", SampleEnergy("fuel_gauge", biased=True, power_mw=2500.0))
        ),
        "plain": write_sample_run(root, _spec("plain", None)),
    }


def _doc(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_text("utf-8"))


def C(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _table(doc: lxml.html.HtmlElement, name: str) -> tuple[list[str], list[list[str]]]:
    table = doc.xpath(f"//table[{C(name)}]")[0]
    heads = [th.text_content().strip() for th in table.xpath("./thead/tr/th")]
    rows = [
        [td.text_content().strip() for td in tr.findall("td")] for tr in table.xpath("./tbody/tr")
    ]
    return heads, rows


def test_an_energy_column_per_configuration_with_its_interval(runs: dict[str, Path]) -> None:
    doc = _doc(render([runs["rails"]]))
    heads, rows = _table(doc, "variants")
    at = heads.index("mJ / inference")
    assert heads[at + 1] == "Power mW" and heads[at - 1] == "p5–p95 ms"
    by_variant = {r[0]: r for r in rows}
    # 73.8 ms x 1500 mW: about 111 mJ per inference, its p5-p95 beside it.
    big = by_variant["mobilenet_v2_1.0_224"][at]
    assert big.split()[0] in {"109", "110", "111", "112", "113"} and "–" in big.split()[1]
    assert by_variant["mobilenet_v2_1.0_224"][at + 1] in {f"{p}" for p in range(1470, 1530)}
    assert by_variant["mobilenet_v2_0.35_96"][at] == "–"  # its trials gave no figure
    text = doc.text_content()
    assert "No energy figure" in text and "timed runs shorter than the meters' refresh" in text
    settings = doc.xpath("//dt[text()='Energy']/following-sibling::dd[1]")[0].text_content()
    assert settings.startswith("power rails (ODPM") and "2 rails" in settings


def test_the_rails_table_names_each_rail_and_what_it_feeds_as_text(runs: dict[str, Path]) -> None:
    out = render([runs["rails"]])
    raw = out.read_text("utf-8")
    doc = lxml.html.fromstring(raw)
    heads, rows = _table(doc, "rails")
    assert heads == ["Rail", "Feeds", "Share of the energy"]
    assert rows == [
        ["S2M_VDD_CPUCL2", "CPU(BIG)", "50.0%"],
        [f"S5M_{XSS}", f"INT </script>{XSS}", "50.0%"],
    ]
    assert not doc.xpath("//img") and XSS not in raw  # escaped everywhere, data block too
    assert [s.get("type") for s in doc.xpath("//script")] == ["application/json", None]
    data = json.loads(doc.get_element_by_id("trial-data").text)
    rail_mj = data["columns"].index("energy_rail_mj")
    assert any(XSS in (row[rail_mj] or "") for row in data["rows"])  # kept, as text
    assert "Read from power rails" in doc.xpath(f"//p[{C('energy-source')}]")[0].text_content()


def test_energy_against_latency_is_charted_with_accuracy_and_power_lines(
    runs: dict[str, Path],
) -> None:
    doc = _doc(render([runs["rails"]]))
    chart = doc.xpath("//figure[@data-chart='dev1-energy']")[0]
    assert chart.xpath(f".//*[{C('marks')}]")
    assert "Energy per inference vs latency" in chart.xpath(".//h4")[0].text_content()
    svg_text = " ".join(t.text_content() for t in chart.xpath(".//*[local-name()='text']"))
    assert "energy per inference (mJ)" in svg_text and "mW" in svg_text
    assert "top-1" in svg_text  # the accuracy legend: the paper's trade-off, energy added
    assert (
        "Colour is the published top-1 accuracy" in chart.xpath(".//figcaption")[0].text_content()
    )


def test_a_charger_biased_gauge_says_so_in_the_table_chart_and_warnings(
    runs: dict[str, Path],
) -> None:
    doc = _doc(render([runs["biased"]]))
    heads, rows = _table(doc, "variants")
    assert all(r[heads.index("mJ / inference")].endswith("(biased)") for r in rows)
    warning = doc.xpath(f"//ul[{C('warnings')}]/li[strong='Energy biased by a charger']")
    assert warning and "adb over Wi-Fi" in warning[0].text_content()
    assert not doc.xpath(f"//table[{C('rails')}]")  # the gauge: the whole phone, no rails
    assert "the battery's fuel gauge" in doc.xpath(f"//p[{C('energy-source')}]")[0].text_content()
    chart = doc.xpath("//figure[@data-chart='dev1-energy']")[0]
    assert "Biased" in chart.xpath(".//figcaption")[0].text_content()


def test_a_run_without_energy_shows_none_of_it(runs: dict[str, Path]) -> None:
    doc = _doc(render([runs["plain"]]))
    heads, _ = _table(doc, "variants")
    assert "mJ / inference" not in heads
    assert not doc.xpath("//figure[@data-chart='dev1-energy']")
    assert not doc.xpath(f"//p[{C('energy-source')}]") and not doc.xpath("//dt[text()='Energy']")


def test_energy_against_a_baseline_is_a_table_of_its_own(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    result = build([runs["more"]], baseline=runs["base"], out=tmp_path / "b.html")
    doc = _doc(result.path)
    _, latency = _table(doc, "baseline")
    assert len(latency) == 6  # one row per configuration: energy rows are not mixed in
    assert "regression" not in [r[-1] for r in latency]
    heads, energy = _table(doc, "energy-baseline")
    assert heads[2:4] == ["Baseline mJ", "Current mJ"]
    verdicts = {r[0]: r[-1] for r in energy}
    assert verdicts["mobilenet_v2_1.0_224"] == "regression"
    assert list(verdicts.values()).count("regression") == 1
    section = result.to_dict()["sections"][0]
    assert section["regressions"] == 0 and section["energy_regressions"] == 1
    assert section["energy_measured"] == 6
    figures = {
        li.xpath(".//span[@class='label']")[0].text: li
        for li in doc.xpath("//ul[@class='figures']/li")
    }
    assert figures["Energy regressions"].xpath(".//span[@class='value']")[0].text == "1"


def test_the_chart_needs_both_figures() -> None:
    assert energy_vs_latency("e", []) is None
