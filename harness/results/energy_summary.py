"""Energy per inference in the summary: one configuration's trials reduced as latency is.

Each ok trial's `energy_mj` (mJ per inference over its timed runs, above the
idle power) is one sample; the summary gives their median and the 5th-95th
percentile interval between trials, as it does for `latency_ms`. A run
without `--energy` (or one recorded before it) has none of these figures.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

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


def energy_figures(ok: pd.DataFrame) -> EnergyFigures:
    """The summary's energy fields over a configuration's ok trials."""
    import numpy as np
    import pandas as pd

    mj = pd.to_numeric(ok["energy_mj"], errors="coerce").dropna().to_numpy(dtype=float)
    sources = ok["energy_source"].dropna().astype(str)
    out: EnergyFigures = {
        "energy_trials": len(mj),
        "energy_source": "+".join(sorted(set(sources))) or None,
        "energy_biased_trials": int(ok["energy_biased"].fillna(False).astype(bool).sum()),
    }
    if len(mj):
        out["energy_median_mj"] = float(np.median(mj))
        out["energy_p5_mj"] = float(np.percentile(mj, 5))
        out["energy_p95_mj"] = float(np.percentile(mj, 95))
    power = pd.to_numeric(ok["power_mw"], errors="coerce").dropna()
    if len(power):
        out["power_median_mw"] = float(power.median())
    idle = pd.to_numeric(ok["idle_power_mw"], errors="coerce").dropna()
    if len(idle):
        out["idle_median_mw"] = float(idle.median())
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
