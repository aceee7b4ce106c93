"""HTTP(S) downloads with bounds: a size cap, an overall deadline, a clear URL check.

Both things the harness fetches (a checkpoint archive for `convert --from URL`,
the nightly `benchmark_model` for `fetch-binary`) come through here. A socket
timeout alone does not bound a download: a server that sends one byte every
two seconds never trips it, and an endless body fills the memory or the disk.
So a body is streamed to a temporary file and refused past `max_bytes`, and a
watchdog shuts the connection when `deadline_s` has passed, whatever call is
waiting on it (the headers included); the caller then gets one `DownloadError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import DownloadError, UrlError
from harness.inputs import parse_int, size_text
from harness.outputs import write_atomic

CHUNK_BYTES = 1 << 20
DEFAULT_TIMEOUT_S = 60.0  # a single network wait (connect, a read)
DEFAULT_DEADLINE_S = 1800.0  # the whole download: 100 MB at 0.5 Mbit/s


def check_url(url: str) -> urllib.parse.SplitResult:
    """`url` split, if it is an http(s) URL with a host (and a port, if any, in range)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as exc:
        raise UrlError(url, str(exc)) from None
    if parts.scheme not in ("http", "https"):
        raise UrlError(url, "only http and https URLs can be fetched")
    if not parts.hostname:
        raise UrlError(url, "no host")
    if port == 0:
        raise UrlError(url, "port 0")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UrlError(url, "white space or control characters")
    return parts


class _Watchdog:
    """Shuts every socket of one download down when its deadline passes."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(deadline_s, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()
        self._timer.join()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # wakes a recv blocked in another thread
            sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection], watchdog: _Watchdog) -> Any:
    class Watched(base):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    return Watched


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._connection = _watched(http.client.HTTPConnection, watchdog)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(context=self._tls)
        self._connection = _watched(http.client.HTTPSConnection, watchdog)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection, req, context=self._tls)


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    """http(s) only, redirects included: a redirect to ftp:// or file:// is refused."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _HTTPHandler(watchdog),
        _HTTPSHandler(watchdog),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.UnknownHandler(),
    ):
        opener.add_handler(handler)
    return opener


@dataclass(frozen=True)
class Fetched:
    """A finished download: where it is, how big, its sha256."""

    path: Path
    size_bytes: int
    sha256: str


def fetch(
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    deadline_s: float = DEFAULT_DEADLINE_S,
) -> Fetched:
    """Fetch `url` into `dest` atomically; `DownloadError` on any failure (exit 3).

    Refused: a body over `max_bytes` (from its Content-Length at once, else when
    the count passes it), a body shorter than its Content-Length, a download
    still running after `deadline_s`; `UrlError` (exit 2) for a malformed URL.
    """
    check_url(url)
    watchdog = _Watchdog(deadline_s)
    opener = _opener(watchdog)
    digest = hashlib.sha256()
    received = 0

    def body(response: http.client.HTTPResponse, expected: int | None) -> Iterator[bytes]:
        nonlocal received
        while block := response.read1(CHUNK_BYTES):
            received += len(block)
            if received > max_bytes:
                raise DownloadError(f"{url}: over the {size_text(max_bytes)} limit")
            digest.update(block)
            yield block
        if watchdog.expired:
            raise _expired(url, deadline_s)
        if expected is not None and received != expected:
            raise DownloadError(f"{url}: connection closed after {received} of {expected} bytes")

    try:
        with watchdog, opener.open(url, timeout=min(timeout_s, deadline_s)) as response:
            expected = _content_length(response, url, max_bytes)
            write_atomic(dest, body(response, expected), option="download")
    except DownloadError:
        raise
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        if watchdog.expired:
            raise _expired(url, deadline_s) from None
        if isinstance(exc, OSError) and not _network_error(exc):
            raise  # the local disk's trouble, not the network's (harness.errors.from_os_error)
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"{url}: {reason}") from None
    return Fetched(dest, received, digest.hexdigest())


def _network_error(exc: OSError) -> bool:
    return isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError,
                            socket.gaierror, socket.herror))  # fmt: skip


def _expired(url: str, deadline_s: float) -> DownloadError:
    return DownloadError(f"{url}: the download did not finish within {deadline_s:g} s")


def _content_length(response: http.client.HTTPResponse, url: str, max_bytes: int) -> int | None:
    """The body's announced length (None when not announced); refused when over the cap."""
    value = (response.headers.get("Content-Length") or "").strip()
    if not value.isdigit():
        return None
    try:
        expected = parse_int(value)
    except ValueError:  # more digits than any real length
        expected = max_bytes + 1
    if expected > max_bytes:
        raise DownloadError(f"{url}: {value[:24]} bytes is over the {size_text(max_bytes)} limit")
    return expected
