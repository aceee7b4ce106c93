"""Device path resolution and safe pushes (harness.sim.fs)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from harness.sim.fs import DeviceFS


@pytest.fixture
def fs(tmp_path: Path) -> DeviceFS:
    for sub in ("data/local/tmp", "system/bin", "sysfs/cpu", "sysfs/thermal"):
        (tmp_path / sub).mkdir(parents=True)
    return DeviceFS(tmp_path)


def test_mapping(fs: DeviceFS) -> None:
    root = fs.root
    assert fs.host_path("/data/local/tmp/x") == root / "data/local/tmp/x"
    assert fs.host_path("/data/local/../local/tmp") == root / "data/local/tmp"
    assert fs.host_path("/sys/devices/system/cpu/online") == root / "sysfs/cpu/online"
    assert fs.host_path("/system/bin/sh") == root / "system/bin/sh"
    assert fs.host_path("/proc/cpuinfo") == Path("/proc/cpuinfo")
    assert fs.host_path("/data/../../etc") == Path("/etc")


def test_push_commits_atomically_with_mode_and_mtime(fs: DeviceFS) -> None:
    with fs.open_write("/data/local/tmp/new/dir/f", 0o100750) as target:
        target.write(b"abc")
        assert not (fs.root / "data/local/tmp/new/dir/f").exists()
        target.commit(1_600_000_000)
    final = fs.root / "data/local/tmp/new/dir/f"
    assert final.read_bytes() == b"abc"
    assert final.stat().st_mode & 0o777 == 0o750
    assert int(final.stat().st_mtime) == 1_600_000_000


def test_aborted_push_leaves_nothing(fs: DeviceFS) -> None:
    with fs.open_write("/data/local/tmp/g", 0o100644) as target:
        target.write(b"partial")
        target.abort()
    assert list((fs.root / "data/local/tmp").iterdir()) == []


def test_writes_outside_data_are_refused(fs: DeviceFS) -> None:
    for path in ("/system/bin/x", "/etc/passwd", "/data/../etc/x"):
        with pytest.raises(OSError) as info:
            fs.open_write(path, 0o100644)
        assert info.value.errno == errno.EROFS


def test_a_symlinked_folder_cannot_lead_a_push_out_of_data(fs: DeviceFS, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"outside-{os.getpid()}"
    outside.mkdir(exist_ok=True)
    (fs.root / "data/local/tmp/escape").symlink_to(outside)
    with pytest.raises(OSError) as info:
        fs.open_write("/data/local/tmp/escape/f", 0o100644)
    assert info.value.errno == errno.EACCES
    assert list(outside.iterdir()) == []


def test_a_push_replaces_a_symlink_instead_of_writing_through_it(
    fs: DeviceFS, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = fs.root / "data/local/tmp/link"
    link.symlink_to(victim)
    with fs.open_write("/data/local/tmp/link", 0o100644) as target:
        target.write(b"new")
        target.commit(0)
    assert victim.read_text() == "keep"
    assert not link.is_symlink() and link.read_bytes() == b"new"


def test_listing_has_dot_entries_and_missing_is_empty(fs: DeviceFS) -> None:
    (fs.root / "data/local/tmp/a").write_text("1")
    assert [name for name, _st in fs.listdir("/data/local/tmp")] == [".", "..", "a"]
    assert fs.listdir("/data/none") == []
    assert fs.lstat("/data/none") is None
