"""Energy per inference in the summary: one configuration's trials reduced as latency is.

Each ok trial's `energy_mj` (mJ per inference over its timed runs, above the
idle power) is one sample; the summary gives their median and the 5th-95th
percentile interval between trials, as it does for `latency_ms`. A run
without `--energy` (or one recorded before it) has none of these figures.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from harness.results.cells import Row, given, number, truthy

if TYPE_CHECKING:
    import pandas as pd

# The trial columns these figures read (absent from tables written before energy).
ENERGY_COLUMNS: tuple[str, ...] = (
    "energy_mj",
    "power_mw",
    "idle_power_mw",
    "energy_source",
    "energy_biased",
)
# The summary's columns and their pandas dtypes (harness.results.summary.SummaryRow).
ENERGY_DTYPES: dict[str, str] = {
    "energy_trials": "int64",
    "energy_source": "string",
    "energy_biased_trials": "int64",
}


class EnergyFigures(TypedDict, total=False):
    """The summary row's energy fields (`SummaryRow`), as far as the trials give them."""

    energy_trials: int
    energy_source: str | None
    energy_biased_trials: int
    energy_median_mj: float
    energy_p5_mj: float
    energy_p95_mj: float
    power_median_mw: float
    idle_median_mw: float


def energy_figures(ok: Sequence[Row]) -> EnergyFigures:
    """The summary's energy fields over a configuration's ok trials (rows as dicts)."""
    # numpy's median and percentiles, as pandas gives them.
    import numpy as np

    def numbers(column: str) -> list[float]:
        return [x for x in (number(r.get(column)) for r in ok) if x is not None]

    mj = numbers("energy_mj")
    sources = {str(r["energy_source"]) for r in ok if given(r.get("energy_source"))}
    out: EnergyFigures = {
        "energy_trials": len(mj),
        "energy_source": "+".join(sorted(sources)) or None,
        "energy_biased_trials": sum(1 for r in ok if truthy(r.get("energy_biased"))),
    }
    if mj:
        out["energy_median_mj"] = float(np.median(mj))
        out["energy_p5_mj"] = float(np.percentile(mj, 5))
        out["energy_p95_mj"] = float(np.percentile(mj, 95))
    power = numbers("power_mw")
    if power:
        out["power_median_mw"] = float(np.median(power))
    idle = numbers("idle_power_mw")
    if idle:
        out["idle_median_mw"] = float(np.median(idle))
    return out


def energy_notes(summary: pd.DataFrame, name: Callable[[Mapping[Hashable, Any]], str]) -> list[str]:
    """Notes under the summary table: figures a charger biased, configurations without one."""
    if "energy_trials" not in summary.columns:
        return []
    notes: list[str] = []
    rows: list[dict[Hashable, Any]] = summary.to_dict(orient="records")
    biased = [name(r) for r in rows if r.get("energy_biased_trials")]
    if biased:
        notes.append(
            "biased: energy of " + ", ".join(biased) + " was read from the fuel gauge while a "
            "charger powered the phone (--energy-on-usb): it shows the charger's regulation, "
            "not the benchmark; for a true figure run over adb over Wi-Fi or through a hub "
            "that cuts the port's power"
        )
    asked = any(r.get("energy_source") for r in rows)
    lacking = [name(r) for r in rows if asked and r.get("n_ok") and not r.get("energy_trials")]
    if lacking:
        notes.append(
            "no energy figure for " + ", ".join(lacking) + ": trials.jsonl energy_reason says "
            "why (often timed runs shorter than the meters' refresh: ask for more --runs)"
        )
    return notes
