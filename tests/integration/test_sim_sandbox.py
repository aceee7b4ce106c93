"""What a client of the simulated phone's port can see: the phone's files, not the host's.

Through the real adb server, with the default (no adb auth): `adb shell`
reaches the device's own files and the runtime of its programs, never the
host's home folder, adb key, /tmp or the checkout.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import harness
from harness.sim import SimDevice, hostfiles, image, tools

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
    assert not listed & {"home", "tmp", "work", "opt", "var", "mnt", "srv", "boot"}
    result = _shell(adb_server, sim, "touch /x")
    assert result.returncode != 0 and "Read-only file system" in adb_server.said(result)
    # What is there of the host is what the device's programs run on, and no listing of it.
    passwd = _shell(adb_server, sim, "cat /etc/passwd").stdout
    assert {line.split(":")[0] for line in passwd.splitlines()} == {"shell", "nobody"}


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


_STANDIN_IMPORTS = "import numpy; from ai_edge_litert import interpreter; print('imported')"


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
    assert result.stdout == "imported\n" and result.stderr == ""
    # The editable install's finder (a .pth in site-packages) and the checkout stay out.
    probe = "import sys; print(sys.path); import harness"
    result = _run_in_view(view, [python, "-I", "-c", probe])
    assert "No module named 'harness'" in result.stderr
    assert str(CHECKOUT) not in result.stdout
