"""`harness clean`: remove everything the harness put on a device, its lease included."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.errors import DeviceBusyError
from harness.textsafe import echo


def clean(
    device: Annotated[
        list[str],
        typer.Option(
            "--device",
            "-d",
            help="Serial, SERIAL@HOST:PORT, HOST:PORT, model name, alias, all, or sim "
            "(starts a simulated Pixel 1). Repeatable.",
        ),
    ],
    adb_server: Annotated[
        list[str] | None,
        typer.Option("--adb-server", help="adb server HOST:PORT; repeat for several."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also clean a phone whose lease is live (another run may "
            "be measuring on it) and release that lease.",
        ),
    ] = False,
) -> None:
    """Delete /data/local/tmp/harness (binary, models, scripts, trial outputs) on the devices,
    and release a lease the harness left behind (only a stale one, unless --force)."""
    # Device modules load inside the command: harness.device.adb checks the adb environment
    # as it loads, and its error must reach the CLI's one-line handler (see harness.cli).
    from harness.device.files import WORKDIR
    from harness.device.files import clean as clean_device
    from harness.device.lab import open_lab
    from harness.device.lease import LEASE_DIR, read_holder, release

    busy = []
    with open_lab(list(device), adb_server) as phones:
        for session in phones.sessions:
            holder = read_holder(session)
            if holder is not None and not holder.stale and not force:
                # A live run is measuring here: its files and its lease stay.
                busy.append(f"{session.serial} is leased by {holder.describe()}")
                echo(f"{session.serial}: skipped, leased by {holder.describe()}", err=True)
                continue
            removed = clean_device(session)
            echo(f"{session.serial}: removed {WORKDIR} ({removed} files)", err=True)
            if holder is not None and release(session, None):
                why = "stale" if holder.stale else "--force"
                echo(
                    f"{session.serial}: released {LEASE_DIR} ({why}; was {holder.describe()})",
                    err=True,
                )
    if busy:
        raise DeviceBusyError("; ".join(busy), hint="clean it after that run, or pass --force")


def register(app: typer.Typer) -> None:
    """Add `harness clean`."""
    app.command("clean")(clean)
