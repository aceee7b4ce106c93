"""The report's energy: where a phone's energy was read, its rails, and the warnings.

Everything comes from what `harness run --energy` stored: meta.json `energy`
(the source, the rails summed and what each feeds, as the phone named them)
and each trial's `energy_*` fields. Rail names and what they feed are device
strings; the template escapes them like every other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from harness.report.model import Advice, EnergySection, Fact, RailRow, VariantRow
from harness.report.runs import DeviceRun

SOURCE_WORDS = {
    "odpm": "power rails (ODPM, the Power Stats HAL's meters)",
    "fuel_gauge": "the battery's fuel gauge (the whole phone)",
}
LIST_LIMIT = 6


def _names(rows: Sequence[VariantRow]) -> str:
    names = [f"{r.variant} {r.quant}" for r in rows[:LIST_LIMIT]]
    more = len(rows) - LIST_LIMIT
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def rail_shares(run: DeviceRun) -> dict[str, float]:
    """Each rail's share of the energy its trials measured (all ok trials together)."""
    totals: dict[str, float] = defaultdict(float)
    for trial in run.trials:
        if trial.status == "ok" and trial.energy_rail_mj:
            for rail, mj in trial.energy_rail_mj.items():
                totals[rail] += mj
    whole = sum(totals.values())
    return {rail: mj / whole for rail, mj in totals.items()} if whole > 0 else {}


def energy_section(run: DeviceRun) -> EnergySection | None:
    """Where this phone's energy came from and its rails; None for a run without --energy."""
    setup = run.meta.energy.get(run.serial)
    sources = sorted({t.energy_source for t in run.trials if t.energy_source})
    if setup is None and not sources:
        return None
    source = setup.source if setup is not None else "+".join(sources)
    shares = rail_shares(run)
    names = list(setup.rails) if setup is not None else sorted(shares)
    feeds = dict(setup.subsystems) if setup is not None else {}
    rails = tuple(RailRow(name, feeds.get(name, ""), shares.get(name)) for name in names)
    notes = []
    if source == "odpm":
        notes.append(
            "Energy per inference is the rails' sum over the timed runs, above the idle power "
            "measured just before each trial; the rails measure downstream of the battery, "
            "so a USB cable does not disturb them."
        )
    else:
        notes.append(
            "Energy per inference is the whole phone's (screen and radios included), from the "
            "battery's charge and current over the timed runs, above the idle power measured "
            "just before each trial."
        )
    biased = bool(setup.biased) if setup is not None else any(t.energy_biased for t in run.trials)
    if biased:
        notes.append(
            "A charger powered the phone (--energy-on-usb): the gauge shows the charger's "
            "regulation, not the benchmark, so these figures are biased."
        )
    return EnergySection(
        source=SOURCE_WORDS.get(source, source),
        note=" ".join(notes),
        rails=rails,
        biased=biased,
    )


def energy_fact(run: DeviceRun) -> Fact | None:
    """The settings card's line: which source, how many rails, on USB or not."""
    setup = run.meta.energy.get(run.serial)
    if setup is None:
        return Fact("Energy", "not measured") if run.settings.energy else None
    what = SOURCE_WORDS.get(setup.source, setup.source)
    if setup.source == "odpm":
        what += f", {len(setup.rails)} rail" + ("" if len(setup.rails) == 1 else "s")
    if setup.biased:
        what += ", biased: read on a charger"
    elif setup.on_usb:
        what += ", on USB"
    return Fact("Energy", what)


def energy_warnings(run: DeviceRun, rows: Sequence[VariantRow]) -> tuple[Advice, ...]:
    """A charger's bias, and measured configurations whose trials gave no energy figure."""
    out = []
    biased = [r for r in rows if r.energy_biased]
    if biased:
        out.append(
            Advice(
                "bad",
                "Energy biased by a charger",
                f"Energy of {_names(biased)} was read from the fuel gauge while a charger "
                "powered the phone (--energy-on-usb): it shows the charger's regulation, not "
                "what the benchmark spent.",
                "Measure on battery power: adb over Wi-Fi (adb tcpip 5555, adb connect, then "
                "unplug the cable) or a USB hub that cuts the port's power; a Pixel 6 or later "
                "reads its power rails on the cable.",
            )
        )
    asked = run.settings.energy or run.serial in run.meta.energy
    lacking = [r for r in rows if asked and r.n_ok and not r.energy_trials]
    if lacking:
        reasons = sorted(
            {
                t.energy_reason
                for t in run.trials
                if t.status == "ok" and t.energy_mj is None and t.energy_reason
            }
        )
        detail = f"{_names(lacking)} measured latency but no energy figure"
        detail += f" ({'; '.join(reasons[:3])})." if reasons else "."
        out.append(
            Advice(
                "warn",
                "No energy figure",
                detail,
                "Give each trial a longer timed phase (more --runs): at least half a second "
                "with the rails, many seconds with the fuel gauge.",
            )
        )
    return tuple(out)
