"""The lease heartbeat: one process on the phone (`mv`), whatever the trial it lands in."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from harness.device.lease import LEASE_DIR, heartbeat
from harness.device.session import DeviceSession

MKSH = shutil.which("mksh")


@dataclass
class _Result:
    stdout: str


class _Phone:
    """Runs the heartbeat's script under mksh with only `mv` on its PATH, the lease in `root`."""

    def __init__(self, root: Path, bin_dir: Path) -> None:
        self.root = root
        self.bin_dir = bin_dir

    def shell(self, script: str, *, timeout_s: float) -> _Result:
        assert MKSH is not None
        script = script.replace(LEASE_DIR, str(self.root))
        env = {"PATH": str(self.bin_dir)}
        out = subprocess.run(
            [MKSH, "-c", script], capture_output=True, text=True, env=env, timeout=timeout_s
        )
        return _Result(out.stdout)


@pytest.mark.skipif(MKSH is None, reason="needs mksh")
def test_a_heartbeat_needs_no_process_but_mv(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mv = shutil.which("mv")
    assert mv is not None
    os.symlink(mv, bin_dir / "mv")  # no sed, no date, no cat
    lease = tmp_path / "lease"
    lease.mkdir()
    (lease / "owner").write_text("token=abc\nhost=h\npid=1\nrun=r\n")
    (lease / "heartbeat").write_text("1000\n")
    phone = cast(DeviceSession, _Phone(lease, bin_dir))
    before = int(time.time())
    assert heartbeat(phone, "abc") is True
    assert before - 1 <= int((lease / "heartbeat").read_text()) <= int(time.time()) + 1
    assert heartbeat(phone, "other") is False
