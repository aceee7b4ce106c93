"""Fault injection for one simulated device; every knob can change while it runs.

Connection faults (drop after N bytes / N commands / at a time, go offline)
act on the device's event loop through the `Controller` it registers; file
and process faults (ENOSPC, hangs) are read by the services on each request;
device-state faults (thermal, slowdown, GPU, battery, screen, USB power) are
written into the files the device's tools read, so a phone-side script sees them.
Any of them can be keyed to a device event (`on`: a command opened, a
benchmark_model started or ended; `events.py`), so a test sets a fault at
the same moment on the device however fast the host is.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.errors import SimulatorError
from harness.sim import image, powerfiles
from harness.sim.auth import AuthPolicy, KeyStore, parse_policy
from harness.sim.events import Action, Trigger, Triggers
from harness.sim.power import PowerModel
from harness.sim.shell_service import HANGUP_POLICIES
from harness.sim.topology import Topology


class Controller(Protocol):
    """What the running device offers to the fault switches (thread-safe calls)."""

    def drop_connections(self) -> None: ...

    def drop_at(self, delay_s: float) -> None: ...

    def go_offline(self, seconds: float | None) -> None: ...

    def back_online(self) -> None: ...


@dataclass
class _Hang:
    pattern: re.Pattern[str]
    left: int | None  # how many more commands it hangs; None: every one


@dataclass
class _Counters:
    bytes_left: int | None = None
    commands_left: int | None = None


class Faults:
    """The fault switches of one device (see docs/sim.md for what a client sees)."""

    def __init__(self, root: Path, topology: Topology, power: PowerModel | None = None) -> None:
        self._root = root
        self._topology = topology
        self._power = power
        self._lock = threading.Lock()
        self._counters = _Counters()
        self._hangs: list[_Hang] = []
        self._push_allowance: int | None = None
        self._auth = AuthPolicy()
        self._hangup = "adbd"
        self.trusted_keys = KeyStore()
        self.triggers = Triggers()
        self._controller: Controller | None = None

    def _attach(self, controller: Controller) -> None:
        self._controller = controller

    def _require(self) -> Controller:
        if self._controller is None:
            raise SimulatorError("the device is not running")
        return self._controller

    # -- connection faults -------------------------------------------------------
    def drop_after_bytes(self, count: int) -> None:
        """Drop every connection once `count` more payload bytes have passed (either way)."""
        with self._lock:
            self._counters.bytes_left = _non_negative(count, "count")

    def drop_after_commands(self, count: int) -> None:
        """Serve `count` more services (shell, sync, ...); drop the connection at the next."""
        with self._lock:
            self._counters.commands_left = _non_negative(count, "count")

    def drop_at(self, delay_s: float) -> None:
        """Drop every connection `delay_s` seconds from now."""
        self._require().drop_at(float(_non_negative(delay_s, "delay_s")))

    def drop_now(self) -> None:
        """Drop every connection; returns once they are cut (the adb server re-attaches
        within seconds)."""
        self._require().drop_connections()

    def go_offline(self, seconds: float | None = None) -> None:
        """Drop connections and stop listening; returns once the port is closed.

        After `seconds` the device listens again on the same port; with None it
        stays away until `back_online()`.
        """
        if seconds is not None:
            seconds = float(_non_negative(seconds, "seconds"))
        self._require().go_offline(seconds)

    def back_online(self) -> None:
        """Listen again now, after `go_offline` (returns once listening; a no-op when online)."""
        self._require().back_online()

    # -- keyed to device events ----------------------------------------------------
    def on(
        self,
        event: str,
        action: Action,
        *,
        nth: int = 1,
        match: str | None = None,
        every: bool = False,
    ) -> Trigger:
        """Call `action(DeviceEvent)` at the `nth` `event` from now whose text matches `match`.

        `event`: `command` (a shell command opened, before it runs; `match`
        searches its command line), `benchmark_start` or `benchmark_end` (a
        benchmark_model process, before it loads its model / before it exits;
        `match` searches its argv). The device waits for the action: the
        command runs, the benchmark goes on, only once it has returned. It runs
        on a thread of the device, never its event loop, so it may call any
        method here (a `drop_now()` there cuts the command before it runs).
        `every`: at the `nth` and every matching event after it. The returned
        `Trigger` has `fired` (a `threading.Event`), `events`, `errors` and
        `cancel()`; `clear()` cancels them all.
        """
        return self.triggers.add(Trigger(event, action, nth, match, every))

    # -- command and file faults -------------------------------------------------
    def hang_commands(self, pattern: str, times: int | None = None) -> None:
        """Shell commands matching the regex never answer (until the host closes the stream).

        `times`: only that many matching commands hang, the next ones answer
        (None: every one, until `clear_hangs()`).
        """
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise SimulatorError(
                f"hang pattern {pattern!r} is not a regular expression: {exc}"
            ) from exc
        whole = isinstance(times, int) and not isinstance(times, bool)
        if times is not None and (not whole or times < 1):
            raise SimulatorError(f"hang times must be a whole number from 1, got {times!r}")
        with self._lock:
            self._hangs.append(_Hang(compiled, times))

    def clear_hangs(self) -> None:
        """Shell commands answer again (hangs already in progress stay hung)."""
        with self._lock:
            self._hangs.clear()

    def fail_pushes(self, after_bytes: int | None = 0) -> None:
        """Pushes fail with ENOSPC after `after_bytes` bytes of each file (None: stop failing)."""
        with self._lock:
            self._push_allowance = (
                None if after_bytes is None else _non_negative(after_bytes, "after_bytes")
            )

    def set_hangup(self, policy: str) -> None:
        """What a closed shell stream does to its command: `adbd` (SIGHUP to the shell
        only, output pipes closed; the default, as AOSP adbd) or `group` (SIGHUP then
        SIGKILL to the whole process group, as some independent daemons do)."""
        if policy not in HANGUP_POLICIES:
            raise SimulatorError(
                f"unknown hang-up policy {policy!r} (choose {', '.join(HANGUP_POLICIES)})"
            )
        with self._lock:
            self._hangup = policy

    def hangup_policy(self) -> str:
        with self._lock:
            return self._hangup

    # -- authorization -------------------------------------------------------------
    def set_auth(self, policy: str | AuthPolicy | None, *, revoke: bool = True) -> None:
        """How the next handshakes go: `none`, `refuse` or `accept-after:SECONDS`.

        `revoke` forgets the trusted keys ("Revoke USB debugging authorizations");
        without it a host the phone already trusts still gets in by signature.
        Open connections stay; `drop_now()` forces a new handshake.
        """
        parsed = parse_policy(policy)
        with self._lock:
            self._auth = parsed
        if revoke:
            self.trusted_keys.clear()

    def auth_policy(self) -> AuthPolicy:
        with self._lock:
            return self._auth

    # -- device-state faults -----------------------------------------------------
    def set_thermal(
        self, temps_c: dict[int | str, float] | None = None, max_khz: dict[int, int] | None = None
    ) -> None:
        """Heat zones (by index or type) and cap scaling_max_freq (by device cpu; whole cluster)."""
        zones = self._zone_types()
        for key, temp in (temps_c or {}).items():
            index = key if isinstance(key, int) else zones.index(key) if key in zones else -1
            if not 0 <= index < len(zones):
                raise SimulatorError(f"no thermal zone {key!r} (zones: {', '.join(zones)})")
            image.set_zone_temp(self._root, index, float(temp))
        if max_khz and self._power is not None:
            self._power.settle()  # CPU time so far is charged at the old clock
        for cpu, cap in (max_khz or {}).items():
            image.set_policy_cap(self._root, self._topology.cluster_of(cpu), int(cap))

    def clear_thermal(self) -> None:
        """Back to the image's resting temperatures and uncapped clocks."""
        for index, (_kind, temp) in enumerate(image.zones_of(self._topology)):
            image.set_zone_temp(self._root, index, temp)
        if self._topology.cpufreq:
            if self._power is not None:
                self._power.settle()
            for cluster in self._topology.clusters:
                image.set_policy_cap(self._root, cluster, None)

    def set_slowdown(self, factor: float, models: str | None = None) -> None:
        """Every benchmark_model inference takes `factor` times as long (it computes longer).

        `models`: an fnmatch pattern on the model file's name (`*0.35_96*`); only
        those models slow down. Synthetic latencies are scaled the same way.
        """
        if not factor >= 1.0:
            raise SimulatorError(f"slowdown factor must be >= 1.0, got {factor}")
        if models is not None and (not models.strip() or any(c.isspace() for c in models)):
            raise SimulatorError(f"slowdown models pattern {models!r}: one word, no spaces")
        rule = f"{float(factor)}" + (f" {models}" if models else "")
        image.write_state(self._root, "slowdown", rule + "\n")

    def set_hold(self, on: bool) -> None:
        """Hold every benchmark_model between two runs until turned off.

        Tests use it to keep a trial running until something has been seen
        (samples taken, a fault applied), then let it finish: its length is set
        by events, not by how fast the host computes. Runs are timed before the
        pause, so the figures are unaffected; only the trial's wall time grows.
        """
        path = self._root / "state" / "hold"
        if on:
            image.write_state(self._root, "hold", "on\n")
        else:
            path.unlink(missing_ok=True)

    def set_gpu_fails(self, on: bool) -> None:
        """The GPU delegate fails to apply: the GPU driver cannot set up its kernels.

        benchmark_model then prints what a failed ModifyGraphWithDelegate
        prints (the OpenCL and OpenGL errors, the original plan restored,
        `Failed to apply GPU delegate.`) and stops with exit 1, as the real tool
        does; runs without `--use_gpu` are unaffected.
        """
        path = self._root / "state" / "gpu_fails"
        if on:
            image.write_state(self._root, "gpu_fails", "on\n")
        else:
            path.unlink(missing_ok=True)

    def set_synthetic(self, seed: int | None, *, cv: float = 0.02, run_cv: float = 0.01) -> None:
        """Deterministic mode: the stand-in draws its times from a seeded distribution.

        Not a fault (`clear()` leaves it): the device's benchmark_model reports
        times drawn around a made-up nominal latency (trial-to-trial CV `cv`,
        run-to-run `run_cv`), labelled "SYNTHETIC latencies" on its first line.
        Setting it restarts the draws; `None` measures for real again.
        """
        if seed is None:
            image.write_state(self._root, "synthetic", "")
            return
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise SimulatorError(f"synthetic seed must be an integer, got {seed!r}")
        if not (0.0 <= cv < 1.0 and 0.0 <= run_cv < 1.0):
            raise SimulatorError(f"synthetic cv and run_cv must be in [0, 1), got {cv}, {run_cv}")
        image.write_state(self._root, "synthetic.count", "{}")
        image.write_state(self._root, "synthetic", f"seed={seed} cv={cv} run_cv={run_cv}\n")

    def set_battery(self, level: int = 85, temp_c: float = 28.1) -> None:
        """What `dumpsys battery` and the gauge's `capacity` / `temp` report."""
        power = self._require_power()
        power.level, power.temp_tenths = int(level), round(temp_c * 10)
        powerfiles.write_state(self._root, power)

    def set_usb_power(self, on: bool) -> None:
        """USB powers the phone and charges it (the default), or not: battery only,
        as over adb on Wi-Fi or behind a hub that cuts VBUS. The fuel gauge then
        follows the power model; `dumpsys battery` shows `USB powered: false`.
        A lab setup, not a fault: `clear()` leaves it."""
        power = self._require_power()
        power.set_plugged(bool(on))
        powerfiles.write_state(self._root, power)

    def _require_power(self) -> PowerModel:
        if self._power is None:
            raise SimulatorError("this device has no power model")
        return self._power

    def set_screen(self, on: bool) -> None:
        """What `dumpsys power` reports."""
        image.write_state(self._root, "screen", "ON\n" if on else "OFF\n")

    def clear(self) -> None:
        """Switch every fault off, and cancel the actions keyed to device events."""
        self.triggers.clear()
        with self._lock:
            self._counters = _Counters()
            self._hangs.clear()
            self._push_allowance = None
            self._hangup = "adbd"
        self.set_auth(None)
        self.clear_thermal()
        self.set_slowdown(1.0)
        self.set_hold(False)
        self.set_gpu_fails(False)

    def apply(self, settings: dict[str, Any]) -> None:
        """Set faults from a dict, e.g. {"slowdown": 2.0, "hang": ["sleep"], "fail_pushes": 0}.

        Also {"slowdown": {"factor": 1.25, "models": "*0.35_96*"}}, {"gpu_fails": True}
        and the deterministic mode {"synthetic": SEED} or {"synthetic": {"seed": 7, "cv": 0.02}}.
        """
        for key, value in settings.items():
            if key == "slowdown":
                if isinstance(value, dict):
                    self.set_slowdown(**value)
                else:
                    self.set_slowdown(value)
            elif key == "synthetic":
                if isinstance(value, dict):
                    self.set_synthetic(**value)
                else:
                    self.set_synthetic(value)
            elif key == "hang":
                for pattern in [value] if isinstance(value, str) else list(value):
                    self.hang_commands(pattern)
            elif key == "fail_pushes":
                self.fail_pushes(value)
            elif key == "drop_after_bytes":
                self.drop_after_bytes(value)
            elif key == "drop_after_commands":
                self.drop_after_commands(value)
            elif key == "thermal":
                self.set_thermal(**value)
            elif key == "auth":
                self.set_auth(value)
            elif key == "hangup":
                self.set_hangup(value)
            elif key == "usb_power":
                self.set_usb_power(value)
            elif key == "gpu_fails":
                if not isinstance(value, bool):
                    raise SimulatorError(f"gpu_fails must be true or false, got {value!r}")
                self.set_gpu_fails(value)
            else:
                raise SimulatorError(f"unknown fault {key!r}")

    # -- read by the device ------------------------------------------------------
    def _zone_types(self) -> list[str]:
        return [kind for kind, _temp in image.zones_of(self._topology)]

    def count_bytes(self, count: int) -> bool:
        """True when this traffic trips the byte fault (which then disarms)."""
        with self._lock:
            left = self._counters.bytes_left
            if left is None:
                return False
            if count > left:
                self._counters.bytes_left = None
                return True
            self._counters.bytes_left = left - count
            return False

    def count_command(self) -> bool:
        """True when this service open trips the command fault (which then disarms)."""
        with self._lock:
            left = self._counters.commands_left
            if left is None:
                return False
            if left == 0:
                self._counters.commands_left = None
                return True
            self._counters.commands_left = left - 1
            return False

    def hangs(self, command: str) -> bool:
        """Whether this command hangs (asked once per command: it counts against `times`)."""
        with self._lock:
            for hang in self._hangs:
                if hang.pattern.search(command):
                    if hang.left is not None:
                        hang.left -= 1
                        if hang.left == 0:
                            self._hangs.remove(hang)
                    return True
            return False

    def push_allowance(self) -> int | None:
        with self._lock:
            return self._push_allowance


def _non_negative(value: Any, name: str) -> Any:
    if not isinstance(value, (int, float)) or value < 0:
        raise SimulatorError(f"{name} must be a non-negative number, got {value!r}")
    return value
