"""`harness trend`: runs in time order, and where each configuration's latency stepped.

Step detection in the spirit of asv's step_detect: fit each configuration's
series (one point per run: the median of its ok trials, on the log scale) with
a piecewise-constant function minimising squared error plus a penalty per
segment (optimal partitioning, exact, O(n^2) with prefix sums). The penalty
is BIC-like, `penalty * sigma^2 * ln(n)`, with sigma the noise of one point
estimated robustly from the series itself (median absolute successive
difference) and from the trials inside each run, whichever is larger: a
quiet series then needs only a small step to split, a noisy one a large one.
Steps smaller than `min_step` are not reported: the gate's threshold applies.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.catalogue.order import SizeKey, config_size_key
from harness.compare.source import Source, read_run
from harness.compare.stats import median
from harness.errors import ResultsError
from harness.ranges import TREND
from harness.results.load import run_dirs as expand_run_dirs
from harness.vocab import Config, DeviceConfig

DEFAULT_PENALTY = 4.0
DEFAULT_MIN_STEP = 0.05
# MAD of successive differences -> sigma of one point: 1/(0.6745 * sqrt(2)).
_MAD_DIFF_TO_SIGMA = 1.0 / (0.6744897501960817 * math.sqrt(2.0))


@dataclass(frozen=True)
class Segment:
    """Points [start, end) share one level (geometric mean of their medians)."""

    start: int
    end: int
    level: float


def fit_segments(y: Sequence[float], beta: float) -> list[Segment]:
    """Optimal piecewise-constant least-squares fit of y with cost `beta` per segment."""
    n = len(y)
    if n == 0:
        return []
    s1 = [0.0] * (n + 1)
    s2 = [0.0] * (n + 1)
    for i, v in enumerate(y):
        s1[i + 1] = s1[i] + v
        s2[i + 1] = s2[i] + v * v

    def cost(i: int, j: int) -> float:
        m = j - i
        return max(0.0, (s2[j] - s2[i]) - (s1[j] - s1[i]) ** 2 / m)

    best = [0.0] + [math.inf] * n
    prev = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            c = best[i] + cost(i, j) + beta
            if c < best[j]:
                best[j], prev[j] = c, i
    bounds = []
    j = n
    while j > 0:
        bounds.append((prev[j], j))
        j = prev[j]
    return [Segment(i, j, (s1[j] - s1[i]) / (j - i)) for i, j in reversed(bounds)]


def noise_sigma(y: Sequence[float], within: Sequence[float] = ()) -> float:
    """Noise of one point: the successive-difference or the within-run estimate, if larger."""
    diffs = sorted(abs(b - a) for a, b in itertools.pairwise(y))
    from_series = (median(diffs) or 0.0) * _MAD_DIFF_TO_SIGMA
    from_trials = median(list(within)) or 0.0
    # A floor keeps a perfectly flat series from splitting on rounding noise.
    return max(from_series, from_trials, 1e-4)


def detect_steps(
    y: Sequence[float], *, within: Sequence[float] = (), penalty: float = DEFAULT_PENALTY
) -> list[Segment]:
    """Segments of a log-latency series (see the module docstring for the penalty)."""
    n = len(y)
    if n < 2:
        return fit_segments(y, 0.0)
    sigma = noise_sigma(y, within)
    return fit_segments(y, penalty * sigma * sigma * math.log(max(n, 3)))


@dataclass(frozen=True)
class TrendPoint:
    """One run's figure for one configuration."""

    run_id: str
    created_at: str | None
    median_ms: float | None
    n: int


@dataclass(frozen=True)
class Step(DeviceConfig):
    """Latency changed from `before_ms` to `after_ms` starting with run `at_run_id`."""

    at_run_id: str
    at_index: int
    before_ms: float
    after_ms: float
    ratio: float


@dataclass(frozen=True)
class Series(DeviceConfig):
    """One configuration's points over the runs, and the fitted levels."""

    points: list[TrendPoint]
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Trend:
    """Every configuration's series and the steps found in them."""

    runs: list[tuple[str, str | None, str]]  # (run_id, created_at, path), oldest first
    series: list[Series]
    steps: list[Step]
    penalty: float
    min_step: float

    def measured(self) -> bool:
        """Whether any run holds an ok trial (a trend of nothing finds no step, and says so)."""
        return any(p.median_ms is not None for s in self.series for p in s.points)

    def open_slowdowns(self) -> list[Step]:
        """Slower steps that are each series' latest step: the latency is still up now."""
        latest: dict[tuple[str, Config], Step] = {}
        for st in self.steps:
            latest[(st.device_model, st.config)] = st
        return [st for st in latest.values() if st.ratio > 1.0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (what `harness trend --json` prints)."""
        return {
            "penalty": self.penalty,
            "min_step": self.min_step,
            "open_slowdowns": [_flat(s) for s in self.open_slowdowns()],
            "runs": [{"run_id": r, "created_at": c, "path": p} for r, c, p in self.runs],
            "series": [_flat(s) for s in self.series],
            "steps": [_flat(s) for s in self.steps],
        }


def _size(c: Config) -> SizeKey:
    return config_size_key(c.variant, c.quant, c.threads, c.cores, c.xnnpack)


def _flat(record: DeviceConfig) -> dict[str, Any]:
    """A step or a series as `--json` prints it: the configuration's fields flat, first."""
    rest = {k: v for k, v in asdict(record).items() if k not in ("device_model", "config")}
    return {**record.fields(), **rest}


def _within_sigma(values: Sequence[float]) -> float | None:
    # Std error of a median of k log values ~ sqrt(pi/2) * s / sqrt(k).
    if len(values) < 2:
        return None
    logs = [math.log(v) for v in values]
    m = sum(logs) / len(logs)
    s = math.sqrt(sum((x - m) ** 2 for x in logs) / (len(logs) - 1))
    return math.sqrt(math.pi / 2.0) * s / math.sqrt(len(logs))


def order_runs(sources: list[Source]) -> list[Source]:
    """Oldest first by meta created_at (ISO 8601 sorts as text), then run id."""
    return sorted(sources, key=lambda s: (s.created_at or "", s.run_ids[0] if s.run_ids else ""))


def trend(
    run_dirs: Sequence[str | Path],
    *,
    penalty: float = DEFAULT_PENALTY,
    min_step: float = DEFAULT_MIN_STEP,
) -> Trend:
    """Load runs (folders or folders of runs), order them by time, find steps per config."""
    if not run_dirs:
        raise ResultsError("no run folders given")
    why = TREND["--penalty"].problem(penalty)
    if why or not 0 <= min_step < 1:
        raise ResultsError(
            f"penalty {why}" if why else f"min_step must be in [0, 1), got {min_step}"
        )
    sources = order_runs([read_run(p) for p in expand_run_dirs(list(run_dirs))])
    keys: set[tuple[str, Config]] = {
        (m, config) for s in sources for m, confs in s.configs.items() for config in confs
    }
    series: list[Series] = []
    steps: list[Step] = []
    for model, config in sorted(keys, key=lambda k: (k[0], _size(k[1]))):
        points: list[TrendPoint] = []
        logs: list[float] = []
        within: list[float] = []
        idx: list[int] = []  # point index of each value in `logs`
        for s in sources:
            c = s.configs.get(model, {}).get(config)
            values = list(c.latency_ms) if c else []
            med = median(values)
            points.append(TrendPoint(s.run_ids[0], s.created_at, med, len(values)))
            if med is not None:
                idx.append(len(points) - 1)
                logs.append(math.log(med))
                w = _within_sigma(values)
                if w is not None:
                    within.append(w)
        segments = [
            Segment(idx[g.start], idx[g.end - 1] + 1, math.exp(g.level))
            for g in detect_steps(logs, within=within, penalty=penalty)
        ]
        series.append(Series(model, config, points=points, segments=segments))
        for a, b in itertools.pairwise(segments):
            ratio = b.level / a.level
            if abs(ratio - 1.0) >= min_step:
                steps.append(
                    Step(
                        model,
                        config,
                        at_run_id=points[b.start].run_id,
                        at_index=b.start,
                        before_ms=a.level,
                        after_ms=b.level,
                        ratio=ratio,
                    )
                )
    runs = [(s.run_ids[0], s.created_at, s.path) for s in sources]
    return Trend(runs=runs, series=series, steps=steps, penalty=penalty, min_step=min_step)


def render_trend(result: Trend) -> str:
    """Console text: the runs in order, then each step found (or that none was)."""
    lines = [f"{len(result.runs)} runs, oldest first:"]
    lines += [f"  {i:3d}  {r}  {c or '-'}" for i, (r, c, _) in enumerate(result.runs)]
    if not result.steps:
        lines.append(
            f"no step changes of {result.min_step * 100:g}% or more in "
            f"{len(result.series)} configurations"
        )
    for st in result.steps:
        kind = "slower" if st.ratio > 1 else "faster"
        c = st.config
        lines.append(
            f"step {kind} {(st.ratio - 1) * 100:+.1f}%: {st.device_model} {c.variant} {c.quant} "
            f"t{c.threads} {c.cores} xnnpack={c.xnnpack}: {st.before_ms:.2f} -> "
            f"{st.after_ms:.2f} ms from run {st.at_run_id} (#{st.at_index})"
        )
    return "\n".join(lines) + "\n"
