"""Charts over runs: a baseline comparison's changes and a configuration's history.

Same conventions as harness.report.charts (static inline SVG, `marks-N`
gids, None when there is nothing to draw).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.report.chartkit import (
    PALETTE,
    TONE_COLOURS,
    figure,
    host_note,
    host_title,
    log_axis,
    measured_axis,
    sentence,
    t,
    to_chart,
)
from harness.report.model import ChangeRow, Chart, HistoryLine, StepMark
from harness.report.order import variant_size_key


def baseline_changes(key: str, changes: Sequence[ChangeRow], threshold: float) -> Chart | None:
    """Per-configuration change against the baseline with its interval; regressions in red."""
    points = [c for c in changes if c.change_pct is not None]
    if not points:
        return None
    # Largest model at the top, as in the table beside it (positions count from the bottom).
    points = sorted(
        points, key=lambda c: variant_size_key(c.variant, c.quant, c.config), reverse=True
    )
    height = 1.2 + 0.24 * len(points)
    with figure(key, 6.4, height) as (fig, ax):
        ys = list(range(len(points)))
        xs = [float(c.change_pct or 0) for c in points]
        lows = [
            max(0.0, x - (c.low_pct if c.low_pct is not None else x))
            for x, c in zip(xs, points, strict=True)
        ]
        highs = [
            max(0.0, (c.high_pct if c.high_pct is not None else x) - x)
            for x, c in zip(xs, points, strict=True)
        ]
        ax.axvspan(-threshold * 100, threshold * 100, color="#95A5A6", alpha=0.2, linewidth=0)
        ax.axvline(0, color="#566573", linewidth=0.8)
        ax.errorbar(
            xs, ys, xerr=[lows, highs], fmt="none", ecolor="#566573", elinewidth=0.9, capsize=2
        )
        sc = ax.scatter(xs, ys, c=[TONE_COLOURS[c.tone] for c in points], s=26, zorder=3)
        sc.set_gid("marks-0")
        ax.set_yticks(
            ys,
            [t(f"{c.variant.removeprefix('mobilenet_')} {c.quant}") for c in points],
            fontsize=7,
        )
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("change of the median vs the baseline (%), with its interval")
        tones = {c.tone for c in points}
        caption = (
            "Each dot is one configuration's change with its interval; the grey band is "
            f"±{threshold:.0%}."
            + sentence(
                [
                    "red: a regression (slower by more than the threshold, and significant)"
                    if "bad" in tones
                    else "",
                    "green: an improvement" if "ok" in tones else "",
                    "grey: unchanged or not significant" if tones & {"info", "warn"} else "",
                ]
            )
        )
        return to_chart(fig, key, "Change vs baseline", caption, wide=True)


MAX_TICKS = 16  # run labels on the history's x axis; every run stays in the table below
TICK_CHARS = 22  # a long label (a git describe) is cut on the axis, whole in the table


def _tick(label: str) -> str:
    return t(label if len(label) <= TICK_CHARS else label[: TICK_CHARS - 1] + "…")


def history(
    key: str,
    run_labels: Sequence[str],
    lines: Sequence[HistoryLine],
    steps: Sequence[StepMark],
    *,
    host: str = "",
) -> Chart | None:
    """Median per run, one line per configuration, steps marked (hover: what changed)."""
    # matplotlib is heavy: only drawing a chart pays for it.
    from matplotlib.lines import Line2D

    drawn = [ln for ln in lines if any(v is not None for v in ln.values)]
    if len(run_labels) < 2 or not drawn:
        return None
    multipliers = sorted({ln.depth_multiplier for ln in drawn}, reverse=True)
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(multipliers)}
    titles: dict[str, str] = {}
    n = len(run_labels)
    with figure(key, 10.0, 4.8) as (fig, ax):
        for x in sorted({s.x for s in steps}):
            ax.axvline(x - 0.5, color="#7F8C8D", linestyle=":", linewidth=0.9)
        for j, ln in enumerate(drawn):
            ys = [float("nan") if v is None else v for v in ln.values]
            (line,) = ax.plot(
                range(n),
                ys,
                color=colours[ln.depth_multiplier],
                marker="o",
                markersize=2.5 if n > 30 else 3.5,
                linewidth=1.1,
            )
            line.set_gid(f"marks-{j}")
            known = [v for v in ln.values if v is not None]
            titles[f"marks-{j}"] = (
                f"{ln.label}: {known[0]:.3g} ms in the first run, {known[-1]:.3g} ms in the last"
            )
        for k, st in enumerate(steps):
            sc = ax.scatter(
                [st.x],
                [st.y],
                marker="^" if st.slower else "v",
                s=70,
                color=TONE_COLOURS["bad" if st.slower else "ok"],
                edgecolors="white",
                linewidths=0.6,
                zorder=4,
            )
            sc.set_gid(f"step-{k}")
            titles[f"step-{k}"] = st.text
        every = max(1, -(-n // MAX_TICKS))
        ticks = [i for i in range(0, n, every) if n - 1 - i >= every / 2 or i == 0]
        ticks.append(n - 1)  # the newest run is always labelled
        ax.set_xticks(ticks, [_tick(run_labels[i]) for i in ticks], rotation=30, ha="right")
        ax.set_xlim(-0.5, n - 0.5)
        ax.grid(axis="x", visible=False)
        log_axis(ax, "y")
        ax.set_ylabel(measured_axis(host))
        handles: list[Any] = [
            Line2D([], [], color=colours[m], marker="o", label=f"depth {m:g}") for m in multipliers
        ]
        kinds = {st.slower for st in steps}
        if True in kinds:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=TONE_COLOURS["bad"],
                    marker="^",
                    linestyle="",
                    label="step: slower",
                )
            )
        if False in kinds:
            handles.append(
                Line2D(
                    [], [], color=TONE_COLOURS["ok"], marker="v", linestyle="", label="step: faster"
                )
            )
        ax.legend(
            handles=handles,
            fontsize=7,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
        caption = (
            host_note(host)
            + f"The median of each configuration in each of the {n} runs, oldest on the left"
            + (f" (one run in {every} labelled on the axis)" if every > 1 else "")
            + "."
            + sentence(
                [
                    "colour is the depth multiplier" if len(multipliers) > 1 else "",
                    "a triangle marks where harness trend found a step, pointing up for "
                    "slower and down for faster, with a dotted line before that run; hover "
                    "over it or a line for the figures"
                    if steps
                    else "harness trend found no step",
                ]
            )
        )
        title = host_title("Median latency per run", host)
        return to_chart(fig, key, title, caption, wide=True, titles=titles)
