"""The History section: how latency moved over the runs of one device model.

The steps are `harness trend`'s (harness.compare.trend.trend), unchanged: this
module only lays them out. Runs are grouped per device model, and a simulated
device apart from a real phone of the same model, so no line ever joins
figures of two different machines. Within a group only the newest run gets a
full section in the report; the older ones are here, in the chart and the
runs table (each run folder keeps its own report.html), which keeps a
report over a hundred runs one small file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from harness.compare.trend import Series, Trend, noise_sigma, trend
from harness.report import history_charts
from harness.report.model import History, HistoryLine, HistoryRun, HistoryStep, StepMark
from harness.report.order import depth_multiplier, variant_size_key
from harness.report.provenance import Provenance
from harness.report.runs import DeviceRun

CLEAR_Z = 10.0  # a step this many times the run-to-run noise is plain to see
LIKELY_Z = 4.0

GroupKey = tuple[str, bool]  # (device model, simulated)


def device_model(run: DeviceRun) -> str:
    """The model as the trials recorded it (what `harness trend` groups by)."""
    models = [t.device_model for t in run.trials if t.device_model]
    return models[0] if models else run.device.model or run.serial


def groups(runs: Sequence[DeviceRun]) -> dict[GroupKey, list[DeviceRun]]:
    """Runs per (device model, simulated), each group oldest first."""
    out: dict[GroupKey, list[DeviceRun]] = {}
    for run in runs:
        out.setdefault((device_model(run), Provenance.of(run).simulated), []).append(run)
    return {k: sorted(v, key=_created) for k, v in out.items()}


def _created(run: DeviceRun) -> str:
    return run.meta.created_at or ""


def shown_runs(runs: Sequence[DeviceRun]) -> list[DeviceRun]:
    """The runs that get a full section: all but the older runs of a history."""
    hidden: set[tuple[Path, str]] = set()
    for members in groups(runs).values():
        if len({r.run_dir for r in members}) > 1:
            hidden.update((r.run_dir, r.serial) for r in members[:-1])
    return [r for r in runs if (r.run_dir, r.serial) not in hidden]


def _date(value: object) -> tuple[str, str]:
    """(day, day and minute) of an ISO timestamp; the text itself when it is not one."""
    text = str(value or "")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return text or "undated", text or "undated"
    return stamp.strftime("%Y-%m-%d"), stamp.strftime("%Y-%m-%d %H:%M")


def run_labels(runs: Sequence[DeviceRun]) -> list[str]:
    """Each run's label: meta.json "label", else its date, made unique within the history."""
    labels = []
    for run in runs:
        label = run.meta.label
        labels.append(label if label else _date(run.meta.created_at)[0])
    # Two runs on one day: add the time; still alike (or the same label twice): the run id.
    for i, run in enumerate(runs):
        if labels.count(labels[i]) > 1 and not run.meta.label:
            labels[i] = _date(run.meta.created_at)[1]
    return [
        f"{lab} · {run.meta.run_id or run.run_dir.name}" if labels.count(lab) > 1 else lab
        for lab, run in zip(labels, runs, strict=True)
    ]


def _config(s: Series, many_setups: bool) -> str:
    c = s.config
    setup = f" t{c.threads} {c.cores} xnnpack={c.xnnpack}" if many_setups else ""
    return f"{c.variant} {c.quant}{setup}"


def how_sure(ratio: float, sigma: float, before: int, after: int) -> str:
    """A step's size against the series' own run-to-run noise, and the runs on each side."""
    z = abs(math.log(ratio)) / sigma
    size = "over 100×" if z >= 100 else f"{z:.0f}×"
    word = "clear" if z >= CLEAR_Z else "likely" if z >= LIKELY_Z else "weak"
    if after < 2:
        word = "unconfirmed (one run so far: measure again)"
    return f"{word}: {size} the run-to-run noise; {before} runs before, {after} after"


def _known(s: Series, start: int, end: int) -> int:
    return sum(1 for p in s.points[start:end] if p.median_ms is not None)


def _steps(
    found: Trend, series: Sequence[Series], labels: Sequence[str], many_setups: bool
) -> tuple[list[HistoryStep], list[StepMark]]:
    rows: list[HistoryStep] = []
    marks: list[StepMark] = []
    for s in series:
        logs = [math.log(p.median_ms) for p in s.points if p.median_ms is not None]
        sigma = noise_sigma(logs)
        for a, b in zip(s.segments, s.segments[1:], strict=False):
            ratio = b.level / a.level
            if abs(ratio - 1.0) < found.min_step:
                continue  # trend's own rule: smaller steps are not reported
            config = _config(s, many_setups)
            sure = how_sure(ratio, sigma, _known(s, a.start, a.end), _known(s, b.start, b.end))
            change = (ratio - 1.0) * 100.0
            rows.append(
                HistoryStep(
                    config=config,
                    at=labels[b.start],
                    at_run_id=s.points[b.start].run_id,
                    before_ms=a.level,
                    after_ms=b.level,
                    change_pct=change,
                    sure=sure,
                    tone="bad" if ratio > 1 else "ok",
                )
            )
            marks.append(
                StepMark(
                    x=b.start,
                    y=b.level,
                    slower=ratio > 1,
                    text=f"{config}: {a.level:.3g} → {b.level:.3g} ms ({change:+.1f}%) "
                    f"from {labels[b.start]}; {sure}",
                )
            )
    return rows, marks


def build_history(index: int, key: GroupKey, members: Sequence[DeviceRun]) -> History:
    """One device model's history: `harness trend` over its runs, laid out."""
    model, simulated = key
    folders = list(dict.fromkeys(r.run_dir for r in members))
    found = trend(folders)
    by_path = {str(r.run_dir): r for r in members}
    ordered = [by_path[path] for _, _, path in found.runs]
    labels = run_labels(ordered)
    series = sorted(
        (s for s in found.series if s.device_model == model),
        key=lambda s: variant_size_key(
            s.config.variant,
            s.config.quant,
            f"{s.config.threads}{s.config.cores}{s.config.xnnpack}",
        ),
    )
    many_setups = len({(s.config.threads, s.config.cores, s.config.xnnpack) for s in series}) > 1
    steps, marks = _steps(found, series, labels, many_setups)
    prov = Provenance(simulated, any(Provenance.of(r).stand_in for r in members))
    anchor = f"hist{index + 1}"
    lines = [
        HistoryLine(
            _config(s, many_setups),
            depth_multiplier(s.config.variant),
            tuple(p.median_ms for p in s.points),
        )
        for s in series
    ]
    chart = history_charts.history(
        f"{anchor}-chart", labels, lines, marks, host="" if prov.phone_numbers else prov.what
    )
    newest = ordered[-1]
    runs = tuple(
        HistoryRun(
            label=label,
            run_id=r.meta.run_id or r.run_dir.name,
            when=_date(r.meta.created_at)[1],
            path=str(r.run_dir),
            binary=r.binary.kind,
            shown=r is newest,
        )
        for label, r in zip(labels, ordered, strict=True)
    )
    notes = []
    if len({(r.binary.kind, r.binary.sha256) for r in members}) > 1:
        notes.append(
            "The benchmark binary changed between these runs: a step at that run measures "
            "the binary too."
        )
    return History(
        anchor=anchor,
        device=model + prov.device_tag,
        runs=runs,
        steps=tuple(steps),
        chart=chart,
        min_step=found.min_step,
        notes=tuple(notes),
    )


def histories(runs: Sequence[DeviceRun]) -> tuple[History, ...]:
    """A history per device model measured in two or more of the runs."""
    out: list[History] = []
    for key, members in groups(runs).items():
        if len({r.run_dir for r in members}) > 1:
            out.append(build_history(len(out), key, members))
    return tuple(out)
