"""`harness sim serve`: run a simulated phone (a Pixel 1, or a Pixel 6) in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.sim.serve import RANGES, auth_setting, fault_settings, serve_foreground, start_device

sim_app = typer.Typer(
    name="sim",
    help="A simulated Android device that speaks the real adb protocol (no phone needed).",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain click layout: see harness.cli.helptext
)


@sim_app.command("serve")
def serve(
    profile: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="Which phone: pixel1 (Pixel, MSM8996, fuel gauge only) or pixel6 "
            "(Pixel 6, Tensor gs101, fuel gauge and ODPM power rails).",
        ),
    ] = "pixel1",
    unplugged: Annotated[
        bool,
        typer.Option(
            help="Start on battery: USB does not power the phone (as adb over Wi-Fi), "
            "so the fuel gauge follows the power model instead of charging.",
        ),
    ] = False,
    port: Annotated[
        int,
        typer.Option(
            help=f"TCP port on 127.0.0.1, {RANGES['--port']} (0: any free port; not 5554-5585)."
        ),
    ] = 0,
    topology: Annotated[
        Path | None,
        typer.Option(help='CPU topology JSON: {"clusters": [{"cpus": [0,1], "max_khz": N}, ...]}.'),
    ] = None,
    prop: Annotated[
        list[str] | None,
        typer.Option("--prop", help="Override a system property: KEY=VALUE. Repeatable."),
    ] = None,
    root: Annotated[
        Path | None,
        typer.Option(help="Folder for the device's files (kept; default: a temporary one)."),
    ] = None,
    slowdown: Annotated[
        float | None,
        typer.Option(
            help="Fault: every benchmark_model inference takes this many times as long, "
            f"{RANGES['--slowdown']}.",
        ),
    ] = None,
    synthetic: Annotated[
        int | None,
        typer.Option(
            metavar="SEED",
            help="Deterministic mode: benchmark_model draws its times "
            f"from a distribution seeded with SEED, {RANGES['--synthetic']} (labelled "
            "synthetic) instead of measuring them.",
        ),
    ] = None,
    hang: Annotated[
        list[str] | None,
        typer.Option(help="Fault: shell commands matching this regex never answer. Repeatable."),
    ] = None,
    fail_pushes_after: Annotated[
        int | None,
        typer.Option(
            help="Fault: pushes fail with ENOSPC after this many bytes of a file, "
            f"{RANGES['--fail-pushes-after']}."
        ),
    ] = None,
    drop_after_bytes: Annotated[
        int | None,
        typer.Option(
            help="Fault: drop the connection after this many payload bytes, "
            f"{RANGES['--drop-after-bytes']}."
        ),
    ] = None,
    drop_after_commands: Annotated[
        int | None,
        typer.Option(
            help="Fault: drop the connection at the command after this many, "
            f"{RANGES['--drop-after-commands']}."
        ),
    ] = None,
    thermal: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ZONE=CELSIUS",
            help="Fault: a zone's temperature (ZONE: index or type), CELSIUS "
            f"{RANGES['--thermal']}. Repeatable.",
        ),
    ] = None,
    cap: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CPU=KHZ",
            help=f"Fault: cap a CPU's cluster scaling_max_freq, KHZ {RANGES['--cap']}. Repeatable.",
        ),
    ] = None,
    gpu_fails: Annotated[
        bool,
        typer.Option(
            "--gpu-fails",
            help="Fault: the GPU delegate fails to apply (benchmark_model --use_gpu=true "
            "prints the failed ModifyGraphWithDelegate and exits 1, as the real tool does).",
        ),
    ] = False,
    hangup: Annotated[
        str | None,
        typer.Option(
            metavar="POLICY",
            help="What a closed shell stream does: adbd (SIGHUP to "
            "the shell, as AOSP adbd; default) or group (SIGHUP+SIGKILL its group).",
        ),
    ] = None,
    unauthorized: Annotated[
        bool,
        typer.Option(help="Ask for adb auth and never trust the host: adb lists it unauthorized."),
    ] = False,
    auth: Annotated[
        str | None,
        typer.Option(
            metavar="MODE",
            help="adb auth: none, refuse (= --unauthorized) or "
            "accept-after:SECONDS (the user taps Allow after that long; SECONDS "
            f"{RANGES['--auth']}).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the device's details as JSON on stdout.")
    ] = False,
) -> None:
    """Serve one simulated device until Ctrl-C; prints its serial (HOST:PORT) on stdout."""
    faults = fault_settings(
        slowdown=slowdown,
        hang=hang,
        fail_pushes_after=fail_pushes_after,
        drop_after_bytes=drop_after_bytes,
        drop_after_commands=drop_after_commands,
        thermal=thermal,
        cap=cap,
        synthetic=synthetic,
        hangup=hangup,
        unplugged=unplugged,
    )
    if gpu_fails:
        faults["gpu_fails"] = True
    device = start_device(
        port=port,
        topology=topology,
        props=list(prop or []),
        root=root,
        faults=faults,
        auth=auth_setting(auth, unauthorized=unauthorized),
        profile=profile,
    )
    serve_foreground(device, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add `harness sim ...`."""
    app.add_typer(sim_app, name="sim")
