"""The History section over a series of run folders, and how runs are grouped into histories.

The series are synthetic run folders (tests.support.sample, through RunStore):
six runs of one simulated Pixel, a day apart, whose latency steps up by 25% from
the fourth run on. The steps themselves are `harness trend`'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from harness.report.history import how_sure
from harness.report.render import build
from tests.support.sample import SampleSpec, write_sample_run

SELECTION = "v2:1.0_224,v2:1.0_96,v2:0.35_224"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
XSS = "<img src=x onerror=alert(1)>"


def C(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def series(root: Path, n: int = 6, device: Mapping[str, Any] | None = None) -> list[Path]:
    """n runs a day apart; from the fourth on every configuration is 25% slower."""
    return [
        write_sample_run(
            root,
            SampleSpec(
                variants=SELECTION,
                trials=3,
                cv=0.01,
                seed=i,
                run_id=f"{root.name}-r{i + 1}",
                created_at=T0 + timedelta(days=i),
                factor=1.25 if i >= 3 else 1.0,
                device=device or {},
            ),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    runs = series(tmp_path_factory.mktemp("labelled"))
    for i, run in enumerate(runs):  # as `harness run --label` will store it
        meta = json.loads((run / "meta.json").read_text())
        meta["label"] = XSS if i == 0 else f"v1.{i}"
        (run / "meta.json").write_text(json.dumps(meta))
    return runs


def _doc(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_text("utf-8"))


def test_history_marks_the_step_from_the_fourth_run(labelled: list[Path], tmp_path: Path) -> None:
    result = build(list(reversed(labelled)), out=tmp_path / "r.html")  # order given: any
    doc = _doc(result.path)
    (history,) = doc.xpath("//section[@id='history']")
    assert history.xpath(".//h3")[0].text_content() == "Pixel (simulated): 6 runs"
    steps = [
        [td.text_content() for td in tr.findall("td")]
        for tr in history.xpath(f".//table[{C('steps')}]/tbody/tr")
    ]
    assert [s[1] for s in steps] == [  # by size, largest first
        "mobilenet_v2_1.0_224 fp32",
        "mobilenet_v2_1.0_96 fp32",
        "mobilenet_v2_0.35_224 fp32",
    ]
    for at, _, before, after, change, sure in steps:
        assert at == "v1.3"  # the fourth run's label
        assert 22.0 < float(change.rstrip("%")) < 28.0
        assert 1.2 < float(after) / float(before) < 1.3
        assert "3 runs before, 3 after" in sure
    runs = [
        tr.findall("td")[0].text_content()
        for tr in history.xpath(".//table[@class='runs']//tr[td]")
    ]
    assert runs == [XSS, "v1.1", "v1.2", "v1.3", "v1.4", "v1.5"]  # time order, label as text
    assert not doc.xpath("//img")


def test_each_step_explains_itself_on_hover(labelled: list[Path], tmp_path: Path) -> None:
    doc = _doc(build(labelled, out=tmp_path / "r.html").path)
    chart = doc.xpath("//section[@id='history']//figure")[0]
    titles = [t.text_content() for t in chart.xpath(".//*[local-name()='title']")]
    steps = [t for t in titles if "→" in t]
    assert len(steps) == 3
    assert steps[0].startswith("mobilenet_v2_1.0_224 fp32: ") and "from v1.3" in steps[0]
    assert all("run-to-run noise" in t for t in steps)
    marks = chart.xpath(f".//*[{C('marks')}]")
    assert len(marks) == 3  # one line per configuration


def test_only_the_newest_run_of_a_history_gets_a_full_section(
    labelled: list[Path], tmp_path: Path
) -> None:
    result = build(labelled, out=tmp_path / "r.html")
    (section,) = result.context.sections
    assert section.key.startswith("labelled") and section.key.split("|")[0].endswith("-r6")
    assert [h["runs"][-1] for h in result.to_dict()["history"]] == [section.key.split("|")[0]]


def test_runs_without_a_label_are_named_by_their_date(tmp_path: Path) -> None:
    doc = _doc(build(series(tmp_path / "dated", n=4), out=tmp_path / "r.html").path)
    labels = [
        tr.findall("td")[0].text_content() for tr in doc.xpath("//table[@class='runs']//tr[td]")
    ]
    assert labels == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]


def test_different_devices_never_share_a_line(tmp_path: Path) -> None:
    pixels = series(tmp_path / "pixel", n=3)
    others = series(tmp_path / "other", n=3, device={"model": "Pixel 8", "serial": "p8"})
    phones = series(tmp_path / "phone", n=3, device={"emulated": False})  # a real "Pixel"
    result = build([*pixels, *others, *phones], out=tmp_path / "r.html")
    histories = result.context.histories
    assert [h.device for h in histories] == ["Pixel (simulated)", "Pixel 8 (simulated)", "Pixel"]
    for h, runs in zip(histories, (pixels, others, phones), strict=True):
        assert [r.path for r in h.runs] == [str(r) for r in runs]
    assert len(result.context.sections) == 3  # the newest run of each


def test_a_single_run_has_no_history(tmp_path: Path) -> None:
    (run,) = series(tmp_path, n=1)
    doc = _doc(build([run], out=tmp_path / "r.html").path)
    assert not doc.xpath("//*[@id='history']")


def test_how_sure_weighs_the_step_against_the_noise() -> None:
    assert how_sure(1.25, 0.01, 3, 3).startswith("clear: 22×")
    assert how_sure(1.25, 0.05, 3, 3).startswith("likely: 4×")
    assert how_sure(1.06, 0.05, 3, 3).startswith("weak: 1×")
    assert how_sure(1.25, 0.01, 5, 1).startswith("unconfirmed")
