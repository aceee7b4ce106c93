"""Which energy counter a phone offers the shell, and whether it is on external power.

Asked once per device, in one round trip, before any trial (`probe_energy`):
the On-Device Power Monitors' `energy_value` files (Pixel 6 and later: per
rail, downstream of the battery, so charging does not disturb them), the
battery's fuel gauge (`charge_counter`, `current_now`, `voltage_now`: the
whole phone, but only while it runs on its battery), and how the phone is
powered. `choose_energy` turns that into what the trials read
(`EnergyRequest`), or into one line saying why energy cannot be measured
here. Sources, formats and units: docs/energy-sources.md.

Only files a builtin `read` can take are used: the trial's sampler reads them
without starting a process. A phone whose rails the shell may list
(`dumpsys powerstats`) but not read gets the gauge, or the refusal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.device.kv import device_lines, digits
from harness.device.session import DeviceSession
from harness.errors import EnergyOnUsbError, NoEnergySourceError, OptionError
from harness.vocab import EnergySource

PROBE_TIMEOUT_S = 20.0
# The idle window before each trial (run_trial.sh begin --idle): long enough
# for a gauge's averaged current to show only idle, short beside a trial.
IDLE_S = 1.0
MIN_IDLE_S = 0.1
# The begin call's silence bound is its beat plus a margin (bench.remote); an
# idle window stays well inside it.
MAX_IDLE_S = 10.0
# What a rail name may hold: it travels in a shell argument and a samples line.
RAIL_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# An energy_value channel line: `CH3(T=358356)[S2M_VDD_CPUCL2], 761330` (odpm.c).
_CHANNEL = re.compile(r"^CH\d+\(T=\d+\)\[([^\]]*)\], *-?\d+$")
# enabled_rails: `CH3[S2M_VDD_CPUCL2]:CPU(BIG)`.
_ENABLED = re.compile(r"^CH\d+\[([^\]]*)\]:(.*)$")
# BatteryManager.BATTERY_STATUS_*: charging, not charging (a charger holds the
# charge), full; and the kernel's power_supply status words for the same.
_EXTERNAL_CODES = frozenset({2, 4, 5})
_EXTERNAL_WORDS = frozenset({"Charging", "Not charging", "Full"})
DISCHARGING_CODE = 3

# One round trip. For each ODPM meter (an iio device whose name says odpm):
# its name, its energy_value as the shell reads it (or nothing), its
# enabled_rails; the gauge's files; the chargers' `online`; BatteryService's
# report; how many channels the power-stats HAL lists.
_SCRIPT = r"""
for d in /sys/bus/iio/devices/iio:device*; do
  [ -e "$d/name" ] || continue
  n=""; { read -r n <"$d/name"; } 2>/dev/null
  case $n in *odpm*) ;; *) continue ;; esac
  i=${d##*iio:device}
  echo "meter.$i=$n"
  { while read -r l; do echo "value.$i=$l"; done <"$d/energy_value"; } 2>/dev/null
  { while read -r l; do echo "enabled.$i=$l"; done <"$d/enabled_rails"; } 2>/dev/null
done
b=/sys/class/power_supply
for f in charge_counter current_now voltage_now status; do
  v=""; { read -r v <"$b/battery/$f"; } 2>/dev/null; echo "gauge.$f=$v"
done
for s in ac usb wireless; do
  v=""; { read -r v <"$b/$s/online"; } 2>/dev/null; echo "online.$s=$v"
done
echo "hal.channels=$(dumpsys powerstats 2>/dev/null | grep -c 'ChannelId:')"
dumpsys battery 2>/dev/null | while read -r l; do echo "battery.$l"; done
"""


@dataclass(frozen=True)
class Rail:
    """One ODPM channel the shell can read: its meter (iio:deviceN), name and subsystem."""

    meter: int
    name: str
    subsystem: str | None = None


@dataclass(frozen=True)
class PowerState:
    """How the phone is powered, as BatteryService and the kernel's power_supply say.

    `dumpsys battery unplug` makes BatteryService report no charger while the
    phone goes on charging (`UPDATES STOPPED`); its words are then set aside
    and only the kernel's files count.
    """

    ac: bool | None = None  # BatteryService: AC powered
    usb: bool | None = None  # USB powered
    wireless: bool | None = None  # Wireless powered
    status: int | None = None  # BatteryManager code: 2 charging, 3 discharging, 4, 5
    updates_stopped: bool = False
    sysfs_status: str | None = None  # battery/status: Charging, Discharging, ...
    online: tuple[bool | None, bool | None, bool | None] = (None, None, None)  # ac, usb, wireless

    @property
    def external(self) -> bool | None:
        """Whether a charger powers the phone: True, False, or None when nothing says."""
        said: list[bool] = []
        if not self.updates_stopped:
            said += [v for v in (self.ac, self.usb, self.wireless) if v is not None]
            if self.status is not None:
                said.append(self.status in _EXTERNAL_CODES)
        said += [v for v in self.online if v is not None]
        if self.sysfs_status:
            said.append(self.sysfs_status in _EXTERNAL_WORDS)
        if any(said):
            return True
        return False if said else None


@dataclass(frozen=True)
class EnergyProbe:
    """What the phone offers the shell for energy, from one round trip."""

    rails: tuple[Rail, ...] = ()  # ODPM rails whose energy_value the shell reads
    hidden_meters: tuple[str, ...] = ()  # ODPM meters whose energy_value it cannot read
    hal_channels: int = 0  # channels `dumpsys powerstats` lists
    gauge: bool = False  # charge_counter, current_now and voltage_now readable as numbers
    power: PowerState = PowerState()

    @property
    def meters(self) -> tuple[int, ...]:
        return tuple(sorted({r.meter for r in self.rails}))


@dataclass(frozen=True)
class EnergyRequest:
    """What the trials read for energy: `run_trial.sh begin --energy=SPEC --idle=CS`."""

    source: EnergySource
    rails: tuple[Rail, ...] = ()  # odpm: the rails measured
    all_rails: bool = True  # odpm: every rail of the meters (no filter on the phone)
    idle_s: float = IDLE_S
    on_usb: bool = False  # a charger powered the phone (for the gauge: a bias accepted)

    def __post_init__(self) -> None:
        if not MIN_IDLE_S <= self.idle_s <= MAX_IDLE_S:
            raise OptionError(
                f"idle window {self.idle_s:g} s is outside {MIN_IDLE_S:g} to {MAX_IDLE_S:g} s",
                option="--energy-idle",
            )
        for rail in self.rails:
            if not RAIL_NAME.fullmatch(rail.name):
                raise OptionError(f"unusable rail name {rail.name!r}", option="--energy-rails")
        if self.source == "odpm" and not self.rails:
            raise OptionError("no rail to measure", option="--energy-rails")

    @property
    def meters(self) -> tuple[int, ...]:
        return tuple(sorted({r.meter for r in self.rails}))

    @property
    def biased(self) -> bool:
        """Measured through the gauge while a charger carried the load: not the benchmark's."""
        return self.source == "fuel_gauge" and self.on_usb

    def spec(self) -> str:
        """The --energy argument of run_trial.sh begin."""
        if self.source == "fuel_gauge":
            return "gauge"
        keep = "" if self.all_rails else ",".join(r.name for r in self.rails)
        return f"odpm:{','.join(map(str, self.meters))}:{keep}"

    def script_args(self) -> list[str]:
        return [f"--energy={self.spec()}", f"--idle={round(self.idle_s * 100)}"]


def _bool(text: str | None) -> bool | None:
    word = (text or "").strip().lower()
    return {"true": True, "false": False, "1": True, "0": False}.get(word)


def _number(text: str | None) -> int | None:
    word = (text or "").strip()
    body = word[1:] if word[:1] == "-" else word
    return int(word) if digits(body) else None


def parse_probe(text: str) -> EnergyProbe:
    """Read the probe script's lines (see `_SCRIPT`)."""
    names: dict[int, str] = {}
    values: dict[int, list[str]] = {}
    enabled: dict[int, dict[str, str]] = {}
    keys: dict[str, str] = {}
    battery: dict[str, str] = {}
    stopped = False
    for line in device_lines(text):
        key, sep, value = line.partition("=")
        if key.startswith("battery."):
            body = line[len("battery.") :].strip()
            stopped = stopped or "UPDATES STOPPED" in body
            name, colon, said = body.partition(":")
            if colon:
                battery[name.strip()] = said.strip()
            continue
        if not sep:
            continue
        kind, _, index = key.partition(".")
        if kind in ("meter", "value", "enabled") and digits(index):
            meter = int(index)
            if kind == "meter":
                names[meter] = value
            elif kind == "value":
                values.setdefault(meter, []).append(value)
            elif m := _ENABLED.match(value):
                enabled.setdefault(meter, {})[m.group(1)] = m.group(2)
        else:
            keys[key] = value
    rails: list[Rail] = []
    hidden: list[str] = []
    for meter, name in sorted(names.items()):
        lines = values.get(meter, [])
        found = [m.group(1) for ln in lines[1:] if (m := _CHANNEL.match(ln))]
        if not lines or not lines[0].startswith("t=") or not found:
            hidden.append(name)
            continue
        subsystems = enabled.get(meter, {})
        rails += [Rail(meter, rail, subsystems.get(rail)) for rail in found]
    gauge = all(
        _number(keys.get(f"gauge.{f}")) is not None
        for f in ("charge_counter", "current_now", "voltage_now")
    )
    power = PowerState(
        ac=_bool(battery.get("AC powered")),
        usb=_bool(battery.get("USB powered")),
        wireless=_bool(battery.get("Wireless powered")),
        status=_number(battery.get("status")),
        updates_stopped=stopped,
        sysfs_status=keys.get("gauge.status") or None,
        online=(
            _bool(keys.get("online.ac")),
            _bool(keys.get("online.usb")),
            _bool(keys.get("online.wireless")),
        ),
    )
    return EnergyProbe(
        rails=tuple(rails),
        hidden_meters=tuple(hidden),
        hal_channels=_number(keys.get("hal.channels")) or 0,
        gauge=gauge,
        power=power,
    )


def probe_energy(session: DeviceSession, *, timeout_s: float = PROBE_TIMEOUT_S) -> EnergyProbe:
    """Ask the phone once what it offers for energy."""
    return parse_probe(str(session.shell(_SCRIPT, timeout_s=timeout_s, check=False).stdout))


def choose_energy(
    probe: EnergyProbe,
    *,
    serial: str | None = None,
    rails: Sequence[str] = (),
    accept_usb: bool = False,
    idle_s: float = IDLE_S,
) -> EnergyRequest:
    """The best source the phone has: its rails, else its gauge while on battery.

    `rails` narrows the rails measured (names as the phone spells them).
    Raises OptionError (exit 2) for rails the phone does not have,
    NoEnergySourceError (exit 3) when it has nothing to read, and
    EnergyOnUsbError (exit 3) when only the gauge could measure and a charger
    powers the phone, unless `accept_usb` takes that bias.
    """
    external = probe.power.external
    if probe.rails:
        chosen = probe.rails
        if rails:
            known = {r.name: r for r in probe.rails}
            missing = [name for name in rails if name not in known]
            if missing:
                raise OptionError(
                    f"no rail {', '.join(missing)} on this phone",
                    option="--energy-rails",
                    hint=f"it has {', '.join(known)}",
                )
            chosen = tuple(known[name] for name in dict.fromkeys(rails))
        return EnergyRequest(
            "odpm",
            rails=chosen,
            all_rails=len(chosen) == len(probe.rails),
            idle_s=idle_s,
            on_usb=external is True,
        )
    if rails:
        raise OptionError(
            "this phone has no power rails the shell can read", option="--energy-rails"
        )
    if not probe.gauge:
        raise NoEnergySourceError(
            f"no energy counter the shell can read: {_why_none(probe)}",
            serial=serial,
            hint="energy needs ODPM power rails (Pixel 6 and later) or a readable fuel gauge",
        )
    if external is not False and not accept_usb:
        said = "is on external power" if external else "does not say whether it is charging"
        raise EnergyOnUsbError(
            f"the phone {said}, and its fuel gauge, the only energy counter it has, "
            "then measures the charger, not the benchmark",
            serial=serial,
            hint=(
                "run over adb over Wi-Fi or through a USB hub that cuts the port's power, "
                "or pass --energy-on-usb to accept the bias, which every record then states"
            ),
        )
    return EnergyRequest("fuel_gauge", idle_s=idle_s, on_usb=external is not False)


def _why_none(probe: EnergyProbe) -> str:
    if probe.hidden_meters:
        rails = f"power rail meters {', '.join(probe.hidden_meters)} exist, but their "
        rails += "energy_value is not readable by the shell"
    elif probe.hal_channels:
        rails = f"the power-stats HAL lists {probe.hal_channels} rails, but no meter shows "
        rails += "them under /sys/bus/iio/devices"
    else:
        rails = "no power rails (ODPM)"
    return f"{rails}, and no readable fuel gauge in /sys/class/power_supply/battery"
