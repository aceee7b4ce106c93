"""Escape sequences from files never reach the terminal; stored values stay raw.

`printable` itself, then the commands that print file-supplied text: `parse`
(a log), `baseline save`, `check`, `report` and `trend` (a run folder whose
device model holds a window-title OSC and a clear-screen CSI).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from harness.cli import main
from harness.textsafe import PrintableFormatter, printable
from tests.support.synthetic import noisy_latencies, write_run

TITLE = "\x1b]0;pwned\x07"  # OSC 0: set the window title
CLEAR = "\x1b[2J"  # CSI 2 J: clear the screen
HOSTILE_MODEL = f"{TITLE}Pixel{CLEAR} XL"
A = "mobilenet_v2_1.0_224"


def assert_clean(text: str) -> None:
    """No control character but newline and tab: nothing a terminal would act on."""
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text), text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (HOSTILE_MODEL, "Pixel XL"),
        ("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),  # OSC 8 ended by ST
        ("a\x1b]0;title to the end\nb", "a\nb"),  # unterminated OSC stops at the line
        ("a\x1b[1;31mred\x1b[0m", "ared"),
        ("a\x9b2Jb\x9d0;t\x9cc", "abc"),  # 8-bit CSI and OSC
        ("a\x1bcb\x1b(Bc", "abc"),  # reset (ESC c), charset (ESC ( B)
        ("bell\x07 back\x08 cr\r del\x7f nul\x00 end\x1b", "bell back cr del nul end"),
        ("keeps\ttabs\nand lines, 40 °C, 12 µs, ✓", "keeps\ttabs\nand lines, 40 °C, 12 µs, ✓"),
    ],
)
def test_printable(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_log_lines_are_printable() -> None:
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "out: %s", (HOSTILE_MODEL,), None)
    assert PrintableFormatter("%(message)s").format(record) == "out: Pixel XL"


def test_parse_strips_escapes_from_a_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "hostile.log"
    log.write_text(f"INFO: STARTING!\nERROR: {TITLE}{CLEAR}bad model {HOSTILE_MODEL}\n")
    assert main(["parse", str(log)]) == 1
    captured = capsys.readouterr()
    assert_clean(captured.out + captured.err)
    assert "bad model Pixel XL" in captured.out  # printed, minus the sequences


@pytest.fixture()
def hostile_runs(tmp_path: Path) -> dict[str, Path]:
    device = {"model": HOSTILE_MODEL}
    return {
        "base": write_run(tmp_path / "base", noisy_latencies([A], n=5, cv=0.01, seed=1),
                          device=device),
        "cur": write_run(tmp_path / "cur", noisy_latencies([A], n=5, cv=0.01, seed=2,
                                                          scale={A: 1.3}), device=device),
    }  # fmt: skip


def test_baseline_check_report_trend_print_no_escapes(
    tmp_path: Path, hostile_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", "save", str(hostile_runs["base"]), "-o", str(baseline)]) == 0
    assert main(["check", "--baseline", str(baseline), "--current", str(hostile_runs["cur"])]) == 1
    captured = capsys.readouterr()
    assert "Pixel" in captured.out  # the check table shows the model
    assert_clean(captured.out + captured.err)
    assert main(["report", str(hostile_runs["cur"]), "-o", str(tmp_path / "r.html")]) == 0
    assert main(["trend", str(hostile_runs["base"]), str(hostile_runs["cur"])]) == 0
    captured = capsys.readouterr()
    assert_clean(captured.out + captured.err)
    # The stored record keeps the raw value: it is data, not terminal output.
    [config] = json.loads(baseline.read_text("utf-8"))["configs"]
    assert config["device_model"] == HOSTILE_MODEL


def test_errors_naming_a_hostile_path_are_printable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / f"run{TITLE}{CLEAR}"
    assert main(["report", str(missing)]) == 2
    err = capsys.readouterr().err
    assert_clean(err)
    assert err.startswith("error: ")
