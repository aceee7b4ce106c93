"""`harness devices`: list attached phones with identity, clusters, masks and state."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from harness.textsafe import echo

if TYPE_CHECKING:
    from harness.device.session import DeviceSession


def devices(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (a list) to stdout.")] = False,
    device: Annotated[
        list[str] | None,
        typer.Option(
            "--device",
            "-d",
            help="Only these: serial, HOST:PORT, model name, alias, "
            "all, or sim (starts a simulated Pixel 1). Repeatable.",
        ),
    ] = None,
    adb_server: Annotated[
        str | None,
        typer.Option(
            "--adb-server",
            help="adb server HOST:PORT (default: local, or ANDROID_ADB_SERVER_HOST/PORT).",
        ),
    ] = None,
) -> None:
    """Show every device the adb server sees, read in one shell round trip each."""
    from harness.device.listing import describe_all, describe_sessions, format_table

    if device:
        from harness.cli._devices import open_devices

        with open_devices(list(device), adb_server) as sessions:
            infos = describe_sessions(sessions)
            add_preflight(infos, sessions)
    else:
        from harness.device.select import make_client
        from harness.device.session import DeviceSession

        infos = describe_all(adb_server)
        client = make_client(adb_server)
        add_preflight(infos, [DeviceSession(client, str(i["serial"])) for i in infos])
    if as_json:
        echo(json.dumps(infos, indent=2))
    else:
        echo(format_table(infos))


def add_preflight(infos: list[dict[str, Any]], sessions: list[DeviceSession]) -> None:
    """Add the warnings `harness run` would give (run's preflight) to each usable device."""
    from harness.device.preflight import run_preflight
    from harness.errors import DeviceError

    by_serial = {s.serial: s for s in sessions}
    for info in infos:
        session = by_serial.get(str(info.get("serial")))
        if info.get("state") != "device" or session is None:
            continue
        try:
            found = run_preflight(session)
        except DeviceError as exc:
            info.setdefault("warnings", []).append(f"preflight failed: {exc}")
            continue
        extra = [f"cannot run trials: {p}" for p in found.problems()] + found.warnings
        info["warnings"] = [*info.get("warnings", []), *extra]


def register(app: typer.Typer) -> None:
    """Add `harness devices`."""
    app.command("devices")(devices)
