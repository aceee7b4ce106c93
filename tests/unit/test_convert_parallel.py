"""harness.convert.parallel: the process pool and the progress bar."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from harness.convert.parallel import ProgressBar, default_jobs, run_tasks


def test_default_jobs_is_the_usable_cores() -> None:
    assert default_jobs() == len(os.sched_getaffinity(0))


def test_runs_every_task_in_worker_processes() -> None:
    tasks = [{"n": i} for i in range(5)]
    stream = io.StringIO()
    bar = ProgressBar(len(tasks), stream=stream)
    # `dict` copies its argument: a picklable stand-in for a conversion.
    results = dict(run_tasks(dict, tasks, jobs=2, label=lambda t: f"task {t['n']}", progress=bar))
    assert results == {i: {"n": i} for i in range(5)}
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5
    assert lines[-1].startswith("[" + "#" * ProgressBar.WIDTH + "] 5/5")


def test_a_dying_worker_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    # Spawned workers get this process's sys.path, so they can import the helper.
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "data" / "convert"))
    import crash_worker

    results = dict(run_tasks(crash_worker.die, [{"crash": 1}], jobs=1, label=str))
    assert results[0]["ok"] is False
    assert "died" in results[0]["error"]


def test_no_tasks_starts_no_pool() -> None:
    assert list(run_tasks(dict, [], jobs=2, label=str)) == []


def test_progress_on_a_terminal_redraws_one_line() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    bar = ProgressBar(2, stream=stream)
    bar.step("a")
    bar.step("b")
    text = stream.getvalue()
    assert text.count("\r") == 2
    assert "1/2" in text and "2/2" in text
    assert text.count("\n") == 1 and text.endswith(" b\n")


def test_disabled_progress_is_silent() -> None:
    stream = io.StringIO()
    bar = ProgressBar(3, enabled=False, stream=stream)
    bar.step("a")
    assert stream.getvalue() == ""
    assert bar.done == 1
