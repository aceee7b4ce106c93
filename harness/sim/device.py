"""`SimDevice`: one simulated phone, served on 127.0.0.1 from a background thread.

The asyncio loop runs in its own thread so tests (and `harness run --device
sim`) can start a device, drive it through the real adb server, and flip
faults from the test thread while it serves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.errors import SimulatorError
from harness.sim import auth as authmod
from harness.sim import image, power, powerfiles, procstat, profiles, sandbox
from harness.sim import props as propmod
from harness.sim import topology as topomod
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
        self._offline: set[asyncio.Task[None]] = set()  # go_offline waits, cancelled on close
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
                s, self.spawner, command, v2, self.faults.hangs, self.faults.hangup_policy
            ).run()
        if service == "sync:":
            return lambda s: SyncSession(s, self.fs, self.faults.push_allowance).run()
        if service in ("root:", "unroot:"):
            return self._no_root
        return None

    @staticmethod
    async def _no_root(stream: Stream) -> None:
        await stream.write(b"adbd cannot run as root in production builds\n")

    # -- listening -----------------------------------------------------------------
    async def listen(self, port: int) -> None:
        try:
            self.server = await asyncio.start_server(self._accept, self.host, port)
        except OSError as exc:
            raise SimulatorError(f"cannot listen on {self.host}:{port}: {exc.strerror}") from exc
        self.port = self.server.sockets[0].getsockname()[1]

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

    async def offline(self, seconds: float) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        self.drop_connections_now()
        task = asyncio.current_task()
        if task is not None:
            self._offline.add(task)
        try:
            await asyncio.sleep(seconds)
        finally:
            if task is not None:
                self._offline.discard(task)
        try:
            await self.listen(self.port)
        except SimulatorError as exc:
            log.error("simulated device stays offline: %s", exc)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._offline):
            task.cancel()  # stopping while offline: no listen() after the device is gone
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
    ) -> SimDevice:
        """Build the image, serve on 127.0.0.1:`port` (0: any free port), return the device.

        `profile`: `pixel1` (default) or `pixel6` (`profiles.py`): properties,
        topology, thermal zones and power model; `topology` and `props` override.
        `auth`: `None`/`none` (no adb auth), `refuse` (the host stays
        `unauthorized`) or `accept-after:SECONDS` (the user taps Allow then).
        """
        if port in RESERVED_PORTS:
            raise SimulatorError(
                f"port {port} is in the adb server's emulator range 5554-5585",
                hint="use port 0 (any free port) or a high port",
            )
        policy = authmod.parse_policy(auth)  # a bad value fails before anything is built
        chosen = profiles.get(profile)
        self = cls.__new__(cls)
        self.profile = chosen
        self._live = []
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
        self.faults = Faults(self.root, self.topology, self.power)
        self.faults.set_auth(policy)
        self._live = [
            procstat.serve(self.root, self.topology),
            *(powerfiles.serve(self.root, self.power) if self.topology.battery else []),
        ]
        spawner = sandbox.Spawner(self.root, sandbox.device_env(merged))
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

    # -- faults.Controller ------------------------------------------------------------
    def drop_connections(self) -> None:
        self._loop.call_soon_threadsafe(self._core.drop_connections_now)

    def drop_at(self, delay_s: float) -> None:
        self._loop.call_soon_threadsafe(
            self._loop.call_later, delay_s, self._core.drop_connections_now
        )

    def go_offline(self, seconds: float) -> None:
        asyncio.run_coroutine_threadsafe(self._core.offline(seconds), self._loop)

    # -- public API ---------------------------------------------------------------------
    def affinity_records(self) -> list[dict[str, Any]]:
        """Every affinity change made through the device's taskset, oldest first."""
        path = self.root / "state" / "affinity.jsonl"
        records = []
        for line in path.read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
        return records

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


def _topology(value: Path | str | dict[str, Any] | topomod.Topology | None) -> topomod.Topology:
    if isinstance(value, topomod.Topology):
        return value
    if isinstance(value, dict):
        return topomod.parse(value)
    return topomod.load(Path(value) if value is not None else None)
