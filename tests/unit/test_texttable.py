"""Console tables: one look for every table the harness prints (harness.texttable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.results import RunStore, load, summarize
from harness.texttable import Column, draw

from .test_results_store import make_meta, make_record


def test_columns_are_as_wide_as_their_widest_cell_figures_right_words_left() -> None:
    lines = draw(
        [Column("variant"), Column("median ms", "right"), Column("status")],
        [("mobilenet_v2_1.0_224", "12.50", "ok"), ("v2_0.35_96", "3.10", "failed")],
        title="harness check: simulated device",
    )
    assert lines == [
        "harness check: simulated device",
        "variant               median ms  status",
        "--------------------  ---------  ------",
        "mobilenet_v2_1.0_224      12.50  ok",
        "v2_0.35_96                 3.10  failed",
    ]


def test_a_cell_from_a_device_stays_printable_and_on_its_line() -> None:
    lines = draw([Column("device"), Column("n", "right")], [("Pixel\x1b[2J\rfake\nrow", "3")])
    assert lines[2] == "Pixelfake row  3"


def test_an_empty_table_is_its_header_and_rule() -> None:
    assert draw([Column("id"), Column("MB", "right")], []) == ["id  MB", "--  --"]


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="2 cells in a table of 3 columns"):
        draw([Column("a"), Column("b"), Column("c")], [("1", "2")])


def test_runs_table_has_checks_look_rule_and_figures_right(tmp_path: Path) -> None:
    from harness.cli.run import summary_table

    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-t"))
    store.append(make_record("run-t", 0))
    head, rule, row = summary_table(summarize(load(store.run_dir))).splitlines()
    assert set(rule) == {"-", " "} and len(rule) == len(head)
    # "median ms" ends where its figure ends: right-aligned, as in `harness check`.
    end = head.index("median ms") + len("median ms")
    assert row[end - 1] != " " and row[end] == " "
