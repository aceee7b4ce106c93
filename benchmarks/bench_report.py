"""How big is the report and how fast does it open? (targets: < 3 MB, < 2 s in chromium)

Writes synthetic run folders through harness.results.RunStore (the
tests.support.sample helper), renders the report, and opens it in Debian's
headless chromium. Prints, per case: the Python render time, the file size,
and the browser's time to the load event (Navigation Timing) and to the first
contentful paint, as the median of several loads. The history case is 100
runs of one device, a day apart, 22 variants each, slower from the fourth run.

    python benchmarks/bench_report.py [--loads 5] [--history-runs 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Run as `python benchmarks/bench_x.py`: the repository root comes first, so the
# harness and its test support (tests/support/: fabricated run folders,
# simulations) are imported from the same checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.report.headless import CHROMIUM, CHROMIUM_ARGS
from harness.report.render import build
from tests.support.sample import SampleSpec, write_sample_run

ARGS = list(CHROMIUM_ARGS)
TIMING_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return [nav.loadEventEnd, fcp ? fcp.startTime : null];
}"""


def history_runs(root: Path, n: int) -> list[Path]:
    """n runs of one device, a day apart, 22 variants x 10 trials; 20% slower from the 4th."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [
        write_sample_run(
            root / "history",
            SampleSpec(
                trials=10,
                seed=i,
                run_id=f"h{i:03d}",
                label=f"release 1.{i}",
                created_at=start + timedelta(days=i),
                factor=1.2 if i >= 3 else 1.0,
            ),
        )
        for i in range(n)
    ]


def cases(root: Path, n_history: int) -> list[tuple[str, list[Path], Path | None]]:
    """(name, run folders, baseline) for each measured report."""
    v2 = write_sample_run(root, SampleSpec(trials=10, run_id="v2-fp32"))
    base = write_sample_run(root, SampleSpec(trials=10, run_id="v2-base", seed=7))
    quants = write_sample_run(
        root,
        SampleSpec(
            trials=10,
            run_id="v2-4quants",
            quants=("fp32", "fp16", "dynamic", "int8"),
            settings={"op_profile": True},
        ),
    )
    return [
        ("22 variants x fp32, 10 trials", [v2], None),
        ("22 variants x fp32, 10 trials, with baseline", [v2], base),
        ("22 variants x 4 quants, 10 trials, op profile", [quants], None),
        (
            f"history: {n_history} runs x 22 variants, 10 trials",
            history_runs(root, n_history),
            None,
        ),
    ]


def browser_times(path: Path, loads: int) -> tuple[float, float]:
    """Median (load event ms, first contentful paint ms) over `loads` fresh pages."""
    from playwright.sync_api import sync_playwright

    load_ms, fcp_ms = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(loads):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(path.resolve().as_uri(), wait_until="load")
            load, fcp = page.evaluate(TIMING_JS)
            load_ms.append(float(load))
            if fcp is not None:
                fcp_ms.append(float(fcp))
            page.close()
        browser.close()
    return statistics.median(load_ms), statistics.median(fcp_ms) if fcp_ms else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads per case (median)")
    parser.add_argument(
        "--history-runs", type=int, default=100, help="runs in the history case (default 100)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"{'case':<48} {'render s':>9} {'size MB':>8} {'load ms':>8} {'FCP ms':>8}")
        for name, runs, baseline in cases(root, args.history_runs):
            start = time.perf_counter()
            out = root / f"{name.split(',')[0].replace(' ', '_').replace(':', '')}.html"
            result = build(runs, baseline, out)
            render_s = time.perf_counter() - start
            load, fcp = browser_times(result.path, args.loads)
            size = result.size_bytes / 1e6
            print(f"{name:<48} {render_s:>9.2f} {size:>8.2f} {load:>8.0f} {fcp:>8.0f}")
        print("targets: size < 3 MB, load < 2000 ms in headless chromium")


if __name__ == "__main__":
    main()
