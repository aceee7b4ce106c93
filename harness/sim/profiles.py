"""The phones the simulator can be: properties, CPU topology, thermal zones, power.

`pixel1` (the default, sailfish, MSM8996, Android 10) has a fuel gauge only;
`pixel6` (oriole, Google Tensor gs101, Android 13) has a fuel gauge and the
two ODPM power meters of its PMICs. Identity values follow the real phones'
published builds; power numbers are invented (docs/sim.md "Power model").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import SimulatorError
from harness.sim import props as propmod
from harness.sim import topology as topomod
from harness.sim.power import Gauge, PowerSpec, Rail


@dataclass(frozen=True)
class Profile:
    """One simulated phone model."""

    name: str
    props: Callable[[], dict[str, str]]
    topology: dict[str, Any]
    power: PowerSpec
    # NNAPI's devices as the phone lists them, its default driver first (the
    # stand-in's models of them: docs/sim.md "Delegates").
    nnapi: tuple[str, ...] = ("qti-default", "qti-dsp", "qti-gpu", "nnapi-reference")


def pixel6_props() -> dict[str, str]:
    """Pixel 6 (oriole) on its September 2023 Android 13 build; the ABI is the host's."""
    abi = propmod.host_abi()
    build = "TQ3A.230901.001"
    return {
        **propmod.pixel1_props(),
        "ro.product.model": "Pixel 6",
        "ro.product.device": "oriole",
        "ro.product.name": "oriole",
        "ro.product.board": "oriole",
        "ro.board.platform": "gs101",
        "ro.hardware": "oriole",
        "ro.soc.manufacturer": "Google",
        "ro.soc.model": "GS101",
        "ro.product.cpu.abi": abi,
        "ro.product.cpu.abilist": abi,
        "ro.build.version.release": "13",
        "ro.build.version.sdk": "33",
        "ro.build.version.security_patch": "2023-09-05",
        "ro.build.id": build,
        "ro.build.display.id": build,
        "ro.build.fingerprint": f"google/oriole/oriole:13/{build}/10750268:user/release-keys",
        "ro.serialno": "1A021FDF6000AB",
    }


# Tensor gs101: 4 Cortex-A55 up to 1.80 GHz (cpu0-3), 2 Cortex-A76 up to 2.25 GHz
# (cpu4-5), 2 Cortex-X1 up to 2.80 GHz (cpu6-7); minimum clocks from the gs101
# power-stats HAL's DVFS tables (device/google/gs101 powerstats).
PIXEL6_TOPOLOGY: dict[str, Any] = {
    "clusters": [
        {"cpus": [0, 1, 2, 3], "max_khz": 1803000, "min_khz": 300000},
        {"cpus": [4, 5], "max_khz": 2253000, "min_khz": 400000},
        {"cpus": [6, 7], "max_khz": 2802000, "min_khz": 500000},
    ],
    "thermal_zones": [
        {"type": "BIG", "temp_c": 34.5},
        {"type": "MID", "temp_c": 33.5},
        {"type": "LITTLE", "temp_c": 33.0},
        {"type": "G3D", "temp_c": 32.0},
        {"type": "TPU", "temp_c": 32.0},
        {"type": "battery", "temp_c": 28.0},
        {"type": "neutral_therm", "temp_c": 30.0},
    ],
}


def _rails(meter: int, rails: list[tuple[str, str, int, int | None]]) -> tuple[Rail, ...]:
    return tuple(
        Rail(meter, channel, name, subsystem, idle_mw, cluster)
        for channel, (name, subsystem, idle_mw, cluster) in enumerate(rails)
    )


# The default channel selection of a Pixel 6's two meters: iio:device0 is the
# main PMIC (s2mpg10, CPU rails), iio:device1 the sub PMIC (s2mpg11). Names and
# subsystems as public dumps of energy_value / dumpsys powerstats show them.
PIXEL6_POWER = PowerSpec(
    core_mw={0: 150, 4: 600, 6: 1500},
    gauge=Gauge(full_uah=4_614_000, voltage_uv=3_870_000, charge_ua=500_000, base_mw=350),
    meters=("s2mpg10-odpm", "s2mpg11-odpm"),
    rails=_rails(
        0,
        [
            ("S10M_VDD_TPU", "TPU", 5, None),
            ("VSYS_PWR_MODEM", "Modem", 30, None),
            ("VSYS_PWR_RFFE", "Cellular", 5, None),
            ("S2M_VDD_CPUCL2", "CPU(BIG)", 10, 6),
            ("S3M_VDD_CPUCL1", "CPU(MID)", 8, 4),
            ("S4M_VDD_CPUCL0", "CPU(LITTLE)", 20, 0),
            ("S5M_VDD_INT", "INT", 60, None),
            ("S1M_VDD_MIF", "MIF", 40, None),
        ],
    )
    + _rails(
        1,
        [
            ("VSYS_PWR_WLAN_BT", "WLAN-BT", 15, None),
            ("L2S_VDD_AOC_RET", "AOC", 2, None),
            ("S9S_VDD_AOC", "AOC", 20, None),
            ("S5S_VDDQ_MEM", "DDR", 10, None),
            ("S10S_VDD2L", "DDR", 15, None),
            ("S4S_VDD2H_MEM", "DDR", 20, None),
            ("S2S_VDD_G3D", "GPU", 5, None),
            ("L9S_GNSS_CORE", "GPS", 1, None),
        ],
    ),
)

PIXEL1_POWER = PowerSpec(
    core_mw={0: 300, 2: 800},
    gauge=Gauge(full_uah=2_770_000, voltage_uv=4_213_000, charge_ua=500_000, base_mw=450),
)

PROFILES: dict[str, Profile] = {
    "pixel1": Profile("pixel1", propmod.pixel1_props, topomod.PIXEL1, PIXEL1_POWER),
    # Tensor's NNAPI drivers: the Mali GPU's through Arm NN and the TPU's (as
    # `google-armnn` and `google-edgetpu` appear in public Pixel logs).
    "pixel6": Profile(
        "pixel6",
        pixel6_props,
        PIXEL6_TOPOLOGY,
        PIXEL6_POWER,
        nnapi=("google-armnn", "google-edgetpu", "nnapi-reference"),
    ),
}
DEFAULT = "pixel1"


def get(name: str | None) -> Profile:
    """A profile by name (None: the Pixel 1)."""
    key = DEFAULT if name is None else name.strip().lower()
    try:
        return PROFILES[key]
    except KeyError:
        raise SimulatorError(
            f"unknown device profile {name!r} (choose {', '.join(sorted(PROFILES))})"
        ) from None
