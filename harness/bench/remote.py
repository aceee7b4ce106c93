"""Talking to device_scripts/run_trial.sh: start, wait, kill, sweep, and riding out disconnects.

A trial costs a single round trip however long it runs: the `begin` call
snapshots the device state, launches, waits on the device until the trial
ends (woken by the end itself, not by polling), and returns the outputs and
an after-snapshot. While it waits the script prints `alive` every beat, so a
call that stays silent for a beat plus CALL_MARGIN_S is a lost device or a
hung call, noticed as soon as with short polls. The detached process on the
phone keeps running when USB drops; only the host's view of it is interrupted.

Every call has a deadline, and what a missed deadline means is decided once,
here: the device is asked `true` at once. If it answers, the call itself hung
(a wedged script, a stuck tool): that is `CallHung`, the trial ends as a
`timeout` and the run goes on; asking the same thing again would hang again.
If it does not answer, the device went away: wait for it up to the reconnect
timeout and ask again, or give up with DeviceLostError (the run stops and can
be resumed).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from harness.device.quote import sh_join
from harness.device.reconnect import answers, wait_for_device
from harness.errors import (
    CallHung,
    DeviceError,
    DeviceLostError,
    DeviceOfflineError,
    DeviceTimeoutError,
)

if TYPE_CHECKING:
    from harness.device.energy import EnergyRequest
    from harness.device.session import DeviceSession

log = logging.getLogger(__name__)

T = TypeVar("T")

# A shell call that only reads a few files on the device; generous for slow USB.
CALL_TIMEOUT_S = 30.0
# What a trial call may take beyond the time it asks the device to wait (the
# script's own work: state snapshot, cat of the outputs, and the transfer), and
# how much longer than a beat a waiting call may stay silent.
CALL_MARGIN_S = 10.0
# The shortest deadline a call gets, even when a trial's own is nearly spent.
MIN_CALL_S = 1.0
# A device that keeps dropping and coming back within one call is as good as
# lost: after this many reconnects for the same call, stop waiting.
MAX_RECOVERIES = 5
# The most characters of trial folder names one `make` call carries.
MAKE_CHARS = 3000


def trial_dir_name(trial_id: str) -> str:
    """A device folder name for a trial id (ids contain `|`, `:` and `=`).

    Readable prefix plus a hash, so two ids that sanitize alike stay apart.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", trial_id).strip("_")[:80]
    digest = hashlib.sha256(trial_id.encode("utf-8")).hexdigest()[:10]
    return f"{safe}-{digest}"


@dataclass(frozen=True)
class TrialState:
    """What `run_trial.sh wait` saw: running, done (with exit code and clock), or vanished."""

    state: str  # running | done | vanished
    exit_code: int | None = None
    start: float | None = None
    end: float | None = None
    reason: str | None = None

    @property
    def wall_s(self) -> float | None:
        """Wall time of the benchmark process by the device's clock."""
        if self.start is None or self.end is None:
            return None
        return max(0.0, self.end - self.start)


def parse_state(line: str) -> TrialState:
    """Parse `state=done exit=0 start=.. end=..` (the last such line of the output)."""
    found = [ln for ln in line.splitlines() if ln.startswith("state=")]
    if not found:
        raise ValueError(f"no state line in {line!r}")
    fields = dict(part.split("=", 1) for part in found[-1].split() if "=" in part)
    state = fields.get("state", "")
    if state not in ("running", "done", "vanished"):
        raise ValueError(f"unknown trial state {state!r}")

    def num(key: str) -> float | None:
        try:
            return float(fields[key])
        except (KeyError, ValueError):
            return None

    exit_raw = num("exit")
    return TrialState(
        state=state,
        exit_code=None if exit_raw is None else int(exit_raw),
        start=num("start"),
        end=num("end"),
        reason=fields.get("reason"),
    )


# What `run_trial.sh kill` found: it killed the trial's processes, the trial had
# already ended, or nothing of it was running (a launch still on its way runs nothing).
KillOutcome = Literal["killed", "ended", "none"]


def parse_kill(text: str) -> KillOutcome:
    """The outcome `run_trial.sh kill` printed; DeviceError for anything else (a broken script)."""
    word = (text.strip().splitlines() or [""])[-1].split(" ", 1)[0]
    if word == "killed":
        return "killed"
    if word == "ended":
        return "ended"
    if word == "none":
        return "none"
    raise DeviceError(f"run_trial.sh kill answered unexpectedly: {text[-200:]!r}")


def _cs(seconds: float) -> str:
    # The script counts hundredths of a second.
    return str(max(0, round(seconds * 100)))


@dataclass(frozen=True)
class Collected:
    """One answer of run_trial.sh begin/collect: the trial's state and, once done, its files."""

    state: TrialState
    stdout: str | None = None
    stderr: str | None = None
    before: str | None = None  # state.sh output before the launch (begin only)
    after: str | None = None  # state.sh output right after the process ended
    samples: str | None = None  # proof samples and energy looks (bench/proof.py, bench/energy.py)


def _mark() -> str:
    # A section marker no benchmark output will contain by chance.
    return f"@@harness-{secrets.token_hex(8)}"


def split_sections(text: str, mark: str) -> dict[str, str]:
    """Cut run_trial.sh output at its `MARK name` lines; "" holds what came first."""
    pattern = re.compile(rf"^{re.escape(mark)} (\w+)\n", re.MULTILINE)
    found = list(pattern.finditer(text))
    sections = {"": text[: found[0].start()] if found else text}
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        sections[m.group(1)] = text[m.end() : end]
    return sections


def _file_section(text: str | None) -> str | None:
    # The script echoes one newline after each file so the next marker starts a line.
    if text is None:
        return None
    return text[:-1] if text.endswith("\n") else text


def parse_collected(text: str, mark: str, serial: str | None = None) -> Collected:
    """Parse a begin/collect answer; DeviceError if it is not one (a broken script)."""
    sections = split_sections(text, mark)
    head = sections.get("started", sections[""])
    try:
        state = parse_state(head)
    except ValueError as exc:
        raise DeviceError(
            f"run_trial.sh answered unexpectedly: {exc}", serial=serial, stdout=text[-2000:]
        ) from None
    return Collected(
        state=state,
        stdout=_file_section(sections.get("stdout")),
        stderr=_file_section(sections.get("stderr")),
        before=sections.get("before"),
        after=sections.get("after"),
        samples=_file_section(sections.get("samples")),
    )


class TrialRemote:
    """The device half of trials on one device: the script's path and the reconnect policy."""

    def __init__(
        self,
        session: DeviceSession,
        script: str,
        trials_root: str,
        *,
        reconnect_timeout_s: float,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.session = session
        self.script = script
        self.trials_root = trials_root
        self.reconnect_timeout_s = reconnect_timeout_s
        self._on_event = on_event or (lambda _msg: None)

    def trial_dir(self, trial_id: str) -> str:
        """The device folder of one trial."""
        return f"{self.trials_root}/{trial_dir_name(trial_id)}"

    def resilient(self, what: str, call: Callable[[], T]) -> T:
        """Run `call`; after a disconnect wait for the device and try again.

        Only for calls that are safe to repeat (reads, kill, wait). A call
        that missed its deadline while the device answers raises CallHung.
        """
        for _ in range(MAX_RECOVERIES):
            try:
                return call()
            except (DeviceOfflineError, DeviceTimeoutError) as exc:
                self.recover(what, exc)
        raise self._flapping(what)

    def _flapping(self, what: str) -> DeviceLostError:
        return DeviceLostError(
            f"device dropped off {MAX_RECOVERIES} times during one {what}",
            serial=self.session.serial,
            command=what,
            hint="check the cable or the network; then resume the run",
        )

    def recover(self, what: str, exc: DeviceError) -> None:
        """After a failed call: CallHung if the device answers though the call timed out,
        else wait for the device (DeviceLostError if it stays away)."""
        if isinstance(exc, CallHung):
            raise exc
        if isinstance(exc, DeviceTimeoutError) and answers(self.session):
            raise CallHung(
                f"{what} did not answer in time, though the device does",
                serial=self.session.serial,
                command=exc.command,
            ) from exc
        self.reconnect(what, exc)

    def reconnect(self, what: str, exc: DeviceError) -> None:
        """Wait for the device after `exc`; DeviceLostError if it stays away."""
        serial = self.session.serial
        self._on_event(
            f"{serial}: device lost during {what} ({exc}); waiting up to "
            f"{self.reconnect_timeout_s:g} s for it to come back"
        )
        if not wait_for_device(self.session, timeout_s=self.reconnect_timeout_s):
            raise DeviceLostError(
                f"device did not come back within {self.reconnect_timeout_s:g} s",
                serial=serial,
                command=what,
            ) from exc
        self._on_event(f"{serial}: device is back, resuming {what}")

    def _run(
        self, args: Sequence[str], timeout_s: float = CALL_TIMEOUT_S, idle_s: float | None = None
    ) -> str:
        # `exec`: the device's `sh -c` becomes the script instead of forking it,
        # one process fewer on every trial's way.
        command = f"exec {sh_join(['sh', self.script, *args])}"
        result = self.session.shell(command, timeout_s=timeout_s, idle_s=idle_s)
        return str(result.stdout)

    def begin(
        self,
        trial_dir: str,
        mask: str,
        argv: Sequence[str],
        cpus: Sequence[int],
        max_wait_s: float,
        *,
        beat_s: float,
        snapshot_before: bool = True,
        again: bool = False,
        timeout_s: float | None = None,
        energy: EnergyRequest | None = None,
    ) -> Collected:
        """Snapshot, launch detached, and wait up to `max_wait_s` for the end: one round trip.

        Not blindly repeatable (a second launch would run the benchmark twice):
        after a disconnect the trial's folder is asked first, and the launch is
        repeated (`again`: what an earlier launch left is stopped first) only
        if nothing ran there. `timeout_s` bounds each attempt (default: the
        wait plus CALL_MARGIN_S); silence beyond a beat plus CALL_MARGIN_S
        ends it sooner. `energy`: read it too (bench/energy.py), after an idle
        window on the device before the launch, which the call's bound includes.
        """
        mark = _mark()
        limit = timeout_s if timeout_s is not None else CALL_MARGIN_S + max_wait_s
        limit += energy.idle_s if energy is not None else 0.0
        reads = energy.script_args() if energy is not None else []
        for _ in range(MAX_RECOVERIES):
            flags = [*(["--again"] if again else []), *([] if snapshot_before else ["--no-before"])]
            flags += reads
            args = [
                "begin", trial_dir, mask, _cs(max_wait_s), _cs(beat_s), mark,
                *flags, *map(str, cpus), "--", *argv,
            ]  # fmt: skip
            try:
                out = self._run(args, max(MIN_CALL_S, limit), beat_s + CALL_MARGIN_S)
                return parse_collected(out, mark, self.session.serial)
            except (DeviceOfflineError, DeviceTimeoutError) as exc:
                self.recover("trial start", exc)
            found = self.collect(trial_dir, cpus, 0, beat_s=beat_s)
            if found.state.state != "vanished":
                return found  # it is running (or done): the launch got through
            # It never started, or died with the connection: launch it again.
            self._on_event(f"{self.session.serial}: the trial did not start; launching it again")
            again = True
        raise self._flapping("trial start")

    def collect(
        self,
        trial_dir: str,
        cpus: Sequence[int],
        max_wait_s: float,
        *,
        beat_s: float,
        timeout_s: float | None = None,
    ) -> Collected:
        """Wait on the device up to `max_wait_s`; the state, and the outputs when done."""
        mark = _mark()
        args = ["collect", trial_dir, _cs(max_wait_s), _cs(beat_s), mark, *map(str, cpus)]
        limit = max(MIN_CALL_S, timeout_s if timeout_s is not None else CALL_MARGIN_S + max_wait_s)
        idle = beat_s + CALL_MARGIN_S
        return self.resilient(
            "trial poll",
            lambda: parse_collected(self._run(args, limit, idle), mark, self.session.serial),
        )

    def kill(
        self, trial_dir: str, *, timeout_s: float = CALL_TIMEOUT_S, once: bool = False
    ) -> KillOutcome:
        """Stop the trial: its benchmark, then the wrapper and sampler (see run_trial.sh).

        `once`: one call, no waiting for a device that went away (a run that is stopping).
        """
        if once:
            return parse_kill(self._run(["kill", trial_dir], timeout_s))
        out = self.resilient("trial kill", lambda: self._run(["kill", trial_dir], timeout_s))
        return parse_kill(out)

    def make(self, trial_ids: Sequence[str]) -> int:
        """Make these trials' folders and bells ahead of them, in calls of at most
        MAKE_CHARS of names each (an old adbd takes 4 KiB per command); how many bells
        were made. A trial whose folder is not there makes its own."""
        names = [trial_dir_name(t) for t in trial_ids]
        made = 0
        while names:
            size, count = 0, 0
            while count < len(names) and (count == 0 or size + len(names[count]) < MAKE_CHARS):
                size += len(names[count]) + 3  # quotes and a space
                count += 1
            args, names = ["make", self.trials_root, *names[:count]], names[count:]
            out = self.resilient("trial folders", functools.partial(self._run, args))
            last = out.strip().rsplit("\n", 1)[-1]
            if not (last.startswith("made ") and last[5:].isdigit()):
                raise DeviceError(
                    f"run_trial.sh make answered unexpectedly: {out[-200:]!r}",
                    serial=self.session.serial,
                )
            made += int(last[5:])
        return made

    def sweep(self) -> str:
        """Kill trials an earlier harness left running and clear the trials folder."""
        return self.resilient("trial sweep", lambda: self._run(["sweep", self.trials_root], 120.0))
