"""The device side of the adb transport: connections, streams, flow control.

One `Connection` per TCP client (an adb server, or a host library such as
adb-shell talking to the device directly). Streams follow the adb rules from
`protocol.txt`: the device answers OPEN with OKAY (or CLSE to refuse), sends
one WRTE at a time and waits for the host's OKAY before the next, acknowledges
every WRTE it receives, and answers a CLSE with a CLSE. When the device's
auth policy asks for it, the handshake goes through AUTH first (`auth.py`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from harness.errors import ProtocolError
from harness.sim import auth
from harness.sim import protocol as p

log = logging.getLogger(__name__)

# How many received WRTE payloads may wait unconsumed before the device holds back
# its OKAY: enough to overlap network and disk, bounded so memory stays small.
INBOX_ACK_LIMIT = 2


class Hooks(Protocol):
    """What a connection asks of the device it belongs to (faults, services)."""

    def banner(self) -> bytes: ...

    def auth_policy(self) -> auth.AuthPolicy: ...

    def trusts(self, token: bytes, signature: bytes) -> bool: ...

    def on_public_key(self, conn: Connection, payload: bytes) -> None: ...

    def on_bytes(self, conn: Connection, count: int) -> None: ...

    def on_open(self, conn: Connection, service: str) -> bool: ...

    def service_for(self, service: str) -> Callable[[Stream], Awaitable[None]] | None: ...


class Stream:
    """One adb stream: a service's byte pipe to the host, with adb flow control."""

    def __init__(self, conn: Connection, local_id: int, remote_id: int) -> None:
        self.conn = conn
        self.local_id = local_id
        self.remote_id = remote_id
        self.closed = False
        self._inbox: deque[bytes] = deque()
        self._inbox_event = asyncio.Event()
        self._ack_owed = False
        self._can_send = asyncio.Event()
        self._can_send.set()

    # -- called by the connection -------------------------------------------------
    def _deliver(self, data: bytes) -> None:
        self._inbox.append(data)
        self._inbox_event.set()
        if len(self._inbox) <= INBOX_ACK_LIMIT:
            self.conn.send(p.Packet(p.A_OKAY, self.local_id, self.remote_id))
        else:
            self._ack_owed = True

    def _acked(self) -> None:
        self._can_send.set()

    def _closed_by_host(self) -> None:
        self.closed = True
        self._inbox_event.set()
        self._can_send.set()

    # -- used by services ---------------------------------------------------------
    async def read(self) -> bytes:
        """Next payload from the host; b"" once the host closed the stream."""
        while not self._inbox:
            if self.closed:
                return b""
            self._inbox_event.clear()
            await self._inbox_event.wait()
        data = self._inbox.popleft()
        if self._ack_owed and len(self._inbox) <= INBOX_ACK_LIMIT and not self.closed:
            self._ack_owed = False
            self.conn.send(p.Packet(p.A_OKAY, self.local_id, self.remote_id))
        return data

    async def write(self, data: bytes) -> bool:
        """Send data in max-payload WRTEs, one in flight; False if the stream is gone."""
        view = memoryview(data)
        step = self.conn.max_payload
        for start in range(0, len(view), step):
            await self._can_send.wait()
            if self.closed:
                return False
            self._can_send.clear()
            self.conn.send(
                p.Packet(p.A_WRTE, self.local_id, self.remote_id, bytes(view[start : start + step]))
            )
            await self.conn.drain()
        return not self.closed

    async def wait_writable(self) -> None:
        """Wait until the last WRTE was acknowledged (so everything reached the host)."""
        await self._can_send.wait()

    def close(self) -> None:
        """Close from the device side (the host answers with its own CLSE)."""
        if not self.closed:
            self.closed = True
            self.conn.send(p.Packet(p.A_CLSE, self.local_id, self.remote_id))
            self.conn.forget(self)
        self._inbox_event.set()
        self._can_send.set()


class Connection:
    """One host connection: reads packets, dispatches them to streams."""

    def __init__(
        self, hooks: Hooks, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.hooks = hooks
        self.reader = reader
        self.writer = writer
        self.version = p.VERSION_SKIP_CHECKSUM
        self.max_payload = 4096  # until the host's CNXN says otherwise
        self.connected = False
        self.token: bytes | None = None  # the AUTH challenge the host must answer
        self.streams: dict[int, Stream] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._next_id = 1
        self.peer = str(writer.get_extra_info("peername"))

    @property
    def with_checksum(self) -> bool:
        return self.version < p.VERSION_SKIP_CHECKSUM

    def send(self, packet: p.Packet) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(p.encode(packet, with_checksum=self.with_checksum))
        if packet.data:
            self.hooks.on_bytes(self, len(packet.data))

    async def drain(self) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, RuntimeError):
            self.abort()

    def forget(self, stream: Stream) -> None:
        self.streams.pop(stream.local_id, None)

    def abort(self) -> None:
        """Drop the TCP connection at once (faults, protocol errors)."""
        transport = self.writer.transport
        if not transport.is_closing():
            transport.abort()
        for stream in list(self.streams.values()):
            stream._closed_by_host()

    async def run(self) -> None:
        """Serve packets until the host goes away; then close every stream."""
        try:
            while True:
                header = await self.reader.readexactly(p.HEADER.size)
                command, arg0, arg1, length = p.decode_header(header, max_payload=p.MAX_PAYLOAD)
                data = await self.reader.readexactly(length) if length else b""
                if data:
                    self.hooks.on_bytes(self, len(data))
                self._dispatch(p.Packet(command, arg0, arg1, data))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except ProtocolError as exc:
            log.warning("dropping %s: %s", self.peer, exc)
        finally:
            self.abort()
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)
            self.writer.close()

    def _dispatch(self, packet: p.Packet) -> None:
        if packet.command == p.A_CNXN:
            self._on_connect(packet)
            return
        if packet.command == p.A_AUTH:
            self._on_auth(packet)
            return
        if not self.connected:
            return  # adbd ignores everything before the handshake
        if packet.command == p.A_OPEN:
            self._on_open(packet)
        elif packet.command == p.A_WRTE:
            stream = self.streams.get(packet.arg1)
            # Data for a stream the device already closed is dropped, like adbd does: a
            # CLSE here could close a newer stream that reuses the host's id.
            if stream is not None:
                stream._deliver(packet.data)
        elif packet.command == p.A_OKAY:
            stream = self.streams.get(packet.arg1)
            if stream is not None:
                stream._acked()
        elif packet.command == p.A_CLSE:
            stream = self.streams.pop(packet.arg1, None)
            if stream is not None and not stream.closed:
                stream._closed_by_host()
                self.send(p.Packet(p.A_CLSE, stream.local_id, stream.remote_id))

    def _on_connect(self, packet: p.Packet) -> None:
        self.version = min(packet.arg0, p.VERSION_SKIP_CHECKSUM)
        self.max_payload = max(256, min(packet.arg1, p.MAX_PAYLOAD))
        self.connected = False  # a repeated CNXN gets a new handshake, as before
        if self.hooks.auth_policy().required:
            self._challenge()
            return
        self.accept_host()

    def _challenge(self) -> None:
        """AUTH(TOKEN): a fresh 20-byte challenge, as adbd's send_auth_request."""
        self.token = os.urandom(auth.TOKEN_SIZE)
        self.send(p.Packet(p.A_AUTH, auth.AUTH_TOKEN, 0, self.token))

    def accept_host(self) -> None:
        """Finish the handshake with our CNXN (at once, or once the host is trusted)."""
        if self.connected or self.writer.is_closing():
            return
        self.connected = True
        self.token = None
        self.send(p.Packet(p.A_CNXN, self.version, p.MAX_PAYLOAD, self.hooks.banner()))

    def _on_auth(self, packet: p.Packet) -> None:
        if self.connected or self.token is None:
            return  # no challenge outstanding: adbd drops stray AUTH packets
        if packet.arg0 == auth.AUTH_SIGNATURE:
            if self.hooks.trusts(self.token, packet.data):
                self.accept_host()
            else:
                self._challenge()  # the host tries its next key, then sends its public key
        elif packet.arg0 == auth.AUTH_RSAPUBLICKEY:
            self.hooks.on_public_key(self, packet.data)

    def _on_open(self, packet: p.Packet) -> None:
        service = packet.data.rstrip(b"\0").decode("utf-8", "surrogateescape")
        if not self.hooks.on_open(self, service):
            return  # a fault dropped the connection
        handler = self.hooks.service_for(service)
        if handler is None:
            log.debug("refusing service %r", service)
            self.send(p.Packet(p.A_CLSE, 0, packet.arg0))
            return
        local_id = self._next_id
        self._next_id += 1
        stream = Stream(self, local_id, packet.arg0)
        self.streams[local_id] = stream
        self.send(p.Packet(p.A_OKAY, local_id, packet.arg0))
        task = asyncio.get_running_loop().create_task(self._serve(handler, stream, service))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _serve(
        self, handler: Callable[[Stream], Awaitable[None]], stream: Stream, service: str
    ) -> None:
        try:
            await handler(stream)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("service %r failed", service)
        finally:
            stream.close()
