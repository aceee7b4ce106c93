"""What a stakeholder reads, in Debian's chromium: honest wording, the History, the PDF.

The run folders are synthetic (tests.support.sample writes them through
RunStore, as `harness run` would): the history is six runs of the simulated
Pixel a day apart whose latency is 25% higher from the fourth run on, which is
what `harness sim serve --slowdown` from the fourth run would give, without
six slow real measurements. The PDF is printed by `harness report --pdf` and
read back with poppler's pdfinfo / pdftotext.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.report import render
from harness.report.headless import CHROMIUM, CHROMIUM_ARGS
from tests.support.sample import SampleSpec, write_sample_run

pytestmark = pytest.mark.browser

SELECTION = "v2:1.0_224,v2:1.0_96,v2:0.35_224"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
PHONE_CLAIM = "measured on Android phones with TFLite's benchmark_model"

for tool in (CHROMIUM, "pdftotext", "pdfinfo"):  # pragma: no cover - setup-system.sh installs them
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            raise RuntimeError(f"{tool} is missing: run scripts/setup-system.sh")
        pytest.skip(
            f"{tool} is not installed (sh scripts/setup-system.sh)", allow_module_level=True
        )
from playwright import sync_api  # noqa: E402  (after the browser check above)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield b
        b.close()


@pytest.fixture(scope="module")
def history_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("history")
    runs = []
    for i in range(6):
        run = write_sample_run(
            root,
            SampleSpec(
                variants=SELECTION,
                trials=3,
                cv=0.01,
                seed=i,
                run_id=f"r{i + 1}",
                label=f"v1.{i}",
                created_at=T0 + timedelta(days=i),
                factor=1.25 if i >= 3 else 1.0,  # slowed from the fourth run on
            ),
        )
        runs.append(run)
    return runs


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    assert errors == []
    ctx.close()


def _open(page: Any, path: Path) -> Any:
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page


def test_simulated_and_stand_in_runs_read_honestly(page: Any, tmp_path: Path) -> None:
    sim = write_sample_run(tmp_path, SampleSpec(variants=SELECTION, trials=2, run_id="sim"))
    phone = write_sample_run(
        tmp_path,
        SampleSpec(
            variants=SELECTION,
            trials=2,
            run_id="phone",
            binary_kind="official",
            device={"emulated": False, "model": "Pixel 8", "serial": "p8"},
        ),
    )
    text = _open(page, render([sim], out=tmp_path / "sim.html")).locator("body").inner_text()
    assert "benchmark_model, beside" not in text and PHONE_CLAIM not in text
    assert page.locator("h2").first.inner_text() == "Pixel (simulated)"
    cards = page.locator(".facts h3").all_inner_texts()
    assert cards[:2] == ["Device (simulated)", "Benchmark binary (stand-in)"]
    ratio = page.locator(".figures li", has_text="Pixel 1").inner_text()
    assert "not a phone figure" in ratio and "×" not in ratio
    for title in page.locator("figure.chart h4").all_inner_texts():
        assert "host numbers" in title

    text = _open(page, render([phone], out=tmp_path / "phone.html")).locator("body").inner_text()
    assert PHONE_CLAIM in text
    assert page.locator("h2").first.inner_text() == "Pixel 8"
    assert "×" in page.locator(".figures li", has_text="Median ratio to Pixel 1").inner_text()


def test_history_marks_the_step_at_the_fourth_run(
    page: Any, history_runs: list[Path], tmp_path: Path, artifacts_dir: Path
) -> None:
    _open(page, render(history_runs, out=tmp_path / "history.html"))
    page.locator("#history").screenshot(path=str(artifacts_dir / "report-history.png"))
    assert page.locator("#history h3").inner_text() == "Pixel (simulated): 6 runs"
    rows = page.locator("#history table.steps tbody tr")
    assert rows.count() == 3
    assert set(rows.locator("td:first-child").all_inner_texts()) == {"v1.3"}
    markers = page.eval_on_selector_all(
        "#history svg g[id*='-step-']",
        """gs => gs.map(g => { const b = g.querySelector('use').getBoundingClientRect();
                               return [b.x + b.width / 2, b.width,
                                       g.querySelector(':scope > title').textContent]; })""",
    )
    assert len(markers) == 3
    for _x, width, title in markers:
        assert width > 0 and "from v1.3" in title and "→" in title
    ticks = page.eval_on_selector_all(
        "#history svg text",
        "ts => Object.fromEntries(ts.map(t => [t.textContent.trim(), "
        "t.getBoundingClientRect().right]))",
    )
    # Tick labels are rotated and end at their tick: the steps sit at the fourth run's tick.
    for x, _, _ in markers:
        assert ticks["v1.2"] < x < ticks["v1.4"] and abs(x - ticks["v1.3"]) < 12
    assert page.locator("section.device").count() == 1  # only the newest run in full


def _pages(pdf: Path) -> list[str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    count = int(next(ln.split()[1] for ln in info.stdout.splitlines() if ln.startswith("Pages:")))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == count
    return pages[:count]


def test_pdf_keeps_charts_whole_and_starts_each_device_on_a_page(
    history_runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = write_sample_run(
        tmp_path,
        SampleSpec(variants=SELECTION, trials=2, run_id="p8", device={"model": "Pixel 8"}),
    )
    pdf = tmp_path / "out" / "report.pdf"
    code = main(
        [
            "report",
            *map(str, history_runs),
            str(other),
            "-o",
            str(tmp_path / "r.html"),
            "--pdf",
            str(pdf),
            "--json",
        ]
    )
    assert code == 0 and f"wrote {pdf}" in capsys.readouterr().err
    pages = _pages(pdf)
    assert 4 <= len(pages) <= 14
    flat = [" ".join(p.split()) for p in pages]
    assert "History" in flat[0] and "Pixel (simulated): 6 runs" in flat[0]
    assert not any(PHONE_CLAIM in p for p in flat)
    # Each device section starts a page: its heading is the first line of some page.
    firsts = [p.strip().splitlines()[0].strip() for p in pages if p.strip()]
    assert "Pixel (simulated)" in firsts and "Pixel 8 (simulated)" in firsts
    # A chart is never split: its title and its caption are on the same page.
    for title, caption in (
        ("Median latency per run", "The median of each configuration"),
        ("Measured vs published latency", "Each point is one configuration"),
        ("Per-trial latency distributions", "Each dot is one trial"),
    ):
        holding = [p for p in flat if title in p]
        assert holding and all(caption in p for p in holding), title
    # And the steps table is whole: its three rows on one page.
    steps = [p for p in flat if "How sure" in p]
    assert len(steps) == 1 and steps[0].count("v1.3") >= 3
