"""What the simulated adbd does to a command whose shell stream the host closed.

As AOSP adbd (daemon/shell_service.cpp, `Subprocess::PassDataStreams`): SIGHUP
to the shell's pid only, and the output pipes closed. The `group` policy is the
harsher daemon some hosts meet: SIGHUP then SIGKILL to the whole process group.
Each test waits on the device's own process table, never on a fixed delay.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from harness.errors import DeviceTimeoutError

pytestmark = [pytest.mark.integration, pytest.mark.adb_protocol]

WAIT_S = 30.0


def _session(serial: str) -> Any:
    from harness.device.select import connect

    [session] = connect([serial])
    return session


def _alive(session: Any, pid: str) -> bool:
    return session.shell(["kill", "-0", pid], timeout_s=10, check=False).exit_code == 0


def _wait_gone(session: Any, pid: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while _alive(session, pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive after the hang-up"
        time.sleep(0.05)


def _read(session: Any, path: str) -> str:
    deadline = time.monotonic() + WAIT_S
    while True:
        out = session.shell(f"cat {path} 2>/dev/null", timeout_s=10, check=False).stdout.strip()
        if out:
            return str(out)
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _launch_and_hang_up(session: Any, command: str) -> None:
    # The host gives up on the call: its stream closes while the command still runs.
    with pytest.raises(DeviceTimeoutError):
        session.shell(command, timeout_s=1.5)


@pytest.mark.parametrize("policy", ["adbd", "group"])
def test_closing_the_stream_hangs_up_the_shell(sim: Any, policy: str) -> None:
    sim.faults.set_hangup(policy)
    session = _session(sim.serial)
    t = "/data/local/tmp"
    _launch_and_hang_up(session, f"echo $$ > {t}/sh.pid; sleep 60 & echo $! > {t}/bg.pid; wait")
    shell, background = _read(session, f"{t}/sh.pid"), _read(session, f"{t}/bg.pid")
    _wait_gone(session, shell)
    if policy == "adbd":
        # adbd signals the shell's pid only: its background job lives on.
        assert _alive(session, background)
        session.shell(["kill", background], timeout_s=10)
    else:
        _wait_gone(session, background)


def test_a_shell_that_ignores_sighup_dies_writing_to_the_closed_pipe(sim: Any) -> None:
    session = _session(sim.serial)
    t = "/data/local/tmp"
    _launch_and_hang_up(
        session, f"trap '' HUP; echo $$ > {t}/w.pid; while :; do echo x; sleep 0.1; done"
    )
    # SIGHUP is ignored, but adbd closed its end of the output: the next echo
    # gets EPIPE / SIGPIPE and the shell ends.
    _wait_gone(session, _read(session, f"{t}/w.pid"))
