"""Run conversions across worker processes, with a progress bar on stderr.

Processes rather than threads: each conversion holds the GIL for long
stretches inside the TF converter, and a worker that crashes (out of memory,
killed) must not take the caller with it. Workers are spawned, not forked, so
no TensorFlow state is shared.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import TextIO, TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")


def default_jobs() -> int:
    """The cores this process may use (the `--jobs` default)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def format_left(seconds: float) -> str:
    """A rough time left, as people say it: `about 40s left`, `about 3m left`."""
    if seconds < 90:
        return f"about {max(1, round(seconds))}s left"
    return f"about {round(seconds / 60)}m left"


class ProgressBar:
    """`[####......] 3/22 12.0s about 40s left label` on a terminal; one line per step otherwise.

    `start` prints the first line at once (a first conversion takes minutes, and a
    silent minute looks like a hang); each step then estimates the time left from the
    pace so far. `clock` is there for tests: they check what is printed, not how fast.
    """

    WIDTH = 24

    def __init__(
        self,
        total: int,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > 0
        self.tty = self.enabled and self.stream.isatty()
        self.clock = clock
        self.started = clock()

    def _write(self, line: str, *, last: bool = False) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[K{line}" + ("\n" if last else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _bar(self) -> str:
        filled = self.WIDTH * self.done // self.total
        return "[" + "#" * filled + "." * (self.WIDTH - filled) + "]"

    def start(self, note: str) -> None:
        """Print the first line now, before anything has finished (`note`: what is starting)."""
        self.started = self.clock()
        if self.enabled:
            self._write(f"{self._bar()} 0/{self.total} {note}")

    def step(self, label: str) -> None:
        """Count one finished item and redraw, with an estimate of the time left."""
        self.done += 1
        if not self.enabled:
            return
        elapsed = self.clock() - self.started
        left = self.total - self.done
        eta = f" {format_left(elapsed / self.done * left)}" if left else ""
        self._write(
            f"{self._bar()} {self.done}/{self.total} {elapsed:5.1f}s{eta} {label}", last=not left
        )


def run_tasks(
    fn: Callable[[Task], Result],
    tasks: Sequence[Task],
    *,
    jobs: int,
    label: Callable[[Task], str],
    died: Callable[[str], Result],
    progress: ProgressBar | None = None,
    initializer: Callable[[], None] | None = None,
) -> Iterator[tuple[int, Result]]:
    """Yield (task index, result) as tasks finish, `jobs` processes at a time.

    A worker that dies yields `died(why)` for its task instead of aborting the
    others. Ctrl-C cancels what has not started.
    """
    if not tasks:
        return
    workers = max(1, min(jobs, len(tasks)))
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(workers, mp_context=context, initializer=initializer)
    try:
        futures: dict[Future[Result], int] = {
            executor.submit(fn, task): i for i, task in enumerate(tasks)
        }
        if progress is not None:  # before waiting for the first result
            progress.start(f"started in {workers} worker process(es)")
        for future in as_completed(futures):
            index = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                result = died("the worker process died (out of memory?)")
            if progress is not None:
                progress.step(label(tasks[index]))
            yield index, result
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
