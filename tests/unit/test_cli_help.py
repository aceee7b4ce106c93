"""Every command's `--help` reads well in an 80-column terminal, with words for metavars."""

from __future__ import annotations

import re
from typing import Any

import pytest

from harness.cli import command, main
from harness.cli.helptext import word_for


def command_paths(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    subs = getattr(cmd, "commands", {})
    out = [path]
    for name, sub in subs.items():
        out += command_paths(sub, (*path, name))
    return out


PATHS = command_paths(command())


def test_every_command_is_covered() -> None:
    assert {p[0] for p in PATHS if p} >= {"run", "report", "check", "sim", "baseline", "trend"}
    assert ("sim", "serve") in PATHS and ("baseline", "save") in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "harness")
def test_help_at_80_columns(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Usage: ")
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    # typer's Python-type metavars (<int>, <list[Path]>, <bool>) never show.
    assert not re.search(r"<(?:int|float|str|bool|path|list)\b", text), text
    # No space before punctuation, as when rich markup ate "[default: ...]".
    assert not re.search(r"\w \.(\s|$)|\w ,", text), text
    # Help text starts in a wide column: a continuation line is indented by at most 34.
    for line in lines:
        if line.startswith("      ") and line.strip():
            assert len(line) - len(line.lstrip()) <= 34, line


def test_metavars_are_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    main(["sim", "serve", "--help"])
    text = capsys.readouterr().out
    for option, word in (
        ("--port", "INTEGER"),
        ("--topology", "PATH"),
        ("--prop", "TEXT"),
        ("--slowdown", "FLOAT"),
        ("--synthetic", "SEED"),
    ):
        assert re.search(rf"^  {option} {word}\b", text, re.M), (option, text)
    main(["report", "--help"])
    text = capsys.readouterr().out
    # typer 0.29 writes a required argument {NAME} in the usage line, older typers NAME.
    assert re.search(r"\s\{?RUN_DIRS\}?\.\.\.", text) and "RUN_DIRS PATH" in text
    assert "File: the HTML report [default: RUN_DIR/report.html" in text
    main(["run", "--help"])
    assert re.search(r"^  --variants LIST\b", capsys.readouterr().out, re.M)


@pytest.mark.parametrize(
    ("label", "word"),
    [
        ("<int>", "INTEGER"),
        ("<int range>", "INTEGER"),
        ("<float>", "FLOAT"),
        ("<str>", "TEXT"),
        ("<path>", "PATH"),
        ("<list[str]>", "TEXT"),
        ("<list[Path]>", "PATH"),
        ("<a|b>", "A|B"),
    ],
)
def test_word_for(label: str, word: str) -> None:
    assert word_for(label) == word
