"""Safe pushes and listings through the sync agent (harness.sim.fs, harness.sim.sync_agent).

The agent runs here as a plain host process on a folder standing in for the
device's /data; inside a device it runs in the device's namespaces (that part
is tests/integration/test_sim_sandbox.py).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.sim import fs as fsmod
from harness.sim.fs import DeviceFS, SyncAgent

AGENT = str(Path(fsmod.__file__).with_name("sync_agent.py"))


def _launch(argv: list[str], pass_fds: tuple[int, ...]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, pass_fds=pass_fds, start_new_session=True)


@pytest.fixture
def fs(tmp_path: Path) -> Iterator[DeviceFS]:
    data = tmp_path / "data"
    (data / "local/tmp").mkdir(parents=True)
    (tmp_path / "system/bin").mkdir(parents=True)
    agent = SyncAgent(_launch, AGENT)
    yield DeviceFS(agent, writable=str(data))
    agent.close()


def _tmp(fs: DeviceFS) -> Path:
    return Path(fs.writable) / "local/tmp"


def test_push_commits_atomically_with_mode_and_mtime(fs: DeviceFS) -> None:
    final = _tmp(fs) / "new/dir/f"
    with fs.open_write(str(final), 0o100750) as target:
        target.write(b"abc")
        assert not final.exists()
        target.commit(1_600_000_000)
    assert final.read_bytes() == b"abc"
    assert final.stat().st_mode & 0o777 == 0o750
    assert int(final.stat().st_mtime) == 1_600_000_000


def test_push_drops_setuid_setgid_and_sticky_bits(fs: DeviceFS) -> None:
    final = _tmp(fs) / "suid"
    with fs.open_write(str(final), 0o107755) as target:
        target.write(b"x")
        target.commit(0)
    assert final.stat().st_mode & 0o7777 == 0o755


def test_aborted_push_leaves_nothing(fs: DeviceFS) -> None:
    with fs.open_write(str(_tmp(fs) / "g"), 0o100644) as target:
        target.write(b"partial")
        target.abort()
    assert list(_tmp(fs).iterdir()) == []


def test_writes_outside_data_are_refused(fs: DeviceFS, tmp_path: Path) -> None:
    for path in (tmp_path / "system/bin/x", "/etc/passwd", f"{fs.writable}/../etc/x"):
        with pytest.raises(OSError) as info:
            fs.open_write(str(path), 0o100644)
        assert info.value.errno == errno.EROFS


def test_a_symlinked_folder_cannot_lead_a_push_out_of_data(fs: DeviceFS, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (_tmp(fs) / "escape").symlink_to(outside)
    with pytest.raises(OSError) as info:
        fs.open_write(str(_tmp(fs) / "escape/f"), 0o100644)
    assert info.value.errno == errno.EACCES
    assert list(outside.iterdir()) == []


def test_a_push_replaces_a_symlink_instead_of_writing_through_it(
    fs: DeviceFS, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = _tmp(fs) / "link"
    link.symlink_to(victim)
    with fs.open_write(str(link), 0o100644) as target:
        target.write(b"new")
        target.commit(0)
    assert victim.read_text() == "keep"
    assert not link.is_symlink() and link.read_bytes() == b"new"


def test_a_pushed_symlink_is_made_as_a_link(fs: DeviceFS) -> None:
    with fs.open_write(str(_tmp(fs) / "ln"), 0o120777) as target:
        target.write(b"/system/bin/sh\0")
        target.commit(0)
    assert os.readlink(_tmp(fs) / "ln") == "/system/bin/sh"


def test_listing_stat_and_read(fs: DeviceFS) -> None:
    (_tmp(fs) / "a").write_text("1")
    (_tmp(fs) / "l").symlink_to("a")
    assert [name for name, _st in fs.listdir(str(_tmp(fs)))] == [".", "..", "a", "l"]
    assert fs.listdir(f"{fs.writable}/none") == []
    assert fs.lstat(f"{fs.writable}/none") is None
    assert fs.stat(str(_tmp(fs) / "l")).st_size == 1
    link_stat = fs.lstat(str(_tmp(fs) / "l"))
    assert link_stat is not None and link_stat.st_mode & 0o170000 == 0o120000
    with fs.open_read(str(_tmp(fs) / "l")) as fh:
        assert fh.read() == b"1"
    with pytest.raises(IsADirectoryError):
        fs.open_read(str(_tmp(fs)))
    with pytest.raises(FileNotFoundError):
        fs.open_read(f"{fs.writable}/none")


def test_a_killed_agent_is_started_again(fs: DeviceFS) -> None:
    """The device can kill the agent (it is a process of the shell user); sync goes on."""
    (_tmp(fs) / "a").write_text("1")
    assert fs.lstat(str(_tmp(fs) / "a")) is not None
    proc = fs.agent._proc
    assert proc is not None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert fs.lstat(str(_tmp(fs) / "a")) is not None
