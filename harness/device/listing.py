"""`harness devices`: every attached device with its state, and full info for usable ones."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.device.adb import AdbClient
from harness.device.info import read_info
from harness.device.select import list_attached, make_client
from harness.device.session import OFFLINE_HINT, UNAUTHORIZED_HINT, DeviceSession
from harness.errors import DeviceError
from harness.identity import DeviceInfo

MAX_PARALLEL = 8  # a lab lists many phones; each read waits on its own phone


def _describe(session: DeviceSession) -> dict[str, Any]:
    try:
        return read_info(session).to_dict()
    except DeviceError as exc:
        return {"serial": session.serial, "state": "error", "error": str(exc)}


def describe_sessions(sessions: list[DeviceSession]) -> list[dict[str, Any]]:
    """read_info for each session (in parallel, order kept); failures listed with their error."""
    if len(sessions) <= 1:
        return [_describe(s) for s in sessions]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(sessions))) as pool:
        return list(pool.map(_describe, sessions))


def describe_all(adb_server: str | None) -> list[dict[str, Any]]:
    """Every device the adb server lists; unusable ones (offline, unauthorized) by state only."""
    return describe_server(make_client(adb_server))


def describe_server(client: AdbClient) -> list[dict[str, Any]]:
    """describe_all for an already reached server, each entry with its `adb_server`."""
    attached = list_attached(client)
    usable = iter(
        describe_sessions(
            [DeviceSession(client, a.serial) for a in attached if a.state == "device"]
        )
    )
    out: list[dict[str, Any]] = []
    for a in attached:
        if a.state == "device":
            out.append(next(usable))
        else:
            hint = {"unauthorized": UNAUTHORIZED_HINT, "offline": OFFLINE_HINT}.get(a.state)
            out.append(
                DeviceInfo(
                    serial=a.serial,
                    state=a.state,
                    model=a.model,
                    device=a.device,
                    product=a.product,
                    warnings=(hint,) if hint else (),
                ).to_dict()
            )
    for info in out:
        info["adb_server"] = f"{client.host}:{client.port}"
    return out


def format_table(infos: list[dict[str, Any]]) -> str:
    """Human-readable listing, one block per device."""
    if not infos:
        return "no devices attached"
    blocks = []
    for d in infos:
        head = f"{d['serial']}  {d.get('state')}"
        if d.get("adb_server"):
            head += f"  via {d['adb_server']}"
        if d.get("lease"):
            head += f"  leased by {d['lease']['describe']}"
        elif d.get("state") == "device" and "lease" in d:
            head += "  free"
        if d.get("error"):
            blocks.append(f"{head}\n  error: {d['error']}")
            continue
        if d.get("state") != "device":
            blocks.append("\n".join([head, *(f"  {w}" for w in d.get("warnings") or [])]))
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
            lines.append(
                f"  cluster {c['id']}: cpus {cpus} up to {c['max_khz']} kHz, "
                f"{c['governor']}, online {online or 'none'}"
            )
        masks = d.get("masks") or {}
        lines.append("  masks " + " ".join(f"{k}={v}" for k, v in masks.items()))
        zones = d.get("thermal_zones") or []
        if zones:
            lines.append(
                "  thermal "
                + ", ".join(
                    f"{z['type']} {z['temp_c']:.1f} C" for z in zones if z.get("temp_c") is not None
                )
            )
        battery = d.get("battery_level")
        lines.append(
            f"  battery {battery if battery is not None else '?'}%"
            + (f" at {d['battery_temp_c']:.1f} C" if d.get("battery_temp_c") else "")
            + f", screen {_onoff(d.get('screen_on'))}"
        )
        lines.extend(f"  warning: {w}" for w in d.get("warnings") or [])
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _onoff(value: object) -> str:
    return "unknown" if value is None else "on" if value else "off"
