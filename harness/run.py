"""`harness run` as a plain function: devices -> plan -> prepare -> measure -> finish.

The CLI is a thin layer over `run(settings)`; tests and scripts call it
directly, and get the same path: the phones are started (`sim`), found and
leased here, the run is named in their leases, and they are released when it
ends. Each stage lives in `harness.stages` with a typed input and output;
this module only strings them together and owns the one place where a stopped
run is marked `interrupted` and left resumable. Every trial is stored the
moment it ends, so whatever stops a run (a phone gone for good, Ctrl-C, a
killed host) leaves a folder that `harness run --resume RUN_DIR` completes
with the same seed and settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from harness.bench.prepare import release_device
from harness.bench.trial import TrialRunner
from harness.device.lab import Phones
from harness.device.session import DeviceSession
from harness.errors import PlanError
from harness.results.store import RunStore
from harness.stages.devices import open_devices
from harness.stages.finish import RunOutcome, finish, resume_command
from harness.stages.measure import make_runners, measure, missing_trials, stop_in_flight
from harness.stages.plan import plan
from harness.stages.preload import Preload
from harness.stages.prepare import open_store, prepare
from harness.stages.settings import Checked, RunSettings, checked

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

    The phones of `settings.devices` are opened and leased here (`sim` starts
    a simulated one), so a script never measures on a phone another run is
    measuring on. `sessions`, when given, are already open and the caller's
    to lease; `settings.devices` then only names them for `--resume`.
    """
    # Bad settings (or a resumed run's bad meta.json) fail before a phone is touched.
    request = checked(settings)
    preload = Preload()  # the end's pandas and pyarrow, while the phones are opened
    if sessions is not None:
        return _run(request, Phones(list(sessions)), emit, stop, preload)
    with open_devices(request.settings, emit) as phones:
        return _run(request, phones, emit, stop, preload)


def _run(
    request: Checked,
    phones: Phones,
    emit: Callable[[str], None],
    stop: threading.Event | None,
    preload: Preload,
) -> RunOutcome:
    settings = request.settings
    planned = plan(request, [s.serial for s in phones.sessions], emit)
    prepared = prepare(planned, phones.sessions, emit)
    store: RunStore | None = planned.store
    runners: list[TrialRunner] = []
    try:
        opened = open_store(planned, prepared)
        store = opened.store
        phones.name_run(store.run_id)  # the leases say which run holds them
        runners = make_runners(settings, prepared.devices, opened.plan_serials, store.run_id, emit)
        preload.wait()  # no import competes with the first trial for the host's CPUs
        measured = measure(settings, runners, planned.plan, store, emit=emit, stop=stop)
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
