"""Every log of the corpus against the figures read off it by hand (tests/data/.../index.toml).

The index was written by reading each log, not by running the parser, so a
difference here is the parser reading a log differently from a careful person.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import tomllib

from harness.logs.parser import LogReader, ParsedOutput, parse_files
from harness.logs.scan import blocks

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"
INDEX: list[dict[str, Any]] = tomllib.loads((DATA / "index.toml").read_text())["log"]
SPECIAL = {
    "absent", "warmup_count", "invocations", "n_ops", "error", "warnings", "no_warnings",
    "delegation",
}  # fmt: skip
# The line forms and wrappers the corpus must cover, and how many logs each needs at least.
REQUIRED = {
    "logcat-threadtime": 1, "logcat-time": 1, "logcat-android-studio": 1, "indented": 2,
    "quoted": 1, "memory-delta": 1, "memory-peak-2.2": 2, "memory-periodic-monitoring": 1,
    "memory-rss-overall": 1, "gpu": 2, "nnapi": 2, "hexagon": 2, "external": 2,
    "replacing-out-of": 2, "replacing": 1, "nodes-delegated-out-of": 2,
    "explicitly-applied": 3, "applied-2.2": 1, "delegate-partial": 2, "delegate-none": 2,
    "op-profiling": 3, "summary-by-node-type": 2, "op-profiler-trap": 3, "two-runs": 2,
    "crash-during-warmup": 1, "abort": 1, "truncated": 3, "crlf": 1, "sci-notation": 2,
    "count1-warmup": 2, "failed": 2, "era-2018": 2, "era-2019": 1,
    "logcat-android-studio-time": 2, "markdown-backticks": 1, "never-started": 3,
    "delegate-failed": 3, "two-runs-no-starting": 1, "litert-compiled-model": 2,
}  # fmt: skip


def _parse(entry: dict[str, Any]) -> ParsedOutput:
    path = DATA / entry["file"]
    stderr = path.with_suffix(".stderr") if path.suffix == ".stdout" else None
    if stderr is not None and not stderr.exists():
        stderr = None
    return parse_files(path, stderr, exit_code=entry.get("exit_code"))


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, bool | str):
        return bool(got == want)
    if isinstance(want, int | float):
        return isinstance(got, int | float) and math.isclose(got, want, rel_tol=1e-9)
    return bool(got == want)


@pytest.mark.parametrize("entry", INDEX, ids=[e["file"] for e in INDEX])
def test_log_gives_the_figures_read_by_hand(entry: dict[str, Any]) -> None:
    parsed = _parse(entry)
    result = parsed.to_dict()
    expect: dict[str, Any] = entry["expect"]
    wrong = {
        key: (result[key], want)
        for key, want in expect.items()
        if key not in SPECIAL and not _same(result[key], want)
    }
    assert not wrong, f"(parsed, read by hand): {wrong}"
    for key in expect.get("absent", []):
        assert result[key] is None, f"{key} should be absent, parsed {result[key]!r}"
    if "warmup_count" in expect:
        assert parsed.warmup is not None and parsed.warmup.count == expect["warmup_count"]
    if "invocations" in expect:
        assert parsed.invocations == expect["invocations"]
    if "n_ops" in expect:
        assert len(parsed.ops) == expect["n_ops"]
    if "error" in expect:
        assert parsed.error is not None and expect["error"] in parsed.error, parsed.error
    elif result["status"] == "ok":
        assert parsed.error is None
    for text in expect.get("warnings", []):
        warnings = parsed.figures.parse_warnings
        assert any(text in w for w in warnings), (text, warnings)
    if expect.get("no_warnings"):
        assert parsed.figures.parse_warnings == ()
    want_proof = dict(expect.get("delegation", {}))
    assert parsed.delegation is not None
    proof = parsed.delegation.to_dict()
    for key in want_proof.pop("absent", []):
        assert proof[key] is None, f"delegation.{key} should be absent, proved {proof[key]!r}"
    wrong_proof = {k: (proof[k], v) for k, v in want_proof.items() if not _same(proof[k], v)}
    assert not wrong_proof, f"(proved, read by hand): {wrong_proof}"


def test_every_log_file_is_indexed_with_a_source() -> None:
    logs = {p.name for p in DATA.iterdir() if p.suffix in (".log", ".stdout")}
    indexed = {e["file"] for e in INDEX}
    assert logs - indexed <= {"crash_sigsegv_mid_run.log", "truncated_mid_line.log",
                              "derived_xnnpack_ops_table.log", "missing_model.stdout"}  # fmt: skip
    assert all(e["kind"] != "synthetic" or e["note"].strip() for e in INDEX)
    assert all(e["source"].strip()
               and e["kind"] in ("verbatim", "excerpt", "derived", "synthetic")
               for e in INDEX)  # fmt: skip


def test_corpus_covers_what_the_issue_asks() -> None:
    assert len(INDEX) >= 40
    counts = Counter(c for e in INDEX for c in e["categories"])
    short = {c: counts[c] for c, n in REQUIRED.items() if counts[c] < n}
    assert not short, f"categories with too few logs: {short}"


def test_crlf_log_really_has_windows_line_endings() -> None:
    raw = (DATA / "windows_adb_xnnpack_count1_warmup_crlf.log").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 20


def _paths(entry: dict[str, Any]) -> list[Path]:
    path = DATA / entry["file"]
    stderr = path.with_suffix(".stderr")
    return [path, stderr] if path.suffix == ".stdout" and stderr.exists() else [path]


@pytest.mark.parametrize("entry", INDEX, ids=[e["file"] for e in INDEX])
def test_block_reading_matches_reading_every_line(entry: dict[str, Any]) -> None:
    """The fast path skips lines without a keyword; it must not change any figure."""
    exit_code = entry.get("exit_code")
    every_line = LogReader()
    small_blocks = LogReader()
    for path in _paths(entry):
        with path.open(newline=None) as handle:
            for line in handle:
                every_line.feed(line)
        with path.open(newline=None) as handle:
            for block in blocks(handle, size=97):  # many block edges inside tables and runs
                small_blocks.feed_block(block)
    reference = every_line.result(exit_code)
    for parsed in (_parse(entry), small_blocks.result(exit_code)):
        assert parsed.to_dict() == reference.to_dict()
        assert parsed.delegation == reference.delegation  # the unit inferred too


@pytest.mark.parametrize("size", [61, 97, 1000, 1 << 20])
def test_block_reading_of_the_whole_corpus_as_one_log(size: int, tmp_path: Path) -> None:
    """All logs one after another: runs, tables and cut lines meet every block edge."""
    log = tmp_path / "all.log"
    with log.open("w") as out:
        for entry in INDEX:
            for path in _paths(entry):
                out.write(path.read_text(errors="replace").replace("\r\n", "\n"))
                out.write("\n")
    every_line = LogReader()
    with log.open() as handle:
        for line in handle:
            every_line.feed(line)
    by_block = LogReader()
    with log.open() as handle:
        for block in blocks(handle, size=size):
            by_block.feed_block(block)
    reference = every_line.result()
    result = by_block.result()
    assert result.to_dict() == reference.to_dict()
    assert result.delegation == reference.delegation
    assert by_block.invocations == every_line.invocations > 20
