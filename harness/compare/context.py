"""Whether two sides were measured under the same conditions (pyperf's checked metadata).

Device model, SoC, ABI and benchmark binary decide what a latency means:
a difference refuses the comparison. An Android build change or thermal
trouble does not make numbers meaningless, but a reader must know: warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from harness.stored import Stored


@dataclass(frozen=True)
class DeviceContext(Stored):
    """What one side measured with on one device model: the phone, the binary, whether
    its latencies were measured or drawn, and its thermal trouble (from a run's meta.json
    and trials, or a baseline file's `contexts[model]`)."""

    model: str | None = None
    device: str | None = None
    platform: str | None = None
    hardware: str | None = None
    abi: str | None = None
    fingerprint: str | None = None
    android_release: str | None = None
    sdk: int | None = None
    binary_kind: str | None = None  # the trials' kinds, comma-joined when several
    binary_sha256: str | None = None
    latencies: str | None = None  # "measured" or "synthetic"; older baselines say neither
    simulated: bool | None = None  # the harness's simulated device (or an emulator)
    throttled_trials: int | None = None
    uncooled_trials: int | None = None
    cooled_unknown_trials: int | None = None
    max_temp_c: float | None = None
    # What its energy figures measured (`harness run --energy`): None without any.
    energy_source: str | None = None  # odpm | fuel_gauge, comma-joined when several
    energy_rails: str | None = None  # odpm: the rails summed, "A,B"; ";"-joined when several
    energy_biased: bool | None = None  # some figure was the fuel gauge on a charger


Read = Callable[[DeviceContext], object]
# (what a person calls it, how to read it): a difference refuses the comparison.
MUST_MATCH: tuple[tuple[str, Read], ...] = (
    ("device model", lambda c: c.model),
    ("SoC", lambda c: c.platform),
    ("ABI", lambda c: c.abi),
    ("benchmark binary kind", lambda c: c.binary_kind),
    ("benchmark binary sha256", lambda c: c.binary_sha256),
)
# A difference is worth a warning in every output.
WARN_IF_DIFFERENT: tuple[tuple[str, Read], ...] = (("Android build", lambda c: c.fingerprint),)
# What an energy figure means: a difference refuses comparing energy (latency is judged).
ENERGY_MUST_MATCH: tuple[tuple[str, Read], ...] = (
    ("energy source", lambda c: c.energy_source),
    ("energy rails", lambda c: c.energy_rails),
    ("energy biased by a charger", lambda c: c.energy_biased),
)


@dataclass
class ContextReport:
    """Differences that refuse the comparison, and warnings that go with it."""

    differences: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _show(value: object) -> str:
    text = str(value)
    # A sha256 is long; the first 12 hex digits name it well enough in one line.
    return repr(text[:12] + "…") if len(text) == 64 else repr(text)


def check_pair(base: DeviceContext, cur: DeviceContext, *, label: str) -> ContextReport:
    """Compare one baseline device context with one current device context."""
    report = ContextReport()
    for name, read in MUST_MATCH:
        b, c = read(base), read(cur)
        if b is None and c is None:
            continue
        if b is None or c is None:
            side = "baseline" if b is None else "current run"
            report.warnings.append(f"{label}: {name} unknown in the {side}; not checked")
        elif b != c:
            report.differences.append(f"{name}: baseline {_show(b)} vs current {_show(c)}")
    # Synthetic (drawn) against measured latencies compares nothing; older files say neither.
    b_lat, c_lat = base.latencies or "measured", cur.latencies or "measured"
    if b_lat != c_lat:
        report.differences.append(f"latencies: baseline {b_lat!r} vs current {c_lat!r}")
    for name, read in WARN_IF_DIFFERENT:
        b, c = read(base), read(cur)
        if b is not None and c is not None and b != c:
            report.warnings.append(
                f"{label}: {name} changed: baseline {b!r} vs current {c!r}; "
                "a change may come from the OS, not the model"
            )
    for side, ctx in (("baseline", base), ("current run", cur)):
        trouble = thermal_trouble(ctx)
        if trouble:
            report.warnings.append(f"{label}: thermal trouble in the {side}: {trouble}")
    return report


def energy_differences(base: DeviceContext, cur: DeviceContext) -> list[str]:
    """Why two sides' energy figures measure different things: the rails' sum against the
    whole phone's gauge, other rails, a charger's bias on one side only. A side that does not
    say (no energy, an older baseline) is not checked."""
    out = []
    for name, read in ENERGY_MUST_MATCH:
        b, c = read(base), read(cur)
        if b is not None and c is not None and b != c:
            out.append(f"{name}: baseline {_show(b)} vs current {_show(c)}")
    return out


def thermal_trouble(ctx: DeviceContext) -> str | None:
    """One phrase describing throttled, not-cooled or never-checked trials, None when
    there were none."""
    parts = []
    throttled = ctx.throttled_trials or 0
    uncooled = ctx.uncooled_trials or 0
    unknown = ctx.cooled_unknown_trials or 0
    if throttled:
        parts.append(f"{throttled} throttled trial(s)")
    if uncooled:
        parts.append(f"{uncooled} trial(s) started before the device cooled down")
    if unknown:
        parts.append(f"{unknown} trial(s) with no temperature readable (cooldown unknown)")
    if not parts:
        return None
    if ctx.max_temp_c is not None:
        parts.append(f"max {ctx.max_temp_c:.1f} °C")
    return ", ".join(parts)


def pair_devices(
    base_models: list[str], cur_models: list[str]
) -> list[tuple[str | None, str | None]]:
    """Pair baseline and current devices by model; a lone device on each side pairs anyway.

    The lone-pair rule is what makes a model change visible as a context
    difference instead of every configuration turning up `missing` and `new`.
    """
    if len(base_models) == 1 and len(cur_models) == 1:
        return [(base_models[0], cur_models[0])]
    pairs: list[tuple[str | None, str | None]] = [(m, m) for m in base_models if m in cur_models]
    pairs += [(m, None) for m in base_models if m not in cur_models]
    pairs += [(None, m) for m in cur_models if m not in base_models]
    return pairs


def not_a_phone(contexts: Mapping[str, DeviceContext]) -> list[str]:
    """Words for what one side really ran when it was not a phone with benchmark_model.

    [] for a phone; else some of "simulated device", "stand-in binary", "synthetic
    latencies", so that every output of `harness check` can name such a run as such.
    """
    words = []
    if any(c.simulated for c in contexts.values()):
        words.append("simulated device")
    if any("stand-in" in (c.binary_kind or "") for c in contexts.values()):
        words.append("stand-in binary")
    if any(c.latencies == "synthetic" for c in contexts.values()):
        words.append("synthetic latencies")
    return words
