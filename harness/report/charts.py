"""The report's charts: matplotlib figures rendered to static inline SVG.

matplotlib is the charting library (well kept, already a dependency, and its
SVG needs nothing at view time: no script, no CDN, no web font). Text stays
text (`svg.fonttype: none`), so the browser draws it with a local sans-serif
and the file stays small. Each function takes already-computed rows and
returns a `Chart`, or None when there is nothing to draw. Data artists carry a
`marks-N` gid, which `svg.inline_svg` turns into `class="marks"`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from harness.report.model import ChangeRow, Chart, HistoryLine, StepMark, VariantRow
from harness.report.order import quant_rank, row_size_key, variant_size_key
from harness.report.svg import inline_svg

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
QUANT_MARKERS = {"fp32": "o", "int8": "s", "dynamic": "^", "fp16": "D"}
TONE_COLOURS = {"bad": "#C0392B", "ok": "#1E8449", "warn": "#B9770E", "info": "#7F8C8D"}
BAND = 0.20  # the +-20% band around y = x: "close to the published figure"


def _t(text: str) -> str:
    """Text for matplotlib: a `$` would start mathtext, so escape it."""
    return text.replace("$", r"\$")


@contextmanager
def _figure(key: str, width_in: float, height_in: float) -> Iterator[tuple[Any, Any]]:
    """A fresh Figure (no pyplot global state) with the report's rc settings."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",  # text as <text>: no glyph paths, no font files
            "svg.hashsalt": key,  # deterministic ids (prefixed per chart later anyway)
            "font.size": 9,
            "font.family": "sans-serif",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    ):
        fig = Figure(figsize=(width_in, height_in), layout="constrained")
        yield fig, fig.add_subplot()


def _to_chart(
    fig: Any,
    key: str,
    title: str,
    caption: str,
    *,
    wide: bool = False,
    titles: Mapping[str, str] | None = None,
) -> Chart:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = inline_svg(buf.getvalue(), key, label=title, titles=titles or {})
    # ~113 px per drawn inch: 9 pt chart text shows near the page's own text size.
    max_px = round(fig.get_figwidth() * 113)
    return Chart(key=key, title=title, caption=caption, svg=svg, wide=wide, max_px=max_px)


def _log_axis(ax: Any, which: str) -> None:
    """A log scale labelled in plain milliseconds (10, 20, 50) rather than 2×10^1."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    if which == "x":
        ax.set_xscale("log")
        axis = ax.xaxis
    else:
        ax.set_yscale("log")
        axis = ax.yaxis
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda _value, _pos: ""))


def _host_title(title: str, host: str) -> str:
    """A chart title that says when its measured axis is the host's, not a phone's."""
    return f"{title} (host numbers: {host})" if host else title


def _measured_axis(host: str) -> str:
    return "measured median latency, host (ms)" if host else "measured median latency (ms)"


def _host_note(host: str) -> str:
    return f"Host numbers ({host}), not a phone's. " if host else ""


def _sentence(parts: Sequence[str]) -> str:
    """Join caption clauses that apply into one sentence (empty when none do)."""
    kept = [p for p in parts if p]
    if not kept:
        return ""
    text = "; ".join(kept)
    return " " + text[0].upper() + text[1:] + "."


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
    from matplotlib.lines import Line2D

    points = [r for r in _measured(rows) if r.published_ms]
    if not points:
        return None
    colours = _multiplier_colours(points)
    quants = sorted({r.quant for r in points}, key=quant_rank)
    with _figure(key, 6.0, 4.4) as (fig, ax):
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
                    label=_t(q),
                )
                for q in quants
            ]
        _log_axis(ax, "x")
        _log_axis(ax, "y")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("published latency, Pixel 1 (ms)")
        ax.set_ylabel(_measured_axis(host))
        ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False)
        caption = (
            _host_note(host)
            + "Each point is one configuration: its measured median (bars: p5-p95 of the "
            "trials) against the Pixel-1 figure Google published; points inside the grey band "
            "are within 20% of it."
            + _sentence(
                [
                    "colour is the depth multiplier" if len(colours) > 1 else "",
                    "marker shape is the quantization" if len(quants) > 1 else "",
                ]
            )
        )
        return _to_chart(fig, key, _host_title("Measured vs published latency", host), caption)


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
    with _figure(key, 6.0, 4.4) as (fig, ax):
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
            label = f"{family.upper()} {mult:g}" + ("" if setup == "fp32" else f" {_t(setup)}")
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
        ax.set_ylabel(_measured_axis(host))
        ax.legend(fontsize=7, frameon=False, ncols=2 if len(groups) > 6 else 1)
        caption = (
            _host_note(host)
            + "One line per depth multiplier through the input resolutions it was measured at"
            + (" (solid: MobileNetV2, dashed: MobileNetV1)" if len(families) > 1 else "")
            + (", and per quantization or setup" if len(series) > 1 else "")
            + (
                ", in the shape of the MobileNetV2 README's latency figure."
                if "v2" in families
                else "."
            )
        )
        return _to_chart(fig, key, _host_title("Latency vs MACs", host), caption)


def accuracy_vs_latency(key: str, rows: Sequence[VariantRow], *, host: str = "") -> Chart | None:
    """Published top-1 against measured latency, marker area by parameter count."""
    points = [r for r in _measured(rows) if r.top1 is not None]
    if not points:
        return None
    colours = _multiplier_colours(points)
    with _figure(key, 6.0, 4.4) as (fig, ax):
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
        _log_axis(ax, "x")
        ax.set_xlabel(_measured_axis(host))
        ax.set_ylabel("published top-1 accuracy (%)")
        ax.legend(
            title="depth multiplier", fontsize=7, title_fontsize=7, frameon=False, markerscale=0.6
        )
        caption = (
            _host_note(host)
            + "The MobileNetV2 README's accuracy figure with measured latency in place of MACs: "
            "marker area grows with the parameter count"
            + (", colour is the depth multiplier." if len(colours) > 1 else ".")
        )
        return _to_chart(fig, key, _host_title("Top-1 accuracy vs measured latency", host), caption)


def trial_distributions(key: str, rows: Sequence[VariantRow], *, host: str = "") -> Chart | None:
    """Every trial's latency per configuration (box p5-p95 plus the points), largest at the top."""
    import numpy as np

    # boxplot counts positions from the bottom: smallest first puts the largest on top.
    points = sorted((r for r in rows if r.trials_ms), key=row_size_key, reverse=True)
    if not points:
        return None
    labels = [_t(f"{r.variant.removeprefix('mobilenet_')} {r.series}") for r in points]
    height = 1.2 + 0.24 * len(points)
    rng = np.random.default_rng(0)  # jitter only: fixed so the same data give the same file
    with _figure(key, 6.4, height) as (fig, ax):
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
        _log_axis(ax, "x")
        ax.grid(axis="y", visible=False)
        where = ", host" if host else ""
        ax.set_xlabel(f"trial latency (ms{where}, mean of the trial's timed runs)")
        caption = (
            _host_note(host)
            + "Each dot is one trial (one benchmark process); the box spans the quartiles, "
            "the whiskers p5-p95, the blue line is the median. Largest model at the top."
        )
        title = _host_title("Per-trial latency distributions", host)
        return _to_chart(fig, key, title, caption, wide=True)


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
    with _figure(key, 6.4, height) as (fig, ax):
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
            [_t(f"{c.variant.removeprefix('mobilenet_')} {c.quant}") for c in points],
            fontsize=7,
        )
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("change of the median vs the baseline (%), with its interval")
        tones = {c.tone for c in points}
        caption = (
            "Each dot is one configuration's change with its interval; the grey band is "
            f"±{threshold:.0%}."
            + _sentence(
                [
                    "red: a regression (slower by more than the threshold, and significant)"
                    if "bad" in tones
                    else "",
                    "green: an improvement" if "ok" in tones else "",
                    "grey: unchanged or not significant" if tones & {"info", "warn"} else "",
                ]
            )
        )
        return _to_chart(fig, key, "Change vs baseline", caption, wide=True)


MAX_TICKS = 16  # run labels on the history's x axis; every run stays in the table below
TICK_CHARS = 22  # a long label (a git describe) is cut on the axis, whole in the table


def _tick(label: str) -> str:
    return _t(label if len(label) <= TICK_CHARS else label[: TICK_CHARS - 1] + "…")


def history(
    key: str,
    run_labels: Sequence[str],
    lines: Sequence[HistoryLine],
    steps: Sequence[StepMark],
    *,
    host: str = "",
) -> Chart | None:
    """Median per run, one line per configuration, steps marked (hover: what changed)."""
    from matplotlib.lines import Line2D

    drawn = [ln for ln in lines if any(v is not None for v in ln.values)]
    if len(run_labels) < 2 or not drawn:
        return None
    multipliers = sorted({ln.depth_multiplier for ln in drawn}, reverse=True)
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(multipliers)}
    titles: dict[str, str] = {}
    n = len(run_labels)
    with _figure(key, 10.0, 4.8) as (fig, ax):
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
        _log_axis(ax, "y")
        ax.set_ylabel(_measured_axis(host))
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
            _host_note(host)
            + f"The median of each configuration in each of the {n} runs, oldest on the left"
            + (f" (one run in {every} labelled on the axis)" if every > 1 else "")
            + "."
            + _sentence(
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
        title = _host_title("Median latency per run", host)
        return _to_chart(fig, key, title, caption, wide=True, titles=titles)


def arm_trials(key: str, trials: Sequence[Mapping[str, Any]], arms: Sequence[str]) -> Chart | None:
    """An A/B run's ok trials per configuration, one colour per arm, in run order.

    Time order on x (the trial's place in the run) shows what interleaving is
    for: a drift moves both colours together.
    """
    ok = [
        t
        for t in trials
        if t.get("status") == "ok" and t.get("arm") in arms and t.get("latency_ms")
    ]
    if not ok:
        return None
    configs = sorted({f"{t['variant']} {t['quant']}" for t in ok})
    markers = ("o", "s", "^", "D", "v", "P")
    with _figure(key, 6.4, 3.2) as (fig, ax):
        for n, arm in enumerate(arms):
            for m, config in enumerate(configs):
                mine = [
                    t for t in ok if t["arm"] == arm and f"{t['variant']} {t['quant']}" == config
                ]
                if not mine:
                    continue
                sc = ax.scatter(
                    [int(t["order_index"]) for t in mine],
                    [float(t["latency_ms"]) for t in mine],
                    s=16,
                    color=PALETTE[n % len(PALETTE)],
                    marker=markers[m % len(markers)],
                    edgecolors="white",
                    linewidths=0.4,
                    zorder=3,
                    label=_t(f"{arm}" + (f" · {config}" if len(configs) > 1 else "")),
                )
                sc.set_gid(f"marks-{n}")
        _log_axis(ax, "y")
        ax.set_xlabel("place in the run's order")
        ax.set_ylabel("trial latency (ms, mean of its timed runs)")
        ax.legend(fontsize=7, frameon=False)
        caption = (
            "Each dot is one trial; colour is the arm"
            + (", marker the configuration" if len(configs) > 1 else "")
            + ". Neighbouring trials of the two arms form the pairs the ratio is "
            "taken from."
        )
        return _to_chart(fig, key, "Trials by arm, in run order", caption, wide=True)
