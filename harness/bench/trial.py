"""One trial: cool down, snapshot, run benchmark_model detached and pinned, collect, record.

A trial is one `taskset MASK benchmark_model ...` process on the phone
(device_scripts/run_trial.sh), writing to files there. One device call
launches it, waits on the phone for its end and brings the files back, so a
USB hiccup costs waiting time, not the measurement. Whatever happens to the
benchmark itself (failure, crash, timeout) becomes the record's status; only
losing the device for good raises (DeviceLostError), and then nothing is
recorded, so `--resume` runs that trial again.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

from harness.bench.command import build_command
from harness.bench.energy_record import with_energy
from harness.bench.plan import TrialSpec
from harness.bench.proof import with_proof
from harness.bench.record import Observed, build_record
from harness.bench.remote import CALL_MARGIN_S, Collected, TrialState, trial_dir_name
from harness.bench.target import DeviceTarget, TrialSettings
from harness.device import thermal
from harness.errors import CallHung
from harness.results.files import write_trial_logs
from harness.results.schema import TrialRecord

log = logging.getLogger(__name__)

# A process that died without the wrapper writing its exit code (the phone
# rebooted, the wrapper was killed) measured nothing; run it again this often.
MAX_ATTEMPTS = 2
# After a kill, how long to wait for the wrapper to write the exit code.
KILL_GRACE_S = 5
# The kill after a timeout, and the look that follows it, are bounded too.
KILL_CALL_S = 10.0
# A state snapshot taken right after the previous trial on this device is the
# state the next one starts in, if no more than this has passed (no cooldown
# wait in between); reusing it saves a state read per trial.
FRESH_STATE_S = 2.0


class TrialRunner:
    """Runs trials on one prepared device and turns each into a TrialRecord."""

    def __init__(
        self,
        target: DeviceTarget,
        settings: TrialSettings,
        run_id: str,
        *,
        on_event: Callable[[str], None] | None = None,
        plan_serial: str | None = None,
    ) -> None:
        self.target = target
        self.settings = settings
        self.run_id = run_id
        # The serial the plan (and trial ids) use; differs from the session's
        # when a resumed single-device run reaches its phone at a new address.
        self.plan_serial = plan_serial or target.session.serial
        self._last_after: tuple[float, str] | None = None  # (monotonic time, state text)
        # The quick after-trial snapshot has the battery only where sysfs shows
        # it; otherwise the level from the last full snapshot is carried (it
        # moves by a percent in minutes, not within a trial).
        self._battery: int | None = None
        self._on_event = on_event or (lambda _msg: None)
        # The device folder of the trial being run, for whoever stops the run.
        self.in_flight: str | None = None
        # Why the last trial timed out when it was not the benchmark's own slowness.
        self._hung: str | None = None

    def make_ready(self, specs: Sequence[TrialSpec]) -> None:
        """Make the device folders of these trials in one go, ahead of them, so that a
        trial's launch starts no process for its folder (run_trial.sh `make`)."""
        self.target.remote.make([spec.trial_id for spec in specs])

    # -- device state --------------------------------------------------------------------
    def _state(self, text: str | None) -> thermal.DeviceState | None:
        """Parse a state.sh snapshot; a missing or odd one must not cost the measurement."""
        if text is None:
            return None

        try:
            return thermal.parse_state(text)
        except Exception as exc:
            log.warning("%s: unreadable state snapshot: %s", self.target.session.serial, exc)
            return None

    def _cooldown(self) -> tuple[bool | None, float | None, str | None]:
        """(cooled, seconds waited, why cooled is unknown); all None without a limit."""
        limit = self.settings.cooldown_temp_c
        if limit is None:
            return None, None, None

        # The previous trial's after-snapshot, taken moments ago, is this trial's
        # state too: when it is already cool there is nothing to wait for, and the
        # extra round trip would only add to every trial's cost.
        if self._last_after and time.monotonic() - self._last_after[0] <= FRESH_STATE_S:
            recent = self._state(self._last_after[1])
            hottest = getattr(recent, "max_temp_c", None)
            if hottest is not None and hottest < limit:
                return True, 0.0, None
        # A state read may take no longer than a whole trial is allowed.
        read_s = min(thermal.STATE_TIMEOUT_S, max(1.0, self.settings.timeout_s))
        result = self.target.remote.resilient(
            "cooldown",
            lambda: thermal.wait_cool(
                self.target.session,
                max_temp_c=limit,
                timeout_s=self.settings.cooldown_timeout_s,
                read_timeout_s=read_s,
            ),
        )
        if result.cooled is False:
            self._on_event(
                f"{self.target.session.serial}: still {result.temp_c} °C after "
                f"{result.waited_s:.0f} s of cooldown; measuring anyway (recorded)"
            )
        return result.cooled, float(result.waited_s), result.reason

    # -- one trial -----------------------------------------------------------------------
    def measure(self, spec: TrialSpec, order_index: int | None = None) -> TrialRecord:
        """Measure one planned trial. Raises only DeviceLostError (nothing recorded then)."""
        cfg = spec.config
        target = self.target.for_arm(spec.arm)
        model = target.models[(cfg.variant, cfg.quant)]
        mask = target.masks[cfg.cores]
        cpus = target.cpus.get(cfg.cores, [])
        command = build_command(
            target.binary.device_path,
            target.binary.flags,
            graph=model.path,
            threads=cfg.threads,
            runs=self.settings.runs,
            warmup=self.settings.warmup,
            xnnpack=cfg.xnnpack,
            accelerator=cfg.accelerator,
            release=target.binary.version_line,
        )
        self._hung = None
        started = time.time()
        try:
            cooled, cooldown_wait, cooled_reason = self._cooldown()
        except CallHung as exc:
            # The state read hung: nothing was launched, the trial ends here
            # (its status and error say so; it has no cooldown to judge).
            cooled, cooldown_wait, cooled_reason = None, None, None
            got, timed_out = Collected(TrialState("vanished", reason="call-hung")), True
            self._hung = f"{exc}; nothing was started on the device"
        else:
            recent = None
            if self._last_after and time.monotonic() - self._last_after[0] <= FRESH_STATE_S:
                recent = self._last_after[1]
            started = time.time()
            got, timed_out = self.execute(spec.trial_id, mask, command.argv, cpus, before=recent)
        finished = time.time()
        record = self._record(
            spec,
            order_index if order_index is not None else spec.order_index,
            Observed(
                mask=mask,
                model=model,
                state=got.state,
                stdout=got.stdout or "",
                stderr=got.stderr or "",
                timed_out=timed_out,
                started=started,
                finished=finished,
                before=self._state(got.before),
                after=self._state(got.after),
                cooled=cooled,
                cooldown_wait=cooldown_wait,
                cooled_reason=cooled_reason,
                notes=command.notes,
            ),
        )

        proved = with_proof(
            record,
            got.samples,
            cluster_max_khz=self.target.cluster_max_khz,
            hot_limit_c=self.settings.cooldown_temp_c,
            log=f"{got.stdout or ''}\n{got.stderr or ''}",
        )
        return with_energy(proved, got, self.settings.energy)

    def execute(
        self,
        trial_id: str,
        mask: str,
        argv: list[str],
        cpus: list[int],
        *,
        before: str | None = None,
    ) -> tuple[Collected, bool]:
        """Launch, wait, collect; run again a process that vanished without a result.

        `before` is a state snapshot from a moment ago (else one is taken on
        launch). Returns what was collected and whether the trial timed out
        (and was killed).
        """
        remote = self.target.remote
        trial_dir = remote.trial_dir(trial_id)
        self.in_flight = trial_dir
        try:
            got = self._attempts(trial_id, trial_dir, mask, argv, cpus, before)
        except CallHung as exc:
            # A call hung though the device answers: asking again would hang
            # again. Kill whatever the trial started, record it, go on.
            killed = self._kill_after_hang(trial_dir)
            self._hung = f"{exc}; {killed}"
            got = Collected(TrialState("vanished", reason="call-hung")), True
        # Cleared only once the trial is over: a call cut by a stopping run
        # (SessionAborted) or a lost device leaves it set, so that whoever
        # stops the run knows which trial may still run on the phone.
        self.in_flight = None
        return got

    def _call_limit(self, deadline: float) -> float:
        """A waiting call's deadline: the trial's time left plus a margin."""
        return max(0.0, deadline - time.monotonic()) + CALL_MARGIN_S

    def _kill_after_hang(self, trial_dir: str) -> str:
        try:
            killed = self.target.remote.kill(trial_dir, timeout_s=KILL_CALL_S)
        except CallHung:
            return (
                "the kill did not answer either: its process may still run "
                "(the next run's sweep stops it)"
            )
        return (
            "its processes were killed" if killed == "killed" else "nothing of it was left running"
        )

    def _attempts(
        self,
        trial_id: str,
        trial_dir: str,
        mask: str,
        argv: list[str],
        cpus: list[int],
        before: str | None,
    ) -> tuple[Collected, bool]:
        remote = self.target.remote
        beat = self.settings.beat_s
        got = Collected(TrialState("vanished"))
        for attempt in range(1, MAX_ATTEMPTS + 1):
            deadline = time.monotonic() + self.settings.timeout_s
            # One call: it returns when the trial ends, or at its deadline.
            got = remote.begin(
                trial_dir,
                mask,
                argv,
                cpus,
                self.settings.timeout_s,
                beat_s=beat,
                snapshot_before=before is None,
                again=attempt > 1,
                timeout_s=self._call_limit(deadline),
                energy=self.settings.energy,
            )
            before = got.before or before
            timed_out = False
            while got.state.state == "running":
                left = deadline - time.monotonic()
                if left <= 0:
                    # If it ended on its own just now, its result stands.
                    timed_out = remote.kill(trial_dir, timeout_s=KILL_CALL_S) == "killed"
                    got = remote.collect(
                        trial_dir, cpus, KILL_GRACE_S, beat_s=beat,
                        timeout_s=KILL_GRACE_S + KILL_CALL_S,
                    )  # fmt: skip
                    break
                # After a reconnect: wait for the end again, as long as the trial may last.
                got = remote.collect(
                    trial_dir, cpus, left, beat_s=beat, timeout_s=self._call_limit(deadline)
                )
            if got.state.state == "done":
                got = dataclasses.replace(got, before=got.before or before)
                if got.after is not None:
                    self._last_after = (time.monotonic(), got.after)
                self._keep(trial_id, got)
                return got, timed_out
            self._on_event(
                f"{remote.session.serial}: trial {trial_id} vanished on the device "
                f"({got.state.reason}); attempt {attempt} of {MAX_ATTEMPTS}"
            )
        return got, False

    def _keep(self, trial_id: str, got: Collected) -> None:
        """Keep the raw outputs in RUN_DIR/logs/<trial>/ (the evidence behind a record)."""
        logs = self.target.logs_dir
        if logs is None:
            return
        files = {"stdout": got.stdout or "", "stderr": got.stderr or ""}
        write_trial_logs(logs, trial_dir_name(trial_id), files)

    def failure_record(self, spec: TrialSpec, exc: Exception) -> TrialRecord:
        """A `failed` record for a trial the device could not run (not a disconnect)."""
        now = time.time()
        cfg = spec.config
        return self._record(
            spec,
            spec.order_index,
            Observed(
                mask=self.target.masks.get(cfg.cores, ""),
                model=self.target.for_arm(spec.arm).models[(cfg.variant, cfg.quant)],
                state=TrialState("vanished", reason="host-error"),
                stdout="",
                stderr=str(getattr(exc, "output", None) or ""),
                timed_out=False,
                started=now,
                finished=now,
                before=None,
                after=None,
                cooled=None,
                cooldown_wait=None,
                notes=[],
                error=f"{type(exc).__name__}: {exc}",
            ),
        )

    # -- the record ----------------------------------------------------------------------
    def _record(self, spec: TrialSpec, order_index: int, seen: Observed) -> TrialRecord:
        battery = seen.before.battery_level if seen.before is not None else None
        if battery is None:
            battery = self._battery  # a state read that failed: the last level known
        self._battery = battery
        return build_record(
            spec, order_index, seen, run_id=self.run_id, target=self.target.for_arm(spec.arm),
            settings=self.settings, hung=self._hung, battery=battery,
        )  # fmt: skip
