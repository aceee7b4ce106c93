"""Step detection for `harness trend`: exact fit, no steps in noise, real steps found."""

from __future__ import annotations

import itertools
import math
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from harness.compare.trend import Step, Trend, detect_steps, fit_segments, trend
from harness.errors import ResultsError
from harness.vocab import Config
from tests.support.synthetic import noisy_latencies, write_run


def brute_force_cost(y: list[float], beta: float) -> float:
    """Best penalised cost over every segmentation (2^(n-1) of them)."""
    n, best = len(y), math.inf
    for cuts in itertools.product([0, 1], repeat=n - 1):
        bounds = [0, *[i + 1 for i, c in enumerate(cuts) if c], n]
        cost = 0.0
        for a, b in itertools.pairwise(bounds):
            seg = y[a:b]
            m = sum(seg) / len(seg)
            cost += sum((v - m) ** 2 for v in seg) + beta
        best = min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(5))
def test_fit_is_the_optimal_segmentation(seed: int) -> None:
    rng = random.Random(seed)
    y = [rng.gauss(0, 1) + (3 if i > 4 else 0) for i in range(9)]
    beta = 2.0
    segs = fit_segments(y, beta)
    cost = sum(sum((v - s.level) ** 2 for v in y[s.start : s.end]) + beta for s in segs)
    assert cost == pytest.approx(brute_force_cost(y, beta))
    assert segs[0].start == 0 and segs[-1].end == len(y)
    assert all(a.end == b.start for a, b in itertools.pairwise(segs))


def series(rng: random.Random, n: int, cv: float, step_at: int | None, step: float) -> list[float]:
    sigma = math.sqrt(math.log1p(cv * cv))
    out = []
    for i in range(n):
        level = math.log(step) if step_at is not None and i >= step_at else 0.0
        trials = sorted(level + rng.gauss(0, sigma) for _ in range(5))
        out.append(trials[2])  # the run's median, as trend uses
    return out


def test_no_steps_in_pure_noise() -> None:
    rng = random.Random(1)
    false = 0
    for _ in range(200):
        segs = detect_steps(series(rng, 30, 0.03, None, 1.0))
        false += any(
            abs(math.exp(b.level - a.level) - 1) >= 0.05 for a, b in itertools.pairwise(segs)
        )
    assert false <= 2  # <= 1% of series


def test_a_ten_percent_step_is_found_where_it_is() -> None:
    rng = random.Random(2)
    found = 0
    for _ in range(200):
        segs = detect_steps(series(rng, 30, 0.02, 17, 1.10))
        found += any(
            abs(b.start - 17) <= 1 and math.exp(b.level - a.level) > 1.05
            for a, b in itertools.pairwise(segs)
        )
    assert found >= 190


def test_short_and_empty_series() -> None:
    assert detect_steps([]) == []
    (seg,) = detect_steps([1.0])
    assert (seg.start, seg.end, seg.level) == (0, 1, 1.0)
    assert len(detect_steps([1.0, 1.0, 1.0])) == 1


def test_trend_orders_runs_by_time_and_handles_gaps(tmp_path: Path) -> None:
    a, b = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    dirs = []
    for i in range(12):
        variants = [a, b] if i % 4 else [a]  # b absent from some runs
        lat = noisy_latencies(
            variants, n=5, cv=0.01, seed=i, scale={a: 0.8 if i >= 5 else 1.0, b: 1.0}
        )
        dirs.append(
            write_run(tmp_path / f"z{11 - i:02d}", lat, created_at=start + timedelta(hours=i))
        )
    result = trend(list(reversed(dirs)))
    assert [r[0] for r in result.runs] == [f"z{11 - i:02d}" for i in range(12)]
    (step,) = result.steps
    assert step.config.variant == a and step.at_index == 5 and step.at_run_id == "z06"
    assert step.ratio == pytest.approx(0.8, rel=0.02)
    series_b = next(s for s in result.series if s.config.variant == b)
    assert [p.median_ms is None for p in series_b.points] == [i % 4 == 0 for i in range(12)]
    assert series_b.segments[-1].end == 12 and series_b.segments[0].start == 1
    doc = result.to_dict()
    assert doc["steps"][0]["at_run_id"] == "z06"


def test_min_step_hides_small_steps(tmp_path: Path) -> None:
    a = "mobilenet_v2_1.0_224"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    dirs = [
        write_run(
            tmp_path / f"r{i}",
            noisy_latencies([a], n=5, cv=0.002, seed=i, scale={a: 1.03 if i >= 4 else 1.0}),
            created_at=start + timedelta(hours=i),
        )
        for i in range(8)
    ]
    assert trend(dirs).steps == []
    (step,) = trend(dirs, min_step=0.02).steps
    assert step.at_index == 4


def test_bad_arguments() -> None:
    with pytest.raises(ResultsError):
        trend([])
    with pytest.raises(ResultsError):
        trend(["/nonexistent"], penalty=0)


def test_a_units_open_slowdown_is_not_hidden_by_another_units_step() -> None:
    # One model on the GPU got slower and stayed so; on the CPU it got faster later.
    gpu = Config("mobilenet_v2_1.0_224", "fp32", 1, "big", "default", "gpu")
    cpu = Config("mobilenet_v2_1.0_224", "fp32", 1, "big", "default", "cpu")
    slower = Step("Pixel", gpu, "r3", 3, 10.0, 12.0, 1.2)
    faster = Step("Pixel", cpu, "r5", 5, 10.0, 8.0, 0.8)
    found = Trend(runs=[], series=[], steps=[slower, faster], penalty=4.0, min_step=0.05)
    assert found.open_slowdowns() == [slower]
