"""What every report chart shares: palette, figure setup, axes, SVG output, captions.

charts.py draws the charts of one run; history_charts.py those over runs
(baseline changes, history); both build on these helpers.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from harness.report.model import Chart
from harness.report.svg import inline_svg

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
QUANT_MARKERS = {"fp32": "o", "int8": "s", "dynamic": "^", "fp16": "D"}
TONE_COLOURS = {"bad": "#C0392B", "ok": "#1E8449", "warn": "#B9770E", "info": "#7F8C8D"}
BAND = 0.20  # the +-20% band around y = x: "close to the published figure"


def t(text: str) -> str:
    """Text for matplotlib: a `$` would start mathtext, so escape it."""
    return text.replace("$", r"\$")


@contextmanager
def figure(key: str, width_in: float, height_in: float) -> Iterator[tuple[Any, Any]]:
    """A fresh Figure (no pyplot global state) with the report's rc settings."""
    # matplotlib is heavy: only drawing a chart pays for it.
    import matplotlib

    matplotlib.use("Agg", force=False)
    # matplotlib is heavy: only drawing a chart pays for it.
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


def to_chart(
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


def log_axis(ax: Any, which: str) -> None:
    """A log scale labelled in plain milliseconds (10, 20, 50) rather than 2×10^1."""
    # matplotlib is heavy: only drawing a chart pays for it.
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


def host_title(title: str, host: str) -> str:
    """A chart title that says when its measured axis is the host's, not a phone's."""
    return f"{title} (host numbers: {host})" if host else title


def measured_axis(host: str) -> str:
    return "measured median latency, host (ms)" if host else "measured median latency (ms)"


def host_note(host: str) -> str:
    return f"Host numbers ({host}), not a phone's. " if host else ""


def sentence(parts: Sequence[str]) -> str:
    """Join caption clauses that apply into one sentence (empty when none do)."""
    kept = [p for p in parts if p]
    if not kept:
        return ""
    text = "; ".join(kept)
    return " " + text[0].upper() + text[1:] + "."
