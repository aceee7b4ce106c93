"""Op-profile storage: torn last line tolerated, damage elsewhere refused, no bench in report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ResultsError
from harness.results.profiles import (
    OPS_PARQUET,
    PROFILES_FILE,
    ProfileRecord,
    append_profile,
    read_profiles,
    write_ops_table,
)


def _stored(config: str) -> dict[str, object]:
    return {
        "device_serial": "S1",
        "config": config,
        "variant": "mobilenet_v2_1.0_224",
        "status": "ok",
        "ops": [{"node_type": "CONV_2D", "avg_ms": 1.5, "name": "c:0"}],
    }


def _record(config: str) -> ProfileRecord:
    return ProfileRecord.from_dict(_stored(config))


def test_append_then_read_round_trips(tmp_path: Path) -> None:
    append_profile(tmp_path, _record("a"))
    append_profile(tmp_path, _record("b"))
    assert [r.config for r in read_profiles(tmp_path)] == ["a", "b"]
    # As written: the keys it was given, and no others.
    lines = (tmp_path / PROFILES_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [_stored("a"), _stored("b")]


def test_a_torn_last_line_is_not_a_record(tmp_path: Path) -> None:
    append_profile(tmp_path, _record("a"))
    with open(tmp_path / PROFILES_FILE, "ab") as fh:
        fh.write(b'{"device_serial": "S1", "conf')  # the append a crash cut short
    assert [r.config for r in read_profiles(tmp_path)] == ["a"]


def test_a_damaged_line_before_the_end_is_refused_with_its_line_number(tmp_path: Path) -> None:
    lines = [json.dumps(_stored("a")), "{not json", json.dumps(_stored("b"))]
    (tmp_path / PROFILES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ResultsError, match=r"profiles\.jsonl:2"):
        read_profiles(tmp_path)


def test_ops_table_has_one_row_per_op_with_its_context(tmp_path: Path) -> None:
    import pandas as pd

    append_profile(tmp_path, _record("a"))
    assert write_ops_table(tmp_path) == tmp_path / OPS_PARQUET
    frame = pd.read_parquet(tmp_path / OPS_PARQUET)
    assert list(frame["node_type"]) == ["CONV_2D"]
    assert list(frame["config"]) == ["a"]


def test_no_profiles_no_ops_table(tmp_path: Path) -> None:
    assert read_profiles(tmp_path) == []
    assert write_ops_table(tmp_path) is None


def test_the_report_reads_stored_results_without_importing_bench() -> None:
    code = (
        "import sys, harness.report.render, harness.report.ops; "
        "print(sorted(m for m in sys.modules if m.startswith('harness.bench')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
