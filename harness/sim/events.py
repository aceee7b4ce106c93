"""Device events: moments on the simulated phone that tests key faults to.

A fault timed by the host's clock, or by what the harness prints, lands at
another moment on a busy host; one keyed to what happens on the device lands
at the same moment every time. The device reports three kinds of event:

- `command`: the host opened a shell command (`adb shell ...`), before it runs;
- `benchmark_start`: a `benchmark_model` process started, before it loads
  its model (its stdout and stderr already lead to their files);
- `benchmark_end`: a `benchmark_model` process is done (its output written)
  and about to exit; a killed one never gets there.

The device waits for whatever is keyed to an event (`Faults.on`) before it
goes on: a command runs, a benchmark loads its model or exits only once the
action has returned. The stand-in reports its start and end over a Unix
socket in the state folder (`EVENTS_SOCKET`); without one (off the simulated
device) it reports nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from harness.errors import SimulatorError

log = logging.getLogger(__name__)

EventKind = Literal["command", "benchmark_start", "benchmark_end"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
# In the state folder; the stand-in finds it at $HARNESS_SIM_STATE/events.sock.
EVENTS_SOCKET = "events.sock"
# A report is one JSON line; anything longer is not one of the stand-in's.
MAX_REPORT_BYTES = 64 * 1024
STOP_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class DeviceEvent:
    """One event, as the device saw it."""

    kind: str
    count: int  # how many of this kind the device has seen since it started, this one included
    text: str  # command: the command line; benchmark: its argv, joined by spaces
    pid: int | None = None  # benchmark: the process, as the device's `ps` shows it
    stdout: str | None = None  # benchmark: where its stdout leads (a device path), if a file
    exit_code: int | None = None  # benchmark_end: what it exits with


Action = Callable[[DeviceEvent], object]


class Trigger:
    """An action keyed to the `nth` event of a kind (from when it was set) whose text matches."""

    def __init__(self, kind: str, action: Action, nth: int, match: str | None, every: bool) -> None:
        if kind not in EVENT_KINDS:
            raise SimulatorError(f"unknown device event {kind!r} (choose {', '.join(EVENT_KINDS)})")
        if isinstance(nth, bool) or not isinstance(nth, int) or nth < 1:
            raise SimulatorError(f"nth must be a whole number from 1, got {nth!r}")
        try:
            self._pattern = re.compile(match) if match is not None else None
        except re.error as exc:
            raise SimulatorError(
                f"event pattern {match!r} is not a regular expression: {exc}"
            ) from exc
        self.kind, self.action, self.nth, self.every = kind, action, nth, every
        self.seen = 0  # matching events since it was set
        self.events: list[DeviceEvent] = []  # those it acted on
        self.errors: list[BaseException] = []  # what its action raised (the device went on)
        self.fired = threading.Event()  # set once its action has returned the first time
        self.cancelled = False

    def _due(self, event: DeviceEvent) -> bool:
        """Count a matching event; True when the action is due for it (under the registry lock)."""
        if self.cancelled or event.kind != self.kind:
            return False
        if self._pattern is not None and not self._pattern.search(event.text):
            return False
        self.seen += 1
        return self.seen == self.nth or (self.every and self.seen > self.nth)

    def _act(self, event: DeviceEvent) -> None:
        self.events.append(event)
        try:
            self.action(event)
        except Exception as exc:  # kept for the test; the device must go on
            log.exception("action for device event %s #%d failed", event.kind, event.count)
            self.errors.append(exc)
        finally:
            self.fired.set()

    def cancel(self) -> None:
        """The action is not called again (one running now finishes)."""
        self.cancelled = True


class Triggers:
    """The armed triggers of one device and its event counts (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Trigger] = []
        self._counts = dict.fromkeys(EVENT_KINDS, 0)

    def add(self, trigger: Trigger) -> Trigger:
        with self._lock:
            self._armed.append(trigger)
        return trigger

    def clear(self) -> None:
        with self._lock:
            for trigger in self._armed:
                trigger.cancel()
            self._armed.clear()

    def watching(self, kind: str) -> bool:
        """Whether a trigger waits for this kind (else a report needs no round trip)."""
        with self._lock:
            return any(t.kind == kind and not t.cancelled for t in self._armed)

    def count(self, kind: str) -> int:
        with self._lock:
            return self._counts[kind]

    def happened(
        self,
        kind: str,
        text: str,
        *,
        pid: int | None = None,
        stdout: str | None = None,
        exit_code: int | None = None,
    ) -> DeviceEvent:
        """Count an event and run the actions due for it, in the order they were set."""
        with self._lock:
            self._counts[kind] += 1
            event = DeviceEvent(kind, self._counts[kind], text, pid, stdout, exit_code)
            due = [t for t in self._armed if t._due(event)]
            self._armed = [t for t in self._armed if not t.cancelled and (t.every or t not in due)]
        for trigger in due:
            trigger._act(event)
        return event


class EventServer:
    """Answers the stand-in's reports on `state/events.sock`: one thread per report.

    The socket is bound through the state folder's descriptor, so a long
    `--root` path does not meet the 108-byte limit of a socket address.
    """

    def __init__(self, state_dir: Path, triggers: Triggers) -> None:
        self.path = state_dir / EVENTS_SOCKET
        self.triggers = triggers
        self._stop = threading.Event()
        self.path.unlink(missing_ok=True)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        folder = os.open(state_dir, os.O_PATH | os.O_DIRECTORY)
        try:
            self._sock.bind(f"/proc/self/fd/{folder}/{EVENTS_SOCKET}")
        finally:
            os.close(folder)
        self._sock.listen(16)
        self._thread = threading.Thread(target=self._serve, name="sim-events", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            if self._stop.is_set():
                conn.close()
                return
            threading.Thread(
                target=self._answer, args=(conn,), name="sim-event", daemon=True
            ).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while not data.endswith(b"\n") and len(data) < MAX_REPORT_BYTES:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            try:
                report = json.loads(data)
                kind = str(report["kind"])
                if kind not in ("benchmark_start", "benchmark_end"):
                    raise ValueError(f"not a process event: {kind!r}")
                argv = [str(a) for a in report.get("argv") or []]
                self.triggers.happened(
                    kind,
                    " ".join(argv),
                    pid=_int_or_none(report.get("pid")),
                    stdout=report.get("stdout") if isinstance(report.get("stdout"), str) else None,
                    exit_code=_int_or_none(report.get("exit_code")),
                )
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("a malformed device event report: %s", exc)
            with contextlib.suppress(OSError):
                conn.sendall(b"ok\n")

    def stop(self) -> None:
        """Stop answering; a report on its way gets end-of-file and the stand-in goes on."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(STOP_TIMEOUT_S)
        self.path.unlink(missing_ok=True)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
