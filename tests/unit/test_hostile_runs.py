"""Run folders and outputs under attack: nothing outside what was asked is read or touched.

A run folder's files are regular files inside it, or refused: `--resume` must
not follow a linked `.lock`, `logs/` or `trials.jsonl` out of the folder and
write there. An output goes only to a regular file or a new path: the atomic
rename would otherwise put a regular file where a device or FIFO was. And a
cache is never believed over the records it was made from.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import EXIT_INPUT, OutputPathError, ResultsError
from harness.outputs import write_atomic
from harness.report.ops import breakdowns
from harness.report.runs import read_runs
from harness.results import RunStore, load
from harness.results.files import (
    CACHE_KEY,
    LOCK_FILE,
    TORN_FILE,
    TRIALS_FILE,
    TRIALS_PARQUET,
    jsonl_digest,
    write_trial_logs,
)
from harness.results.profiles import (
    OPS_PARQUET,
    PROFILES_FILE,
    ProfileRecord,
    append_profile,
    write_ops_table,
)
from tests.support.synthetic import noisy_latencies, write_run

from .test_hostile_files import one_error_line
from .test_results_store import make_meta, make_record

A = "mobilenet_v2_1.0_224"
NO_SERVER = ["--device", "no-such-phone", "--adb-server", "127.0.0.1:1"]


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run", noisy_latencies([A], n=4, cv=0.01, seed=1))


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    """A file outside the run folder that nothing may change."""
    path = tmp_path / "outside.txt"
    path.write_text("keep me\n")
    return path


def _open_run(tmp_path: Path) -> Path:
    """A run folder left as an interrupted run leaves it (no .lock: the writer is gone)."""
    store = RunStore.create(tmp_path / "results", make_meta())
    store.append(make_record(store.run_id, 0))
    store.close()
    return store.run_dir


# -- --resume writes only inside the run folder ----------------------------------------------


@pytest.mark.parametrize("name", [LOCK_FILE, TRIALS_FILE, TORN_FILE, PROFILES_FILE, "logs"])
def test_resume_refuses_a_run_file_linked_out_of_the_folder(
    tmp_path: Path, outside: Path, name: str
) -> None:
    run = _open_run(tmp_path)
    if name == TRIALS_FILE:
        outside.write_bytes((run / TRIALS_FILE).read_bytes())
        (run / TRIALS_FILE).unlink()
    target = outside.parent / "outside-dir" if name == "logs" else outside
    target.mkdir(exist_ok=True) if name == "logs" else None
    (run / name).symlink_to(target)
    before = outside.read_bytes()
    with pytest.raises(ResultsError, match=f"{name}: is a symbolic link"):
        RunStore.open(run)
    assert outside.read_bytes() == before
    assert not (outside.parent / "outside-dir").exists() or not any(target.iterdir())


def test_resume_through_the_cli_refuses_before_any_device(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _open_run(tmp_path)
    (run / LOCK_FILE).symlink_to(outside)
    assert main(["run", "--resume", str(run), *NO_SERVER]) == EXIT_INPUT
    assert ".lock: is a symbolic link" in one_error_line(capsys.readouterr().err)
    assert outside.read_text() == "keep me\n"


@pytest.mark.parametrize("name", [TRIALS_FILE, LOCK_FILE])
def test_resume_refuses_a_run_file_hard_linked_to_another(
    tmp_path: Path, outside: Path, name: str
) -> None:
    run = _open_run(tmp_path)
    if name == TRIALS_FILE:
        outside.write_bytes((run / TRIALS_FILE).read_bytes())
        (run / TRIALS_FILE).unlink()
    os.link(outside, run / name)
    before = outside.read_bytes()
    with pytest.raises(ResultsError, match="hard links"):
        RunStore.open(run)
    assert outside.read_bytes() == before


def test_resume_refuses_a_fifo_or_device_for_a_run_file(tmp_path: Path) -> None:
    run = _open_run(tmp_path)
    os.mkfifo(run / LOCK_FILE)
    with pytest.raises(ResultsError, match=r"\.lock: is a FIFO, not a regular file"):
        RunStore.open(run)


def test_an_append_refuses_a_trials_file_swapped_for_a_link_mid_run(
    tmp_path: Path, outside: Path
) -> None:
    store = RunStore.create(tmp_path / "results", make_meta())
    store.append(make_record(store.run_id, 0))
    (store.run_dir / TRIALS_FILE).unlink()
    (store.run_dir / TRIALS_FILE).symlink_to(outside)
    with pytest.raises(ResultsError, match="symbolic link"):
        store.append(make_record(store.run_id, 1))
    store.close()
    assert outside.read_text() == "keep me\n"


@pytest.mark.parametrize("where", ["logs", "trial"])
def test_trial_logs_are_not_written_through_a_link(
    tmp_path: Path, outside: Path, where: str
) -> None:
    run = tmp_path / "run"
    (run / "logs").mkdir(parents=True)
    away = tmp_path / "away"
    away.mkdir()
    if where == "logs":
        (run / "logs").rmdir()
        (run / "logs").symlink_to(away)
    else:
        (run / "logs" / "t1").symlink_to(away)
    with pytest.raises(ResultsError, match="not a folder inside the run folder"):
        write_trial_logs(run / "logs", "t1", {"stdout": "x", "stderr": ""})
    assert list(away.iterdir()) == []
    (run / "logs").unlink() if where == "logs" else (run / "logs" / "t1").unlink()
    (run / "logs").mkdir(exist_ok=True)
    (run / "logs" / "t1").mkdir()
    (run / "logs" / "t1" / "stdout").symlink_to(outside)
    with pytest.raises(ResultsError, match="stdout: is a symbolic link"):
        write_trial_logs(run / "logs", "t1", {"stdout": "x", "stderr": ""})
    assert outside.read_text() == "keep me\n"


def test_trial_logs_are_written_inside(tmp_path: Path) -> None:
    """The control: the usual case writes both files, and again over them."""
    for text in ("first", "second"):
        write_trial_logs(tmp_path / "logs", "t1", {"stdout": text, "stderr": "e"})
    assert (tmp_path / "logs" / "t1" / "stdout").read_text() == "second"


# -- outputs go only to a regular file or a new path -----------------------------------------


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _char_device(path: Path) -> None:  # a copy of /dev/null, as `cp -a /dev/null X` makes
    os.mknod(path, stat.S_IFCHR | 0o666, os.stat("/dev/null").st_rdev)


def _link_to_fifo(path: Path) -> None:
    os.mkfifo(path.with_name("a-fifo"))
    path.symlink_to(path.with_name("a-fifo"))


def _can_mknod() -> bool:
    return os.geteuid() == 0


OUTPUTS = {
    "report -o": ["report", "{run}", "-o", "{out}"],
    "report --pdf": ["report", "{run}", "-o", "{tmp}/r.html", "--pdf", "{out}"],
    "check --junit": ["check", "--baseline", "{run}", "--current", "{run}", "--junit", "{out}"],
    "check --markdown": ["check", "--baseline", "{run}", "--current", "{run}", "--markdown",
                         "{out}"],
    "baseline save -o": ["baseline", "save", "{run}", "-o", "{out}"],
}  # fmt: skip


@pytest.mark.parametrize("command", list(OUTPUTS))
@pytest.mark.parametrize(
    "make",
    [
        _fifo,
        _link_to_fifo,
        pytest.param(
            _char_device, marks=pytest.mark.skipif(not _can_mknod(), reason="mknod needs root")
        ),
    ],
    ids=["fifo", "link-to-fifo", "char-device"],
)
def test_an_output_onto_a_device_or_fifo_is_refused_and_left_alone(
    run: Path, tmp_path: Path, command: str, make: object, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "target"
    make(out)  # type: ignore[operator]
    before = os.lstat(out)
    args = [a.format(run=run, tmp=tmp_path, out=out) for a in OUTPUTS[command]]
    assert main(args) == EXIT_INPUT
    line = one_error_line(capsys.readouterr().err)
    assert "not a regular file; give a file name or a new path" in line
    after = os.lstat(out)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (
        before.st_mode,
        before.st_ino,
        before.st_rdev,
    )


def test_an_output_turned_into_a_fifo_while_written_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "report.html"

    def chunks() -> Iterator[bytes]:
        yield b"<html>"
        os.mkfifo(out)  # appears after the first check, before the rename
        yield b"</html>"

    with pytest.raises(OutputPathError, match="a FIFO, not a regular file"):
        write_atomic(out, chunks(), option="--output")
    assert stat.S_ISFIFO(os.lstat(out).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left


def test_a_run_folders_meta_json_turned_into_a_fifo_is_not_replaced(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "results", make_meta())
    meta = store.run_dir / "meta.json"
    meta.unlink()
    os.mkfifo(meta)
    with pytest.raises(OutputPathError, match="FIFO"):
        store.update_meta(status="interrupted")
    store.close()
    assert stat.S_ISFIFO(os.lstat(meta).st_mode)


# -- caches are never believed over the records ----------------------------------------------


def _forge_parquet(path: Path, column: str, factor: float, stamp: str | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    frame = table.to_pandas()
    frame[column] = frame[column] * factor
    forged = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(forged.schema.metadata or {})
    if stamp is not None:
        meta[CACHE_KEY] = stamp.encode("ascii")
    pq.write_table(forged.replace_schema_metadata(meta), path)


def test_a_forged_trials_parquet_with_a_matching_stamp_is_not_believed(
    run: Path, tmp_path: Path
) -> None:
    truth = sorted(load(run)["latency_ms"])
    _forge_parquet(run / TRIALS_PARQUET, "latency_ms", 10.0, jsonl_digest(run / TRIALS_FILE))
    assert sorted(load(run)["latency_ms"]) == truth
    assert main(["baseline", "save", str(run), "-o", str(tmp_path / "b.json")]) == 0
    saved = json.loads((tmp_path / "b.json").read_text())
    assert sorted(saved["configs"][0]["latency_ms"]) == pytest.approx(truth)


def test_a_forged_ops_parquet_is_not_what_the_report_shows(run: Path) -> None:
    serial = str(load(run)["device_serial"].iloc[0])
    append_profile(
        run,
        ProfileRecord.from_dict(
            {"device_serial": serial, "config": "c", "variant": A, "quant": "fp32", "status": "ok",
             "ops": [{"node_type": "CONV_2D", "avg_ms": 1.5, "name": "conv:0"}]}
        ),
    )  # fmt: skip
    write_ops_table(run)
    _forge_parquet(run / OPS_PARQUET, "avg_ms", 100.0, None)
    (device_run,) = read_runs([run])
    (table,) = breakdowns(device_run)
    assert [(r.node_type, r.avg_ms) for r in table.rows] == [("CONV_2D", 1.5)]
