"""`-o/--out` names every command's output, a file or a folder as its help says; old
spellings (`report --output`) still work, left out of `--help`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.cli import command, main
from tests.support.synthetic import noisy_latencies, write_run

# Each command that writes one output, and what that output is.
OUTPUTS = {
    ("run",): "Folder",
    ("convert",): "Folder",
    ("report",): "File",
    ("baseline", "save"): "File",
}


def _command(path: tuple[str, ...]) -> Any:
    cmd = command()
    for name in path:
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize("path", list(OUTPUTS))
def test_every_output_is_o_out_and_its_help_says_file_or_folder(path: tuple[str, ...]) -> None:
    (out,) = [p for p in _command(path).params if p.name == "out"]
    assert {"-o", "--out"} <= set(out.opts)
    assert out.help.startswith(OUTPUTS[path] + ":")


def test_no_other_option_takes_o_or_out() -> None:
    def walk(cmd: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [path for p in cmd.params if {"-o", "--out"} & set(getattr(p, "opts", ()))]
        for name, sub in getattr(cmd, "commands", {}).items():
            found += walk(sub, (*path, name))
        return found

    assert sorted(walk(command(), ())) == sorted(OUTPUTS)


def test_report_output_still_works_and_is_not_in_help(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run(
        tmp_path / "run", noisy_latencies(["mobilenet_v2_0.35_96"], n=3, cv=0.01, seed=1)
    )
    assert main(["report", str(run), "--output", str(tmp_path / "old.html")]) == 0
    assert main(["report", str(run), "--out", str(tmp_path / "new.html")]) == 0
    assert (tmp_path / "old.html").read_text() and (tmp_path / "new.html").read_text()
    capsys.readouterr()
    assert main(["report", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "-o, --out PATH" in shown and "--output" not in shown
