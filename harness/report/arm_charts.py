"""The A/B run's chart: every trial in run order, one colour per arm.

Time order on the x axis shows what interleaving is for: a drift in the
phone's state moves both colours together, so it cancels in the pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.chartkit import PALETTE, figure, log_axis, t, to_chart
from harness.report.model import Chart
from harness.results.schema import TrialRecord


def arm_trials(key: str, trials: Sequence[TrialRecord], arms: Sequence[str]) -> Chart | None:
    """An A/B run's ok trials per configuration, one colour per arm, in run order.

    Time order on x (the trial's place in the run) shows what interleaving is
    for: a drift moves both colours together.
    """
    ok = [r for r in trials if r.status == "ok" and r.arm in arms and r.latency_ms]
    if not ok:
        return None
    configs = sorted({f"{r.variant} {r.quant}" for r in ok})
    markers = ("o", "s", "^", "D", "v", "P")
    with figure(key, 6.4, 3.2) as (fig, ax):
        for n, arm in enumerate(arms):
            for m, config in enumerate(configs):
                mine = [r for r in ok if r.arm == arm and f"{r.variant} {r.quant}" == config]
                if not mine:
                    continue
                sc = ax.scatter(
                    [r.order_index for r in mine],
                    [r.latency_ms for r in mine],
                    s=16,
                    color=PALETTE[n % len(PALETTE)],
                    marker=markers[m % len(markers)],
                    edgecolors="white",
                    linewidths=0.4,
                    zorder=3,
                    label=t(f"{arm}" + (f" · {config}" if len(configs) > 1 else "")),
                )
                sc.set_gid(f"marks-{n}")
        log_axis(ax, "y")
        ax.set_xlabel("place in the run's order")
        ax.set_ylabel("trial latency (ms, mean of its timed runs)")
        ax.legend(fontsize=7, frameon=False)
        caption = (
            "Each dot is one trial; colour is the arm"
            + (", marker the configuration" if len(configs) > 1 else "")
            + ". Neighbouring trials of the two arms form the pairs the ratio is "
            "taken from."
        )
        return to_chart(fig, key, "Trials by arm, in run order", caption, wide=True)
