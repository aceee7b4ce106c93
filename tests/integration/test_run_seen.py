"""A run's status says what was seen on the phone, never more.

A board whose adbd is not a phone's (no thermal zones, no cpufreq, no
Android `dumpsys`) is built from the simulated phone's stripped-down topology
(docs/sim.md), so every script and reader runs as it would on such a board.
Neither a cooldown nor a `big` mask can be checked there: both are recorded
as unknown with the reason, and said on the console. A phone hot and capped
from the start is recorded hot and throttled, and the console names it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.device.thermal import NO_TEMPERATURE
from harness.sim.topology import PIXEL1

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANT = "mobilenet_v2_0.35_96"
RUN = ["--variants", VARIANT, "--trials", "1", "--runs", "3", "--warmup", "1", "--no-report"]


def _trials(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / "trials.jsonl").read_text().splitlines() if x]


def _run_dir(out: Path) -> Path:
    [run_dir] = [d for d in out.iterdir() if (d / "meta.json").exists()]
    return run_dir


def test_a_board_without_sensors_or_cpufreq_records_unknown_not_passed(
    make_sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = {**PIXEL1, "cpufreq": False, "thermal_zones": [], "battery": False}
    board = make_sim(topology=bare)
    (board.root / "system" / "bin" / "dumpsys").unlink()  # no battery temperature either
    code = main(["run", "--device", board.serial, *RUN, "--out", str(tmp_path),
                 "--cooldown-temp", "40"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    run_dir = _run_dir(tmp_path)
    [trial] = _trials(run_dir)
    assert trial["status"] == "ok"
    # No temperature anywhere: the cooldown is unknown, with the reason; so is the heat.
    assert trial["cooled"] is None and trial["cooled_reason"] == NO_TEMPERATURE
    assert trial["temp_before_c"] is None and trial["hot"] is None
    assert trial["throttled"] is None  # no cpufreq: no clock was seen either
    # `big` fell back to every CPU: recorded unverified, with the reason.
    meta = json.loads((run_dir / "meta.json").read_text())
    big = meta["cores"][board.serial]["big"]
    assert big["mask"] == "f" and big["verified"] is False
    assert big["reason"].startswith("not verified: no cpufreq topology")
    assert any(NO_TEMPERATURE in w for w in meta["devices"][board.serial]["warnings"])
    # Said on the console: warnings while preparing, a note under the table.
    assert f"warning: {board.serial}: cores big: not verified: no cpufreq" in captured.err
    assert NO_TEMPERATURE in captured.err
    assert f"{board.serial}: 1 trial(s) ran with no temperature readable" in captured.out


def test_a_phone_hot_and_capped_from_the_start_is_named_on_the_console(
    sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.faults.set_thermal(temps_c={"tsens_tz_sensor4": 61.0}, max_khz={2: 1_500_000})
    code = main(["run", "--device", sim.serial, *RUN, "--out", str(tmp_path),
                 "--cooldown-temp", "45", "--cooldown-timeout", "1"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    [trial] = _trials(_run_dir(tmp_path))
    assert (trial["cooled"], trial["hot"], trial["throttled"]) == (False, True, True)
    # Hot and throttled are the phone's own readings; interference is judged from
    # /proc/stat, which on the simulated phone counts the host's other work too.
    flags = re.search(rf"^flagged: {re.escape(VARIANT)} fp32 t1 #0 (\S+): ", captured.out, re.M)
    assert flags is not None, captured.out
    assert flags[1] in ("throttled+hot", "throttled+hot+interfered"), captured.out
    assert f"{sim.serial}: 1 trial(s) started before the phone cooled" in captured.out
