"""`harness clean`: remove everything the harness put on a device."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.device.files import WORKDIR
from harness.textsafe import echo


def clean(
    device: Annotated[
        list[str],
        typer.Option(
            "--device", "-d", help="Serial, HOST:PORT, model name, alias or all. Repeatable."
        ),
    ],
    adb_server: Annotated[
        str | None, typer.Option("--adb-server", help="adb server HOST:PORT.")
    ] = None,
) -> None:
    """Delete /data/local/tmp/harness (binary, models, scripts, trial outputs) on the devices."""
    from harness.cli._devices import open_devices
    from harness.device.files import clean as clean_device

    with open_devices(list(device), adb_server) as sessions:
        for session in sessions:
            removed = clean_device(session)
            echo(f"{session.serial}: removed {WORKDIR} ({removed} files)", err=True)


def register(app: typer.Typer) -> None:
    """Add `harness clean`."""
    app.command("clean")(clean)
