"""Inline SVG from matplotlib: no prolog, no leaking style, ids unique per chart."""

from __future__ import annotations

import re

import pytest

from harness.report import charts, history_charts
from harness.report.model import VariantRow
from harness.report.svg import inline_svg

DOC = """<?xml version="1.0" encoding="utf-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="432pt" height="316.8pt"
 viewBox="0 0 432 316.8" xmlns="http://www.w3.org/2000/svg" version="1.1">
 <metadata><rdf:RDF>date</rdf:RDF></metadata>
 <defs><style type="text/css">*{stroke-linejoin: round}</style></defs>
 <g id="figure_1"><g id="marks-0"><use xlink:href="#m1" x="1" y="2"/></g>
 <g clip-path="url(#p1234)"><path id="m1" d="M 0 0"/></g></g>
</svg>
"""


def test_inline_svg_strips_document_parts_and_prefixes_every_id() -> None:
    svg = str(inline_svg(DOC, "dev1-pub", label="A <chart>"))
    assert svg.startswith("<svg ")
    for gone in ("<?xml", "<!DOCTYPE", "<metadata", "<style", 'width="432pt"', "*{"):
        assert gone not in svg
    assert 'aria-label="A &lt;chart&gt;"' in svg
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(i.startswith("dev1-pub-") for i in ids)
    assert 'xlink:href="#dev1-pub-m1"' in svg
    assert "url(#dev1-pub-p1234)" in svg
    assert '<g id="dev1-pub-marks-0" class="marks"' in svg


def test_hover_titles_are_escaped_text_in_their_own_group() -> None:
    svg = str(inline_svg(DOC, "h1", label="x", titles={"marks-0": "r<1> & <img src=x>"}))
    assert (
        '<g id="h1-marks-0" class="marks"><title>r&lt;1&gt; &amp; &lt;img src=x&gt;</title>' in svg
    )
    assert svg.count("<title>") == 1  # only the group named, not figure_1


@pytest.mark.parametrize("prefix", ["", "Dev1", "a b", 'x"y', "1abc"])
def test_inline_svg_refuses_a_prefix_that_is_not_a_plain_token(prefix: str) -> None:
    with pytest.raises(ValueError):
        inline_svg(DOC, prefix, label="x")


def _row(variant: str, median: float, published: float) -> VariantRow:
    return VariantRow(
        config=f"{variant}|fp32",
        variant=variant,
        family="v2",
        depth_multiplier=1.0,
        resolution=224,
        quant="fp32",
        macs_m=300.0,
        params_m=3.47,
        top1=71.8,
        published_ms=published,
        n_trials=3,
        n_ok=3,
        n_throttled=0,
        median_ms=median,
        p5_ms=median * 0.98,
        p95_ms=median * 1.02,
        cv=0.01,
        ratio=median / published,
        status="ok",
        trials_ms=(median * 0.98, median, median * 1.02),
    )


def test_two_real_charts_share_no_id_and_draw_marks() -> None:
    rows = [_row("mobilenet_v2_1.0_224", 80.0, 73.8), _row("mobilenet_v2_$x", 20.0, 19.7)]
    one = charts.measured_vs_published("dev1-pub", rows)
    two = charts.measured_vs_published("dev2-pub", rows)
    assert one is not None and two is not None
    ids_one = set(re.findall(r'\bid="([^"]+)"', str(one.svg)))
    ids_two = set(re.findall(r'\bid="([^"]+)"', str(two.svg)))
    assert ids_one and not ids_one & ids_two
    for chart in (one, two):
        refs = re.findall(r'(?:href="#|url\(#)([^")]+)', str(chart.svg))
        ids = ids_one if chart is one else ids_two
        assert refs and set(refs) <= ids  # every reference resolves inside its own chart
        assert 'class="marks"' in str(chart.svg)
        assert "font-face" not in str(chart.svg) and "@import" not in str(chart.svg)


def test_a_chart_with_nothing_to_draw_is_left_out() -> None:
    unmeasured = _row("mobilenet_v2_1.0_224", 80.0, 73.8)
    empty = VariantRow(**{**unmeasured.__dict__, "median_ms": None, "trials_ms": ()})
    assert charts.measured_vs_published("k", [empty]) is None
    assert charts.trial_distributions("k", [empty]) is None
    assert history_charts.baseline_changes("k", [], 0.05) is None
