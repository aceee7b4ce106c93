"""A device's worker: trial folders made ahead in one call, and what a failure of that call does."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import cast

import pytest

from harness.bench.plan import TrialSpec
from harness.bench.trial import TrialRunner
from harness.bench.workers import MAKE_AHEAD_FROM, Progress, WorkerOutcome, work
from harness.errors import DeviceError, DeviceLostError, SessionAborted
from harness.results.schema import TrialRecord
from harness.vocab import Config


class _Runner:
    """Stands in for a TrialRunner: notes the calls; a trial stops the run at once."""

    plan_serial = "s1"

    def __init__(self, fails: DeviceError | None = None) -> None:
        self.fails = fails
        self.made: list[list[str]] = []
        self.measured: list[str] = []

    def make_ready(self, specs: Sequence[TrialSpec]) -> None:
        self.made.append([s.trial_id for s in specs])
        if self.fails is not None:
            raise self.fails

    def measure(self, spec: TrialSpec) -> TrialRecord:
        self.measured.append(spec.trial_id)
        raise SessionAborted("stopping", serial="s1")


class _Sink:
    def append(self, record: TrialRecord) -> None:
        raise AssertionError("nothing is recorded here")

    def completed_trial_ids(self) -> set[str]:
        return set()


def _specs(n: int) -> list[TrialSpec]:
    config = Config("mobilenet_v2_1.0_224", "fp32", 1, "big", "default")
    return [TrialSpec("s1", config, i, i) for i in range(n)]


def _run(runner: _Runner, n: int) -> WorkerOutcome:
    return work(
        cast(TrialRunner, runner), _specs(n), _Sink(), Progress(n, lambda _m: None),
        threading.Event(),
    )  # fmt: skip


def test_folders_are_made_in_one_call_before_the_first_trial() -> None:
    runner = _Runner()
    _run(runner, MAKE_AHEAD_FROM + 2)
    assert runner.made == [[s.trial_id for s in _specs(MAKE_AHEAD_FROM + 2)]]
    assert runner.measured == [_specs(1)[0].trial_id]


def test_a_few_trials_make_their_own_folders() -> None:
    """Below MAKE_AHEAD_FROM the extra call would cost more than it saves."""
    runner = _Runner()
    _run(runner, MAKE_AHEAD_FROM - 1)
    assert runner.made == [] and len(runner.measured) == 1


def test_a_device_error_there_leaves_each_trial_to_make_its_folder() -> None:
    runner = _Runner(fails=DeviceError("make answered unexpectedly", serial="s1"))
    _run(runner, MAKE_AHEAD_FROM)
    assert len(runner.made) == 1 and len(runner.measured) == 1


@pytest.mark.parametrize("stop", ["lost", "aborted"])
def test_a_lost_or_stopping_device_runs_no_trial(stop: str) -> None:
    fails: DeviceError = (
        DeviceLostError("device did not come back", serial="s1")
        if stop == "lost"
        else SessionAborted("stopping", serial="s1")
    )
    runner = _Runner(fails=fails)
    outcome = _run(runner, MAKE_AHEAD_FROM)
    assert runner.measured == []
    assert (outcome.lost is fails) == (stop == "lost")
