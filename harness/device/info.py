"""What a device is: identity, ABI, CPU clusters, masks, thermal zones, battery.

The record, `DeviceInfo`, lives in `harness.identity` (runs store it and every
layer reads it back); this module reads it from a phone with one shell call
(device_scripts/info.sh, after the scripts are on the device) plus the adb
feature list, because every adb round trip costs ~20 ms and a lab lists many
phones.
"""

from __future__ import annotations

from harness.device.cores import parse_cores_output
from harness.device.files import ensure_scripts
from harness.device.kv import int_or_none, parse_lines
from harness.device.session import DeviceSession
from harness.device.thermal import condition_warnings, parse_state, zone_temp_c
from harness.errors import DeviceError
from harness.identity import DeviceInfo, ThermalZone
from harness.vocab import is_simulated

INFO_TIMEOUT_S = 30.0


def parse_info(serial: str, state: str, text: str, features: frozenset[str]) -> DeviceInfo:
    """Build a DeviceInfo from info.sh output."""
    plain, records, _ = parse_lines(text)
    prop = {k[len("prop.") :]: v for k, v in plain.items() if k.startswith("prop.")}
    topo, _selection, _error = parse_cores_output(text)
    dev_state = parse_state(text)
    zones = tuple(
        ThermalZone(zone=rec.get("zone"), type=rec.get("type"), temp_c=zone_temp_c(rec.get("temp")))
        for rec in records["zone"]
    )
    emulated = is_simulated(prop)
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
        abilist=tuple(a for a in prop.get("ro.product.cpu.abilist", "").split(",") if a),
        kernel=plain.get("kernel") or None,
        clusters=topo.clusters,
        masks=dict(topo.masks),
        thermal_zones=zones,
        battery_level=dev_state.battery_level,
        battery_temp_c=dev_state.battery_temp_c,
        screen_on=dev_state.screen_on,
        emulated=emulated,
        features=tuple(sorted(features)),
        warnings=(*topo.warnings, *condition_warnings(dev_state)),
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
