"""The measure stage's loop: one worker thread per device, each trial recorded the moment it ends.

Devices are independent phones, so each gets its own worker working through
its part of the plan; the store is thread-safe and fsyncs every record. A
trial that fails is a record and the worker goes on. A device that stays
away beyond the reconnect timeout stops only its own worker: the others
finish, and the run is left resumable.

The workers are daemon threads the main thread only watches: on Ctrl-C or
SIGTERM it cuts every device call in flight (`DeviceSession.abort`) and
returns within a fraction of a second, never waiting out a device timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from harness.bench.plan import Plan, TrialSpec
from harness.bench.trial import TrialRunner
from harness.errors import DeviceError, DeviceLostError, HarnessError, SessionAborted
from harness.results.schema import TrialRecord

log = logging.getLogger(__name__)

# How long the main thread gives the workers to notice a stop (their calls
# are cut at once, so they need only to unwind).
STOP_JOIN_S = 1.0
# Making trial folders ahead is one device call; a launch that finds its folder starts
# two processes fewer. From this many trials on it pays (a late sequential round may
# hold one or two).
MAKE_AHEAD_FROM = 4


class RecordSink(Protocol):
    """Where records go (harness.results.RunStore in a run)."""

    def append(self, record: TrialRecord) -> None: ...

    def completed_trial_ids(self) -> set[str]: ...


@dataclass
class WorkerOutcome:
    """What one device's worker did."""

    serial: str
    planned: int
    skipped: int = 0  # already stored (resume)
    measured: int = 0
    failed: int = 0
    process_wall_s: float = 0.0  # summed benchmark-process wall time
    lost: DeviceLostError | None = None
    error: HarnessError | None = None
    statuses: dict[str, int] = field(default_factory=dict)


class Progress:
    """Thread-safe `[done/total]` progress lines for all workers."""

    def __init__(self, total: int, emit: Callable[[str], None], *, several: bool = False) -> None:
        self.total = total
        self.several = several  # name the serial too: two phones may share a model name
        self.done = 0
        self._emit = emit
        self._lock = threading.Lock()

    def trial(self, record: TrialRecord) -> None:
        with self._lock:
            self.done += 1
            done = self.done
        figure = f"{record.latency_ms:.2f} ms" if record.latency_ms is not None else record.status
        if record.status != "ok" and record.error:
            figure += f": {record.error}"
        who = (
            f"{record.device_model} {record.device_serial}" if self.several else record.device_model
        )
        self._emit(
            f"[{done}/{self.total}] {who} {record.variant} {record.quant} "
            f"t{record.threads} {record.cores} xnnpack={record.xnnpack} "
            f"{'' if record.accelerator == 'cpu' else f'{record.accelerator} '}"
            f"#{record.trial_index}{f' [{record.arm}]' if record.arm else ''}: {figure}"
        )

    def event(self, message: str) -> None:
        self._emit(message)


def work(
    runner: TrialRunner,
    specs: Sequence[TrialSpec],
    sink: RecordSink,
    progress: Progress,
    stop: threading.Event,
) -> WorkerOutcome:
    """One device's trials in order, each recorded as it ends; stops with the device."""
    serial = runner.plan_serial
    done = sink.completed_trial_ids()
    todo = [s for s in specs if s.trial_id not in done]
    outcome = WorkerOutcome(serial=serial, planned=len(specs), skipped=len(specs) - len(todo))
    try:
        if len(todo) >= MAKE_AHEAD_FROM:
            runner.make_ready(todo)
    except SessionAborted:
        return outcome  # the run is stopping
    except DeviceLostError as exc:
        outcome.lost = exc
        progress.event(f"{serial}: {exc}; stopping this device's trials")
        return outcome
    except DeviceError:
        # Each trial makes its own folder then; its launch meets whatever went wrong.
        log.debug("%s: trial folders not made ahead", serial, exc_info=True)
    for spec in todo:
        if stop.is_set():
            break
        try:
            record = runner.measure(spec)
        except SessionAborted:
            break  # the run is stopping: nothing is recorded for this trial
        except DeviceLostError as exc:
            outcome.lost = exc
            progress.event(f"{serial}: {exc}; stopping this device's trials")
            break
        except DeviceError as exc:
            if stop.is_set():
                break
            # Something about this trial broke on the device (not a disconnect):
            # record it and carry on, so one bad configuration does not end the run.
            log.debug("trial %s failed on the device", spec.trial_id, exc_info=True)
            record = runner.failure_record(spec, exc)
        sink.append(record)
        outcome.measured += 1
        outcome.process_wall_s += record.wall_s
        outcome.statuses[record.status] = outcome.statuses.get(record.status, 0) + 1
        if record.status != "ok":
            outcome.failed += 1
        progress.trial(record)
    return outcome


def measure_plan(
    runners: Sequence[TrialRunner],
    plan: Plan,
    sink: RecordSink,
    *,
    emit: Callable[[str], None] = lambda _msg: None,
    stop: threading.Event | None = None,
) -> list[WorkerOutcome]:
    """Run every device's trials in parallel (one worker each) and return what happened.

    Raises nothing for trial failures; a worker that hits an unexpected
    HarnessError stops and reports it in its outcome.
    """
    stop = stop or threading.Event()
    done = sink.completed_trial_ids()
    total = sum(1 for t in plan.trials if t.trial_id not in done)
    progress = Progress(total, emit, several=len(plan.serials) > 1)
    started = time.monotonic()

    def job(runner: TrialRunner) -> WorkerOutcome:
        return work(runner, plan.for_device(runner.plan_serial), sink, progress, stop)

    outcomes = on_each_device(runners, plan.serials, job, stop)
    log.info("trials finished in %.1f s", time.monotonic() - started)
    return outcomes


def on_each_device(
    runners: Sequence[TrialRunner],
    serials: Sequence[str],
    job: Callable[[TrialRunner], WorkerOutcome],
    stop: threading.Event,
) -> list[WorkerOutcome]:
    """`job` on each of these devices' runners at once, a daemon thread each, watched from here.

    The outcomes come back in `serials` order; a job's HarnessError becomes its
    outcome's `error`. On Ctrl-C, SIGTERM or a bug in a job, every device call
    in flight is cut (module docstring) and the exception goes on.
    """
    by_serial = {r.plan_serial: r for r in runners}
    missing = [d for d in serials if d not in by_serial]
    if missing:
        raise HarnessError(f"no prepared device for {', '.join(missing)}")
    results: dict[str, WorkerOutcome | BaseException] = {}

    def worker(serial: str) -> None:
        try:
            results[serial] = job(by_serial[serial])
        except BaseException as exc:  # handed to the main thread
            results[serial] = exc

    threads = [
        threading.Thread(target=worker, args=(serial,), name=f"device-{serial}", daemon=True)
        for serial in serials
    ]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.1)  # short joins: a signal handler gets to run in between
    except BaseException:
        # KeyboardInterrupt, SIGTERM or a bug: cut the workers' device calls so
        # they stop now, not after their current call's timeout.
        stop.set()
        for r in runners:
            r.target.session.abort()
        for t in threads:
            t.join(STOP_JOIN_S)
        raise
    outcomes: list[WorkerOutcome] = []
    for serial in serials:
        got = results.get(serial)
        if isinstance(got, WorkerOutcome):
            outcomes.append(got)
        elif isinstance(got, HarnessError):
            outcomes.append(WorkerOutcome(serial=serial, planned=0, error=got))
        elif isinstance(got, BaseException):
            stop.set()
            raise got
    return outcomes
