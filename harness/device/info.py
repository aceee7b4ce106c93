"""What a device is: identity, ABI, CPU clusters, masks, thermal zones, battery.

Read with one shell call (device_scripts/info.sh, after the scripts are on
the device) plus the adb feature list, because every adb round trip costs
~20 ms and a lab lists many phones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.device.cores import parse_cores_output
from harness.device.files import ensure_scripts
from harness.device.kv import int_or_none, parse_lines
from harness.device.session import DeviceSession
from harness.device.thermal import condition_warnings, parse_state, zone_temp_c
from harness.errors import DeviceError
from harness.vocab import is_simulated

INFO_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class DeviceInfo:
    """Everything `harness devices` shows and every run stores per device."""

    serial: str
    state: str
    model: str | None = None
    device: str | None = None
    product: str | None = None
    manufacturer: str | None = None
    platform: str | None = None
    hardware: str | None = None
    android_release: str | None = None
    sdk: int | None = None
    fingerprint: str | None = None
    abi: str | None = None
    abilist: list[str] = field(default_factory=list)
    kernel: str | None = None
    clusters: list[dict[str, Any]] = field(default_factory=list)
    masks: dict[str, str] = field(default_factory=dict)
    thermal_zones: list[dict[str, Any]] = field(default_factory=list)
    battery_level: int | None = None
    battery_temp_c: float | None = None
    screen_on: bool | None = None
    emulated: bool = False
    features: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_info(serial: str, state: str, text: str, features: frozenset[str]) -> DeviceInfo:
    """Build a DeviceInfo from info.sh output."""
    plain, records, _ = parse_lines(text)
    prop = {k[len("prop.") :]: v for k, v in plain.items() if k.startswith("prop.")}
    topo, _selection, _error = parse_cores_output(text)
    dev_state = parse_state(text)
    zones = [
        {"zone": rec.get("zone"), "type": rec.get("type"), "temp_c": zone_temp_c(rec.get("temp"))}
        for rec in records["zone"]
    ]
    emulated = is_simulated({"props": prop})
    return DeviceInfo(
        serial=serial,
        state=state,
        model=prop.get("ro.product.model"),
        device=prop.get("ro.product.device"),
        product=prop.get("ro.product.name"),
        manufacturer=prop.get("ro.product.manufacturer"),
        platform=prop.get("ro.board.platform"),
        hardware=prop.get("ro.hardware"),
        android_release=prop.get("ro.build.version.release"),
        sdk=int_or_none(prop.get("ro.build.version.sdk")),
        fingerprint=prop.get("ro.build.fingerprint"),
        abi=prop.get("ro.product.cpu.abi"),
        abilist=[a for a in prop.get("ro.product.cpu.abilist", "").split(",") if a],
        kernel=plain.get("kernel") or None,
        clusters=[c.to_dict() for c in topo.clusters],
        masks=dict(topo.masks),
        thermal_zones=zones,
        battery_level=dev_state.battery_level,
        battery_temp_c=dev_state.battery_temp_c,
        screen_on=dev_state.screen_on,
        emulated=emulated,
        features=sorted(features),
        warnings=list(topo.warnings) + condition_warnings(dev_state),
    )


def read_info(session: DeviceSession) -> DeviceInfo:
    """Identity, topology and state of one device (two shell round trips warm)."""
    features = session.features
    scripts = ensure_scripts(session)
    result = session.shell(["sh", f"{scripts}/info.sh"], timeout_s=INFO_TIMEOUT_S, check=False)
    if result.exit_code not in (0, 3):  # 3: topology unreadable, still worth showing
        raise DeviceError(
            f"info.sh failed with exit {result.exit_code}",
            serial=session.serial,
            command="info.sh",
            device_exit_code=result.exit_code,
            stdout=result.stdout,
            stderr=result.stderr,
        )
    return parse_info(session.serial, "device", result.stdout, features)
