"""A harness process killed (SIGKILL) while appending trials loses nothing it acknowledged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.errors import ResultsError
from harness.results import RunStore, load

from .test_results_store import make_meta, make_record

# The child appends trials as fast as it can and reports each one after append() returns.
CHILD = textwrap.dedent(
    """
    import sys
    from harness.results import RunStore, TrialRecord
    sys.path.insert(0, sys.argv[2])
    from test_results_store import make_record

    store = RunStore.open(sys.argv[1])
    i = 0
    while True:
        store.append(make_record(store.run_id, i))
        print(i, flush=True)
        i += 1
    """
)


def test_sigkill_mid_run_keeps_every_acknowledged_trial(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    store.close()  # the child process is the writer
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store.run_dir), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acknowledged = -1
    while acknowledged < 50:
        line = child.stdout.readline()
        assert line, "child died before appending"
        acknowledged = int(line)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    reopened = RunStore.open(store.run_dir)  # repairs a torn last line if the kill made one
    ids = reopened.completed_trial_ids()
    indices = {r.trial_index for r in reopened.records()}
    assert set(range(acknowledged + 1)) <= indices  # nothing acknowledged was lost
    assert len(ids) == len(indices) == len(reopened.records())  # nothing stored twice
    for line in (store.run_dir / "trials.jsonl").read_text().splitlines():
        json.loads(line)  # every remaining line is whole
    # and the run goes on: the next trial appends cleanly and everything loads
    reopened.append(make_record(store.run_id, max(indices) + 1))
    assert len(load(store.run_dir)) == len(indices) + 1


HOLDER = textwrap.dedent(
    """
    import sys, time
    from harness.results import RunStore
    store = RunStore.open(sys.argv[1])
    print("holding", flush=True)
    time.sleep(60)
    """
)


def test_a_second_process_cannot_open_a_run_in_use(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    store.close()  # this process lets go; the child takes the run
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store.run_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        with pytest.raises(
            ResultsError, match=rf"in use by another harness process \(pid {child.pid}\)"
        ):
            RunStore.open(store.run_dir)
    finally:
        child.kill()
        child.wait(timeout=30)
    # a killed holder releases the run: --resume after a crash works
    reopened = RunStore.open(store.run_dir)
    reopened.append(make_record(store.run_id, 0))
    assert len(reopened.completed_trial_ids()) == 1


def test_a_closed_run_keeps_no_lock_file_and_opens_again(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, make_meta())
    lock = store.run_dir / ".lock"
    assert lock.read_text() == str(os.getpid())  # held while the run is written
    store.append(make_record(store.run_id, 0))
    store.finalize()
    store.close()
    assert not lock.exists()
    assert sorted(p.name for p in store.run_dir.iterdir() if p.name.startswith(".")) == []
    again = RunStore.open(store.run_dir)  # a resume takes a fresh lock
    assert lock.exists()
    again.close()
    assert not lock.exists()


def test_a_lock_on_a_removed_lock_file_is_not_taken_for_the_run(tmp_path: Path) -> None:
    """A process that opened `.lock` just before its holder removed it must start over."""
    from harness.results.files import _is_current

    lock = tmp_path / ".lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        assert _is_current(fd, lock)
        lock.unlink()
        assert not _is_current(fd, lock)
        lock.write_text("")  # another process made the file anew
        assert not _is_current(fd, lock)
    finally:
        os.close(fd)
