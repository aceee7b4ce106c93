"""Device state around a trial: temperatures, clocks, battery; cooldown; warnings.

A hot phone throttles, and a throttled trial is a different measurement. So
before each trial the harness waits until the hottest CPU thermal zone (or
the battery, on phones that expose no CPU zone) is below a limit, records
the temperatures and each selected core's scaling_max_freq / scaling_cur_freq
before and after, and says when the phone never cooled instead of pretending
it did. One state read is one shell round trip (device_scripts/state.sh).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from harness.device.files import ensure_scripts
from harness.device.kv import int_or_none, parse_lines
from harness.device.session import DeviceSession
from harness.errors import DeviceError

log = logging.getLogger(__name__)

STATE_TIMEOUT_S = 20.0
POLL_S = 2.0
LOW_BATTERY_PERCENT = 25  # Jetpack Microbenchmark's LOW-BATTERY threshold
# Governors that pin the clock; anything else lets it move during a trial.
LOCKED_GOVERNORS = frozenset({"performance", "userspace"})
# Sensor names of CPU / SoC die zones across vendors (Qualcomm tsens, Exynos,
# MediaTek, Tensor); battery and skin sensors are deliberately left out.
CPU_ZONE = re.compile(
    r"cpu|tsens|cluster|kryo|gold|silver|soc|apc|big|little|mtktscpu", re.IGNORECASE
)
FIXED_PERF_MIN_SDK = 30  # Android 11 added `cmd power set-fixed-performance-mode-enabled`


def zone_temp_c(raw: str | None) -> float | None:
    """A thermal_zone temp in degrees C: millidegrees per the kernel docs, but
    some old vendor drivers report whole degrees, told apart by magnitude."""
    value = int_or_none(raw)
    if value is None:
        return None
    return value / 1000.0 if abs(value) >= 1000 else float(value)


@dataclass(frozen=True)
class DeviceState:
    """One reading of the device: temperatures, clocks of some CPUs, battery."""

    max_temp_c: float | None  # hottest CPU zone, else the battery
    zones: dict[str, float] = field(default_factory=dict)  # sensor type -> degrees C
    freqs: dict[str, list[int]] = field(default_factory=dict)  # cpu -> [max_khz, cur_khz]
    governors: dict[str, str] = field(default_factory=dict)
    battery_level: int | None = None
    battery_temp_c: float | None = None
    screen_on: bool | None = None
    source: str = "none"  # which sensor max_temp_c came from


# Why `cooled` (and `hot`) cannot be known: a phone that shows no temperature at all.
NO_TEMPERATURE = "no temperature readable (no thermal zone reports one, no battery temperature)"


@dataclass(frozen=True)
class CooldownResult:
    """Whether the device got below the limit, how long that took, and the last reading.

    `cooled` is None when no temperature could be read: unknown, never a pass;
    `reason` then says why.
    """

    cooled: bool | None
    waited_s: float
    temp_c: float | None
    reason: str | None = None


def parse_state(text: str) -> DeviceState:
    """Read state.sh output."""
    plain, records, _warnings = parse_lines(text)
    zones: dict[str, float] = {}
    cpu_temps: list[float] = []
    for rec in records["zone"]:
        temp = zone_temp_c(rec.get("temp"))
        if temp is None:
            continue
        name = rec.get("type") or rec.get("zone", "zone")
        if name in zones:  # two sensors may share a type name
            name = f"{name}#{rec.get('zone', len(zones))}"
        zones[name] = temp
        if CPU_ZONE.search(name):
            cpu_temps.append(temp)
    freqs: dict[str, list[int]] = {}
    governors: dict[str, str] = {}
    for rec in records["freq"]:
        cpu = rec.get("freq", "")
        mx, cur = int_or_none(rec.get("max")), int_or_none(rec.get("cur"))
        if mx is not None and cur is not None:
            freqs[cpu] = [mx, cur]
        if rec.get("governor"):
            governors[cpu] = rec["governor"]
    battery_raw = int_or_none(plain.get("battery_temp"))
    battery_temp = battery_raw / 10.0 if battery_raw is not None else None  # tenths of C
    if cpu_temps:
        max_temp, source = max(cpu_temps), "cpu"
    elif battery_temp is not None:
        max_temp, source = battery_temp, "battery"
    else:
        max_temp, source = None, "none"
    screen = plain.get("screen")
    return DeviceState(
        max_temp_c=max_temp,
        zones=zones,
        freqs=freqs,
        governors=governors,
        battery_level=int_or_none(plain.get("battery_level")),
        battery_temp_c=battery_temp,
        screen_on=None if screen in (None, "unknown") else screen == "on",
        source=source,
    )


def read_state(
    session: DeviceSession, args: Sequence[str], *, timeout_s: float = STATE_TIMEOUT_S
) -> DeviceState:
    """Run state.sh with `args` and parse it."""
    scripts = ensure_scripts(session)
    result = session.shell(["sh", f"{scripts}/state.sh", *args], timeout_s=timeout_s)
    return parse_state(result.stdout)


def snapshot(session: DeviceSession, cpus: Sequence[int]) -> DeviceState:
    """Temperatures, battery and the clocks of `cpus` (all CPUs when empty)."""
    return read_state(session, [str(c) for c in cpus])


def wait_cool(
    session: DeviceSession,
    *,
    max_temp_c: float,
    timeout_s: float,
    poll_s: float = POLL_S,
    sleep: Callable[[float], None] = time.sleep,
    read_timeout_s: float = STATE_TIMEOUT_S,
    clock: Callable[[], float] = time.monotonic,
) -> CooldownResult:
    """Poll until the hottest CPU zone (or battery) is below `max_temp_c`.

    Gives up after `timeout_s` and says so (`cooled=False`). A device with no
    readable sensor is not waited for, and its cooldown is unknown
    (`cooled=None` with the reason): nothing showed that it was cool.
    `sleep` and `clock` are the waiting and the time it counts (a test's own).
    """
    started = clock()
    while True:
        state = read_state(session, ["none"], timeout_s=read_timeout_s)
        waited = clock() - started
        if state.max_temp_c is None:
            log.info("%s: %s; not waiting", session.serial, NO_TEMPERATURE)
            return CooldownResult(None, waited, None, NO_TEMPERATURE)
        if state.max_temp_c < max_temp_c:
            return CooldownResult(True, waited, state.max_temp_c)
        if waited + poll_s > timeout_s:
            return CooldownResult(False, waited, state.max_temp_c)
        log.info(
            "%s: %.1f C (%s) >= %.1f C; waiting",
            session.serial,
            state.max_temp_c,
            state.source,
            max_temp_c,
        )
        sleep(poll_s)


def condition_warnings(state: DeviceState) -> list[str]:
    """Conditions that make numbers less trustworthy: warned about, never fatal."""
    out: list[str] = []
    if state.battery_level is not None and state.battery_level < LOW_BATTERY_PERCENT:
        out.append(
            f"battery at {state.battery_level}% (< {LOW_BATTERY_PERCENT}%): phones often "
            "disable big cores or lower clocks when low; charge it first"
        )
    unlocked = sorted({g for g in state.governors.values() if g not in LOCKED_GOVERNORS})
    if unlocked:
        out.append(
            f"CPU governor {', '.join(unlocked)} lets clocks move during a trial; results vary "
            "more (root: set 'performance', or try --fixed-performance on Android 11+)"
        )
    if state.screen_on:
        out.append("screen is on: UI work competes for the CPUs; turn the screen off")
    if state.max_temp_c is None:
        out.append(
            f"{NO_TEMPERATURE}: the cooldown cannot be checked and heat cannot be seen, "
            "so trials record `cooled` and `hot` as unknown (null)"
        )
    return out


def check_conditions(session: DeviceSession, cpus: Sequence[int] = ()) -> list[str]:
    """Read the state once (with the screen) and return the warnings for it."""
    return condition_warnings(read_state(session, ["--screen", *[str(c) for c in cpus]]))


def set_fixed_performance(session: DeviceSession, enabled: bool) -> bool:
    """ADPF fixed performance mode on/off; True when the device accepted it."""
    result = session.shell(
        ["cmd", "power", "set-fixed-performance-mode-enabled", "true" if enabled else "false"],
        timeout_s=15.0,
        check=False,
    )
    text = result.output.lower()
    return result.exit_code == 0 and "error" not in text and "unknown" not in text


@contextmanager
def fixed_performance(session: DeviceSession, sdk: int | None) -> Iterator[bool]:
    """Hold fixed performance mode for the block (Android 11+); always restore it.

    Yields whether the mode is on. Restoring runs even when the block raises;
    a failed restore is logged, since the measurement already happened.
    """
    enabled = False
    if sdk is not None and sdk < FIXED_PERF_MIN_SDK:
        log.warning(
            "%s: fixed performance mode needs Android 11 (SDK 30); this is SDK %d",
            session.serial,
            sdk,
        )
    else:
        enabled = set_fixed_performance(session, True)
        if not enabled:
            log.warning("%s: the device refused fixed performance mode", session.serial)
    try:
        yield enabled
    finally:
        if enabled:
            try:
                if not set_fixed_performance(session, False):
                    log.warning("%s: could not leave fixed performance mode", session.serial)
            except DeviceError as exc:
                log.warning("%s: could not leave fixed performance mode: %s", session.serial, exc)
