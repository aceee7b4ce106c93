"""harness.convert.archive and import_model: checkpoint archives and ready .tflite files.

Downloads go to a real HTTP server on 127.0.0.1 serving archives built here
the way the official ones are laid out (checkpoint files beside a .tflite).
"""

from __future__ import annotations

import http.server
import io
import json
import socket
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import catalogue
from harness.cli import main
from harness.convert import archive, import_model
from harness.convert.analysis import analyze_bytes
from harness.errors import DownloadError, ModelError

DATA = Path(__file__).parent.parent / "data" / "convert"
TINY = (DATA / "tiny_fp32.tflite").read_bytes()


def make_tgz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def checkpoint_members(variant_id: str) -> dict[str, bytes]:
    return {
        f"./{variant_id}.ckpt.index": b"index",
        f"./{variant_id}_frozen.pb": b"graph",
        f"./{variant_id}.tflite": TINY,
    }


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/short/"):
            # Promise more than is sent, then hang up: a dropped download.
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_writes_the_whole_file(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    (root / "blob.bin").write_bytes(TINY * 500)
    dest = tmp_path / "dl" / "blob.bin"
    assert archive.download(f"{url}/blob.bin", dest, timeout_s=10) == dest
    assert dest.read_bytes() == TINY * 500
    assert [p.name for p in dest.parent.iterdir()] == ["blob.bin"]


def test_http_error_is_a_download_error(server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "dl" / "missing.tgz"
    with pytest.raises(DownloadError, match="404"):
        archive.download(f"{url}/missing.tgz", dest, timeout_s=10)
    assert not dest.exists()


def test_dropped_connection_leaves_no_file(server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "dl" / "cut.tgz"
    with pytest.raises(DownloadError):
        archive.download(f"{url}/short/cut.tgz", dest, timeout_s=10)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_refused_connection_is_a_download_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match=str(port)):
        archive.download(f"http://127.0.0.1:{port}/x.tgz", tmp_path / "x.tgz", timeout_s=5)


def test_tflite_from_checkpoint_archive(tmp_path: Path) -> None:
    tgz = make_tgz(tmp_path / "a.tgz", checkpoint_members("mobilenet_v2_0.35_96"))
    name, data = archive.tflite_from_archive(tgz)
    assert name.endswith("mobilenet_v2_0.35_96.tflite")
    assert data == TINY


def test_several_tflite_members_need_a_name(tmp_path: Path) -> None:
    members = {"a/mobilenet_v2_1.0_224.tflite": TINY, "a/other.tflite": b"TFL3-not-it"}
    tgz = make_tgz(tmp_path / "two.tgz", members)
    assert archive.tflite_from_archive(tgz, prefer="mobilenet_v2_1.0_224")[1] == TINY
    with pytest.raises(ModelError, match="several"):
        archive.tflite_from_archive(tgz)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no .tflite"),
        (b"this is not gzip at all", "not a readable"),
    ],
)
def test_bad_archives(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.tgz"
    if content is None:
        make_tgz(path, {"./model.ckpt.index": b"index"})
    else:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as info:
        archive.tflite_from_archive(path)
    assert info.value.path == str(path)


def test_truncated_archive_names_the_file(tmp_path: Path) -> None:
    full = make_tgz(tmp_path / "full.tgz", checkpoint_members("mobilenet_v2_0.35_96"))
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(ModelError, match=r"cut\.tgz"):
        archive.tflite_from_archive(cut)


def test_import_from_url_guesses_the_variant_and_caches(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = server
    make_tgz(root / "mobilenet_v2_0.35_96.tgz", checkpoint_members("mobilenet_v2_0.35_96"))
    cache = tmp_path / "cache"
    first = import_model(f"{url}/mobilenet_v2_0.35_96.tgz", cache_root=cache, timeout_s=10)
    assert first.variant.id == "mobilenet_v2_0.35_96"
    assert first.quant == "file"
    assert not first.cached
    assert first.path.read_bytes() == TINY
    assert first.macs == analyze_bytes(TINY).macs
    assert "mobilenet_v2_0.35_96.tflite" in first.source
    (root / "mobilenet_v2_0.35_96.tgz").unlink()  # the second import needs no download
    again = import_model(f"{url}/mobilenet_v2_0.35_96.tgz", cache_root=cache, timeout_s=10)
    assert again.cached
    assert again.path == first.path


def test_import_ready_tflite(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="which variant"):
        import_model(DATA / "tiny_fp32.tflite", cache_root=tmp_path)
    model = import_model(
        DATA / "tiny_fp32.tflite",
        variant=catalogue.get("v1:0.25_128"),
        cache_root=tmp_path,
        out_dir=tmp_path / "out",
    )
    assert model.path == tmp_path / "out" / "mobilenet_v1_0.25_128_file.tflite"
    assert model.path.read_bytes() == TINY
    assert model.sha256 == model.to_dict()["sha256"]


def test_import_refuses_a_non_tflite_file(tmp_path: Path) -> None:
    fake = tmp_path / "mobilenet_v2_1.0_224.tflite"
    fake.write_bytes(b"<html>not found</html>")
    with pytest.raises(ModelError, match="not a TFLite"):
        import_model(fake, cache_root=tmp_path)


def test_cli_from_official_uses_the_mirror(
    server: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, root = server
    for variant_id in ("mobilenet_v2_0.35_96", "mobilenet_v2_0.35_128"):
        make_tgz(root / f"{variant_id}.tgz", checkpoint_members(variant_id))
    monkeypatch.setenv("HARNESS_CHECKPOINT_MIRROR", url)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["convert", "--variants", "v2:0.35_96,v2:0.35_128", "--from", "official", "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["mobilenet_v2_0.35_128", "mobilenet_v2_0.35_96"]
    assert {r["quant"] for r in rows} == {"file"}
    assert all(Path(r["path"]).is_file() for r in rows)


def test_cli_missing_official_archive_is_one_line(
    server: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, _ = server
    monkeypatch.setenv("HARNESS_CHECKPOINT_MIRROR", url)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["convert", "--variants", "v2:0.35_96", "--from", "official"])
    err = capsys.readouterr().err
    assert code == 3
    assert err.count("\n") == 1
    assert err.startswith("error: ") and "404" in err
