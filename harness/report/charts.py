"""The report's charts: matplotlib figures rendered to static inline SVG.

matplotlib is the charting library (well kept, already a dependency, and its
SVG needs nothing at view time: no script, no CDN, no web font). Text stays
text (`svg.fonttype: none`), so the browser draws it with a local sans-serif
and the file stays small. Each function takes already-computed rows and
returns a `Chart`, or None when there is nothing to draw. Data artists carry a
`marks-N` gid, which `svg.inline_svg` turns into `class="marks"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.report.chartkit import (
    BAND,
    PALETTE,
    QUANT_MARKERS,
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
from harness.report.model import Chart, VariantRow
from harness.report.order import quant_rank, row_size_key


# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
def _multiplier_colours(rows: Sequence[VariantRow]) -> dict[float, str]:
    multipliers = sorted({r.depth_multiplier for r in rows}, reverse=True)
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(multipliers)}


def _measured(rows: Sequence[VariantRow]) -> list[VariantRow]:
    return [r for r in rows if r.median_ms is not None]


def _spread(rows: Sequence[VariantRow]) -> list[list[float]]:
    """Error-bar extents (below, above) from p5 / p95 around the median."""
    lows = [
        max(0.0, (r.median_ms or 0) - (r.p5_ms if r.p5_ms is not None else r.median_ms or 0))
        for r in rows
    ]
    highs = [
        max(0.0, (r.p95_ms if r.p95_ms is not None else r.median_ms or 0) - (r.median_ms or 0))
        for r in rows
    ]
    return [lows, highs]


def measured_vs_published(key: str, rows: Sequence[VariantRow], *, host: str = "") -> Chart | None:
    """Measured median against the Pixel-1 column, with y = x and a +-20% band.

    The legend shows both encodings that are drawn: colour (depth multiplier)
    and marker shape (quantization), each only when it tells points apart.
    """
    # matplotlib is heavy: only drawing a chart pays for it.
    from matplotlib.lines import Line2D

    points = [r for r in _measured(rows) if r.published_ms]
    if not points:
        return None
    colours = _multiplier_colours(points)
    quants = sorted({r.quant for r in points}, key=quant_rank)
    with figure(key, 6.0, 4.4) as (fig, ax):
        xs = [float(r.published_ms or 0) for r in points]
        ys = [float(r.median_ms or 0) for r in points]
        lo = min([*xs, *ys]) * 0.7
        hi = max([*xs, *ys]) * 1.4
        band = ax.fill_between(
            [lo, hi],
            [lo * (1 - BAND), hi * (1 - BAND)],
            [lo * (1 + BAND), hi * (1 + BAND)],
            color="#95A5A6",
            alpha=0.25,
            linewidth=0,
            label="published ±20%",
        )
        (diag,) = ax.plot(
            [lo, hi], [lo, hi], color="#566573", linestyle="--", linewidth=1, label="y = x"
        )
        ax.errorbar(
            xs, ys, yerr=_spread(points), fmt="none", ecolor="#566573", elinewidth=0.8, capsize=2
        )
        for n, quant in enumerate(quants):
            sel = [r for r in points if r.quant == quant]
            sc = ax.scatter(
                [r.published_ms for r in sel],
                [r.median_ms for r in sel],
                c=[colours[r.depth_multiplier] for r in sel],
                marker=QUANT_MARKERS.get(quant, "o"),
                s=28,
                edgecolors="white",
                linewidths=0.5,
                zorder=3,
            )
            sc.set_gid(f"marks-{n}")
        handles: list[Any] = [band, diag]
        if len(colours) > 1:
            handles += [
                Line2D([], [], color=c, marker="o", linestyle="", label=f"depth {m:g}")
                for m, c in colours.items()
            ]
        if len(quants) > 1 or len(colours) == 1:
            shade = next(iter(colours.values())) if len(colours) == 1 else "#566573"
            handles += [
                Line2D(
                    [],
                    [],
                    color=shade,
                    marker=QUANT_MARKERS.get(q, "o"),
                    linestyle="",
                    label=t(q),
                )
                for q in quants
            ]
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("published latency, Pixel 1 (ms)")
        ax.set_ylabel(measured_axis(host))
        ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False)
        caption = (
            host_note(host)
            + "Each point is one configuration: its measured median (bars: p5-p95 of the "
            "trials) against the Pixel-1 figure Google published; points inside the grey band "
            "are within 20% of it."
            + sentence(
                [
                    "colour is the depth multiplier" if len(colours) > 1 else "",
                    "marker shape is the quantization" if len(quants) > 1 else "",
                ]
            )
        )
        return to_chart(fig, key, host_title("Measured vs published latency", host), caption)


def latency_vs_macs(key: str, rows: Sequence[VariantRow], *, host: str = "") -> Chart | None:
    """Latency against MACs, one line per family x multiplier (the README's latency figure)."""
    points = [r for r in _measured(rows) if r.macs_m]
    if not points:
        return None
    colours = _multiplier_colours(points)
    groups = sorted(
        {(r.family, r.depth_multiplier, r.series) for r in points},
        key=lambda g: (-g[1], g[0] != "v2", g[0], g[2]),
    )
    families = {g[0] for g in groups}
    series = {g[2] for g in groups}
    with figure(key, 6.0, 4.4) as (fig, ax):
        for n, (family, mult, setup) in enumerate(groups):
            sel = sorted(
                (
                    r
                    for r in points
                    if (r.family, r.depth_multiplier, r.series) == (family, mult, setup)
                ),
                key=lambda r: r.macs_m or 0,
            )
            quant = sel[0].quant
            label = f"{family.upper()} {mult:g}" + ("" if setup == "fp32" else f" {t(setup)}")
            (line,) = ax.plot(
                [r.macs_m for r in sel],
                [r.median_ms for r in sel],
                color=colours[mult],
                linestyle="--" if family == "v1" else "-",
                marker=QUANT_MARKERS.get(quant, "o"),
                markersize=4,
                linewidth=1.3,
                label=label,
            )
            line.set_gid(f"marks-{n}")
        ax.set_xlabel("MACs (millions, published)")
        ax.set_ylabel(measured_axis(host))
        ax.legend(fontsize=7, frameon=False, ncols=2 if len(groups) > 6 else 1)
        caption = (
            host_note(host)
            + "One line per depth multiplier through the input resolutions it was measured at"
            + (" (solid: MobileNetV2, dashed: MobileNetV1)" if len(families) > 1 else "")
            + (", and per quantization or setup" if len(series) > 1 else "")
            + (
                ", in the shape of the MobileNetV2 README's latency figure."
                if "v2" in families
                else "."
            )
        )
        return to_chart(fig, key, host_title("Latency vs MACs", host), caption)


def accuracy_vs_latency(key: str, rows: Sequence[VariantRow], *, host: str = "") -> Chart | None:
    """Published top-1 against measured latency, marker area by parameter count."""
    points = [r for r in _measured(rows) if r.top1 is not None]
    if not points:
        return None
    colours = _multiplier_colours(points)
    with figure(key, 6.0, 4.4) as (fig, ax):
        for n, mult in enumerate(sorted(colours, reverse=True)):
            sel = [r for r in points if r.depth_multiplier == mult]
            sc = ax.scatter(
                [r.median_ms for r in sel],
                [r.top1 for r in sel],
                s=[max(8.0, 30.0 * (r.params_m or 0.3)) for r in sel],
                color=colours[mult],
                alpha=0.75,
                edgecolors="white",
                linewidths=0.5,
                label=f"{mult:g}",
            )
            sc.set_gid(f"marks-{n}")
        log_axis(ax, "x")
        ax.set_xlabel(measured_axis(host))
        ax.set_ylabel("published top-1 accuracy (%)")
        ax.legend(
            title="depth multiplier", fontsize=7, title_fontsize=7, frameon=False, markerscale=0.6
        )
        caption = (
            host_note(host)
            + "The MobileNetV2 README's accuracy figure with measured latency in place of MACs: "
            "marker area grows with the parameter count"
            + (", colour is the depth multiplier." if len(colours) > 1 else ".")
        )
        return to_chart(fig, key, host_title("Top-1 accuracy vs measured latency", host), caption)


def trial_distributions(key: str, rows: Sequence[VariantRow], *, host: str = "") -> Chart | None:
    """Every trial's latency per configuration (box p5-p95 plus the points), largest at the top."""
    # numpy is heavy: only this chart (jitter, boxes) needs it.
    import numpy as np

    # boxplot counts positions from the bottom: smallest first puts the largest on top.
    points = sorted((r for r in rows if r.trials_ms), key=row_size_key, reverse=True)
    if not points:
        return None
    labels = [t(f"{r.variant.removeprefix('mobilenet_')} {r.series}") for r in points]
    height = 1.2 + 0.24 * len(points)
    rng = np.random.default_rng(0)  # jitter only: fixed so the same data give the same file
    with figure(key, 6.4, height) as (fig, ax):
        data = [list(r.trials_ms) for r in points]
        ax.boxplot(
            data,
            orientation="horizontal",
            whis=(5, 95),
            showfliers=False,
            widths=0.6,
            medianprops={"color": "#0072B2"},
            boxprops={"color": "#566573"},
            whiskerprops={"color": "#566573"},
            capprops={"color": "#566573"},
        )
        ys = [i + 1 + rng.uniform(-0.18, 0.18) for i, r in enumerate(points) for _ in r.trials_ms]
        xs = [t for r in points for t in r.trials_ms]
        sc = ax.scatter(xs, ys, s=7, color="#D55E00", alpha=0.7, linewidths=0, zorder=3)
        sc.set_gid("marks-0")
        ax.set_yticks(range(1, len(points) + 1), labels, fontsize=7)
        log_axis(ax, "x")
        ax.grid(axis="y", visible=False)
        where = ", host" if host else ""
        ax.set_xlabel(f"trial latency (ms{where}, mean of the trial's timed runs)")
        caption = (
            host_note(host)
            + "Each dot is one trial (one benchmark process); the box spans the quartiles, "
            "the whiskers p5-p95, the blue line is the median. Largest model at the top."
        )
        title = host_title("Per-trial latency distributions", host)
        return to_chart(fig, key, title, caption, wide=True)


def units_chart(key: str, rows: Sequence[VariantRow], *, host: str = "") -> Chart | None:
    """Each model and setup on every compute unit it ran on, side by side (median, p5-p95).

    A unit whose trials fell back to the CPU or failed has no bar: a CPU figure
    drawn as the GPU's is exactly what the delegation proof is there to prevent.
    Its status is written in its place instead.
    """
    units = sorted({r.unit for r in rows}, key=lambda u: (u != "cpu", u))
    if len(units) < 2:
        return None
    # barh counts from the bottom: smallest first puts the largest model on top.
    groups: dict[str, dict[str, VariantRow]] = {}
    for r in sorted(rows, key=row_size_key, reverse=True):
        groups.setdefault(r.model_config, {})[r.unit] = r
    step = 0.8 / len(units)
    height = 1.3 + 0.2 * len(groups) * len(units)
    with figure(key, 6.4, height) as (fig, ax):
        for n, unit in enumerate(units):
            placed = [
                # Within a group the units go top-down in the legend's order.
                (g + ((len(units) - 1) / 2 - n) * step, by_unit[unit])
                for g, by_unit in enumerate(groups.values())
                if unit in by_unit
            ]
            drawn = [(y, r) for y, r in placed if r.median_ms is not None]
            bars = ax.barh(
                [y for y, _ in drawn],
                [r.median_ms or 0 for _, r in drawn],
                height=step * 0.9,
                xerr=_spread([r for _, r in drawn]),
                color=PALETTE[n % len(PALETTE)],
                error_kw={"ecolor": "#566573", "elinewidth": 0.8, "capsize": 2},
                label=t(unit),
            )
            for j, patch in enumerate(bars.patches):  # ids are unique: one per bar
                patch.set_gid(f"marks-{n}{j:04d}")
            for y, r in placed:
                if r.median_ms is None:
                    ax.text(0, y, t(f" {unit}: {r.status}"), va="center", fontsize=6,
                            color=TONE_COLOURS["bad"])  # fmt: skip
        labels = [
            t(f"{r.variant.removeprefix('mobilenet_')} {r.quant_setup}")
            for r in (next(iter(g.values())) for g in groups.values())
        ]
        ax.set_yticks(range(len(groups)), labels, fontsize=7)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(measured_axis(host))
        ax.legend(title="compute unit", fontsize=7, title_fontsize=7, frameon=False)
        caption = (
            host_note(host)
            + "One group per model and setup, one bar per compute unit: the median of its "
            "trials (whiskers p5-p95). A unit whose trials fell back to the CPU or failed has "
            "no bar; its status stands in its place. The table names the delegate and the "
            "nodes it took per row."
        )
        title = host_title("Each model on each compute unit", host)
        return to_chart(fig, key, title, caption, wide=True)
