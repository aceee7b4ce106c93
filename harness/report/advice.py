"""Warnings a reader needs before trusting the numbers, each with what to do about it.

pyperf's habit: a stability warning always comes with advice. The thresholds
are named here so the report and its docs agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.report.energy import energy_warnings
from harness.report.model import Advice, VariantRow
from harness.report.runs import DeviceRun
from harness.results.summary import NOISY_CV

# Trial-to-trial CV at or above this: the row's status is `noisy` and its median is not a
# stable figure. One bound for the table, the status and the JSON (docs/results.md).
CV_LIMIT = NOISY_CV
LOW_BATTERY = 20  # percent; many phones cap CPU frequency when the battery runs low
LIST_LIMIT = 6  # name at most this many variants in one warning


def count(n: int, noun: str) -> str:
    """ "1 variant", "3 variants"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _names(rows: Sequence[VariantRow]) -> str:
    names = [f"{r.variant} {r.quant}" for r in rows[:LIST_LIMIT]]
    more = len(rows) - LIST_LIMIT
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _thermal(run: DeviceRun) -> Advice | None:
    limit = run.settings.cooldown_temp_c
    throttled = [t for t in run.trials if t.throttled]
    uncooled = [t for t in run.trials if t.cooled is False]
    hot = [
        t
        for t in run.trials
        if limit is not None and t.temp_before_c is not None and t.temp_before_c > limit
    ]
    if not (throttled or uncooled or hot):
        return None
    parts = []
    if throttled:
        parts.append(
            f"{len(throttled)} trials ran with a CPU below its maximum frequency (throttled)"
        )
    if uncooled:
        parts.append(f"{count(len(uncooled), 'trial')} started before the cooldown finished")
    if hot:
        parts.append(f"{count(len(hot), 'trial')} started above {limit} °C")
    return Advice(
        "warn",
        "Throttled or hot trials",
        "; ".join(parts) + ".",
        "Let the phone cool (raise --cooldown-timeout, or lower the room temperature), unplug fast "
        "chargers and take off the case, then rerun the affected variants.",
    )


def _heat_unknown(run: DeviceRun) -> Advice | None:
    """Trials that asked for a cooldown on a phone that shows no temperature."""
    unknown = [t for t in run.trials if t.cooled is None and t.cooled_reason]
    if not unknown:
        return None
    return Advice(
        "warn",
        "Temperature unknown",
        f"{count(len(unknown), 'trial')} ran with {unknown[0].cooled_reason}: whether the "
        "phone was cool or hot is unknown (recorded null), not passed.",
        "Measure on a phone that exposes its thermal zones or battery temperature, or keep "
        "it and the room cool and compare these figures with care.",
    )


def _unstable(rows: Sequence[VariantRow]) -> Advice | None:
    noisy = [r for r in rows if r.status == "noisy"]
    if not noisy:
        return None
    worst = max(noisy, key=lambda r: r.cv or 0.0)
    return Advice(
        "warn",
        f"Noisy: trials disagree by {CV_LIMIT:.0%} or more",
        f"Trials of {count(len(noisy), 'variant')} differ by {CV_LIMIT:.0%} or more (CV of "
        f"trial latencies; {_names(noisy)}); the worst is {worst.variant} {worst.quant} at "
        f"{(worst.cv or 0) * 100:.1f}%. Do not trust their median, p5–p95 or ratio: which "
        "trials happened to run moves them.",
        "Rerun those variants on a quiet phone: airplane mode, other apps closed, cores "
        "pinned, cooled between trials; add trials (--trials) and runs per trial (--runs).",
    )


def _failed(rows: Sequence[VariantRow]) -> Advice | None:
    bad = [r for r in rows if r.status not in ("ok", "noisy")]
    if not bad:
        return None
    errors = list(dict.fromkeys(e for r in bad for e in r.errors))[:3]
    detail = f"{count(len(bad), 'variant')} with failed trials ({_names(bad)})."
    if errors:
        detail += " Errors: " + " | ".join(errors)
    return Advice(
        "bad",
        "Failed variants",
        detail,
        "Each failed trial is kept with its exit code and stderr tail in trials.jsonl; read them "
        "there, fix the cause, and finish the run with `harness run --resume`.",
    )


def _battery(run: DeviceRun) -> Advice | None:
    levels = [t.battery_level for t in run.trials if t.battery_level is not None]
    start = run.device.battery_level
    if isinstance(start, int):
        levels.append(start)
    if not levels or min(levels) >= LOW_BATTERY:
        return None
    return Advice(
        "warn",
        "Low battery",
        f"The battery was down to {min(levels)}% during the run.",
        f"Charge the phone above {LOW_BATTERY}% (ideally 50% or more) before measuring: "
        "many phones lower CPU frequencies on a low battery.",
    )


def _device_setup(run: DeviceRun) -> Advice | None:
    notes = list(run.device.warnings)
    if not notes:
        return None
    return Advice(
        "warn",
        "Device setup",
        " · ".join(notes),
        "Each note says what to change on the phone; fix them and measure again for steadier "
        "numbers.",
    )


def _incomplete(run: DeviceRun) -> Advice | None:
    status = run.meta.status
    if status in (None, "complete"):
        return None
    return Advice(
        "warn",
        f"Run {status}",
        f"The run's status is {status!s}: some planned trials may be missing.",
        "Continue it with `harness run --resume` to measure the rest; "
        "trials already stored are kept.",
    )


def section_warnings(run: DeviceRun, rows: Sequence[VariantRow]) -> tuple[Advice, ...]:
    """Every warning of one device in one run, most serious first."""
    found = [
        _failed(rows),
        _incomplete(run),
        _thermal(run),
        _heat_unknown(run),
        _unstable(rows),
        _battery(run),
        _device_setup(run),
        *energy_warnings(run, rows),
    ]
    order = {"bad": 0, "warn": 1, "info": 2, "ok": 3}
    return tuple(sorted((a for a in found if a is not None), key=lambda a: order[a.tone]))


# Context that should match between runs set side by side: label -> how to read it.
_SETTINGS: dict[str, Callable[[DeviceRun], Any]] = {
    "benchmark binary": lambda r: (r.binary.kind, r.binary.sha256),
    "threads": lambda r: r.settings.threads,
    "cores": lambda r: r.settings.cores,
    "XNNPACK": lambda r: r.settings.xnnpack,
    "runs per trial": lambda r: r.settings.stored("runs"),
    "warmup runs": lambda r: r.settings.stored("warmup"),
    "harness version": lambda r: r.meta.harness_version,
    "TensorFlow version": lambda r: r.meta.tf_version,
}
_DEVICE: dict[str, Callable[[DeviceRun], Any]] = {
    "device model": lambda r: r.device.model,
    "SoC": lambda r: r.device.platform,
    "build fingerprint": lambda r: r.device.fingerprint,
}


def _differing(
    runs: Sequence[DeviceRun], readers: dict[str, Callable[[DeviceRun], Any]]
) -> list[str]:
    return [label for label, read in readers.items() if len({repr(read(r)) for r in runs}) > 1]


def cross_run_warnings(runs: Sequence[DeviceRun]) -> tuple[Advice, ...]:
    """Context that differs between the runs of one report (nothing for a single section)."""
    if len(runs) < 2:
        return ()
    out = []
    settings = _differing(runs, _SETTINGS)
    if settings:
        out.append(
            Advice(
                "warn",
                "Settings differ between the runs in this report",
                "These differ: " + ", ".join(settings) + ".",
                "Compare latencies across sections only where the settings match, or rerun "
                "with the same binary and options.",
            )
        )
    devices = _differing(runs, _DEVICE)
    if devices:
        out.append(
            Advice(
                "info",
                "Different devices or builds",
                "These differ between sections: " + ", ".join(devices) + ".",
                "Expected when comparing phones; a changed build fingerprint on one phone means "
                "an OS update, which can move latencies by itself.",
            )
        )
    return tuple(out)
