"""The power files a shell user reads on the phone, and the state the device's dumpsys reads.

Laid out as the phone has them: the fuel gauge under /sys/class/power_supply
(`battery/`, `usb/`), the ODPM meters under /sys/bus/iio/devices/iio:deviceN
(`name`, `sampling_rate`, `enabled_rails`, `energy_value`),
in the formats of the odpm driver (gs101 kernel `drivers/iio/power/odpm.c`).
Counters that move (`energy_value`, `charge_counter`, `current_now`) are live
files computed by the power model at each read; the rest are plain files
rewritten when the battery level or the USB power changes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from harness.sim.livefiles import LiveFile
from harness.sim.power import PowerModel, PowerSpec

# BatteryManager.BATTERY_STATUS_CHARGING / _DISCHARGING, and the kernel's words for them.
STATUS = {True: (2, "Charging"), False: (3, "Discharging")}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    os.replace(tmp, path)


def battery_dir(root: Path) -> Path:
    return root / "sysfs" / "power_supply" / "battery"


def meter_dir(root: Path, index: int) -> Path:
    return root / "sysfs" / "bus" / "iio" / "devices" / f"iio:device{index}"


def build(root: Path, spec: PowerSpec | None) -> None:
    """Write the power trees (None: a device with neither gauge nor meters)."""
    for tree in (root / "sysfs" / "power_supply", root / "sysfs" / "bus"):
        if tree.exists():
            shutil.rmtree(tree)
        tree.mkdir(parents=True)
    (root / "sysfs" / "bus" / "iio" / "devices").mkdir(parents=True)
    if spec is None:
        return
    gauge = spec.gauge
    battery = battery_dir(root)
    for name, value in {
        "type": "Battery",
        "present": "1",
        "health": "Good",
        "technology": "Li-ion",
        "charge_full": str(gauge.full_uah),
        "charge_full_design": str(gauge.full_uah),
        "voltage_now": str(gauge.voltage_uv),
    }.items():
        _write(battery / name, value + "\n")
    _write(root / "sysfs" / "power_supply" / "usb" / "type", "USB\n")
    for index, device in enumerate(spec.meters):
        base = meter_dir(root, index)
        rails = [r for r in spec.rails if r.meter == index]
        _write(base / "name", device + "\n")
        _write(base / "sampling_rate", spec.sampling_rate + "\n")
        _write(
            base / "enabled_rails",
            "".join(f"CH{r.channel}[{r.name}]:{r.subsystem}\n" for r in rails),
        )


def write_state(root: Path, model: PowerModel) -> None:
    """Rewrite what changes with the battery level, temperature and USB power."""
    code, word = STATUS[model.plugged]
    level, temp_tenths = model.level, model.temp_tenths
    battery = battery_dir(root)
    if battery.is_dir():
        _write(battery / "capacity", f"{level}\n")
        _write(battery / "temp", f"{temp_tenths}\n")
        _write(battery / "status", word + "\n")
        _write(root / "sysfs" / "power_supply" / "usb" / "online", f"{int(model.plugged)}\n")
    usb = "true" if model.plugged else "false"
    state = root / "state" / "battery"
    tmp = state.with_name(".battery.tmp")
    tmp.write_text(
        f"level={level}\ntemperature={temp_tenths}\nac=false\nusb={usb}\nstatus={code}\n"
    )
    tmp.chmod(0o666)
    os.replace(tmp, state)


def serve(root: Path, model: PowerModel) -> list[LiveFile]:
    """The live counters: the gauge's charge and current, each meter's energy_value."""
    live: list[LiveFile] = []
    if battery_dir(root).is_dir():
        battery = battery_dir(root)
        live.append(LiveFile(battery / "charge_counter", lambda: f"{int(model.charge_uah())}\n"))
        live.append(LiveFile(battery / "current_now", lambda: f"{int(model.current_ua())}\n"))
    for index in range(len(model.spec.meters)):
        live.append(LiveFile(meter_dir(root, index) / "energy_value", _meter(model, index)))
    return live


def _meter(model: PowerModel, index: int) -> Callable[[], str]:
    return lambda: model.energy_value(index)
