"""Device sources: `--device` tokens that start a device instead of naming an attached one.

`sim` starts a simulated Pixel 1 (`sim:pixel6` a Pixel 6; `harness.sim.source`).
A source is a callable `start(token)` returning a context manager: entering it
starts the device and gives the `HOST:PORT` to `adb connect`; leaving it stops
the device. `harness.device.lab.open_lab` starts every source token of a
selection, and the resolver (`harness.device.select`) then reaches the device
like any `HOST:PORT`, so core code never imports a source's package and has
no branch for any one of them.

A source is found by its name, the token up to its first `:`: first among the
harness's own (`BUILT_IN`), then among the entry points of the group
`harness.device_sources` that installed packages declare (a DeviceFarmer/STF
source, say). Both are `module:attribute` references, imported on first use.
The harness's own sources are a table here, not entry points of its own
package: entry points are read from an installation's metadata, which a
checkout installed before a source was added does not have, and `sim` must
work from any checkout.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Callable
from contextlib import AbstractContextManager

from harness.errors import ConfigError

GROUP = "harness.device_sources"
BUILT_IN: dict[str, str] = {"sim": "harness.sim.source:start"}

DeviceSource = Callable[[str], AbstractContextManager[str]]


def source_name(token: str) -> str:
    """The source a token would name: `sim:pixel6` -> `sim`."""
    return token.partition(":")[0].strip().lower()


@functools.cache
def _plugins() -> dict[str, str]:
    """Sources installed packages declare (entry point name -> `module:attribute`): read
    once per process (scanning every installed package takes ~40 ms)."""
    return {ep.name.lower(): ep.value for ep in importlib.metadata.entry_points(group=GROUP)}


def is_source(token: str) -> bool:
    """Whether a `--device` token starts a device (`sim`, `sim:pixel6`, a plug-in's)."""
    name = source_name(token)
    return name in BUILT_IN or name in _plugins()


def find_source(token: str) -> DeviceSource:
    """The source a token names; ConfigError (exit 2) when none does or it cannot load."""
    name = source_name(token)
    ref = BUILT_IN.get(name) or _plugins().get(name)
    if ref is None:
        raise ConfigError(f"--device {token}: no device source {name!r}")
    try:
        loaded = importlib.metadata.EntryPoint(name, ref, GROUP).load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--device {token}: device source {ref} cannot be loaded: {exc}") from exc
    if not callable(loaded):
        raise ConfigError(f"--device {token}: device source {ref} is not callable")
    source: DeviceSource = loaded
    return source


__all__ = ["BUILT_IN", "GROUP", "DeviceSource", "find_source", "is_source", "source_name"]
