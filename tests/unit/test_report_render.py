"""The HTML report from run folders written by harness.results.RunStore.

The HTML is parsed with lxml, so the assertions are about the document a
browser builds, not about substrings that could appear by accident.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import lxml.html
import pytest

from harness.errors import ResultsError, SchemaVersionError
from harness.report import render
from harness.report.render import build, json_for_script
from harness.results.meta import RunMeta
from tests.support.sample import SampleSpec, write_sample_run

SELECTION = "v2:0.35_*,v2:1.0_224"  # 6 variants: small, but both ends of the table
XSS = "<img src=x onerror=alert(1)>"
SCRIPT_BREAK = "</script><script>alert(2)</script>"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {
        "clean": write_sample_run(
            root,
            SampleSpec(
                variants=SELECTION,
                trials=3,
                run_id="clean",
                cv=0.005,
                binary_kind="official",
                device={"emulated": False},
                settings={"op_profile": True},
            ),
        ),
        "troubled": write_sample_run(
            root,
            SampleSpec(
                variants=SELECTION,
                trials=4,
                run_id="troubled",
                seed=3,
                failing=["mobilenet_v2_1.0_224"],
                throttled=["mobilenet_v2_0.35_96"],
                noisy=["mobilenet_v2_0.35_128"],
                battery_level=12,
                settings={"op_profile": True},
                profile_error="op profiling is not available in the stand-in",
                device={
                    "model": f"Pixel {XSS}",
                    "fingerprint": f"google/{SCRIPT_BREAK}",
                    "serial": "emulator-5554",
                    "warnings": [
                        "screen is on: UI work competes for the CPUs; turn the screen off"
                    ],
                },
            ),
        ),
        "slower": write_sample_run(
            root,
            SampleSpec(
                variants=SELECTION,
                trials=3,
                run_id="slower",
                seed=5,
                cv=0.005,
                binary_kind="official",
                device={"emulated": False},
                slower={"mobilenet_v2_0.35_224": 1.3},
            ),
        ),
    }


def _doc(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_text("utf-8"))


def C(name: str) -> str:  # short: it sits inside many XPath strings
    """XPath predicate: the element has class `name`."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def find(node: lxml.html.HtmlElement, xpath: str) -> list[lxml.html.HtmlElement]:
    return list(node.xpath(xpath))


SECTION_WARNINGS = f"//section[{C('device')}]//ul[{C('warnings')}]/li"
PAGE_WARNINGS = f"//header//ul[{C('warnings')}]/li"


@pytest.fixture(scope="module")
def troubled_html(runs: dict[str, Path]) -> Path:
    return render([runs["troubled"]])


@pytest.fixture(scope="module")
def clean_html(runs: dict[str, Path]) -> Path:
    return render([runs["clean"]])


def test_default_output_is_report_html_in_the_run_folder(
    clean_html: Path, runs: dict[str, Path]
) -> None:
    assert clean_html == runs["clean"] / "report.html"


def test_one_table_row_per_measured_configuration(clean_html: Path) -> None:
    doc = _doc(clean_html)
    rows = find(doc, f"//table[{C('variants')}]/tbody/tr")
    variants = [r.findall("td")[0].text_content() for r in rows]
    assert variants == [  # the published table's order
        "mobilenet_v2_1.0_224",
        "mobilenet_v2_0.35_224",
        "mobilenet_v2_0.35_192",
        "mobilenet_v2_0.35_160",
        "mobilenet_v2_0.35_128",
        "mobilenet_v2_0.35_96",
    ]
    first = [td.text_content().strip() for td in rows[0].findall("td")]
    assert first[2:6] == ["300", "3.47", "71.8", "73.8"]  # published MACs, params, top-1, Pixel 1
    assert first[8] == "3/3" and first[11] == "ok"


def test_header_names_device_binary_and_settings(clean_html: Path) -> None:
    text = _doc(clean_html).text_content()
    for expected in (
        "msm8996 / sailfish",
        "google/sailfish/sailfish:10",
        "official",
        "big: cpu 2, 3 (mask 0xc)",
        "Trials per variant",
        "Harness",
    ):
        assert expected in text


def test_a_real_phone_with_the_official_binary_has_no_banner(clean_html: Path) -> None:
    assert not find(_doc(clean_html), f"//*[{C('banner')}]")


def test_simulated_device_and_stand_in_binary_carry_banners(troubled_html: Path) -> None:
    banners = [b.text_content() for b in find(_doc(troubled_html), f"//*[{C('banner')}]")]
    assert len(banners) == 2
    assert all("not" in b and "phone" in b for b in banners)


def test_device_strings_are_text_not_markup(troubled_html: Path) -> None:
    raw = troubled_html.read_text("utf-8")
    doc = lxml.html.fromstring(raw)
    assert not find(doc, "//img")  # the payload did not become an element
    assert XSS not in raw  # nowhere unescaped, not even inside the data block
    assert f"Pixel {XSS}" in find(doc, "//h2")[0].text_content()  # shown as text
    assert f"google/{SCRIPT_BREAK}" in doc.text_content()
    scripts = find(doc, "//script")
    assert [s.get("type") for s in scripts] == ["application/json", None]  # nothing injected


def test_embedded_trial_data_round_trips_device_strings(troubled_html: Path) -> None:
    doc = _doc(troubled_html)
    data = json.loads(doc.get_element_by_id("trial-data").text)
    columns = data["columns"]
    models = {row[columns.index("device_model")] for row in data["rows"]}
    prints = {row[columns.index("device_fingerprint")] for row in data["rows"]}
    assert models == {f"Pixel {XSS}"}
    assert prints == {f"google/{SCRIPT_BREAK}"}
    assert len(data["rows"]) == 6 * 4


def test_json_for_script_leaves_no_tag_or_entity_characters() -> None:
    value = {"a": "</script><!-- & -->", "b": [1.5, None]}
    text = str(json_for_script(value))
    assert not set(text) & set("<>&")
    assert json.loads(text) == value


def test_the_only_script_that_may_run_is_pinned_by_hash(clean_html: Path) -> None:
    doc = _doc(clean_html)
    csp = find(doc, "//meta[@http-equiv='Content-Security-Policy']")[0].get("content")
    script = next(s for s in find(doc, "//script") if s.get("type") is None).text
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp
    assert csp.count("'unsafe-inline'") == 1 and "style-src 'unsafe-inline'" in csp  # styles only


def test_nothing_is_fetched_from_anywhere(clean_html: Path) -> None:
    raw = clean_html.read_text("utf-8")
    doc = lxml.html.fromstring(raw)
    assert not find(doc, "//link | //img | //iframe | //object | //embed | //script[@src]")
    assert not re.search(r"@import|@font-face|url\((?!#)", raw)
    assert not re.search(r'(?:src|href)="(?!#)', raw)


def test_every_chart_has_marks_and_ids_are_unique(clean_html: Path) -> None:
    raw = clean_html.read_text("utf-8")
    doc = lxml.html.fromstring(raw)
    figures = find(doc, f"//figure[{C('chart')}]")
    assert [f.get("data-chart") for f in figures] == [
        "dev1-pub",
        "dev1-macs",
        "dev1-acc",
        "dev1-dist",
    ]
    for figure in figures:
        assert find(figure, f".//*[{C('marks')}]")
    ids = re.findall(r'\bid="([^"]+)"', raw)
    assert len(ids) == len(set(ids))


def test_warnings_come_with_advice(troubled_html: Path, clean_html: Path) -> None:
    doc = _doc(troubled_html)
    titles = [w.findall("strong")[0].text_content() for w in find(doc, SECTION_WARNINGS)]
    assert titles == [
        "Failed variants",
        "Throttled or hot trials",
        "Noisy: trials disagree by 10% or more",
        "Low battery",
        "Device setup",
    ]
    for item in find(doc, SECTION_WARNINGS):
        assert "What to do:" in item.text_content()
    noisy = find(doc, f"//td[{C('status-noisy')}]")
    assert noisy and all(
        td.text_content() == "noisy" and "do not trust" in td.get("title", "") for td in noisy
    )
    assert "Do not trust their median" in doc.text_content()
    assert "Segmentation fault" in doc.text_content()
    assert not find(_doc(clean_html), SECTION_WARNINGS)


def test_summary_figures_count_failures_and_throttling(troubled_html: Path) -> None:
    figures = {
        find(li, f".//*[{C('label')}]")[0].text_content(): find(li, f".//*[{C('value')}]")[
            0
        ].text_content()
        for li in find(_doc(troubled_html), f"//ul[{C('figures')}]/li")
    }
    assert figures["Variants measured"] == "5 of 6"
    assert figures["Failures"] == "1 variant, 4 trials"
    assert figures["Throttled trials"] == "4"
    assert "Regressions" not in figures  # only with a baseline


def test_op_profile_breakdown_is_shown(clean_html: Path) -> None:
    doc = _doc(clean_html)
    tables = find(doc, f"//details[{C('ops')}]")
    assert len(tables) == 6
    first = [td.text_content() for td in find(tables[0], ".//tbody/tr")[0].findall("td")]
    assert first[0] == "CONV_2D" and first[1] == "36" and first[3] == "66.0%"


def test_failed_op_profiling_says_why(troubled_html: Path) -> None:
    doc = _doc(troubled_html)
    assert not find(doc, f"//details[{C('ops')}]")
    assert "Profiling reported: op profiling is not available in the stand-in" in doc.text_content()


def test_baseline_section_marks_the_slower_variant(runs: dict[str, Path], tmp_path: Path) -> None:
    result = build([runs["slower"]], baseline=runs["clean"], out=tmp_path / "b.html")
    doc = _doc(result.path)
    verdicts = {
        tr.findall("td")[0].text_content(): tr.findall("td")[-1].text_content()
        for tr in find(doc, f"//table[{C('baseline')}]/tbody/tr")
    }
    assert len(verdicts) == 6
    assert verdicts["mobilenet_v2_0.35_224"] == "regression"
    assert list(verdicts.values()).count("regression") == 1
    chart = find(doc, "//figure[@data-chart='dev1-base']")[0]
    assert find(chart, f".//*[{C('marks')}]")
    assert result.to_dict()["sections"][0]["regressions"] == 1


def test_several_runs_get_a_section_each_and_a_selector(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    result = build([runs["clean"], runs["troubled"]], out=tmp_path / "two.html")
    doc = _doc(result.path)
    sections = find(doc, f"//section[{C('device')}]")
    assert [s.get("id") for s in sections] == ["dev1", "dev2"]
    options = [o.get("value") for o in find(doc, "//select[@id='device-select']/option")]
    assert options == ["", "dev1", "dev2"]
    page_warnings = [w.findall("strong")[0].text_content() for w in find(doc, PAGE_WARNINGS)]
    assert page_warnings == [
        "Settings differ between the runs in this report",
        "Different devices or builds",
    ]
    assert "benchmark binary" in find(doc, PAGE_WARNINGS)[0].text_content()


def test_mixed_thread_counts_are_told_apart(tmp_path: Path) -> None:
    run = write_sample_run(tmp_path, SampleSpec(variants="v2:0.35_96", trials=2, threads=(1, 4)))
    doc = _doc(render([run]))
    series = [tr.findall("td")[1].text_content() for tr in find(doc, "//table/tbody/tr")]
    assert series == ["fp32 t1 big xnnpack=default", "fp32 t4 big xnnpack=default"]
    assert "Threads</dt><dd>1, 4</dd>" in lxml.html.tostring(doc, encoding="unicode")


def test_a_missing_folder_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    with pytest.raises(ResultsError, match="no such run folder"):
        render([tmp_path / "absent"], out=out)
    assert not out.exists()


def test_a_run_without_trials_is_refused(tmp_path: Path) -> None:
    from harness.results import RunStore

    store = RunStore.create(
        tmp_path, RunMeta.from_dict({"run_id": "empty", "settings": {}, "devices": {}})
    )
    with pytest.raises(ResultsError, match="no trials"):
        render([store.run_dir], out=tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_an_unknown_schema_version_is_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "future"
    shutil.copytree(runs["clean"], copy)
    meta = json.loads((copy / "meta.json").read_text())
    (copy / "meta.json").write_text(json.dumps({**meta, "schema_version": 99}))
    with pytest.raises(SchemaVersionError):
        render([copy], out=tmp_path / "r.html")


def test_flagged_trials_are_named_next_to_their_figures(
    troubled_html: Path, clean_html: Path
) -> None:
    flagged = [s.text_content() for s in find(_doc(troubled_html), f"//span[{C('flagged')}]")]
    # The throttled variant's four trials, by index and reason, in its table row.
    assert flagged == ["flagged: #0 throttled; #1 throttled; #2 throttled; #3 throttled"]
    row = find(_doc(troubled_html), f"//span[{C('flagged')}]/ancestor::tr")[0]
    assert "0.35" in row.text_content() and "96" in row.text_content()
    assert find(_doc(clean_html), f"//span[{C('flagged')}]") == []
