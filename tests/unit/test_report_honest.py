"""Every line of the report says what the run really was, and charts say what they draw.

Synthetic run folders (tests.support.sample) of four kinds: a real phone with
TFLite's benchmark_model, the simulated device with the stand-in, a real phone
with the stand-in, and a mix of them in one report.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest

from harness.report.render import build
from tests.support.sample import SampleSpec, write_sample_run

SELECTION = "v2:0.35_96,v2:0.35_224,v2:1.0_96,v2:1.0_224"
PHONE = {"emulated": False}


def C(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("honest")
    return {
        "phone": write_sample_run(
            root,
            SampleSpec(
                variants=SELECTION, trials=2, run_id="phone", binary_kind="official", device=PHONE
            ),
        ),
        "sim": write_sample_run(root, SampleSpec(variants=SELECTION, trials=2, run_id="sim")),
        "standin": write_sample_run(
            root, SampleSpec(variants=SELECTION, trials=2, run_id="standin", device=PHONE)
        ),
    }


def _doc(run_dirs: list[Path], out: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(build(run_dirs, out=out).path.read_text("utf-8"))


def _figures(doc: lxml.html.HtmlElement) -> dict[str, str]:
    return {
        li.xpath(f".//*[{C('label')}]")[0].text_content(): li.xpath(f".//*[{C('value')}]")[
            0
        ].text_content()
        for li in doc.xpath(f"//ul[{C('figures')}]/li")
    }


def _lede(doc: lxml.html.HtmlElement) -> str:
    return " ".join(doc.xpath(f"//p[{C('lede')}]")[0].text_content().split())


def test_a_phone_with_benchmark_model_says_so_and_shows_its_ratio(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    doc = _doc([runs["phone"]], tmp_path / "r.html")
    assert _lede(doc).startswith(
        "MobileNet latency measured on Android phones with TFLite's benchmark_model, beside"
    )
    assert doc.xpath("//h2")[0].text_content() == "Pixel"
    assert _figures(doc)["Median ratio to Pixel 1"].endswith("×")
    assert "host" not in " ".join(h.text_content() for h in doc.xpath("//figure//h4"))


def test_the_simulated_device_with_the_stand_in_is_named_so_everywhere(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    doc = _doc([runs["sim"]], tmp_path / "r.html")
    lede = _lede(doc)
    assert "measured with TFLite's benchmark_model" not in lede
    assert "simulated device" in lede and "stand-in" in lede and "not phone numbers" in lede
    assert doc.xpath("//h2")[0].text_content() == "Pixel (simulated)"
    assert doc.xpath("//title")[0].text_content().endswith("Pixel (simulated)")
    cards = [h.text_content() for h in doc.xpath(f"//div[{C('facts')}]//h3")]
    assert cards == ["Device (simulated)", "Benchmark binary (stand-in)", "Settings"]
    facts = dict(
        zip(
            [dt.text_content() for dt in doc.xpath("//dt")],
            [dd.text_content() for dd in doc.xpath("//dd")],
            strict=True,
        )
    )
    assert facts["Model"] == "Google Pixel (simulated)"
    assert "not TFLite's benchmark_model" in facts["Kind"]
    figures = _figures(doc)
    assert "Median ratio to Pixel 1" not in figures  # no card invites the comparison
    (ratio,) = [k for k in figures if "Pixel 1" in k]
    assert "not a phone figure" in ratio and figures[ratio] == "–"
    headers = [th.text_content() for th in doc.xpath(f"//table[{C('variants')}]//th")]
    assert "Ratio (host)" in headers and "Ratio" not in headers
    assert not doc.xpath(f"//table[{C('variants')}]//td[{C('off')}]")  # nothing flagged vs Pixel 1
    for title in doc.xpath("//figure//h4"):
        assert "host numbers: simulated device, stand-in binary" in title.text_content()


def test_a_stand_in_on_a_phone_names_the_binary_but_not_a_simulation(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    doc = _doc([runs["standin"]], tmp_path / "r.html")
    lede = _lede(doc)
    assert "on Android phones with a stand-in for benchmark_model" in lede
    assert doc.xpath("//h2")[0].text_content() == "Pixel"
    assert "stand-in binary" in " ".join(_figures(doc))


def test_a_mixed_report_says_which_sections_hold_phone_numbers(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    doc = _doc([runs["phone"], runs["sim"]], tmp_path / "r.html")
    lede = _lede(doc)
    assert "on phones and on the harness's simulated device" in lede
    assert "Only sections without a banner hold phone numbers" in lede
    options = [o.text_content() for o in doc.xpath("//select/option")][1:]
    assert options[0].startswith("Pixel (") and options[1].startswith("Pixel (simulated) (")


def test_dates_are_readable_and_kept_on_one_line(runs: dict[str, Path], tmp_path: Path) -> None:
    doc = _doc([runs["phone"]], tmp_path / "r.html")
    started = doc.xpath("//dt[.='Started']/following-sibling::dd[1]")[0]
    assert "nowrap" in started.get("class")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", started.text_content())


def test_variants_are_ordered_by_size_everywhere(tmp_path: Path) -> None:
    run = write_sample_run(
        tmp_path,
        SampleSpec(
            variants="v2:1.0_96,v2:0.35_224,v2:1.0_224,v1:1.0_224,v2:1.0_128",
            quants=("int8", "fp32"),
            trials=2,
            settings={"op_profile": True},
        ),
    )
    doc = _doc([run], tmp_path / "r.html")
    rows = [
        (tr.findall("td")[0].text_content(), tr.findall("td")[1].text_content())
        for tr in doc.xpath(f"//table[{C('variants')}]/tbody/tr")
    ]
    assert rows == [
        ("mobilenet_v2_1.0_224", "fp32"),
        ("mobilenet_v2_1.0_224", "int8"),
        ("mobilenet_v1_1.0_224", "fp32"),
        ("mobilenet_v1_1.0_224", "int8"),
        ("mobilenet_v2_1.0_128", "fp32"),
        ("mobilenet_v2_1.0_128", "int8"),
        ("mobilenet_v2_1.0_96", "fp32"),
        ("mobilenet_v2_1.0_96", "int8"),
        ("mobilenet_v2_0.35_224", "fp32"),
        ("mobilenet_v2_0.35_224", "int8"),
    ]
    ops = [tuple(s.text_content().split()) for s in doc.xpath(f"//details[{C('ops')}]/summary")]
    assert ops == rows
    texts = doc.xpath("//figure[@data-chart='dev1-dist']//*[local-name()='text']")
    labels = [t.text_content() for t in texts if t.text_content().endswith(("fp32", "int8"))]
    # drawn bottom-up: the last tick label drawn is the top row
    assert labels[-1] == "v2_1.0_224 fp32" and labels[0] == "v2_0.35_224 int8"


def test_captions_and_legends_describe_what_is_drawn(tmp_path: Path) -> None:
    v2_only = write_sample_run(
        tmp_path, SampleSpec(variants="v2:0.35_96,v2:1.0_96,v2:1.0_224", trials=2, run_id="a")
    )
    doc = _doc([v2_only], tmp_path / "a.html")
    caption = {
        f.get("data-chart"): f.xpath("figcaption")[0].text_content() for f in doc.xpath("//figure")
    }
    assert "dashed" not in caption["dev1-macs"] and "MobileNetV1" not in caption["dev1-macs"]
    assert "Colour is the depth multiplier" in caption["dev1-pub"]
    assert "marker shape" not in caption["dev1-pub"]  # one quantization: no shape to read
    legend = " ".join(
        t.text_content()
        for t in doc.xpath("//figure[@data-chart='dev1-pub']//*[local-name()='text']")
    )
    assert "depth 1" in legend and "depth 0.35" in legend  # the colours the caption names

    both = write_sample_run(
        tmp_path,
        SampleSpec(variants="v2:1.0_96,v1:1.0_128", quants=("fp32", "int8"), trials=2, run_id="b"),
    )
    doc = _doc([both], tmp_path / "b.html")
    caption = {
        f.get("data-chart"): f.xpath("figcaption")[0].text_content() for f in doc.xpath("//figure")
    }
    assert "dashed: MobileNetV1" in caption["dev1-macs"]
    # The published column was measured in fp32: int8 rows have no point to draw there,
    # so the chart has one quantization and no marker shape to read.
    assert "marker shape" not in caption["dev1-pub"].lower()
    assert "olour" not in caption["dev1-pub"]  # one multiplier: one colour
