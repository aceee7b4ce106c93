"""fetch-binary against a local HTTP server on 127.0.0.1 (no other network exists here)."""

from __future__ import annotations

import hashlib
import http.server
import json
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.device import download
from harness.errors import DownloadError, HarnessError


def _elf(bits: int, machine: int, size: int = 4096) -> bytes:
    head = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1, 1]) + bytes(9)
    return (head + struct.pack("<HH", 2, machine)).ljust(size, b"\0")


class Mirror:
    """A tiny bucket: path -> bytes, counting requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: list[str] = []
        self.truncate: set[str] = set()
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                mirror.hits.append(self.path)
                body = mirror.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # A dropped connection: fewer bytes than announced.
                self.wfile.write(body[: len(body) // 2] if self.path in mirror.truncate else body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/nightly"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    m = Mirror()
    yield m
    m.server.shutdown()
    m.server.server_close()


def test_fetch_caches_and_indexes(mirror: Mirror, tmp_path: Path) -> None:
    body = _elf(64, 183)
    mirror.files["/nightly/android_aarch64_benchmark_model"] = body
    got = download.fetch_binary("arm64-v8a", base_url=mirror.url, root=tmp_path)
    assert got.path.read_bytes() == body and got.sha256 == hashlib.sha256(body).hexdigest()
    assert not got.cached and not got.official  # a mirror is not the official bucket
    assert got.path.stat().st_mode & 0o111
    index = download.load_index(tmp_path)
    assert str(index[got.sha256].url).endswith("/android_aarch64_benchmark_model")
    again = download.fetch_binary("arm64-v8a", base_url=mirror.url, root=tmp_path)
    assert again.cached and again.sha256 == got.sha256
    assert len(mirror.hits) == 1
    assert (
        download.fetch_binary("arm64-v8a", base_url=mirror.url, root=tmp_path, force=True).cached
        is False
    )
    assert len(mirror.hits) == 2


def test_wrong_or_broken_download_keeps_the_good_copy(mirror: Mirror, tmp_path: Path) -> None:
    good = _elf(32, 40)
    mirror.files["/nightly/android_arm_benchmark_model"] = good
    first = download.fetch_binary("armeabi-v7a", base_url=mirror.url, root=tmp_path)
    mirror.files["/nightly/android_arm_benchmark_model"] = b"<html>quota exceeded</html>"
    with pytest.raises(DownloadError, match="not a benchmark_model"):
        download.fetch_binary("armeabi-v7a", base_url=mirror.url, root=tmp_path, force=True)
    mirror.files["/nightly/android_arm_benchmark_model"] = _elf(64, 183)
    with pytest.raises(DownloadError, match="not armeabi-v7a"):
        download.fetch_binary("armeabi-v7a", base_url=mirror.url, root=tmp_path, force=True)
    mirror.files["/nightly/android_arm_benchmark_model"] = good
    mirror.truncate.add("/nightly/android_arm_benchmark_model")
    with pytest.raises(DownloadError):
        download.fetch_binary("armeabi-v7a", base_url=mirror.url, root=tmp_path, force=True)
    assert first.path.read_bytes() == good
    assert not list(first.path.parent.glob("*.download*"))


def test_http_errors_and_bad_input(mirror: Mirror, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        download.fetch_binary("x86_64", base_url=mirror.url, root=tmp_path)
    with pytest.raises(HarnessError, match="no official benchmark_model"):
        download.fetch_binary("mips", base_url=mirror.url, root=tmp_path)
    with pytest.raises(HarnessError, match="http"):
        download.fetch_binary("arm64-v8a", base_url="file:///etc", root=tmp_path)
    with pytest.raises(DownloadError):
        download.fetch_binary(
            "arm64-v8a", base_url="http://127.0.0.1:9/x", root=tmp_path, timeout_s=2
        )


def test_official_urls_are_the_documented_ones() -> None:
    assert download.binary_url("arm64-v8a") == (
        "https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/"
        "tools/nightly/latest/android_aarch64_benchmark_model"
    )
    assert download.binary_url("armeabi-v7a").endswith("/android_arm_benchmark_model")


def test_cli_fetch_binary(
    mirror: Mirror,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    mirror.files["/nightly/linux_x86-64_benchmark_model"] = _elf(64, 62)
    code = main(["fetch-binary", "--abi", "x86_64", "--base-url", mirror.url, "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["abi"] == "x86_64" and Path(data["path"]).is_file()
    assert main(["fetch-binary", "--abi", "arm64-v8a", "--base-url", mirror.url]) == 3
    assert "HTTP 404" in capsys.readouterr().err
