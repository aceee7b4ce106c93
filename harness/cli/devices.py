"""`harness devices`: list attached phones with identity, clusters, masks and state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from harness.config import load_config
from harness.errors import DeviceError
from harness.textsafe import echo

if TYPE_CHECKING:
    from harness.device.listing import Listed
    from harness.device.session import DeviceSession


def devices(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (a list) to stdout.")] = False,
    device: Annotated[
        list[str] | None,
        typer.Option(
            "--device",
            "-d",
            help="Only these: serial, SERIAL@HOST:PORT, HOST:PORT, "
            "model name, alias, all, or sim (starts a simulated Pixel 1). Repeatable.",
        ),
    ] = None,
    adb_server: Annotated[
        list[str] | None,
        typer.Option(
            "--adb-server",
            help="adb server HOST:PORT (default: local, or "
            "ANDROID_ADB_SERVER_HOST/PORT); repeat for every server of a lab.",
        ),
    ] = None,
) -> None:
    """Show every device the adb servers see (with the server and the lease holder of each)."""
    # Device modules load inside the command: harness.device.adb checks the adb environment
    # as it loads, and its error must reach the CLI's one-line handler (see harness.cli).
    from harness.device.lab import open_lab
    from harness.device.listing import describe_server, describe_sessions, format_table
    from harness.device.servers import open_servers, server_specs
    from harness.device.session import DeviceSession

    if device:
        with open_lab(list(device), adb_server) as phones:
            sessions = phones.sessions
            infos = describe_sessions(sessions)
            add_preflight(infos, sessions)
            add_leases(infos, sessions)
    else:
        servers = open_servers(server_specs(adb_server, load_config()))
        infos, sessions = [], []
        for server in servers:
            if server.client is None:
                # Said, not raised: one lab host down must not hide the others' phones.
                echo(f"adb server {server.spec}: could not be reached ({server.error})", err=True)
                continue
            found = describe_server(server.client)
            infos += found
            sessions += [DeviceSession(server.client, i.info.serial) for i in found]
        if all(s.client is None for s in servers):
            raise DeviceError(
                "no adb server could be reached: " + ", ".join(s.spec for s in servers)
            )
        add_preflight(infos, sessions)
        add_leases(infos, sessions)
    if as_json:
        echo(json.dumps([i.to_dict() for i in infos], indent=2))
    else:
        echo(format_table(infos))


def _usable(
    infos: list[Listed], sessions: list[DeviceSession]
) -> Iterator[tuple[Listed, DeviceSession]]:
    """Each listed device in state `device` with the session that reaches it."""
    by_key = {(s.serial, s.adb_server): s for s in sessions}
    for info in infos:
        session = by_key.get((info.info.serial, str(info.adb_server)))
        if info.usable and session is not None:
            yield info, session


def add_preflight(infos: list[Listed], sessions: list[DeviceSession]) -> None:
    """Add the warnings `harness run` would give (run's preflight) to each usable device."""
    # Inside the function, as in devices(): the device modules must not load at start-up.
    from harness.device.preflight import run_preflight

    for info, session in _usable(infos, sessions):
        try:
            found = run_preflight(session)
        except DeviceError as exc:
            info.warnings.append(f"preflight failed: {exc}")
            continue
        info.warnings += [f"cannot run trials: {p}" for p in found.problems()] + found.warnings


def add_leases(infos: list[Listed], sessions: list[DeviceSession]) -> None:
    """Add `lease` (the holder, or None when free) to each usable device."""
    # Inside the function, as in devices(): the device modules must not load at start-up.
    from harness.device.lease import read_holder

    for info, session in _usable(infos, sessions):
        try:
            holder = read_holder(session)
        except DeviceError as exc:
            info.warnings.append(f"lease unreadable: {exc}")
            continue
        info.lease_read, info.lease = True, holder


def register(app: typer.Typer) -> None:
    """Add `harness devices`."""
    app.command("devices")(devices)
