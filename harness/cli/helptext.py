"""`--help` that reads in an 80-column terminal, with metavars that are words.

typer prints the Python annotation as the metavar (`<int>`, `<list[Path]>`,
`<bool>` after every flag in its rich layout) and its rich tables give the
help text a narrow column when an option name is long; rich markup also eats
`[default: ...]` written in a help string. So the harness uses click's plain
layout (`rich_markup_mode=None` on every Typer app) and names each value with
a word, as click does: INTEGER, FLOAT, TEXT, PATH. An option that sets its own
metavar (`LIST` for comma lists, `SEED`, ...) keeps it.

An option renamed for one vocabulary still takes its old spelling, left out of
`--help` (`HIDDEN_ALIASES`), so scripts written for the old name keep working.
"""

from __future__ import annotations

import re
from typing import Any

import typer

# typer's label (inside <...>) -> click's word; list[...] options repeat, so they take
# the element's word.
WORDS = {
    "int": "INTEGER",
    "int range": "INTEGER",
    "float": "FLOAT",
    "float range": "FLOAT",
    "str": "TEXT",
    "path": "PATH",
    "Path": "PATH",
    "file": "PATH",
    "directory": "PATH",
    "bool": "BOOLEAN",
}
# Old spellings options still take but `--help` no longer shows: `report --output` is
# `report -o/--out` (every option naming an output is `-o/--out`).
HIDDEN_ALIASES = frozenset({"--output"})
_LABEL = re.compile(r"^<(?:list\[)?(?P<label>[^\]>]*)\]?>$")


def word_for(typer_label: str) -> str:
    """`<list[Path]>` -> PATH, `<int range>` -> INTEGER; anything else upper-cased, bare."""
    m = _LABEL.match(typer_label)
    label = m.group("label") if m else typer_label
    return WORDS.get(label, label.strip("<>[]").upper() or "VALUE")


def plain_metavars(command: Any, ctx: Any = None) -> None:
    """Give every parameter under `command` (a click command or group) a word for its value."""
    context = ctx or typer.Context(command, info_name=command.name)
    for param in getattr(command, "params", []):
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            continue
        if not hasattr(param, "display_type"):
            continue
        word = param.metavar if param.metavar else word_for(str(param.display_type(context)))
        if getattr(param, "param_type_name", "") == "argument" and param.name:
            param.metavar = param.name.upper()  # RUN_DIRS in the usage line, as click writes it
        # The one hook typer reads for both options and arguments; per parameter object.
        param.display_type = lambda _ctx, _word=word: _word
    for name, sub in getattr(command, "commands", {}).items():
        plain_metavars(sub, typer.Context(sub, parent=context, info_name=name))


def hide_aliases(command: Any) -> None:
    """Leave `HIDDEN_ALIASES` out of the `--help` of every option under `command`."""
    for param in getattr(command, "params", []):
        if not set(getattr(param, "opts", ())) & HIDDEN_ALIASES:
            continue
        record = param.get_help_record

        def shown(ctx: Any, _param: Any = param, _record: Any = record) -> Any:
            opts = _param.opts
            _param.opts = [o for o in opts if o not in HIDDEN_ALIASES]
            try:
                return _record(ctx)
            finally:
                _param.opts = opts

        param.get_help_record = shown
    for sub in getattr(command, "commands", {}).values():
        hide_aliases(sub)
