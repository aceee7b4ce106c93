"""`harness devices`: every attached device with its state, and full info for usable ones."""

from __future__ import annotations

from typing import Any

from harness.device.info import DeviceInfo, read_info
from harness.device.select import list_attached, make_client
from harness.device.session import DeviceSession
from harness.errors import DeviceError


def describe_sessions(sessions: list[DeviceSession]) -> list[dict[str, Any]]:
    """read_info for each session; a device that fails is listed with its error."""
    out: list[dict[str, Any]] = []
    for session in sessions:
        try:
            out.append(read_info(session).to_dict())
        except DeviceError as exc:
            out.append({"serial": session.serial, "state": "error", "error": str(exc)})
    return out


def describe_all(adb_server: str | None) -> list[dict[str, Any]]:
    """Every device the adb server lists; unusable ones (offline, unauthorized) by state only."""
    client = make_client(adb_server)
    out: list[dict[str, Any]] = []
    for attached in list_attached(client):
        if attached.state != "device":
            out.append(DeviceInfo(serial=attached.serial, state=attached.state,
                                  model=attached.model, device=attached.device,
                                  product=attached.product).to_dict())
            continue
        out.extend(describe_sessions([DeviceSession(client, attached.serial)]))
    return out


def format_table(infos: list[dict[str, Any]]) -> str:
    """Human-readable listing, one block per device."""
    if not infos:
        return "no devices attached"
    blocks = []
    for d in infos:
        head = f"{d['serial']}  {d.get('state')}"
        if d.get("error"):
            blocks.append(f"{head}\n  error: {d['error']}")
            continue
        if d.get("state") != "device":
            blocks.append(head)
            continue
        lines = [
            f"{head}  {d.get('manufacturer') or ''} {d.get('model') or ''} "
            f"({d.get('device') or '?'}){'  [emulated]' if d.get('emulated') else ''}".rstrip(),
            f"  soc {d.get('platform') or '?'} / {d.get('hardware') or '?'}, "
            f"Android {d.get('android_release') or '?'} (SDK {d.get('sdk') or '?'}), "
            f"abi {d.get('abi') or '?'}",
            f"  build {d.get('fingerprint') or '?'}",
        ]
        for c in d.get("clusters") or []:
            cpus = ",".join(str(x) for x in c["cpus"])
            online = ",".join(str(x) for x in c["online"])
            lines.append(f"  cluster {c['id']}: cpus {cpus} up to {c['max_khz']} kHz, "
                         f"{c['governor']}, online {online or 'none'}")
        masks = d.get("masks") or {}
        lines.append("  masks " + " ".join(f"{k}={v}" for k, v in masks.items()))
        zones = d.get("thermal_zones") or []
        if zones:
            lines.append("  thermal " + ", ".join(
                f"{z['type']} {z['temp_c']:.1f} C" for z in zones if z.get("temp_c") is not None))
        battery = d.get("battery_level")
        lines.append(f"  battery {battery if battery is not None else '?'}%"
                     + (f" at {d['battery_temp_c']:.1f} C" if d.get("battery_temp_c") else "")
                     + f", screen {_onoff(d.get('screen_on'))}")
        lines.extend(f"  warning: {w}" for w in d.get("warnings") or [])
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _onoff(value: object) -> str:
    return "unknown" if value is None else "on" if value else "off"
