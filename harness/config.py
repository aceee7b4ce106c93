"""Project settings: `harness.toml` or `[tool.harness]` in `pyproject.toml`.

A lab names its phones once (`[tool.harness.devices] lab1 = "SERIAL"`) and
keeps defaults (`[tool.harness.defaults] adb_server = "lab-host:5037"`) beside the code, so
command lines stay short and CI jobs stay readable. `harness.toml` may use
either the bare tables (`[devices]`, `[defaults]`) or the `[tool.harness.*]`
ones; it wins over `pyproject.toml` when both exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.inputs import SETTINGS_BYTES, loads_toml, read_text

CONFIG_FILES = ("harness.toml", "pyproject.toml")


@dataclass(frozen=True)
class Defaults:
    """`[defaults]`: option values a lab keeps beside its code (other keys are ignored)."""

    adb_server: str | None = None  # HOST:PORT of the adb server
    adb_servers: tuple[str, ...] = ()  # a lab's several servers (wins over adb_server)


@dataclass(frozen=True)
class HarnessConfig:
    """Device aliases and default option values, with the file they came from."""

    devices: dict[str, str] = field(default_factory=dict)
    defaults: Defaults = field(default_factory=Defaults)
    # `[pools] pixel4 = ["SERIAL", ...]`: phones a `--device pool:NAME` picks from.
    pools: dict[str, list[str]] = field(default_factory=dict)
    path: Path | None = None

    def resolve_alias(self, name: str) -> str | None:
        """The selection an alias stands for (aliases are case-insensitive), or None."""
        for alias, target in self.devices.items():
            if alias.lower() == name.lower():
                return target
        return None


def _section(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: [tool] must be a table")
    section = tool.get("harness")
    if section is None and path.name == "harness.toml":
        section = {k: v for k, v in data.items() if k in ("devices", "defaults", "pools")}
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.harness] must be a table")
    return section


def _parse(section: dict[str, Any], path: Path) -> HarnessConfig:
    devices = section.get("devices", {})
    defaults = section.get("defaults", {})
    if not isinstance(devices, dict) or not isinstance(defaults, dict):
        raise ConfigError(f"{path}: 'devices' and 'defaults' must be tables")
    for alias, target in devices.items():
        if not isinstance(target, str) or not target.strip():
            raise ConfigError(
                f"{path}: device alias {alias!r} must map to a non-empty string",
                hint='e.g. lab1 = "0123456789ABCDEF"',
            )
        if alias.lower() in ("all", "sim"):
            raise ConfigError(f"{path}: {alias!r} is a reserved --device keyword, not an alias")
    pools = section.get("pools", {})
    if not isinstance(pools, dict) or not all(
        isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v)
        for v in pools.values()
    ):
        raise ConfigError(
            f"{path}: [pools] entries must be non-empty lists of serials",
            hint='e.g. pixel4 = ["SERIAL1", "SERIAL2@lab-host:5037"]',
        )
    servers = defaults.get("adb_servers")
    if servers is not None and not (
        isinstance(servers, list) and all(isinstance(x, str) for x in servers)
    ):
        raise ConfigError(f"{path}: [defaults] adb_servers must be a list of HOST:PORT strings")
    single = defaults.get("adb_server")
    return HarnessConfig(
        devices=dict(devices),
        # A non-string adb_server was never a server: ignored, as it always was.
        defaults=Defaults(
            adb_server=single if isinstance(single, str) else None,
            adb_servers=tuple(servers or ()),
        ),
        pools={k: list(v) for k, v in pools.items()},
        path=path,
    )


def load_config(directory: Path | None = None) -> HarnessConfig:
    """Read the settings of `directory` (default: the current one); empty when none."""
    base = directory if directory is not None else Path.cwd()
    for name in CONFIG_FILES:
        path = base / name
        if not path.exists():
            continue
        try:  # a FIFO or device named harness.toml is refused, not read forever
            data = loads_toml(read_text(path, limit=SETTINGS_BYTES, what="a settings file"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read settings: {exc}") from None
        section = _section(data, path)
        if section is not None:
            return _parse(section, path)
    return HarnessConfig()
