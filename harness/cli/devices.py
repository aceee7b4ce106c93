"""`harness devices`: list attached phones with identity, clusters, masks and state."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from harness.textsafe import echo


def devices(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (a list) to stdout.")] = False,
    device: Annotated[
        list[str] | None,
        typer.Option("--device", "-d", help="Only these: serial, HOST:PORT, model name, alias, "
                     "all, or sim (starts a simulated Pixel 1). Repeatable."),
    ] = None,
    adb_server: Annotated[
        str | None,
        typer.Option("--adb-server", help="adb server HOST:PORT (default: local, or "
                     "ANDROID_ADB_SERVER_HOST/PORT)."),
    ] = None,
) -> None:
    """Show every device the adb server sees, read in one shell round trip each."""
    from harness.device.listing import describe_all, describe_sessions, format_table

    if device:
        from harness.cli._devices import open_devices

        with open_devices(list(device), adb_server) as sessions:
            infos = describe_sessions(sessions)
    else:
        infos = describe_all(adb_server)
    if as_json:
        echo(json.dumps(infos, indent=2))
    else:
        echo(format_table(infos))


def register(app: typer.Typer) -> None:
    """Add `harness devices`."""
    app.command("devices")(devices)
