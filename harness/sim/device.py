"""`SimDevice`: one simulated phone, served on 127.0.0.1 from a background thread.

The asyncio loop runs in its own thread so tests (and `harness run --device
sim`) can start a device, drive it through the real adb server, and flip
faults from the test thread while it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import socket
import tempfile
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from types import TracebackType
from typing import Any, TypedDict

from harness.errors import SimulatorError
from harness.sim import auth as authmod
from harness.sim import image, power, powerfiles, procstat, profiles, sandbox
from harness.sim import props as propmod
from harness.sim import topology as topomod
from harness.sim.events import EventServer
from harness.sim.faults import Faults
from harness.sim.fs import DeviceFS, SyncAgent
from harness.sim.livefiles import LiveFile
from harness.sim.shell_service import ShellSession, parse_service
from harness.sim.sync_service import SyncSession
from harness.sim.transport import Connection, Stream

log = logging.getLogger(__name__)

FEATURES = ["shell_v2", "cmd", "stat_v2", "ls_v2", "fixed_push_mkdir", "apex", "abb", "abb_exec"]
# The adb server claims odd ports 5555-5585 as emulators on start (reference/adb.md).
RESERVED_PORTS = range(5554, 5586)
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class AffinityRecord(TypedDict):
    """One affinity change the device's taskset made (a line of state/affinity.jsonl)."""

    pid: int
    argv: list[str]
    device_mask: str  # hex, as the phone's taskset takes it
    device_cpus: list[int]
    host_cpus: list[int]  # where the host's scheduler may run it
    time: float


class _Core:
    """Everything that lives on the event loop: listener, connections, processes."""

    def __init__(
        self, root: Path, props: dict[str, str], faults: Faults, spawner: sandbox.Spawner
    ) -> None:
        self.root = root
        self.props = props
        self.faults = faults
        self.spawner = spawner
        self.fs = DeviceFS(SyncAgent(spawner.popen, f"{sandbox.STATE_MOUNT}/{image.SYNC_AGENT}"))
        self.server: asyncio.Server | None = None
        self.connections: set[Connection] = set()
        # While offline: the wait before listening again (cancelled on close), and
        # what `back_online` sets to end it early.
        self._offline: asyncio.Task[None] | None = None
        self._back: asyncio.Event | None = None
        # While offline: the port, bound but not listening (connections are refused),
        # so that no other program's free-port pick takes it before the device is back.
        self._held: socket.socket | None = None
        self.port = 0
        self.host = "127.0.0.1"
        self.loop: asyncio.AbstractEventLoop | None = None
        self._banner = propmod.banner(props, FEATURES)

    # -- Hooks for transport.Connection ------------------------------------------
    def banner(self) -> bytes:
        return self._banner

    def auth_policy(self) -> authmod.AuthPolicy:
        return self.faults.auth_policy()

    def trusts(self, token: bytes, signature: bytes) -> bool:
        return self.faults.trusted_keys.trusts(token, signature)

    def on_public_key(self, conn: Connection, payload: bytes) -> None:
        """The "Allow USB debugging?" prompt: never answered, or Allow after a delay."""
        policy = self.faults.auth_policy()
        key = authmod.parse_public_key(payload)
        log.info(
            "auth: %s offers key %s (policy %s)",
            conn.peer,
            key.comment if key else "<malformed>",
            policy,
        )
        if key is None or policy.mode != "accept-after":
            return
        asyncio.get_running_loop().call_later(policy.delay_s, self._allow, conn, key, policy)

    def _allow(self, conn: Connection, key: authmod.PublicKey, policy: authmod.AuthPolicy) -> None:
        if self.faults.auth_policy() is not policy:
            return  # the policy changed while the prompt was up: that tap never happened
        self.faults.trusted_keys.add(key)
        if conn in self.connections:
            conn.accept_host()

    def on_bytes(self, conn: Connection, count: int) -> None:
        if self.faults.count_bytes(count):
            log.info("fault: dropping connections after the byte budget")
            self.drop_connections_now()

    def on_open(self, conn: Connection, service: str) -> bool:
        if self.faults.count_command():
            log.info("fault: dropping connections at command %r", service)
            self.drop_connections_now()
            return False
        return True

    def service_for(self, service: str) -> Callable[[Stream], Awaitable[None]] | None:
        shell = parse_service(service)
        if shell is not None:
            _kind, v2, command = shell
            return lambda s: ShellSession(
                s,
                self.spawner,
                command,
                v2,
                self.faults.hangs,
                self.faults.hangup_policy,
                self._command_event,
            ).run()
        if service == "sync:":
            return lambda s: SyncSession(s, self.fs, self.faults.push_allowance).run()
        if service in ("root:", "unroot:"):
            return self._no_root
        return None

    async def _command_event(self, command: str) -> None:
        """Count the command; run what is keyed to it off the loop, and wait for that."""
        triggers = self.faults.triggers
        if triggers.watching("command"):
            await asyncio.to_thread(triggers.happened, "command", command)
        else:
            triggers.happened("command", command)

    @staticmethod
    async def _no_root(stream: Stream) -> None:
        await stream.write(b"adbd cannot run as root in production builds\n")

    # -- listening -----------------------------------------------------------------
    async def listen(self, port: int) -> None:
        held, self._held = self._held, None
        try:
            if held is not None:  # back from offline: listen on the socket that kept the port
                self.server = await asyncio.start_server(self._accept, sock=held)
            else:
                self.server = await asyncio.start_server(self._accept, self.host, port)
        except OSError as exc:
            if held is not None:
                held.close()
            raise SimulatorError(f"cannot listen on {self.host}:{port}: {exc.strerror}") from exc
        self.port = self.server.sockets[0].getsockname()[1]

    def _hold_port(self) -> None:
        """Keep the closed port bound, not listening, until the device listens again."""
        if self._held is not None:
            return
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the listener had
            held.bind((self.host, self.port))
        except OSError as exc:
            held.close()
            log.warning("simulated device cannot keep port %d while offline: %s", self.port, exc)
            return
        held.setblocking(False)
        self._held = held

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)

    def drop_connections_now(self) -> None:
        for conn in list(self.connections):
            conn.abort()

    async def drop(self) -> None:
        self.drop_connections_now()

    async def go_offline(self, seconds: float | None) -> None:
        """Close the port and cut every connection now; listen again after `seconds`
        (None: when `back_online` says so). Going offline again restarts the wait."""
        if self.server is not None:
            self.server.close()
            self.server = None
            self._hold_port()
        self.drop_connections_now()
        if self._offline is not None:
            self._offline.cancel()
        self._back = asyncio.Event()
        self._offline = asyncio.get_running_loop().create_task(
            self._stay_offline(seconds, self._back)
        )

    async def _stay_offline(self, seconds: float | None, back: asyncio.Event) -> None:
        if seconds is None:
            await back.wait()
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(back.wait(), seconds)
        try:
            await self.listen(self.port)
        except SimulatorError as exc:
            log.error("simulated device stays offline: %s", exc)
        finally:
            if self._back is back:
                self._offline, self._back = None, None

    async def back_online(self) -> None:
        """End an offline spell now; returns once the device listens again."""
        task, back = self._offline, self._back
        if task is None or back is None:
            return
        back.set()
        await asyncio.shield(task)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self._offline is not None:
            self._offline.cancel()  # stopping while offline: no listen() after the device is gone
        if self._held is not None:
            self._held.close()
            self._held = None
        self.drop_connections_now()
        await asyncio.to_thread(self.fs.agent.close)
        await self.spawner.close()
        await asyncio.sleep(0)


class SimDevice:
    """A running simulated phone; use `SimDevice.start(...)` (also a context manager)."""

    port: int
    serial: str
    root: Path
    props: dict[str, str]
    profile: profiles.Profile
    topology: topomod.Topology
    faults: Faults
    power: power.PowerModel
    _owns_root: bool
    _loop: asyncio.AbstractEventLoop
    _core: _Core
    _thread: threading.Thread
    _stopped: bool
    _live: list[LiveFile]
    _events: EventServer | None

    def __init__(self) -> None:
        raise TypeError("use SimDevice.start(...)")

    @classmethod
    def start(
        cls,
        port: int = 0,
        topology: Path | str | dict[str, Any] | topomod.Topology | None = None,
        props: dict[str, str] | None = None,
        root: Path | str | None = None,
        faults: dict[str, Any] | None = None,
        auth: str | None = None,
        profile: str | None = None,
        env: dict[str, str] | None = None,
    ) -> SimDevice:
        """Build the image, serve on 127.0.0.1:`port` (0: any free port), return the device.

        `profile`: `pixel1` (default) or `pixel6` (`profiles.py`): properties,
        topology, thermal zones and power model; `topology` and `props` override.
        `auth`: `None`/`none` (no adb auth), `refuse` (the host stays
        `unauthorized`) or `accept-after:SECONDS` (the user taps Allow then).
        `env`: variables added to the environment of every command the device
        runs, as a phone's init sets its shell's (`set_env` changes them later).
        """
        if port in RESERVED_PORTS:
            raise SimulatorError(
                f"port {port} is in the adb server's emulator range 5554-5585",
                hint="use port 0 (any free port) or a high port",
            )
        policy = authmod.parse_policy(auth)  # a bad value fails before anything is built
        chosen = profiles.get(profile)
        extra_env = _checked_env(env or {})
        self = cls.__new__(cls)
        self.profile = chosen
        self._live = []
        self._events = None
        self._owns_root = root is None
        self.root = Path(
            tempfile.mkdtemp(prefix="harness-sim-") if root is None else root
        ).resolve()
        self.topology = _topology(topology if topology is not None else chosen.topology)
        merged = chosen.props()
        merged.update(props or {})
        propmod.validate(merged)
        self.props = merged
        image.build(
            self.root, merged, self.topology, chosen.power if self.topology.battery else None
        )
        self.power = power.PowerModel(self.root, self.topology, chosen.power)
        powerfiles.write_state(self.root, self.power)
        image.write_state(self.root, "nnapi", "".join(f"{d}\n" for d in chosen.nnapi))
        self.faults = Faults(self.root, self.topology, self.power)
        self.faults.set_auth(policy)
        self._live = [
            procstat.serve(self.root, self.topology),
            *(powerfiles.serve(self.root, self.power) if self.topology.battery else []),
        ]
        self._events = EventServer(self.root / "state", self.faults.triggers)
        spawner = sandbox.Spawner(self.root, sandbox.device_env(merged) | extra_env)
        self._loop = asyncio.new_event_loop()
        self._core = _Core(self.root, merged, self.faults, spawner)
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="harness-sim", daemon=True
        )
        self._thread.start()
        self._stopped = False
        try:
            self._call(self._core.listen(port), START_TIMEOUT_S)
            self._call(self._core.spawner.start(), START_TIMEOUT_S)
            self.faults._attach(self)
            if faults:
                self.faults.apply(faults)
        except BaseException:
            self.stop()
            raise
        self.port = self._core.port
        self.serial = f"127.0.0.1:{self.port}"
        log.info(
            "simulated %s listening on %s (root %s)",
            merged["ro.product.model"],
            self.serial,
            self.root,
        )
        return self

    def _call(self, coro: Coroutine[Any, Any, Any], timeout_s: float) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout_s)
        except FutureTimeout as exc:
            raise SimulatorError(f"simulated device did not answer within {timeout_s} s") from exc

    def _on_loop(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` on the device's loop and wait for it; from the loop itself, only start it."""
        if threading.current_thread() is self._thread:
            self._loop.create_task(coro)
            return
        self._call(coro, START_TIMEOUT_S)

    # -- faults.Controller ------------------------------------------------------------
    def drop_connections(self) -> None:
        self._on_loop(self._core.drop())

    def drop_at(self, delay_s: float) -> None:
        self._loop.call_soon_threadsafe(
            self._loop.call_later, delay_s, self._core.drop_connections_now
        )

    def go_offline(self, seconds: float | None) -> None:
        self._on_loop(self._core.go_offline(seconds))

    def back_online(self) -> None:
        self._on_loop(self._core.back_online())

    # -- public API ---------------------------------------------------------------------
    def affinity_records(self) -> list[AffinityRecord]:
        """Every affinity change made through the device's taskset, oldest first."""
        path = self.root / "state" / "affinity.jsonl"
        records: list[AffinityRecord] = []
        for line in path.read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
        return records

    def set_env(self, name: str, value: str | None) -> None:
        """Set (None: unset) a variable of the environment the device's next commands get.

        A knob of the phone's setup, like `env=` at start: e.g. `HARNESS_SAMPLE_S`,
        the trial wrapper's proof-sampling period (`0` turns the sampler off).
        """
        _checked_env({name: value or ""})
        if value is None:
            self._core.spawner.env.pop(name, None)
        else:
            self._core.spawner.env[name] = value

    def stop(self) -> None:
        """Stop serving, kill every device process, remove a temporary root."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self._loop.is_running():
                self._call(self._core.close(), STOP_TIMEOUT_S)
        finally:
            for live in getattr(self, "_live", []):
                live.stop()
            events = getattr(self, "_events", None)
            if events is not None:
                events.stop()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STOP_TIMEOUT_S)
            if not self._thread.is_alive():
                self._loop.close()
            if self._owns_root:
                shutil.rmtree(self.root, ignore_errors=True)

    def wait(self) -> None:
        """Block until the device is stopped from another thread (or the process is interrupted)."""
        self._thread.join()

    def __enter__(self) -> SimDevice:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimDevice(serial={getattr(self, 'serial', '?')!r}, root={str(self.root)!r})"


def _checked_env(env: dict[str, str]) -> dict[str, str]:
    """Environment names and values a shell can hold (no `=` in a name, no NUL anywhere)."""
    for name, value in env.items():
        if not isinstance(name, str) or not name or "=" in name or "\0" in name:
            raise SimulatorError(f"bad environment variable name {name!r}")
        if not isinstance(value, str) or "\0" in value:
            raise SimulatorError(f"bad value for environment variable {name}: {value!r}")
    return dict(env)


def _topology(value: Path | str | dict[str, Any] | topomod.Topology | None) -> topomod.Topology:
    if isinstance(value, topomod.Topology):
        return value
    if isinstance(value, dict):
        return topomod.parse(value)
    return topomod.load(Path(value) if value is not None else None)
