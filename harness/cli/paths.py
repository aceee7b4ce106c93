"""An empty path names nothing: every PATH option and argument refuses `''`.

`Path("")` is `.`, so `harness trend ''` read the current folder, `harness
run --out ''` wrote there and `--resume ''` resumed whatever run it held:
an empty value read as a default, as `--device ''` once was. One hook per
path parameter, installed once over the whole command tree, refuses it as a
usage error (exit 2) before the command runs.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import typer


def _takes_paths(param: Any) -> bool:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    kinds = {annotation, *typing.get_args(annotation)}
    kinds |= {inner for kind in list(kinds) for inner in typing.get_args(kind)}
    return Path in kinds


def refuse_empty_paths(command: Any) -> None:
    """Make every path parameter under `command` (a click command or group) refuse `''`."""
    for param in getattr(command, "params", []):
        if not _takes_paths(param):
            continue
        process = param.process_value

        def checked(ctx: Any, value: Any, _param: Any = param, _process: Any = process) -> Any:
            values = value if isinstance(value, (list, tuple)) else [value]
            if any(v == "" for v in values):
                raise typer.BadParameter("an empty path names nothing", ctx=ctx, param=_param)
            return _process(ctx, value)

        param.process_value = checked
    for sub in getattr(command, "commands", {}).values():
        refuse_empty_paths(sub)
