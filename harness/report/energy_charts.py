"""Energy per inference against latency: the paper's accuracy/latency trade-off with the
battery as a third axis.

Same conventions as harness.report.charts (static inline SVG, `marks-N` gids,
None when there is nothing to draw).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness.report.chartkit import (
    QUANT_MARKERS,
    figure,
    host_note,
    host_title,
    log_axis,
    measured_axis,
    sentence,
    t,
    to_chart,
)
from harness.report.model import Chart, VariantRow
from harness.report.order import quant_rank

UNKNOWN_TOP1 = "#95A5A6"  # a user's own model: no published accuracy to colour by
# Average power lines drawn behind the points: energy per inference = power x latency.
POWER_LINES_MW = (100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0)


def _spread(values: Sequence[tuple[float, float | None, float | None]]) -> list[list[float]]:
    """Error-bar extents (below, above) from (median, p5, p95)."""
    return [
        [max(0.0, m - (lo if lo is not None else m)) for m, lo, _ in values],
        [max(0.0, (hi if hi is not None else m) - m) for m, _, hi in values],
    ]


def _top1_bands(known: Sequence[float]) -> list[tuple[float, float, str]]:
    """Up to four equal bands of published top-1 (low, high, colour), best first; [] when
    the configurations' accuracies lie within a point (colour would tell nothing apart)."""
    low, high = min(known), max(known)
    if high - low < 1.0:
        return []
    n = min(4, math.ceil((high - low) / 2.5))
    step = (high - low) / n
    # Okabe-Ito: distinguishable with the common colour-vision deficiencies.
    colours = ("#0072B2", "#009E73", "#E69F00", "#D55E00")
    return [(high - (i + 1) * step, high - i * step, colours[i]) for i in range(n)]


def energy_vs_latency(key: str, rows: Sequence[VariantRow], *, host: str = "") -> Chart | None:
    """Median energy per inference against median latency, coloured by published top-1.

    Dotted lines of constant average power run behind the points (E = P x t), so a
    configuration that keeps its latency and draws more power sits higher on its
    vertical. None when no configuration has both figures.
    """
    # matplotlib is heavy: only drawing a chart pays for it.
    from matplotlib.lines import Line2D

    points = [r for r in rows if r.median_ms and r.energy_mj and r.energy_mj > 0]
    if not points:
        return None
    quants = sorted({r.quant for r in points}, key=quant_rank)
    known = [r.top1 for r in points if r.top1 is not None]
    bands = _top1_bands(known) if known else []

    def colour(r: VariantRow) -> str:
        if r.top1 is None:
            return UNKNOWN_TOP1
        for low, high, shade in bands:
            if low <= r.top1 <= high:
                return shade
        return "#0072B2"

    biased = any(r.energy_biased for r in points)
    with figure(key, 6.0, 4.4) as (fig, ax):
        xs = [float(r.median_ms or 0) for r in points]
        ys = [float(r.energy_mj or 0) for r in points]
        x_lo, x_hi = min(xs) * 0.7, max(xs) * 1.4
        y_lo, y_hi = min(ys) * 0.7, max(ys) * 1.4
        for mw in POWER_LINES_MW:
            # E (mJ) = P (mW) x t (ms) / 1000; drawn only where it crosses the plot.
            if mw * x_hi / 1000 < y_lo or mw * x_lo / 1000 > y_hi:
                continue
            ax.plot(
                [x_lo, x_hi],
                [mw * x_lo / 1000, mw * x_hi / 1000],
                color="#566573",
                linestyle=":",
                linewidth=0.8,
            )
            # Label each line where it leaves the plot (the right edge or the top).
            x_end = min(x_hi, y_hi * 1000 / mw) / 1.05
            ax.annotate(
                f"{mw:g} mW",
                (x_end, mw * x_end / 1000),
                fontsize=6,
                color="#566573",
                ha="right",
                va="bottom",
            )
        ax.errorbar(
            xs,
            ys,
            xerr=_spread([(r.median_ms or 0, r.p5_ms, r.p95_ms) for r in points]),
            yerr=_spread([(r.energy_mj or 0, r.energy_p5_mj, r.energy_p95_mj) for r in points]),
            fmt="none",
            ecolor="#566573",
            elinewidth=0.7,
            capsize=1.5,
        )
        for n, quant in enumerate(quants):
            sel = [r for r in points if r.quant == quant]
            sc = ax.scatter(
                [r.median_ms for r in sel],
                [r.energy_mj for r in sel],
                c=[colour(r) for r in sel],
                marker=QUANT_MARKERS.get(quant, "o"),
                s=30,
                edgecolors="white",
                linewidths=0.5,
                zorder=3,
            )
            sc.set_gid(f"marks-{n}")
        handles: list[Any] = [
            Line2D([], [], color=shade, marker="o", linestyle="", label=f"top-1 {lo:.0f}-{hi:.0f}%")
            for lo, hi, shade in bands
        ]
        if bands and len(known) < len(points):
            handles.append(
                Line2D([], [], color=UNKNOWN_TOP1, marker="o", linestyle="", label="no top-1")
            )
        if len(quants) > 1:
            handles += [
                Line2D(
                    [], [], color="#566573", marker=QUANT_MARKERS.get(q, "o"), linestyle="",
                    label=t(q),
                )
                for q in quants
            ]  # fmt: skip
        if handles:
            ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False)
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.set_xlabel(measured_axis(host))
        ax.set_ylabel(
            "energy per inference, biased (mJ)" if biased else "energy per inference (mJ)"
        )
        caption = (
            host_note(host)
            + "Each point is one configuration: its median latency and median energy per "
            "inference over the timed runs, above the idle power (bars: p5-p95 of the "
            "trials). Dotted lines: constant average power; a point above another's line "
            "draws more power for its speed."
            + sentence(
                [
                    "colour is the published top-1 accuracy" if bands else "",
                    "marker shape is the quantization" if len(quants) > 1 else "",
                ]
            )
            + (
                " Biased: the fuel gauge was read while a charger powered the phone."
                if biased
                else ""
            )
        )
        title = host_title("Energy per inference vs latency", host)
        return to_chart(fig, key, title, caption)
