"""`--markdown`: renders as one table (markdown-it-py), cells stay text, warnings listed."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from harness.compare import compare_runs, render_markdown
from harness.compare.markdown import HEADERS
from tests.support.synthetic import noisy_latencies, write_run

A, B = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96"
HOSTILE = "Pixel | <img src=x onerror=alert(1)> *bold* `code` [link](http://x) &amp;"


def table_cells(text: str) -> tuple[list[str], list[list[str]], str]:
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(text)
    assert sum(t.type == "table_open" for t in tokens) == 1
    header: list[str] = []
    rows: list[list[str]] = []
    section = ""
    for t in tokens:
        if t.type in ("thead_open", "tbody_open"):
            section = t.type
        elif t.type == "tr_open" and section == "tbody_open":
            rows.append([])
        elif t.type == "inline" and section:
            cell = inline_text(t)
            (header.append(cell) if section == "thead_open" else rows[-1].append(cell))
        elif t.type in ("thead_close", "tbody_close"):
            section = ""
    return header, rows, md.render(text)


def inline_text(token: Token) -> str:
    return "".join(c.content for c in token.children or [] if c.type in ("text", "code_inline"))


def test_renders_as_a_table_with_one_row_per_configuration(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    c = write_run(tmp_path / "c", noisy_latencies([A, B], n=5, cv=0.01, seed=2, scale={A: 1.3}))
    comp = compare_runs(b, c)
    header, rows, html = table_cells(render_markdown(comp))
    assert header == list(HEADERS)
    assert len(rows) == len(comp.rows) == 2
    assert all(len(r) == len(HEADERS) for r in rows)
    by_config = {r[2]: r for r in rows}
    reg = by_config[f"{A} fp32 t1 big xnnpack=default"]
    assert reg[0] == "regression" and "<strong>regression</strong>" in html
    assert reg[5].startswith("+") and reg[5].endswith("%")
    assert by_config[f"{B} fp32 t1 big xnnpack=default"][0] == "unchanged"
    assert "harness check: regression" in html


def test_hostile_strings_render_as_text(tmp_path: Path) -> None:
    dev = {"model": HOSTILE}
    b = write_run(tmp_path / "b", noisy_latencies([A], n=5, cv=0.01, seed=1), device=dev)
    c = write_run(
        tmp_path / "c",
        noisy_latencies([A], n=5, cv=0.01, seed=2),
        device=dev,
        trial_overrides={"throttled": True},
    )
    text = render_markdown(compare_runs(b, c))
    header, rows, html = table_cells(text)
    assert len(rows) == 1 and len(rows[0]) == len(header)
    assert rows[0][1] == HOSTILE  # the device cell reads back exactly
    assert "<img" not in html and "<em>" not in html and "<a " not in html
    assert "&lt;img" in html
    # The warning list above the table names the device, escaped as well.
    assert "thermal trouble in the current run" in html


def test_warnings_and_context_changes_are_listed(tmp_path: Path) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A], n=5, cv=0.01, seed=1))
    c = write_run(
        tmp_path / "c", noisy_latencies([A], n=5, cv=0.01, seed=2), device={"platform": "msm8998"}
    )
    comp = compare_runs(b, c, allow_context_change=True)
    html = MarkdownIt("commonmark").enable("table").render(render_markdown(comp))
    assert "<strong>Warnings</strong>" in html
    assert "context changed (allowed): SoC: baseline" in html


def test_failed_configurations_count_in_the_table(tmp_path: Path) -> None:
    cur = noisy_latencies([A], n=3, cv=0.01, seed=2)
    cur[B] = []
    base = write_run(tmp_path / "b", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    comp = compare_runs(base, write_run(tmp_path / "c", cur, failed={A: 2, B: 4}))
    text = render_markdown(comp)
    assert text.startswith("### harness check: failed")
    row_a = next(
        line
        for line in text.splitlines()
        if line.startswith("| unchanged") or line.startswith("| inconclusive")
    )
    assert "5/3, 2 failed" in row_a
    row_b = next(line for line in text.splitlines() if line.startswith("| **failed**"))
    assert "5/0, 4 failed" in row_b and "all 4 current trial(s) failed" in row_b
