"""What a client of the simulated phone's port can see: the phone's files, not the host's.

Through the real adb server, with the default (no adb auth): `adb shell` and
the sync service (`adb pull`, `adb ls`) reach the device's own files and the
runtime of its programs, never the host's home folder, adb key, /tmp or the
checkout, not even through a symlink made on the device.
"""

from __future__ import annotations

import importlib.metadata
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

import harness
from harness.sim import SimDevice, hostfiles, image, sandbox, tools
from harness.sim.auth import parse_public_key

pytestmark = pytest.mark.integration

CHECKOUT = Path(harness.__file__).resolve().parents[1]


@pytest.fixture
def markers(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """A file with a secret in the host's home, in the host's /tmp and in the checkout."""
    secret = secrets.token_hex(8)
    places = {
        "home": Path.home() / f".harness-sandbox-marker-{secret}",
        "tmp": Path("/tmp") / f"harness-sandbox-marker-{secret}",
        "checkout": CHECKOUT / f".harness-sandbox-marker-{secret}",
    }
    for path in places.values():
        path.write_text(f"host secret {secret}\n")
    try:
        yield places
    finally:
        for path in places.values():
            path.unlink(missing_ok=True)


def _shell(adb_server, sim: SimDevice, command: str) -> subprocess.CompletedProcess[str]:
    return adb_server.run("-s", sim.serial, "shell", command)


def _adb_key() -> Path:
    key = Path.home() / ".android" / "adbkey"
    assert key.is_file(), "the adb server writes its key there when it starts"
    return key


def test_shell_cannot_read_the_hosts_files(sim: SimDevice, adb_server, markers) -> None:
    for path in [*markers.values(), _adb_key()]:
        result = _shell(adb_server, sim, f"cat '{path}'")
        said = adb_server.said(result)
        assert result.returncode != 0, f"the device read {path}: {said!r}"
        assert "host secret" not in said and "PRIVATE KEY" not in said
    for folder in ("/home", "/root", "/tmp", str(Path.home()), str(CHECKOUT)):
        result = _shell(adb_server, sim, f"ls '{folder}'")
        assert result.returncode != 0, f"the device listed {folder}: {result.stdout!r}"
        assert result.stdout == ""


def test_shell_finds_only_the_phones_top_folders(sim: SimDevice, adb_server) -> None:
    listed = set(_shell(adb_server, sim, "ls /").stdout.split())
    assert {"data", "dev", "etc", "proc", "sys", "system"} <= listed
    host_tops = {"home", "tmp", "work", "opt", "var", "mnt", "srv", "boot"}
    # The stand-in's interpreter is bound where it lives on the host, so a venv under /tmp
    # or /home shows that top folder too: made for the way through, never listable.
    runtime = {PurePosixPath(f).parts[1] for f in sandbox.host_view().made_folders()}
    assert not (listed - runtime) & host_tops
    for top in sorted(listed & runtime & host_tops):
        result = _shell(adb_server, sim, f"ls /{top}")
        assert result.returncode != 0 and result.stdout == "", f"the device listed /{top}"
    result = _shell(adb_server, sim, "touch /x")
    assert result.returncode != 0 and "Read-only file system" in adb_server.said(result)
    # What is there of the host is what the device's programs run on, and no listing of it.
    passwd = _shell(adb_server, sim, "cat /etc/passwd").stdout
    assert {line.split(":")[0] for line in passwd.splitlines()} == {"shell", "nobody"}


def test_sync_cannot_read_the_hosts_files(
    sim: SimDevice, adb_server, markers, tmp_path: Path
) -> None:
    for path in [*markers.values(), _adb_key()]:
        result = adb_server.run("-s", sim.serial, "pull", str(path), str(tmp_path / "got"))
        assert result.returncode != 0, f"adb pull read {path}"
        assert not (tmp_path / "got").exists()
    listing = adb_server.run("-s", sim.serial, "ls", str(Path.home())).stdout
    assert markers["home"].name not in listing


def test_a_symlink_made_on_the_device_leads_nowhere_on_the_host(
    sim: SimDevice, adb_server, markers, tmp_path: Path
) -> None:
    key = _adb_key()
    made = _shell(
        adb_server,
        sim,
        f"ln -s '{key}' /data/local/tmp/key && ln -s / /data/local/tmp/root"
        f" && ln -s '{markers['tmp'].parent}' /data/local/tmp/hosttmp",
    )
    assert made.returncode == 0, adb_server.said(made)
    for remote in (
        "/data/local/tmp/key",
        f"/data/local/tmp/root{key}",
        f"/data/local/tmp/root{markers['home']}",
        f"/data/local/tmp/hosttmp/{markers['tmp'].name}",
    ):
        result = adb_server.run("-s", sim.serial, "pull", remote, str(tmp_path / "got"))
        assert result.returncode != 0, f"adb pull {remote} read a host file"
        assert not (tmp_path / "got").exists()
    listing = adb_server.run("-s", sim.serial, "ls", "/data/local/tmp/hosttmp/").stdout
    assert markers["tmp"].name not in listing


def test_the_device_still_pulls_its_own_files(sim: SimDevice, adb_server, tmp_path: Path) -> None:
    """The sync service sees what the shell sees, the runtime's programs included."""
    assert _shell(adb_server, sim, "echo hi > /data/local/tmp/own").returncode == 0
    got = tmp_path / "own"
    assert adb_server.run("-s", sim.serial, "pull", "/data/local/tmp/own", str(got)).returncode == 0
    assert got.read_text() == "hi\n"
    shell = tmp_path / "sh"
    assert adb_server.run("-s", sim.serial, "pull", "/system/bin/sh", str(shell)).returncode == 0
    assert shell.read_bytes() == Path(image.host_programs()["sh"]).read_bytes()


def test_auth_on_with_this_hosts_key_trusted_lets_it_in(make_sim, adb_server) -> None:
    """docs/sim.md's recipe for a shared machine: adb auth on, only your adb key trusted."""
    device = make_sim(connect=False, auth="refuse")
    key = parse_public_key((Path.home() / ".android" / "adbkey.pub").read_bytes())
    assert key is not None
    device.faults.trusted_keys.add(key)
    adb_server.connect(device.serial)  # in by signature: no prompt, no other key
    assert _shell(adb_server, device, "echo in").stdout == "in\n"
    assert device.faults.trusted_keys.keys() == [key]


def _run_in_view(view: hostfiles.HostView, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` in a namespace holding nothing but `view` (as a device's, without its image)."""
    bwrap = shutil.which("bwrap")
    assert bwrap, "bubblewrap is installed with the simulated device's packages"
    return subprocess.run(
        [bwrap, "--unshare-user", "--unshare-pid", "--uid", "2000", "--gid", "2000",
         *view.mount_args(), "--dev", "/dev", "--proc", "/proc", "--ro-bind", "/sys", "/sys",
         *view.seal_args(), "--remount-ro", "/", "--clearenv", *argv],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


_STANDIN_IMPORTS = (
    "import numpy; from ai_edge_litert import interpreter; print('imported');"
    # The stand-in names its LiteRT in every log's first line, from the package's metadata.
    " import importlib.metadata as m; print(m.version('ai-edge-litert'))"
)


@pytest.mark.parametrize("kind", ["this interpreter", "a venv of it"])
def test_the_stand_ins_interpreter_runs_from_the_view_alone(kind: str, tmp_path: Path) -> None:
    python = sys.executable
    if kind == "a venv of it":
        # A venv elsewhere, its packages from the base interpreter's site folder.
        venv = tmp_path / "venv"
        subprocess.run(
            [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
            check=True,
            timeout=120,
        )
        python = str(venv / "bin" / "python")
    programs = tuple(sorted(set(image.host_programs().values())))
    view = hostfiles.host_view(programs, python, tools.import_lines())
    result = _run_in_view(view, [python, "-I", "-c", _STANDIN_IMPORTS])
    assert result.returncode == 0, result.stderr
    litert = importlib.metadata.version("ai-edge-litert")
    assert result.stdout == f"imported\n{litert}\n" and result.stderr == ""
    # The editable install's finder (a .pth in site-packages) and the checkout stay out.
    probe = "import sys; print(sys.path); import harness"
    result = _run_in_view(view, [python, "-I", "-c", probe])
    assert "No module named 'harness'" in result.stderr
    assert str(CHECKOUT) not in result.stdout
