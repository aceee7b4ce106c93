"""The console table of `harness check`: aligned, reasons for what needs attention, inert text."""

from __future__ import annotations

from pathlib import Path

from harness.compare import compare_runs, render_table
from tests.support.synthetic import noisy_latencies, write_run

A, B = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96"


def test_columns_align_and_regressions_explain_themselves(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    c = write_run(tmp_path / "c", noisy_latencies([A, B], n=5, cv=0.01, seed=2, scale={A: 1.3}))
    text = render_table(compare_runs(b, c))
    title, *lines = text.splitlines()
    assert title.startswith("harness check: stand-in binary")  # write_run's default binary
    header, rule, *rows = lines[:4]
    assert header.split()[:3] == ["verdict", "device", "variant"]
    # Every column starts where its header does.
    starts = [i for i, ch in enumerate(rule) if ch == "-" and (i == 0 or rule[i - 1] == " ")]
    for row in rows:
        for pos in starts[1:3]:
            assert row[pos - 2 : pos] == "  " and row[pos] != " "
    # Sorted by size, largest first: 1.0_224 before 0.35_96.
    assert rows[0].startswith("REGRESSION") and rows[1].startswith("unchanged")
    assert any(line.startswith("  regression:") and "slower by +" in line for line in lines)
    assert lines[-1].startswith("2 configurations: 1 regression, 1 unchanged (threshold 5%")


def test_control_characters_from_the_device_do_not_reach_the_terminal(tmp_path: Path) -> None:
    dev = {"model": "Pixel\x1b[2J\rfake\nrow"}
    b = write_run(tmp_path / "b", noisy_latencies([A], n=5, cv=0.01, seed=1), device=dev)
    c = write_run(
        tmp_path / "c",
        noisy_latencies([A], n=5, cv=0.01, seed=2),
        device=dev,
        trial_overrides={"throttled": True},
    )
    text = render_table(compare_runs(b, c))
    assert "\x1b" not in text and "\r" not in text and "[2J" not in text
    # The whole sequence goes (harness.textsafe.printable), and a cell stays on its line.
    rows = [line for line in text.splitlines() if line.startswith("unchanged")]
    assert rows and all("Pixelfake row" in line for line in rows), text
