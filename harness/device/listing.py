"""`harness devices`: every attached device with its state, and full info for usable ones."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from harness.device.adb import AdbClient
from harness.device.info import read_info
from harness.device.lease import Holder
from harness.device.servers import list_attached, make_client
from harness.device.session import OFFLINE_HINT, UNAUTHORIZED_HINT, DeviceSession
from harness.errors import DeviceError
from harness.identity import DeviceInfo

MAX_PARALLEL = 8  # a lab lists many phones; each read waits on its own phone


@dataclass
class Listed:
    """One device as `harness devices` lists it: what it is, where, and what to know.

    Filled in steps (identity, then the preflight's warnings, then the lease), so
    not frozen; `to_dict` is what `--json` prints for it.
    """

    info: DeviceInfo  # an unusable device's: its state and names only
    adb_server: str | None = None  # HOST:PORT of the adb server that lists it
    error: str | None = None  # why its info could not be read (state `error`)
    warnings: list[str] = field(default_factory=list)  # after the info's own
    lease_read: bool = False  # the lease was looked at (then `lease` None means free)
    lease: Holder | None = None

    @property
    def usable(self) -> bool:
        return self.info.state == "device"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of `harness devices --json`: the DeviceInfo's keys first."""
        out = self.info.to_dict()
        if self.error is not None:
            out["error"] = self.error
        if self.warnings:
            out["warnings"] = [*self.info.warnings, *self.warnings]
        out["adb_server"] = self.adb_server
        if self.lease_read:
            holder = self.lease
            out["lease"] = None if holder is None else {
                "host": holder.host,
                "pid": holder.pid,
                "run": holder.run,
                "since": holder.since,
                "heartbeat_age_s": holder.age_s,
                "stale": holder.stale,
                "describe": _lease_text(holder),
            }  # fmt: skip
        return out


def _lease_text(holder: Holder) -> str:
    return holder.describe() + (" (stale)" if holder.stale else "")


def _describe(session: DeviceSession) -> Listed:
    try:
        return Listed(read_info(session), adb_server=session.adb_server)
    except DeviceError as exc:
        unread = DeviceInfo.from_dict({"serial": session.serial, "state": "error"})
        return Listed(unread, adb_server=session.adb_server, error=str(exc))


def describe_sessions(sessions: list[DeviceSession]) -> list[Listed]:
    """read_info for each session (in parallel, order kept); failures listed with their error."""
    if len(sessions) <= 1:
        return [_describe(s) for s in sessions]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(sessions))) as pool:
        return list(pool.map(_describe, sessions))


def describe_all(adb_server: str | None) -> list[Listed]:
    """Every device the adb server lists; unusable ones (offline, unauthorized) by state only."""
    return describe_server(make_client(adb_server))


def describe_server(client: AdbClient) -> list[Listed]:
    """describe_all for an already reached server, each entry with its `adb_server`."""
    attached = list_attached(client)
    usable = iter(
        describe_sessions(
            [DeviceSession(client, a.serial) for a in attached if a.state == "device"]
        )
    )
    out: list[Listed] = []
    for a in attached:
        if a.state == "device":
            out.append(next(usable))
        else:
            hint = {"unauthorized": UNAUTHORIZED_HINT, "offline": OFFLINE_HINT}.get(a.state)
            info = DeviceInfo(
                serial=a.serial,
                state=a.state,
                model=a.model,
                device=a.device,
                product=a.product,
                warnings=(hint,) if hint else (),
            )
            out.append(Listed(info))
    for listed in out:
        listed.adb_server = f"{client.host}:{client.port}"
    return out


def format_table(listed: list[Listed]) -> str:
    """Human-readable listing, one block per device."""
    if not listed:
        return "no devices attached"
    blocks = []
    for entry in listed:
        d = entry.info
        head = f"{d.serial}  {d.state}"
        if entry.adb_server:
            head += f"  via {entry.adb_server}"
        if entry.lease is not None:
            head += f"  leased by {_lease_text(entry.lease)}"
        elif entry.usable and entry.lease_read:
            head += "  free"
        warnings = [*d.warnings, *entry.warnings]
        if entry.error:
            blocks.append(f"{head}\n  error: {entry.error}")
            continue
        if not entry.usable:
            blocks.append("\n".join([head, *(f"  {w}" for w in warnings)]))
            continue
        lines = [
            f"{head}  {d.manufacturer or ''} {d.model or ''} "
            f"({d.device or '?'}){'  [emulated]' if d.emulated else ''}".rstrip(),
            f"  soc {d.platform or '?'} / {d.hardware or '?'}, "
            f"Android {d.android_release or '?'} (SDK {d.sdk or '?'}), "
            f"abi {d.abi or '?'}",
            f"  build {d.fingerprint or '?'}",
        ]
        for c in d.clusters:
            cpus = ",".join(str(x) for x in c.cpus)
            online = ",".join(str(x) for x in c.online)
            lines.append(
                f"  cluster {c.id}: cpus {cpus} up to {c.max_khz} kHz, "
                f"{c.governor}, online {online or 'none'}"
            )
        lines.append("  masks " + " ".join(f"{k}={v}" for k, v in d.masks.items()))
        temps = [f"{z.type} {z.temp_c:.1f} C" for z in d.thermal_zones if z.temp_c is not None]
        if d.thermal_zones:
            lines.append("  thermal " + ", ".join(temps))
        battery = d.battery_level
        lines.append(
            f"  battery {battery if battery is not None else '?'}%"
            + (f" at {d.battery_temp_c:.1f} C" if d.battery_temp_c else "")
            + f", screen {_onoff(d.screen_on)}"
        )
        lines.extend(f"  warning: {w}" for w in warnings)
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _onoff(value: object) -> str:
    return "unknown" if value is None else "on" if value else "off"
