"""`harness run` as a plain function: plan -> prepare -> measure -> finish.

The CLI is a thin layer over `run(settings)`; tests and scripts call it
directly. Each stage lives in `harness.stages` with a typed input and output;
this module only strings them together and owns the one place where a stopped
run is marked `interrupted` and left resumable. Every trial is stored the
moment it ends, so whatever stops a run (a phone gone for good, Ctrl-C, a
killed host) leaves a folder that `harness run --resume RUN_DIR` completes
with the same seed and settings.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from harness.bench.prepare import release_device
from harness.bench.trial import TrialRunner
from harness.errors import PlanError
from harness.stages.finish import RunOutcome, finish, resume_command
from harness.stages.measure import make_runners, measure, missing_trials, stop_in_flight
from harness.stages.plan import plan
from harness.stages.prepare import open_leased, open_store, prepare
from harness.stages.settings import RunSettings, checked

if TYPE_CHECKING:
    from harness.device.session import DeviceSession
    from harness.results.store import RunStore

# What a caller of `run` needs: the function, what it takes and what it returns.
__all__ = ["RunOutcome", "RunSettings", "run"]


def run(
    settings: RunSettings,
    *,
    sessions: Sequence[DeviceSession] | None = None,
    emit: Callable[[str], None] = lambda _msg: None,
    stop: threading.Event | None = None,
) -> RunOutcome:
    """Run (or resume) a measurement; returns what happened. Raises HarnessError
    only before the first trial (bad input, no device, conversion failure).

    Without `sessions`, the phones are opened here and leased for the run
    (as the CLI does), so a script calling `run()` never measures on a phone
    another run is measuring on. Given `sessions` are the caller's to lease.
    """
    if sessions is not None:
        return _run(settings, sessions, emit, stop)
    # Bad settings fail before a phone is opened or leased.
    settings = dataclasses.replace(settings, devices=checked(settings).devices)
    with open_leased(settings, emit) as (lease, opened):
        chained = settings.on_run_id

        def named(run_id: str) -> None:
            lease.name_run(run_id)
            if chained is not None:
                chained(run_id)

        return _run(dataclasses.replace(settings, on_run_id=named), opened, emit, stop)


def _run(
    settings: RunSettings,
    sessions: Sequence[DeviceSession],
    emit: Callable[[str], None],
    stop: threading.Event | None,
) -> RunOutcome:
    planned = plan(settings, emit)
    settings = planned.settings
    _sessions, prepared = prepare(planned, sessions, emit)
    store: RunStore | None = planned.store
    runners: list[TrialRunner] = []
    try:
        opened = open_store(planned, prepared)
        store = opened.store
        if settings.on_run_id is not None:
            settings.on_run_id(store.run_id)  # the leases record which run holds them
        runners = make_runners(settings, prepared.devices, opened.plan_serials, store.run_id, emit)
        measured = measure(
            settings, runners, opened.plan_serials, planned.configs, planned.seed, store,
            emit=emit, stop=stop,
        )  # fmt: skip
    except PlanError:
        raise  # a refused resume changes nothing in the run folder
    except BaseException:
        # Ctrl-C, SIGTERM or an unexpected error: what is stored stays, and can be continued.
        if store is not None:
            store.update_meta(status="interrupted", missing=missing_trials(store))
            stop_in_flight(runners, emit)
            emit(f"run interrupted; continue it with: {resume_command(store.run_dir, settings)}")
        raise
    finally:
        for p in prepared.devices:
            release_device(p)
        if store is not None:
            store.close()  # the run has ended: no `.lock` stays in its folder
    return finish(settings, store, measured, prepared.warnings, emit)
