"""harness.fetch: downloads with a size cap and an overall deadline, and URLs checked first.

The server is a raw socket server in this process that misbehaves on purpose:
a body with no end, a body dripped one byte at a time (which a socket timeout
never notices), headers dripped the same way, a Content-Length of 31 digits.
Deadlines are set small by the test and judged by the error raised, never by
measuring how long anything took.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.device import download as binaries
from harness.errors import EXIT_INPUT, DownloadError, UrlError
from harness.fetch import check_url, fetch


class Misbehaving:
    """One thread per connection; each path is one way of never finishing properly."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.threads: list[threading.Thread] = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1].decode()
            try:
                self._answer(conn, path)
            except OSError:  # the client hung up: what a refusal looks like from here
                return

    def _answer(self, conn: socket.socket, path: str) -> None:
        if "drip-headers" in path:
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not self.stop.wait(0.02):
                conn.sendall(b"a")
        elif "drip" in path:
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            while not self.stop.wait(0.02):
                conn.sendall(b"\x7f")
        elif "endless" in path:
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            while not self.stop.is_set():
                conn.sendall(bytes(1 << 16))
        elif "to-ftp" in path:
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1:1/x\r\n"
                         b"Content-Length: 0\r\n\r\n")  # fmt: skip
        elif "claims" in path:
            length = path.rsplit("/", 1)[-1]
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n".encode())
            conn.sendall(b"x" * 100)
            self.stop.wait()
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):  # wakes the accept() (close alone would not)
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.accepting.join()
        for thread in self.threads:
            thread.join()


@pytest.fixture()
def server() -> Iterator[Misbehaving]:
    s = Misbehaving()
    yield s
    s.close()


def _nothing_left(folder: Path) -> bool:
    return not folder.exists() or list(folder.iterdir()) == []


def test_a_well_behaved_download(server: Misbehaving, tmp_path: Path) -> None:
    got = fetch(f"{server.url}/ok", tmp_path / "dl" / "f", max_bytes=100)
    assert got.path.read_bytes() == b"hello" and got.size_bytes == 5


def test_a_body_dripped_a_byte_at_a_time_hits_the_deadline(
    server: Misbehaving, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match=r"did not finish within 0\.3 s"):
        fetch(f"{server.url}/drip", tmp_path / "dl" / "f", max_bytes=1 << 20,
              timeout_s=60, deadline_s=0.3)  # fmt: skip
    assert _nothing_left(tmp_path / "dl")


def test_headers_dripped_a_byte_at_a_time_hit_the_deadline(
    server: Misbehaving, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match=r"did not finish within 0\.3 s"):
        fetch(f"{server.url}/drip-headers", tmp_path / "f", max_bytes=1 << 20,
              timeout_s=60, deadline_s=0.3)  # fmt: skip


def test_an_endless_body_stops_at_the_size_cap(server: Misbehaving, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="over the 1 MiB limit"):
        fetch(f"{server.url}/endless", tmp_path / "dl" / "f", max_bytes=1 << 20)
    assert _nothing_left(tmp_path / "dl")


def test_a_redirect_away_from_http_is_refused(server: Misbehaving, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="unknown url type: ftp"):
        fetch(f"{server.url}/to-ftp", tmp_path / "f", max_bytes=100)


@pytest.mark.parametrize("length", ["2000", "9" * 31])
def test_a_content_length_over_the_cap_is_refused_before_the_body(
    server: Misbehaving, tmp_path: Path, length: str
) -> None:
    with pytest.raises(DownloadError, match="over the 1000 bytes limit"):
        fetch(f"{server.url}/claims/{length}", tmp_path / "f", max_bytes=1000)


def test_fetch_binary_is_bounded_in_size_and_time(server: Misbehaving, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="over the 64 KiB limit"):
        binaries.fetch_binary("arm64-v8a", base_url=f"{server.url}/endless",
                              root=tmp_path, max_bytes=1 << 16)  # fmt: skip
    with pytest.raises(DownloadError, match=r"did not finish within 0\.3 s"):
        binaries.fetch_binary("arm64-v8a", base_url=f"{server.url}/drip",
                              root=tmp_path, deadline_s=0.3)  # fmt: skip
    assert _nothing_left(tmp_path / "arm64-v8a")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://[::1/x.tgz", "Invalid IPv6 URL"),
        ("http://127.0.0.1:99999/x.tgz", "Port out of range"),
        ("http://127.0.0.1:port/x.tgz", "Port could not be cast"),
        ("http:///x.tgz", "no host"),
        ("http://exa mple.com/x.tgz", "white space or control characters"),
        ("http://example.com/x\x00.tgz", "white space or control characters"),
    ],
)
def test_malformed_urls_are_one_line_and_exit_2(
    url: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with pytest.raises(UrlError, match=why):
        check_url(url)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    for args in (["convert", "--from", url, "--variants", "v2:0.35_96"],
                 ["fetch-binary", "--base-url", url]):  # fmt: skip
        assert main(args) == EXIT_INPUT
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: not a usable URL"), err


def test_only_http_and_https_are_fetched(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch-binary", "--base-url", "ftp://example.com/x"]) == EXIT_INPUT
    assert "only http and https" in capsys.readouterr().err
