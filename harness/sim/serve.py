"""Run one simulated device in the foreground (`harness sim serve`)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import ranges
from harness.errors import OptionError, SimulatorError
from harness.sim import profiles
from harness.sim import props as propmod
from harness.sim.auth import parse_policy
from harness.textsafe import printable

if TYPE_CHECKING:  # the device loads when one starts, not when `--help` reads RANGES
    from harness.sim.device import SimDevice

RANGES = ranges.SIM_SERVE  # the documented range of every numeric option


def parse_pairs(items: list[str], what: str) -> dict[str, str]:
    """`KEY=VALUE` options to a dict, with a clear error for anything else."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise OptionError(f"{what} {item!r}: expected KEY=VALUE", option=what)
        out[key] = value
    return out


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # `²`.isdigit(), but int("²") fails


def _number(text: str, option: str, kind: type[int] | type[float]) -> float:
    """A number from an option's text, checked against its range (OptionError if not)."""
    try:
        value = kind(text)
    except ValueError:
        RANGES[option].check(option, text)  # not a number: refused, naming the range
        raise
    RANGES[option].check(option, value)
    return value


def fault_settings(
    *,
    slowdown: float | None = None,
    hang: list[str] | None = None,
    fail_pushes_after: int | None = None,
    drop_after_bytes: int | None = None,
    drop_after_commands: int | None = None,
    thermal: list[str] | None = None,
    cap: list[str] | None = None,
    synthetic: int | None = None,
    hangup: str | None = None,
    unplugged: bool = False,
) -> dict[str, Any]:
    """Command-line fault options -> the dict `SimDevice.start(faults=...)` takes.

    Every number is checked against RANGES first (OptionError, exit 2).
    """
    for option, number in (
        ("--slowdown", slowdown),
        ("--synthetic", synthetic),
        ("--fail-pushes-after", fail_pushes_after),
        ("--drop-after-bytes", drop_after_bytes),
        ("--drop-after-commands", drop_after_commands),
    ):
        if number is not None:
            RANGES[option].check(option, number)
    settings: dict[str, Any] = {}
    if unplugged:
        settings["usb_power"] = False
    if hangup is not None:
        settings["hangup"] = hangup
    if slowdown is not None:
        settings["slowdown"] = slowdown
    if synthetic is not None:
        settings["synthetic"] = synthetic
    if fail_pushes_after is not None:
        settings["fail_pushes"] = fail_pushes_after
    if drop_after_bytes is not None:
        settings["drop_after_bytes"] = drop_after_bytes
    if drop_after_commands is not None:
        settings["drop_after_commands"] = drop_after_commands
    temps: dict[int | str, float] = {}
    for key, text in parse_pairs(thermal or [], "--thermal").items():
        temps[int(key) if _digits(key) else key] = _number(text, "--thermal", float)
    caps: dict[int, int] = {}
    for key, text in parse_pairs(cap or [], "--cap").items():
        if not _digits(key):
            raise OptionError(f"--cap {key}={text}: expected CPU=KHZ (integers)", option="--cap")
        caps[int(key)] = int(_number(text, "--cap", int))
    if temps or caps:
        settings["thermal"] = {"temps_c": temps, "max_khz": caps}
    if hang:
        settings["hang"] = list(hang)
    return settings


def auth_setting(auth: str | None, *, unauthorized: bool) -> str | None:
    """`--auth MODE` / `--unauthorized` -> the `auth` of `SimDevice.start` (checked there)."""
    if unauthorized and auth is not None and auth.strip().lower() != "refuse":
        raise SimulatorError(f"--unauthorized contradicts --auth {auth}")
    if auth is not None:
        try:
            policy = parse_policy(auth)
        except SimulatorError as exc:
            raise OptionError(str(exc), option="--auth") from None
        RANGES["--auth"].check("--auth accept-after", policy.delay_s)
    return "refuse" if unauthorized else auth


def start_device(
    *,
    port: int,
    topology: Path | None,
    props: list[str],
    root: Path | None,
    faults: dict[str, Any],
    auth: str | None = None,
    profile: str | None = None,
) -> SimDevice:
    """Start a device from command-line style options."""
    # The device (asyncio, the sandbox) loads when one starts: `harness --help` reads RANGES.
    from harness.sim.device import SimDevice

    RANGES["--port"].check("--port", port)
    try:
        profiles.get(profile)
    except SimulatorError as exc:  # the user's --profile: exit 2
        raise OptionError(str(exc), option="--profile") from None
    try:
        overrides = propmod.parse_assignments(props)
    except SimulatorError as exc:  # the user's --prop, not the environment: exit 2
        raise OptionError(str(exc), option="--prop") from None
    return SimDevice.start(
        port=port,
        topology=topology,
        props=overrides,
        root=root,
        faults=faults,
        auth=auth,
        profile=profile,
    )


def describe(device: SimDevice) -> dict[str, Any]:
    """What `harness sim serve --json` prints once the device listens."""
    return {
        "serial": device.serial,
        "port": device.port,
        "root": str(device.root),
        "profile": device.profile.name,
        "model": device.props["ro.product.model"],
        "device": device.props["ro.product.device"],
        "auth": str(device.faults.auth_policy()),
        "topology": device.topology.to_json(),
    }


def serve_foreground(device: SimDevice, *, as_json: bool) -> None:
    """Announce the device, then serve until SIGINT/SIGTERM; always stop it."""
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if as_json:
            sys.stdout.write(json.dumps(describe(device)) + "\n")
        else:
            sys.stdout.write(device.serial + "\n")
            # The properties are the user's (--prop): printable, like everything the CLI prints.
            sys.stderr.write(
                printable(
                    f"harness sim: a simulated {device.props['ro.product.model']} "
                    f"({device.props['ro.product.device']}) listens on {device.serial}; "
                    f"attach it with `adb connect {device.serial}`. Ctrl-C stops it."
                )
                + "\n"
            )
            policy = device.faults.auth_policy()
            if policy.required:
                sys.stderr.write(
                    f"harness sim: adb auth {policy}: the host's key is "
                    + (
                        "never accepted (adb shows it unauthorized).\n"
                        if policy.mode == "refuse"
                        else f"accepted {policy.delay_s:g} s after it is offered.\n"
                    )
                )
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        device.stop()
