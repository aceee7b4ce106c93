"""Energy per inference from a trial's energy looks (`energy` lines of run_trial.sh).

Four looks read the phone's counters (device_scripts/run_trial.sh, "Energy"):
`idle0` and `idle1` either side of an idle window just before the launch,
`timed` as soon as the benchmark has printed the line that opens its timed
runs, and `exit` right after it ended. From them, for the timed runs only:

    idle power   P_idle = (E(idle1) - E(idle0)) / window       (ODPM, per rail)
                        = -current_now x voltage_now at idle1  (gauge, its own average)
    net energy   N      = E(exit) - E(timed) - P_idle x (their span)
    timed runs          from s, the middle of the line's bracket, to e, the exit look
    energy       E      = N + N / (the span's part before e) x (what the span missed of s..e)
    per inference         E / the timed runs' count;   power: E / (e - s)

The timed runs start somewhere between the sampler's last look at the output
without the line (`prev`) and the first with it (`seen`): the middle is
taken, so the edge is off by half that bracket at most. The counters' own
times say when each reading was taken: an ODPM snapshot carries the meter's
`t=` (CLOCK_BOOTTIME ms; the driver may hand out one up to 50 ms old),
mapped onto the looks' clock through the freshest of that meter's readings; a
gauge reading is as old as its look. The span the two readings cover is
stretched to s..e at its own net power: the runs between the line and the
timed reading, and those a stale exit snapshot missed. A span that reaches
past e adds only idle draw, which N has already taken off. `bound_pct` adds
up what the start edge, a timed snapshot older than the line, and the
counters' steps could be off by. Not in it: the few milliseconds after the
last timed run (the tool prints its results and exits) count as timed, and
the idle power is taken to hold through the trial.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from harness.bench.remote import Collected
from harness.device.energy import EnergyRequest
from harness.device.kv import device_lines, digits, words
from harness.logs.parser import parse
from harness.vocab import EnergySource

LOOKS = ("idle0", "idle1", "timed", "exit")
# How a gauge signs its current: positive into the battery (Android's
# BatteryManager) or positive out of it (some vendors).
GaugeSign = Literal["positive_in", "positive_out"]
# One ODPM rail reading is a whole number of uWs; one gauge step is 1 uAh.
ODPM_STEP_UWS = 1.0
GAUGE_STEP_UAH = 1.0
# uAh x uV -> mJ: 1e-6 A x 3600 s x 1e-6 V x 1e3 mJ/J (1 uAh at 4.2 V is 15.1 mJ).
MJ_PER_UAH_UV = 3.6e-6


@dataclass(frozen=True)
class MeterReading:
    """One ODPM meter's snapshot: its time (CLOCK_BOOTTIME ms), each rail's uWs, and
    when the look had read it (the looks' clock, s)."""

    meter: int
    t_ms: int
    rails: tuple[tuple[str, int], ...]
    read_s: float | None = None


@dataclass(frozen=True)
class GaugeReading:
    """The fuel gauge at one look (None where a file gave no number)."""

    charge_uah: int | None
    current_ua: int | None
    voltage_uv: int | None


@dataclass(frozen=True)
class Look:
    """One `energy` line: when (the looks' clock, s) and what the counters said."""

    at: str
    rt_s: float
    meters: tuple[MeterReading, ...] = ()
    gauge: GaugeReading | None = None
    prev_s: float | None = None  # timed look: the last look at the output without the line
    seen_s: float | None = None  # ...and the first with it


@dataclass(frozen=True)
class RailEnergy:
    """One rail's share of a trial's energy."""

    name: str
    energy_mj: float | None  # per inference, above idle
    power_mw: float  # above idle, over the timed runs
    idle_power_mw: float


@dataclass(frozen=True)
class TrialEnergy:
    """A trial's energy over its timed runs; None figures come with a `reason`."""

    source: EnergySource
    energy_mj: float | None = None  # per inference, above the idle power
    power_mw: float | None = None  # average over the timed runs, above the idle power
    idle_power_mw: float | None = None  # measured just before the launch
    rails: tuple[str, ...] = ()  # odpm: the rails summed
    per_rail: tuple[RailEnergy, ...] = ()
    runs: int | None = None  # the timed runs the energy is divided by
    timed_s: float | None = None  # the timed runs as placed: start (mid-bracket) to exit
    bound_pct: float | None = None  # what the edges and the counters' steps could be off by
    on_usb: bool = False  # a charger powered the phone
    gauge_sign: GaugeSign | None = None  # the fuel gauge's, read from its own readings
    reason: str | None = None  # why energy_mj is None

    @property
    def biased(self) -> bool:
        """A gauge reading while a charger carried the load: the charger's, not the benchmark's."""
        return self.source == "fuel_gauge" and self.on_usb


def _int(text: str) -> int | None:
    body = text[1:] if text[:1] == "-" else text
    return int(text) if digits(body) else None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _look(line: str) -> Look | None:
    """One `energy` line; None for anything else, or a line cut short."""
    found = words(line)
    if not found or found[0] != "energy":
        return None
    pairs = [w.partition("=")[::2] for w in found[1:]]
    head = dict(pairs[:4])
    at, rt = head.get("at", ""), _float(head.get("rt"))
    if at not in LOOKS or rt is None:
        return None
    meters: list[MeterReading] = []
    gauge: dict[str, int | None] = {}
    for key, value in pairs:
        if key in ("at", "rt", "prev", "seen"):
            continue
        if key in ("charge", "current", "voltage"):
            gauge[key] = _int(value)
        elif key[:1] == "m" and digits(key[1:]):  # m<N>=<t>,<read>: a meter's block
            t, _, read = value.partition(",")
            if (t_ms := _int(t)) is not None:
                meters.append(MeterReading(int(key[1:]), t_ms, (), _float(read)))
        elif meters and (uws := _int(value)) is not None:
            last = meters[-1]
            meters[-1] = MeterReading(last.meter, last.t_ms, (*last.rails, (key, uws)), last.read_s)
    reading = None
    if gauge:
        if set(gauge) != {"charge", "current", "voltage"}:
            return None  # cut short
        reading = GaugeReading(gauge["charge"], gauge["current"], gauge["voltage"])
    return Look(at, rt, tuple(meters), reading, _float(head.get("prev")), _float(head.get("seen")))


def parse_looks(text: str | None) -> dict[str, Look]:
    """The energy looks in a trial's `samples` section, by name (the last of each)."""
    looks: dict[str, Look] = {}
    for line in device_lines(text or ""):
        look = _look(line)
        if look is not None:
            looks[look.at] = look
    return looks


def _rails(look: Look) -> dict[str, tuple[int, int]]:
    """rail -> (its meter, uWs)."""
    return {name: (m.meter, uws) for m in look.meters for name, uws in m.rails}


def _offsets(looks: Iterable[Look]) -> dict[int, float]:
    """Per meter, the offset from its t (s) to the looks' clock, by its freshest reading.

    A reading is stamped once read, so a snapshot from the driver's cache, or
    a read whose shell was kept waiting, shows a larger gap than a fresh one:
    the smallest gap of the four looks is the closest to the meter's own clock.
    """
    offsets: dict[int, float] = {}
    for look in looks:
        for m in look.meters:
            gap = (m.read_s if m.read_s is not None else look.rt_s) - m.t_ms / 1000.0
            offsets[m.meter] = min(gap, offsets.get(m.meter, gap))
    return offsets


@dataclass(frozen=True)
class _Span:
    """Where the timed runs are placed in the looks' clock."""

    start: float  # s: the middle of the line's bracket
    half: float  # half the bracket: how far `start` may be off
    prev: float  # the last look at the output without the line
    end: float  # e: the exit look

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def stretch(self, net: float, first: float, last: float) -> float | None:
        """`net`, measured from `first` to `last`, stretched to the timed runs at its
        own rate; None when the readings cover none of them."""
        ran = min(last, self.end) - first
        if ran <= 0:
            return None
        missed = (first - self.start) + max(0.0, self.end - last)
        return net + net / ran * missed


def _timed_span(looks: dict[str, Look]) -> _Span | str:
    """Where the timed runs lie, or why they cannot be placed."""
    timed, end = looks.get("timed"), looks.get("exit")
    if timed is None:
        return "the sampler never saw the timed runs begin (no timed look)"
    if end is None:
        return "the trial has no exit look"
    if timed.prev_s is None or timed.seen_s is None:
        return "the timed look does not say when the timed runs began"
    start = (timed.prev_s + timed.seen_s) / 2
    if end.rt_s <= start:
        return "the timed runs ended before they could be measured"
    return _Span(start, (timed.seen_s - timed.prev_s) / 2, timed.prev_s, end.rt_s)


def compute_energy(
    looks: dict[str, Look],
    *,
    source: EnergySource,
    runs: int | None,
    on_usb: bool = False,
) -> TrialEnergy:
    """Energy per inference over the timed runs (module docstring: how, and its bound)."""
    need = "meters" if source == "odpm" else "gauge"
    missing = [at for at in LOOKS if at not in looks or not getattr(looks[at], need)]
    if missing:
        what = "power rail" if source == "odpm" else "fuel gauge"
        reason = f"no {what} readings at {', '.join(missing)}"
        return TrialEnergy(source, runs=runs, on_usb=on_usb, reason=reason)
    span = _timed_span(looks)
    if isinstance(span, str):
        return TrialEnergy(source, runs=runs, on_usb=on_usb, reason=span)
    if source == "odpm":
        return _odpm(looks, span, runs=runs, on_usb=on_usb)
    return _gauge(looks, span, runs=runs, on_usb=on_usb)


def _odpm(looks: dict[str, Look], span: _Span, *, runs: int | None, on_usb: bool) -> TrialEnergy:
    def none(reason: str) -> TrialEnergy:
        return TrialEnergy("odpm", runs=runs, on_usb=on_usb, reason=reason)

    read = {at: _rails(looks[at]) for at in LOOKS}
    t = {at: {m.meter: m.t_ms for m in looks[at].meters} for at in LOOKS}
    names = [n for n in read["exit"] if all(n in read[at] for at in LOOKS)]
    if not names:
        return none("no rail was read at every look")
    offset = _offsets(looks[at] for at in LOOKS)
    shares: list[tuple[str, float, float]] = []  # rail, timed energy (mJ), idle power (mW)
    stale = quantum_mj = 0.0
    for name in names:
        meter = read["exit"][name][0]
        idle_ms = t["idle1"][meter] - t["idle0"][meter]
        span_ms = t["exit"][meter] - t["timed"][meter]
        if idle_ms <= 0:
            return none("the idle window is shorter than the meters' refresh (50 ms)")
        if span_ms <= 0:
            return none("the timed runs are shorter than the meters' refresh (50 ms)")
        value = {at: read[at][name][1] for at in LOOKS}
        idle_mw = (value["idle1"] - value["idle0"]) / idle_ms  # uWs per ms = mW
        net_mj = (value["exit"] - value["timed"] - idle_mw * span_ms) / 1000.0
        first = t["timed"][meter] / 1000.0 + offset[meter]
        energy_mj = span.stretch(net_mj, first, first + span_ms / 1000.0)
        if energy_mj is None:
            return none("the meters' readings cover none of the timed runs")
        shares.append((name, energy_mj, idle_mw))
        # A timed snapshot older than the look that missed the line holds some
        # of what came before the timed runs.
        stale = max(stale, span.prev - first)
        # Each reading is off by a step at most: two for the span, two for the idle.
        stretch = span.seconds * 1000.0 / span_ms
        quantum_mj += 2 * ODPM_STEP_UWS * (stretch + span.seconds * 1000.0 / idle_ms) / 1000.0
    return _result(
        "odpm", shares, span, stale=stale, quantum_mj=quantum_mj, runs=runs, on_usb=on_usb
    )


def _gauge(looks: dict[str, Look], span: _Span, *, runs: int | None, on_usb: bool) -> TrialEnergy:
    def none(reason: str, sign: GaugeSign | None = None) -> TrialEnergy:
        return TrialEnergy("fuel_gauge", runs=runs, on_usb=on_usb, gauge_sign=sign, reason=reason)

    idle0, idle1, timed, exit_ = (looks[at].gauge for at in LOOKS)
    assert idle0 is not None and idle1 is not None and timed is not None and exit_ is not None
    q0, qa, qb = idle0.charge_uah, timed.charge_uah, exit_.charge_uah
    va, vb, vi, current = timed.voltage_uv, exit_.voltage_uv, idle1.voltage_uv, idle1.current_ua
    if q0 is None or qa is None or qb is None or va is None or vb is None or vi is None:
        return none("the fuel gauge gave no number at some look")
    if current is None:
        return none("the fuel gauge gave no current at the idle look")
    sign = _sign(q0, qb, current)
    # The gauge's current is its own short average: at the idle window's end, the idle draw.
    draw_ua = {"positive_in": -current, "positive_out": current}.get(sign or "", abs(current))
    idle_mw = draw_ua * vi * 1e-9  # uA x uV = pW
    first, last = looks["timed"].rt_s, looks["exit"].rt_s
    if last <= first:
        return none("no time passed between the gauge's readings", sign)
    volt_uv = (va + vb) / 2
    net_mj = (qa - qb) * volt_uv * MJ_PER_UAH_UV - idle_mw * (last - first)
    energy_mj = span.stretch(net_mj, first, last)
    if energy_mj is None:
        return none("the gauge's readings cover none of the timed runs", sign)
    quantum_mj = 2 * GAUGE_STEP_UAH * volt_uv * MJ_PER_UAH_UV * span.seconds / (last - first)
    return _result(
        "fuel_gauge",
        [("battery", energy_mj, idle_mw)],
        span,
        stale=0.0,
        quantum_mj=quantum_mj,
        runs=runs,
        on_usb=on_usb,
        gauge_sign=sign,
    )


def _sign(charge_before: int, charge_after: int, current_ua: int) -> GaugeSign | None:
    """How this gauge signs its current, from the way its charge moved (never assumed).

    Android documents positive as into the battery, yet gauges differ: a charge
    that fell while the current read negative means positive is into it.
    """
    if charge_before == charge_after or current_ua == 0:
        return None
    into = charge_after > charge_before
    return "positive_in" if (current_ua > 0) == into else "positive_out"


def _result(
    source: EnergySource,
    shares: list[tuple[str, float, float]],
    span: _Span,
    *,
    stale: float,
    quantum_mj: float,
    runs: int | None,
    on_usb: bool,
    gauge_sign: GaugeSign | None = None,
) -> TrialEnergy:
    """The trial's figures from each rail's timed energy (mJ) and idle power (mW)."""
    seconds = span.seconds
    energy_mj = sum(e for _, e, _ in shares)
    bound = None
    if energy_mj > 0:
        bound = 100.0 * ((span.half + max(0.0, stale)) / seconds + quantum_mj / energy_mj)
    per_rail = tuple(
        RailEnergy(name, e / runs if runs else None, e / seconds, idle) for name, e, idle in shares
    )
    odpm = source == "odpm"
    return TrialEnergy(
        source,
        energy_mj=energy_mj / runs if runs else None,
        power_mw=energy_mj / seconds,
        idle_power_mw=sum(idle for _, _, idle in shares),
        rails=tuple(name for name, _, _ in shares) if odpm else (),
        per_rail=per_rail if odpm else (),
        runs=runs,
        timed_s=seconds,
        bound_pct=bound,
        on_usb=on_usb,
        gauge_sign=gauge_sign,
        reason=None if runs else "the log shows no timed runs to divide by",
    )


def trial_energy(collected: Collected, request: EnergyRequest) -> TrialEnergy:
    """A collected trial's energy: its looks, divided by the timed runs its log shows."""
    state = collected.state
    parsed = parse(collected.stdout or "", collected.stderr or "", state.exit_code)
    if state.state != "done" or parsed.status != "ok":
        return TrialEnergy(
            request.source, on_usb=request.on_usb, reason="the trial did not complete"
        )
    return compute_energy(
        parse_looks(collected.samples),
        source=request.source,
        runs=parsed.figures.count,
        on_usb=request.on_usb,
    )
