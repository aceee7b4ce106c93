"""Statistical properties of the check on seeded synthetic trial sets (CV 1-3%).

What the check promises: with the default trials (5), a 10% slowdown is flagged
in >= 95% of repetitions and identical distributions in <= 1%; and the
minimum-detectable-change table in docs/ci.md is what the simulation measures.
"""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import pytest

from harness.compare.stats import compare_samples
from tests.support.power import DETECTION_TARGET, verdict_rate

DEFAULT_TRIALS = 5  # `harness run --trials` default
REPS = 1000
DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci.md"


def lognormal_trials(rng: random.Random, n: int, mean_ms: float, cv: float) -> list[float]:
    # Written apart from tests.support.power so that these tests do not share its sampler.
    sigma = math.sqrt(math.log(1.0 + cv * cv))
    return [mean_ms * math.exp(rng.gauss(-sigma * sigma / 2.0, sigma)) for _ in range(n)]


def rates(cv: float, slowdown: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    for _ in range(REPS):
        mean = rng.uniform(5.0, 300.0)  # MobileNets span ~5-300 ms on a Pixel 1
        base = lognormal_trials(rng, DEFAULT_TRIALS, mean, cv)
        cur = lognormal_trials(rng, DEFAULT_TRIALS, mean * (1.0 + slowdown), cv)
        verdict = compare_samples(base, cur).verdict
        counts[verdict] = counts.get(verdict, 0) + 1
    return {v: n / REPS for v, n in counts.items()}


@pytest.mark.parametrize("cv", [0.01, 0.02, 0.03])
def test_ten_percent_slowdown_is_flagged_in_95_percent(cv: float) -> None:
    r = rates(cv, 0.10, seed=11)
    assert r.get("regression", 0.0) >= 0.95, r


@pytest.mark.parametrize("cv", [0.01, 0.02, 0.03])
def test_identical_distributions_are_flagged_in_at_most_1_percent(cv: float) -> None:
    r = rates(cv, 0.0, seed=12)
    flagged = r.get("regression", 0.0) + r.get("improvement", 0.0)
    assert flagged <= 0.01, r


def test_noise_across_the_whole_range_at_once() -> None:
    # CV drawn per repetition anywhere in 1-3%, as a lab's configurations differ.
    rng = random.Random(13)
    hits = false = 0
    for _ in range(REPS):
        cv = rng.uniform(0.01, 0.03)
        base = lognormal_trials(rng, DEFAULT_TRIALS, 20.0, cv)
        slow = lognormal_trials(rng, DEFAULT_TRIALS, 22.0, cv)
        same = lognormal_trials(rng, DEFAULT_TRIALS, 20.0, cv)
        hits += compare_samples(base, slow).verdict == "regression"
        false += compare_samples(base, same).verdict in ("regression", "improvement")
    assert hits / REPS >= 0.95
    assert false / REPS <= 0.01


def test_a_slowdown_under_the_threshold_is_rarely_a_regression() -> None:
    # 3% slower at CV 1%: often significant, but the estimate rarely crosses the 5% threshold.
    r = rates(0.01, 0.03, seed=14)
    assert r.get("regression", 0.0) <= 0.01, r
    assert r.get("unchanged", 0.0) >= 0.5, r


def documented_mdc() -> dict[tuple[int, float], int]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Minimum detectable change", 1)[1].split("\n## ", 1)[0]
    header = re.search(r"^\| trials \|(.*)\|$", section, re.M)
    assert header, "MDC table header missing from docs/ci.md"
    cvs = [float(c) / 100 for c in re.findall(r"CV (\d+)%", header.group(1))]
    table: dict[tuple[int, float], int] = {}
    for m in re.finditer(r"^\| (\d+) \|(.*)\|$", section, re.M):
        cells = [c.strip() for c in m.group(2).split("|")]
        for cv, cell in zip(cvs, cells, strict=True):
            table[(int(m.group(1)), cv)] = int(cell.rstrip("%"))
    return table


def test_docs_have_the_mdc_table_for_default_trials() -> None:
    table = documented_mdc()
    assert {(DEFAULT_TRIALS, cv) for cv in (0.01, 0.02, 0.03)} <= set(table)
    assert len(table) >= 9


@pytest.mark.parametrize("entry", sorted(documented_mdc().items()), ids=str)
def test_documented_mdc_matches_the_simulation(entry: tuple[tuple[int, float], int]) -> None:
    (n, cv), pct = entry
    # Same seeds and repetitions as benchmarks/bench_compare.py, which prints the table.
    at = verdict_rate(n, cv, pct / 100.0, reps=2000)
    below = verdict_rate(n, cv, (pct - 1) / 100.0, reps=2000)
    assert at >= DETECTION_TARGET, f"n={n} CV={cv}: {pct}% flagged in only {at:.1%}"
    assert below < DETECTION_TARGET, f"n={n} CV={cv}: {pct - 1}% already flagged in {below:.1%}"
