"""`sim` is a device source: every way in (a script's `run()`, `harness run`, `devices`,
`clean`) starts it the same way, reaches it as a phone over TCP, and stops it after.

A script gets what the command line gets: the phone started, found, leased
and named for the run, then released and stopped (docs/run.md "From Python").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.device.lease import LEASE_DIR
from harness.run import RunSettings, run

pytestmark = pytest.mark.integration

VARIANT = "mobilenet_v2_0.35_96"


def _serials(adb_server: Any) -> set[str]:
    return {d.serial for d in adb_server.client().list()}


@pytest.mark.slow
def test_a_script_runs_on_sim_and_the_phone_is_leased_named_and_released(
    adb_server: Any, tmp_path: Path
) -> None:
    before = _serials(adb_server)
    owners: list[str] = []
    serial: list[str] = []

    def emit(message: str) -> None:
        if message.endswith(": preparing (identity, cores, binary, models)"):
            serial.append(message.split(": ", 1)[0])
        if message.startswith("[1/"):  # a trial is stored: the lease names the run
            device = adb_server.client().device(serial[0])
            owners.append(device.shell(f"cat {LEASE_DIR}/owner"))

    outcome = run(
        RunSettings(devices=["sim"], variants=[VARIANT], trials=1, runs=5, warmup=1,
                    cooldown_temp_c=0, report=False, out=tmp_path),
        emit=emit,
    )  # fmt: skip
    assert outcome.status == "complete" and outcome.exit_code == 0
    assert any("simulated or emulated" in c for c in outcome.caveats)
    meta = json.loads((outcome.run_dir / "meta.json").read_text())
    assert meta["settings"]["devices"] == ["sim"]
    assert meta["settings"]["cooldown_temp_c"] is None  # 0: no wait, as --cooldown-temp 0
    [owner] = owners
    assert f"run={outcome.run_id}" in owner
    # Stopped and forgotten by the adb server once the run returned.
    assert _serials(adb_server) == before


def test_devices_and_clean_start_sim_and_its_profiles(
    adb_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _serials(adb_server)
    assert main(["devices", "--device", "sim", "--device", "sim:pixel6", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["model"] for d in listed] == ["Pixel", "Pixel 6"]
    assert all(d["emulated"] for d in listed)
    assert main(["clean", "--device", "sim"]) == 0
    assert "removed /data/local/tmp/harness" in capsys.readouterr().err
    assert _serials(adb_server) == before


def test_an_unknown_profile_is_refused_before_anything_starts(
    adb_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _serials(adb_server)
    assert main(["devices", "--device", "sim:pixel99"]) == 2
    err = capsys.readouterr().err
    assert "no simulated device profile 'pixel99'" in err and "pixel6" in err
    assert _serials(adb_server) == before
