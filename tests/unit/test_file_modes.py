"""Files the harness writes get the mode a plain new file gets (0644 under umask 022).

Atomic writes go through `tempfile.mkstemp`, which makes 0600 files; a report or
baseline that only its writer can read is a surprise on a shared CI runner.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.convert.cache import EntryFacts, ModelCache
from harness.outputs import usual_file_mode, write_atomic
from harness.results import RunStore
from tests.support.synthetic import noisy_latencies, write_run

from .test_results_store import make_meta, make_record

A, B = "mobilenet_v2_1.0_224", "mobilenet_v2_0.35_96"


@pytest.fixture(params=[0o022, 0o027])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_usual_mode_follows_the_umask(umask: int) -> None:
    assert usual_file_mode() == 0o666 & ~umask


def test_report_baseline_junit_and_markdown(
    tmp_path: Path, umask: int, capsys: pytest.CaptureFixture[str]
) -> None:
    want = 0o666 & ~umask
    b = write_run(tmp_path / "b", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    c = write_run(tmp_path / "c", noisy_latencies([A, B], n=5, cv=0.01, seed=2))
    out = tmp_path / "out"
    assert main(["baseline", "save", str(b), "-o", str(out / "base.json")]) == 0
    assert (
        main(
            [
                "check",
                "--baseline",
                str(out / "base.json"),
                "--current",
                str(c),
                "--junit",
                str(out / "check.xml"),
                "--markdown",
                str(out / "check.md"),
            ]
        )
        == 0
    )
    assert main(["report", str(c), "-o", str(out / "report.html")]) == 0
    capsys.readouterr()
    written = sorted(out.iterdir())
    assert [p.name for p in written] == ["base.json", "check.md", "check.xml", "report.html"]
    assert {p.name: mode(p) for p in written} == {p.name: want for p in written}


def test_run_folder_files(tmp_path: Path, umask: int) -> None:
    store = RunStore.create(tmp_path, make_meta())
    store.append(make_record(store.run_id, 0))
    store.finalize()
    store.close()
    files = sorted(store.run_dir.iterdir())
    assert {p.name for p in files} >= {
        "meta.json",
        "trials.jsonl",
        "trials.parquet",
        "summary.parquet",
    }
    assert {p.name: mode(p) for p in files} == {p.name: 0o666 & ~umask for p in files}


def test_cached_models_and_downloads(tmp_path: Path, umask: int) -> None:
    facts = EntryFacts.from_dict({"variant": "m"})
    entry = ModelCache(tmp_path / "cache").store("m_fp32", b"TFL3", facts)
    write_atomic(tmp_path / "bin" / "benchmark_model.json", b"{}")
    for path in (
        entry.path,
        *entry.path.parent.glob("*.json"),
        tmp_path / "bin" / "benchmark_model.json",
    ):
        assert mode(path) == 0o666 & ~umask, path
