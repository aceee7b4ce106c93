"""One validating reader: corrupt records are refused, parquet is only a cache.

Every reader goes through `harness.results.load`: the Python API, `check`,
`trend` and `report`; each refuses the same file with exit 2 naming file and line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import EXIT_INPUT, ResultsError
from harness.results import RunStore, load
from harness.results.store import TRIALS_PARQUET, cache_digest, jsonl_digest
from tests.support.synthetic import noisy_latencies, write_run

from .test_results_store import make_meta, make_record

A, B, C = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96", "mobilenet_v2_0.5_128"


def finalized(tmp_path: Path, latencies: list[float]) -> Path:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-a"))
    for i, lat in enumerate(latencies):
        store.append(make_record("run-a", i, latency_ms=lat))
    store.finalize()
    store.close()
    return store.run_dir


def edit_line(path: Path, index: int, **fields: object) -> None:
    """Rewrite one record of trials.jsonl by hand (raw JSON text, as an editor would)."""
    lines = path.read_text().splitlines()
    data = json.loads(lines[index])
    data.update(fields)
    text = json.dumps(data)
    for key, value in fields.items():
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            text = text.replace(f'"{key}": "{value}"', f'"{key}": {value}')
    lines[index] = text
    path.write_text("\n".join(lines) + "\n")


def refused(run_dir: Path) -> str:
    with pytest.raises(ResultsError) as err:
        load(run_dir)
    assert err.value.exit_code == EXIT_INPUT
    return str(err.value)


def test_a_file_appended_to_itself_is_refused_naming_the_line(tmp_path: Path) -> None:
    run = finalized(tmp_path, [70.0, 71.0, 72.0])
    jsonl = run / "trials.jsonl"
    jsonl.write_bytes(jsonl.read_bytes() * 2)
    msg = refused(run)
    assert str(jsonl) in msg and "line 4" in msg and "already on line 1" in msg


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("Infinity", "not finite"),
        ("NaN", "not finite"),
        (1e308, "absurd"),
        (0.0, "positive"),
        (-3.0, "positive"),
        ("12", "not a number"),
    ],
)
def test_an_untrustworthy_latency_is_refused_even_with_parquet_present(
    tmp_path: Path, value: object, why: str
) -> None:
    run = finalized(tmp_path, [70.0, 71.0, 72.0])
    assert (run / TRIALS_PARQUET).is_file()
    edit_line(run / "trials.jsonl", 1, latency_ms=value)
    msg = refused(run)
    assert str(run / "trials.jsonl") in msg and "line 2" in msg and why in msg, msg


def test_a_microsecond_figure_is_checked_too(tmp_path: Path) -> None:
    run = finalized(tmp_path, [70.0, 71.0])
    edit_line(run / "trials.jsonl", 0, min_us="Infinity")
    assert "line 1" in (msg := refused(run)) and "min_us" in msg


def test_a_stale_parquet_is_rebuilt_from_the_jsonl(tmp_path: Path) -> None:
    run = finalized(tmp_path, [70.0, 71.0, 72.0])
    edit_line(run / "trials.jsonl", 2, latency_ms=90.0)
    assert cache_digest(run / TRIALS_PARQUET) != jsonl_digest(run / "trials.jsonl")
    assert sorted(load(run)["latency_ms"]) == [70.0, 71.0, 90.0]
    # The cache now matches the record again, summary included.
    digest = jsonl_digest(run / "trials.jsonl")
    assert cache_digest(run / TRIALS_PARQUET) == digest
    assert cache_digest(run / "summary.parquet") == digest


def test_a_matching_parquet_is_used_as_it_is(tmp_path: Path) -> None:
    run = finalized(tmp_path, [70.0, 71.0])
    parquet = run / TRIALS_PARQUET
    before = parquet.stat().st_mtime_ns
    os.utime(run / "trials.jsonl", ns=(before + 10**9, before + 10**9))  # newer, same bytes
    assert sorted(load(run)["latency_ms"]) == [70.0, 71.0]
    assert parquet.stat().st_mtime_ns == before


def test_a_parquet_from_an_older_harness_is_replaced(tmp_path: Path) -> None:
    run = finalized(tmp_path, [70.0, 71.0])
    import pandas as pd

    frame = pd.read_parquet(run / TRIALS_PARQUET)
    frame.loc[0, "latency_ms"] = 1.0  # no digest, different numbers: not trusted
    frame.to_parquet(run / TRIALS_PARQUET, index=False)
    assert sorted(load(run)["latency_ms"]) == [70.0, 71.0]


def test_a_cache_that_cannot_be_rebuilt_does_not_stop_the_read(tmp_path: Path) -> None:
    run = finalized(tmp_path, [70.0, 71.0])
    edit_line(run / "trials.jsonl", 0, latency_ms=75.0)
    (run / "summary.parquet").unlink()
    (run / "summary.parquet").mkdir()  # the rebuild cannot replace a folder
    assert sorted(load(run)["latency_ms"]) == [71.0, 75.0]


def test_resume_refuses_a_corrupt_run(tmp_path: Path) -> None:
    run = finalized(tmp_path, [70.0, 71.0])
    edit_line(run / "trials.jsonl", 1, latency_ms="Infinity")
    with pytest.raises(ResultsError, match="line 2"):
        RunStore.open(run)


def test_check_trend_and_report_refuse_with_exit_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_run(tmp_path / "base", noisy_latencies([A, B, C], n=5, cv=0.01, seed=1))
    cur = write_run(tmp_path / "cur", noisy_latencies([A, B, C], n=5, cv=0.01, seed=2))
    jsonl = cur / "trials.jsonl"
    jsonl.write_bytes(jsonl.read_bytes() * 2)
    where = f"{jsonl}: line 16: trial id"
    assert main(["check", "--baseline", str(base), "--current", str(cur)]) == 2
    assert where in capsys.readouterr().err
    assert main(["trend", str(base), str(cur)]) == 2
    assert where in capsys.readouterr().err
    assert main(["report", str(cur), "--output", str(tmp_path / "r.html")]) == 2
    assert where in capsys.readouterr().err
    assert main(["baseline", "save", str(cur), "-o", str(tmp_path / "b.json")]) == 2
    assert where in capsys.readouterr().err


def test_a_run_in_progress_gets_no_cache_from_a_reader(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-b"))
    store.append(make_record("run-b", 0, latency_ms=70.0))
    assert list(load(store.run_dir)["latency_ms"]) == [70.0]
    assert not (store.run_dir / TRIALS_PARQUET).exists()  # the writer owns the folder
