"""`harness clean`: nothing the harness started or put on the phone survives it."""

from __future__ import annotations

import pytest

from harness.device.files import WORKDIR, clean, ensure_scripts
from harness.device.quote import sh_join
from harness.device.select import connect
from harness.device.session import DeviceSession
from harness.sim import SimDevice

pytestmark = pytest.mark.integration


def _running(session: DeviceSession, pattern: str) -> list[str]:
    out = session.shell("ps -A -o ARGS", timeout_s=10).stdout
    return [line for line in out.splitlines() if pattern in line and "ps -A" not in line]


def test_clean_stops_a_detached_trial_and_removes_everything(sim: SimDevice) -> None:
    [session] = connect([sim.serial])
    scripts = ensure_scripts(session)
    # A trial left running by a harness that died: started detached, never collected.
    trial_dir = f"{WORKDIR}/trials/left-behind"
    begin = sh_join([
        "sh", f"{scripts}/run_trial.sh", "begin", trial_dir, "c", "0", "200", "MARK", "--no-before",
        "2", "3", "--", "sleep", "300",
    ])  # fmt: skip
    # The trial sleeps 300 s, longer than this call may take: the launching shell returns
    # (rather than time out) only because the trial is detached from it.
    answer = session.shell(begin, timeout_s=120).stdout
    assert "state=running" in answer, answer
    assert _running(session, "sleep 300"), "the detached trial should be running"

    removed = clean(session)

    assert removed >= 4  # the scripts at least
    assert not _running(session, "sleep 300")
    assert (
        session.shell(f"[ -e {WORKDIR} ] && echo there || echo gone", timeout_s=10).stdout.strip()
        == "gone"
    )
    # A second clean finds nothing and says so.
    assert clean(session) == 0
