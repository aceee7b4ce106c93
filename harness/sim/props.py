"""System properties of the default simulated phone: a Pixel 1 (sailfish).

Values follow the last public Pixel 1 build (Android 10, QP1A.191005.007.A3);
the ABI is the host's, because that is what really runs (`ro.product.cpu.abi`
must be honest). `ro.harness.simulated=1` lets anyone tell it is simulated.
"""

from __future__ import annotations

import platform
import re

from harness.errors import SimulatorError

_ABI = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64-v8a", "arm64": "arm64-v8a"}
_KEY = re.compile(r"^[A-Za-z0-9_.\-:@]+$")


def host_abi() -> str:
    """The Android ABI name of the machine the sim runs on."""
    machine = platform.machine().lower()
    return _ABI.get(machine, machine)


def pixel1_props() -> dict[str, str]:
    """The default property set (a copy the caller may change)."""
    abi = host_abi()
    return {
        "ro.product.model": "Pixel",
        "ro.product.device": "sailfish",
        "ro.product.name": "sailfish",
        "ro.product.brand": "google",
        "ro.product.manufacturer": "Google",
        "ro.product.board": "sailfish",
        "ro.board.platform": "msm8996",
        "ro.hardware": "sailfish",
        "ro.product.cpu.abi": abi,
        "ro.product.cpu.abilist": abi,
        "ro.build.version.release": "10",
        "ro.build.version.sdk": "29",
        "ro.build.version.security_patch": "2019-10-06",
        "ro.build.id": "QP1A.191005.007.A3",
        "ro.build.display.id": "QP1A.191005.007.A3",
        "ro.build.type": "user",
        "ro.build.tags": "release-keys",
        "ro.build.fingerprint": (
            "google/sailfish/sailfish:10/QP1A.191005.007.A3/5972272:user/release-keys"
        ),
        "ro.build.characteristics": "nosdcard",
        "ro.debuggable": "0",
        "ro.secure": "1",
        "ro.serialno": "FA6AB0301234",
        "sys.boot_completed": "1",
        "init.svc.adbd": "running",
        "persist.sys.timezone": "Etc/UTC",
        "ro.harness.simulated": "1",
    }


def parse_assignments(items: list[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (from `--prop`) to a dict, with clear errors."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SimulatorError(f"--prop {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    validate(out)
    return out


def validate(props: dict[str, str]) -> None:
    """Refuse names or values the device's property file cannot hold."""
    for key, value in props.items():
        if not _KEY.match(key):
            raise SimulatorError(f"property name {key!r} is not valid")
        if "\n" in value or "\0" in value or len(value) > 4000:
            raise SimulatorError(f"property {key!r}: value must be one line under 4000 characters")


def banner(props: dict[str, str], features: list[str]) -> bytes:
    """The CNXN banner a device sends (identity props plus features)."""
    parts = [
        f"{k}={props.get(k, '')};"
        for k in ("ro.product.name", "ro.product.model", "ro.product.device")
    ]
    return ("device::" + "".join(parts) + "features=" + ",".join(features)).encode()
