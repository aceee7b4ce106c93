"""The report in a real headless browser: Debian's chromium driven by Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium. Every
console message, page error, network request and dialog is recorded, so the
checks below see what a reader's browser would do with the file.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.report import render
from harness.report.headless import CHROMIUM, CHROMIUM_ARGS
from tests.support.sample import SampleEnergy, SampleSpec, write_sample_run

pytestmark = pytest.mark.browser

ARGS = list(CHROMIUM_ARGS)
SELECTION = "v2:0.35_*,v2:0.5_224,v2:1.0_224"  # 7 variants
XSS = "<img src=x onerror=alert(1)>"

if shutil.which(CHROMIUM) is None:  # pragma: no cover - scripts/setup-system.sh installs it
    # On a developer's machine without chromium the browser tests are skipped with
    # the reason; in CI (CI=true) a missing browser is a broken setup, so it fails.
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/setup-system.sh")
    pytest.skip(
        "Debian's chromium is not installed (sh scripts/setup-system.sh)", allow_module_level=True
    )
from playwright import sync_api  # noqa: E402  (after the browser check above)


@dataclass
class Visit:
    """One page load and everything the browser reported during it."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("browser-runs")
    main = write_sample_run(
        root,
        SampleSpec(variants=SELECTION, trials=4, run_id="main", failing=["mobilenet_v2_0.5_224"]),
    )
    other = write_sample_run(
        root,
        SampleSpec(
            variants=SELECTION,
            trials=3,
            run_id="other",
            seed=2,
            device={
                "model": f"Pixel {XSS}",
                "fingerprint": f"x/</script>{XSS}",
                "serial": "emulator-5554",
            },
        ),
    )
    return {
        "main": render([main], baseline=other, out=root / "main.html"),
        "two": render([main, other], out=root / "two.html"),
        "xss": render([other], out=root / "xss.html"),
    }


def visit(browser: Any, path: Path, **context: Any) -> Iterator[Visit]:
    ctx = browser.new_context(accept_downloads=True, **context)
    page = ctx.new_page()
    v = Visit(page=page, url=path.resolve().as_uri())
    page.on("request", lambda r: v.requests.append(r.url))
    page.on("console", lambda m: v.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: v.console_errors.append(str(e)))
    page.on("dialog", lambda d: (v.dialogs.append(d.message), d.dismiss()))
    page.goto(v.url, wait_until="load")
    yield v
    ctx.close()


@pytest.fixture
def main_page(browser: Any, reports: dict[str, Path]) -> Iterator[Visit]:
    yield from visit(browser, reports["main"], viewport={"width": 1280, "height": 900})


def _column(page: Any, table: str, index: int) -> list[str]:
    return page.eval_on_selector_all(
        f"{table} tbody tr",
        f"rows => rows.map(r => r.cells[{index}].getAttribute('data-value') "
        f"?? r.cells[{index}].textContent.trim())",
    )


def test_loads_with_no_error_and_no_request_but_itself(
    main_page: Visit, artifacts_dir: Path
) -> None:
    page = main_page.page
    main_page.page.screenshot(path=str(artifacts_dir / "report.png"), full_page=True)
    assert main_page.requests == [main_page.url]
    assert main_page.console_errors == []
    assert page.locator("table.variants tbody tr").count() == 7
    assert page.locator(".banner").count() == 2


def test_every_chart_has_rendered_marks(main_page: Visit) -> None:
    charts = main_page.page.eval_on_selector_all(
        "figure.chart",
        """figures => figures.map(f => {
        const marks = Array.from(f.querySelectorAll('.marks'));
        const shapes = marks.flatMap(m => Array.from(m.querySelectorAll('use, path')));
        const drawn = shapes.filter(s => { const b = s.getBoundingClientRect();
                                           return b.width > 0 || b.height > 0; });
        return [f.dataset.chart, marks.length, drawn.length];
    })""",
    )
    names = [c[0] for c in charts]
    assert names == ["dev1-pub", "dev1-macs", "dev1-acc", "dev1-dist", "dev1-base"]
    for name, groups, drawn in charts:
        assert groups >= 1 and drawn >= 3, name  # at least a few visible marks per chart


def test_sorting_by_a_column_and_back(main_page: Visit) -> None:
    page = main_page.page
    header = page.locator("table.variants thead th", has_text="Median ms").locator("button")
    header.click()
    medians = [float(x) for x in _column(page, "table.variants", 6) if x]
    assert medians == sorted(medians) and len(medians) == 6
    assert _column(page, "table.variants", 6)[-1] == ""  # the failed variant: no median, last
    header.click()
    again = [float(x) for x in _column(page, "table.variants", 6) if x]
    assert again == sorted(medians, reverse=True)
    assert (
        page.locator("table.variants thead th", has_text="Median ms").get_attribute("aria-sort")
        == "descending"
    )
    page.locator("table.variants thead th", has_text="Variant").locator("button").click()
    names = _column(page, "table.variants", 0)
    assert names == sorted(names)


def test_csv_download_holds_every_trial(main_page: Visit, tmp_path: Path) -> None:
    page = main_page.page
    with page.expect_download() as info:
        page.locator("button.download").first.click()
    target = tmp_path / "t.csv"
    info.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8"))))
    assert len(rows) == 7 * 4
    assert {r["section"] for r in rows} == {"main|127.0.0.1:5555"}
    assert sum(1 for r in rows if r["status"] == "crashed") == 4
    assert main_page.console_errors == []


def test_device_selector_shows_one_section(browser: Any, reports: dict[str, Path]) -> None:
    for v in visit(browser, reports["two"]):
        page = v.page
        assert page.locator("section.device").count() == 2
        page.select_option("#device-select", "dev2")
        assert page.locator("#dev1").is_hidden() and page.locator("#dev2").is_visible()
        page.select_option("#device-select", "")
        assert page.locator("#dev1").is_visible()
        assert v.console_errors == [] and v.requests == [v.url]


def test_html_in_device_strings_shows_as_text_and_nothing_runs(
    browser: Any, reports: dict[str, Path]
) -> None:
    for v in visit(browser, reports["xss"]):
        page = v.page
        page.wait_for_timeout(300)  # give an injected handler the chance to fire
        assert v.dialogs == []
        assert page.locator("img").count() == 0
        assert page.locator("h2").first.inner_text() == f"Pixel {XSS} (simulated)"
        assert f"x/</script>{XSS}" in page.locator("section.device").inner_text()
        assert v.console_errors == [] and v.requests == [v.url]


def test_readable_on_a_phone_screen_and_in_print(browser: Any, reports: dict[str, Path]) -> None:
    for v in visit(browser, reports["main"], viewport={"width": 390, "height": 844}):
        page = v.page
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0  # wide tables scroll inside their own box, not the page
        page.emulate_media(media="print")
        assert page.locator("button.download").first.is_hidden()


@pytest.fixture(scope="module")
def energy_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser-energy")
    rails = {"S2M_VDD_CPUCL2": "CPU(BIG)", f"S5M_{XSS}": f"INT </script>{XSS}"}
    energy = SampleEnergy(rails=rails, missing=["mobilenet_v2_0.35_96"])
    spec = SampleSpec(variants=SELECTION, trials=3, run_id="energy", energy=energy)
    return render([write_sample_run(root, spec)], out=root / "energy.html")


def test_energy_column_chart_and_rails_in_the_browser(
    browser: Any, energy_report: Path, artifacts_dir: Path
) -> None:
    for v in visit(browser, energy_report, viewport={"width": 1280, "height": 900}):
        page = v.page
        page.wait_for_timeout(300)  # give an injected handler the chance to fire
        page.screenshot(path=str(artifacts_dir / "report-energy.png"), full_page=True)
        assert v.console_errors == [] and v.requests == [v.url] and v.dialogs == []
        assert page.locator("img").count() == 0
        # The chart's marks are drawn, not merely present.
        drawn = page.eval_on_selector(
            "figure[data-chart='dev1-energy']",
            """f => Array.from(f.querySelectorAll('.marks use, .marks path'))
                 .filter(s => { const b = s.getBoundingClientRect();
                                return b.width > 0 || b.height > 0; }).length""",
        )
        assert drawn >= 6
        # Sorting by energy per inference: measured ones in order, the one without last.
        heads = page.locator("table.variants thead th").all_inner_texts()
        at = [h.strip() for h in heads].index("mJ / inference")
        page.locator("table.variants thead th", has_text="mJ / inference").locator("button").click()
        values = _column(page, "table.variants", at)
        measured = [float(x) for x in values if x]
        assert measured == sorted(measured) and len(measured) == 6 and values[-1] == ""
        rails = page.locator("table.rails tbody tr").all_inner_texts()
        assert [r.split("\t")[:2] for r in rails] == [
            ["S2M_VDD_CPUCL2", "CPU(BIG)"],
            [f"S5M_{XSS}", f"INT </script>{XSS}"],
        ]
