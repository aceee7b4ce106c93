"""Stage 4, measure: one trial runner per device works through the shuffled plan.

Every trial is stored the moment it ends (harness.bench.workers), so whatever
stops this stage leaves a run folder that `--resume` completes.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.bench.plan import Plan
from harness.bench.prepare import PreparedDevice
from harness.bench.profile import run_profiles
from harness.bench.remote import KillOutcome
from harness.bench.target import TrialSettings
from harness.bench.trial import TrialRunner
from harness.bench.workers import WorkerOutcome, measure_plan
from harness.errors import HarnessError
from harness.stages.settings import RunSettings
from harness.vocab import RunStatus

if TYPE_CHECKING:
    from harness.results.store import RunStore


@dataclass
class Measured:
    """The measure stage's output: how each device's worker ended and the run's status."""

    workers: list[WorkerOutcome]
    status: RunStatus  # complete | incomplete | interrupted
    missing: dict[str, int] = field(default_factory=dict)  # planned trials without a record


def measure(
    settings: RunSettings,
    runners: Sequence[TrialRunner],
    plan: Plan,
    store: RunStore,
    *,
    emit: Callable[[str], None],
    stop: threading.Event | None,
) -> Measured:
    """Run the plan's trials of the devices at hand (and the op profiles), then close
    the run folder with its status."""
    plan = plan.only(r.plan_serial for r in runners)
    if store.meta.status != "running":
        store.update_meta(status="running")
    workers = measure_plan(list(runners), plan, store, emit=emit, stop=stop)
    lost = [w for w in workers if w.lost or w.error]
    if (settings.until_confident or settings.until_decided) and not lost:
        # Its statistics load scipy (~0.5 s): only a sequential run pays for it.
        from harness.stages.sequential import more_trials

        workers = more_trials(settings, runners, plan, store, workers, emit=emit, stop=stop)
        lost = [w for w in workers if w.lost or w.error]
    if settings.op_profile and not lost:
        run_profiles(list(runners), plan.configs(), store.run_dir, emit=emit)
    missing = missing_trials(store)
    status: RunStatus = "interrupted" if lost else "incomplete" if missing else "complete"
    store.finalize(status)
    store.update_meta(missing=missing)
    return Measured(workers, status, missing)


def missing_trials(store: RunStore) -> dict[str, int]:
    """Planned trials (meta.json `order`) without a record, counted per device."""
    done = store.completed_trial_ids()
    missing: dict[str, int] = {}
    for trial in store.meta.order:
        if trial not in done:
            device = trial.split("|", 1)[0]
            missing[device] = missing.get(device, 0) + 1
    return missing


def make_runners(
    settings: RunSettings,
    prepared: Sequence[PreparedDevice],
    plan_serials: list[str],
    run_id: str,
    emit: Callable[[str], None],
) -> list[TrialRunner]:
    """One TrialRunner per prepared device, naming its trials with the plan's serial."""
    trial_settings = TrialSettings(
        runs=settings.runs,
        warmup=settings.warmup,
        cooldown_temp_c=settings.cooldown_temp_c,
        cooldown_timeout_s=settings.cooldown_timeout_s,
        timeout_s=settings.trial_timeout_s,
        allow_fallback=settings.allow_fallback,
    )
    runners = []
    for p, plan_serial in zip(prepared, plan_serials, strict=True):
        runners.append(
            TrialRunner(
                p.target,
                dataclasses.replace(trial_settings, energy=p.energy),  # the phone's own source
                run_id,
                on_event=emit,
                plan_serial=plan_serial,
            )
        )
    return runners


# After Ctrl-C / SIGTERM, the one call that kills a trial in flight gets this long.
STOP_KILL_S = 1.0
# What a stop says of the trial in flight, by what run_trial.sh kill found.
_STOPPED: dict[KillOutcome, str] = {
    "killed": "the trial in flight was killed (its benchmark, wrapper and sampler)",
    "ended": "the trial in flight had already ended",
    "none": "no trial was running on the device (a launch still on its way runs nothing)",
}


def stop_in_flight(runners: Sequence[TrialRunner], emit: Callable[[str], None]) -> None:
    """Stop the trials the stopped run left on its phones; say what became of each.

    One bounded call per device, in parallel: it kills the trial's processes
    (benchmark, wrapper, sampler) and returns once they are gone. A phone that
    does not answer at once keeps its trial, which the next run's sweep stops
    before measuring.
    """
    busy = [(r, r.in_flight) for r in runners if r.in_flight]
    for r in runners:
        if not r.in_flight:
            emit(f"{r.target.session.serial}: no trial was running on the device")

    def kill(runner: TrialRunner, trial_dir: str) -> None:
        session = runner.target.session
        session.reopen()
        try:
            found = runner.target.remote.kill(trial_dir, timeout_s=STOP_KILL_S, once=True)
            emit(f"{session.serial}: {_STOPPED[found]}")
        except HarnessError as exc:
            emit(
                f"{session.serial}: could not reach the device to stop the trial in flight "
                f"({exc}); it may still run, and a resumed run stops it before measuring"
            )
        finally:
            session.abort()

    threads = [threading.Thread(target=kill, args=item, daemon=True) for item in busy]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STOP_KILL_S + 0.5)
