"""harness.convert.parallel: the process pool and the progress bar."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from harness.convert.core import cache_note
from harness.convert.parallel import ProgressBar, default_jobs, format_left, run_tasks


def _died(why: str) -> dict[str, str]:
    return {"died": why}


def test_default_jobs_is_the_usable_cores() -> None:
    assert default_jobs() == len(os.sched_getaffinity(0))


def test_runs_every_task_in_worker_processes() -> None:
    tasks = [{"n": i} for i in range(5)]
    stream = io.StringIO()
    bar = ProgressBar(len(tasks), stream=stream)
    # `dict` copies its argument: a picklable stand-in for a conversion.
    results = dict(
        run_tasks(dict, tasks, jobs=2, label=lambda t: f"task {t['n']}", died=_died, progress=bar)
    )
    assert results == {i: {"n": i} for i in range(5)}
    lines = stream.getvalue().splitlines()
    # The first line comes when the pool starts, before any result; then one per result.
    assert lines[0] == "[" + "." * ProgressBar.WIDTH + "] 0/5 started in 2 worker process(es)"
    assert [line.split()[1] for line in lines[1:]] == ["1/5", "2/5", "3/5", "4/5", "5/5"]
    assert all("left" in line for line in lines[1:-1]) and "left" not in lines[-1]
    assert lines[-1].startswith("[" + "#" * ProgressBar.WIDTH + "] 5/5")


def test_the_first_line_is_out_before_the_first_result_is_awaited() -> None:
    stream = io.StringIO()
    bar = ProgressBar(2, stream=stream)
    results = run_tasks(dict, [{"n": 0}, {"n": 1}], jobs=1, label=str, died=_died, progress=bar)
    first = next(results)  # the generator started the pool and waited for one result
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("0/2 started in 1 worker process(es)")
    assert lines[1].split()[1] == "1/2" and first[1] == {"n": first[0]}
    list(results)


def test_time_left_is_estimated_from_the_pace_so_far() -> None:
    now = [100.0]
    stream = io.StringIO()
    bar = ProgressBar(4, stream=stream, clock=lambda: now[0])
    bar.start("started")
    now[0] = 110.0  # the first item took 10 s: 3 more take about 30 s
    bar.step("a")
    now[0] = 300.0  # 200 s for 2 items: 2 more take about 200 s
    bar.step("b")
    lines = stream.getvalue().splitlines()
    assert "10.0s about 30s left a" in lines[1]
    assert "200.0s about 3m left b" in lines[2]
    assert format_left(0.2) == "about 1s left" and format_left(89) == "about 89s left"


@pytest.mark.parametrize(
    ("total", "cached", "said"),
    [
        (3, 3, "all 3 model(s) come from the cache: nothing to convert"),
        (3, 1, "1 of 3 model(s) come from the cache; converting the other 2"),
        (2, 0, "converting 2 model(s) (a first conversion takes minutes"),
    ],
)
def test_the_cache_says_what_it_supplies(total: int, cached: int, said: str) -> None:
    stream = io.StringIO()
    cache_note(total, cached, stream)
    assert stream.getvalue().startswith(said)


def test_a_dying_worker_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    # Spawned workers get this process's sys.path, so they can import the helper.
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "data" / "convert"))
    import crash_worker

    results = dict(run_tasks(crash_worker.die, [{"crash": 1}], jobs=1, label=str, died=_died))
    assert results[0] == {"died": "the worker process died (out of memory?)"}


def test_no_tasks_starts_no_pool() -> None:
    assert list(run_tasks(dict, [], jobs=2, label=str, died=_died)) == []


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
