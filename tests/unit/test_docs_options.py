"""The docs name only options that exist, and quote the defaults the code has.

Docs drift silently: an option renamed in code keeps its old name in a README
example, a default changed in `RunSettings` keeps its old value in a table.
This reads README.md and docs/*.md as a user would (command lines in code,
option tables, "default N" in prose) and checks each against the real click
commands that `harness --help` prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer.main

from harness.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Option tables: which command a file's `| --option | ... |` rows describe.
TABLE_COMMAND = {"run.md": "run", "report.md": "report"}
# Options of other programs that the docs quote (adb, chromium, nox, pytest, the ELF reader).
FOREIGN = {
    "--no-sandbox", "--headless", "--user-data-dir", "--disable-gpu", "--print-to-pdf",
    "--graph",  # benchmark_model's
    "--check-all",  # benchmarks/bench_convert.py's
}  # fmt: skip

# Inline code that runs another program quotes that program's options.
FOREIGN_PROGRAMS = {
    "git", "adb", "nox", "pytest", "python", "pip", "chromium", "ruff", "mypy", "bwrap",
}  # fmt: skip

OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)(?![\w])")


# typer >= 0.20 vendors click: its classes are typer's own, so these are duck-typed.
Command = Any
Parameter = Any


@cache  # building the click tree of every command takes a while; the tests only read it
def _root() -> Command:
    group = typer.main.get_command(app)
    assert hasattr(group, "commands")
    return group


def _commands() -> dict[str, Command]:
    """Every command by its spelled name: `run`, `baseline save`, `sim serve`, ..."""
    out: dict[str, Command] = {}

    def walk(group: Command, prefix: str) -> None:
        for name, cmd in group.commands.items():
            full = f"{prefix}{name}"
            out[full] = cmd
            if hasattr(cmd, "commands"):
                walk(cmd, full + " ")

    walk(_root(), "")
    return out


def _options(cmd: Command) -> dict[str, Parameter]:
    names: dict[str, Parameter] = {"--help": None}
    for param in [*cmd.params, *_root().params]:
        for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
            names[opt] = param
    return names


@dataclass(frozen=True)
class Mention:
    """One place a doc names an option: file, line, the command (None: prose) and the option."""

    doc: str
    line: int
    command: str | None
    option: str
    text: str


def _logical_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Lines with shell continuations (`\\` at the end) joined, numbered by their first line."""
    pending: list[str] = []
    start = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending.append(line.rstrip()[:-1])
            continue
        pending.append(line)
        yield start, " ".join(pending)
        pending = []


def _command_in(segment: str, commands: dict[str, Command]) -> str | None:
    """The longest command name that follows `harness ` at the start of a shell segment."""
    words = segment.split()
    if not words or words[0] != "harness":
        return None
    rest = [w for w in words[1:] if not w.startswith("--debug") and w not in ("-v", "--verbose")]
    for size in (2, 1):
        name = " ".join(rest[:size])
        if name in commands:
            return name
    return None


def _mentions() -> list[Mention]:
    commands = _commands()
    out: list[Mention] = []
    for path in DOCS:
        table_cmd = TABLE_COMMAND.get(path.name)
        for number, line in _logical_lines(path):
            seen: set[str] = set()
            # Command lines: `harness CMD --opt ...`, in code blocks or inline code,
            # up to the next shell separator or comment.
            for match in re.finditer(r"harness [^`#|;&>)]*", line):
                segment = match.group(0)
                cmd = _command_in(segment, commands)
                if cmd is None:
                    continue
                for opt in OPTION.findall(segment):
                    out.append(Mention(path.name, number, cmd, opt, line.strip()))
                    seen.add(opt)
            # Option tables of one command: the first cell of each row.
            if table_cmd and line.startswith("| `--"):
                for opt in OPTION.findall(line.split("|")[1]):
                    out.append(Mention(path.name, number, table_cmd, opt, line.strip()))
                    seen.add(opt)
            # Prose: any other backticked option must exist on some command.
            for code in re.findall(r"`([^`]*)`", line):
                if code.split(" ", 1)[0] in FOREIGN_PROGRAMS:
                    continue
                for opt in OPTION.findall(code):
                    if opt not in seen and "_" not in code.split("=")[0]:
                        out.append(Mention(path.name, number, None, opt, line.strip()))
    return out


def test_the_docs_are_read_at_all() -> None:
    mentions = _mentions()
    assert len({m.doc for m in mentions}) >= 5
    assert any(m.command == "run" and m.option == "--trial-timeout" for m in mentions)
    assert any(m.command == "check" and m.option == "--junit" for m in mentions)


def test_every_option_the_docs_name_exists_on_its_command() -> None:
    commands = _commands()
    every = set().union(*(_options(c) for c in commands.values()))
    wrong = []
    for m in _mentions():
        if m.option in FOREIGN:
            continue
        known = _options(commands[m.command]) if m.command else every
        if m.option not in known:
            where = f"harness {m.command}" if m.command else "any command"
            wrong.append(f"{m.doc}:{m.line}: {m.option} is not an option of {where}: {m.text}")
    assert not wrong, "\n".join(wrong)


# ---- defaults -------------------------------------------------------------

NUMBER = re.compile(r"^-?\d+(?:\.\d+)?")
PROSE_DEFAULT = re.compile(r"`(--[a-z][a-z0-9-]*)[^`]*`[^.;]*?\(?default:? ([^),;]+)")


def _default_of(command: str, option: str) -> object:
    """The default a user gets: the option's own, or for `run` the RunSettings field it fills."""
    param = _options(_commands()[command])[option]
    if param.default is not None or command != "run":
        return param.default
    from harness.run import RunSettings

    fields = RunSettings.__dataclass_fields__
    for name in (param.name, f"{param.name}s", f"{param.name}_s", f"{param.name}_c"):
        if name in fields:
            field = fields[name]
            factory = field.default_factory
            return factory() if callable(factory) else field.default
    return None


def _same(quoted: str, actual: object) -> bool:
    """Does a default as the docs quote it ("40 °C", "5%", "fp32", "results/") equal the code's?"""
    quoted = quoted.strip().strip("`")
    if actual is None and not NUMBER.match(quoted):
        return True  # a behaviour in words ("the cores this process may use"), not a value
    if isinstance(actual, (list, tuple)):
        actual = ",".join(str(a) for a in actual)
    number = NUMBER.match(quoted)
    if number and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        value = float(number.group(0))
        if quoted[number.end() :].lstrip().startswith("%"):
            value /= 100
        return abs(value - float(actual)) < 1e-9
    if number and isinstance(actual, str):
        return actual.rstrip("%") == quoted.split()[0].rstrip("%,")
    return str(actual).rstrip("/") == quoted.split()[0].rstrip("/,")


def _quoted_defaults() -> list[tuple[str, str, str, str]]:
    """(where, command, option, quoted default) for every default the docs state."""
    out: list[tuple[str, str, str, str]] = []
    for path in DOCS:
        table_cmd = TABLE_COMMAND.get(path.name)
        for number, line in _logical_lines(path):
            where = f"{path.name}:{number}"
            # Tables: `| `--a` / `--b` | meaning [A / B] |`; prose defaults are not values.
            if table_cmd and line.startswith("| `--"):
                cells = line.split("|")
                opts = OPTION.findall(cells[1])
                bracket = re.search(r"\[([^\]]+)\]\s*\|?\s*$", line)
                if not bracket:
                    continue
                values = [v.strip() for v in bracket.group(1).split(" / ")]
                if len(values) != len(opts):
                    continue
                for opt, value in zip(opts, values, strict=True):
                    if NUMBER.match(value) or re.fullmatch(r"[\w./-]+", value):
                        out.append((where, table_cmd, opt, value))
            # Prose: "`--opt`, default N" or "`--opt N` ... (default: N)" on one line.
            for match in PROSE_DEFAULT.finditer(line):
                out.append((where, "", match.group(1), match.group(2)))
    return out


def test_docs_quote_defaults_at_all() -> None:
    quoted = _quoted_defaults()
    assert any(opt == "--trials" for _w, _c, opt, _v in quoted)
    assert any(opt == "--penalty" for _w, _c, opt, _v in quoted)


@pytest.mark.parametrize(("where", "command", "option", "quoted"), _quoted_defaults())
def test_every_default_the_docs_quote_is_the_code_default(
    where: str, command: str, option: str, quoted: str
) -> None:
    commands = _commands()
    owners = [command] if command else [n for n, c in commands.items() if option in _options(c)]
    assert owners, f"{where}: {option} is on no command"
    actual = [_default_of(name, option) for name in owners]
    assert any(_same(quoted, a) for a in actual), (
        f"{where}: docs say {option} defaults to {quoted!r}; code says {actual}"
    )
