"""Reading run_trial.sh's answers, and the script itself under mksh on the host."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from harness.bench.remote import parse_collected, parse_state, split_sections, trial_dir_name
from harness.bench.trial import throttled
from harness.errors import DeviceError

SCRIPT = Path(__file__).resolve().parents[2] / "device_scripts" / "run_trial.sh"
MARK = "@@harness-0123456789abcdef"


def test_parse_state_lines() -> None:
    done = parse_state("noise\nstate=done exit=137 start=100.25 end=101.75\n")
    assert (done.state, done.exit_code, done.wall_s) == ("done", 137, 1.5)
    assert parse_state("state=running\n").wall_s is None
    gone = parse_state("state=vanished reason=wrapper-gone")
    assert gone.reason == "wrapper-gone" and gone.exit_code is None
    with pytest.raises(ValueError):
        parse_state("nothing here")
    with pytest.raises(ValueError):
        parse_state("state=exploded")


def test_sections_keep_outputs_exact() -> None:
    text = (
        f"{MARK} before\nzone=thermal_zone0 temp=31000 type=battery\n"
        f"{MARK} started\nstate=done exit=0 start=1 end=2\n"
        f"{MARK} stdout\nline one\nno newline at end\n"
        f"{MARK} stderr\n\n"
        f"{MARK} after\nfreq=2 max=2150400 cur=2150400 governor=schedutil\n"
    )
    sections = split_sections(text, MARK)
    assert set(sections) == {"", "before", "started", "stdout", "stderr", "after"}
    got = parse_collected(text, MARK)
    assert got.state.state == "done"
    assert got.stdout == "line one\nno newline at end"
    assert got.stderr == ""
    assert got.before is not None and "thermal_zone0" in got.before
    assert got.after is not None and got.after.startswith("freq=2")


def test_collect_answer_while_running_has_no_files() -> None:
    got = parse_collected("state=running\n", MARK)
    assert got.state.state == "running" and got.stdout is None and got.after is None


def test_garbage_answer_is_a_device_error() -> None:
    with pytest.raises(DeviceError, match="unexpectedly"):
        parse_collected("sh: run_trial.sh: not found\n", MARK, "serial")


def test_trial_dir_names_are_safe_and_distinct() -> None:
    a = trial_dir_name("127.0.0.1:5555|mobilenet_v2_1.0_224|fp32|t1|big|xnnpack=on|0")
    b = trial_dir_name("127.0.0.1:5555|mobilenet_v2_1.0_224|fp32|t1|big|xnnpack_on|0")
    assert a != b
    for name in (a, b, trial_dir_name("x'; rm -rf /|$(reboot)")):
        assert all(c.isalnum() or c in "._-" for c in name), name


def test_throttled_compares_cap_with_hardware_max() -> None:
    hw = {2: 2150400, 3: 2150400}
    assert throttled({"2": [2150400, 1000000]}, hw) is False  # idle clock, full cap
    assert throttled({"2": [1500000, 1500000]}, hw) is True
    assert throttled({}, hw) is None
    assert throttled({"0": [1593600, 300000]}, hw) is None  # no hardware max known


@pytest.mark.skipif(shutil.which("mksh") is None, reason="needs mksh")
def test_script_runs_detached_and_reports(tmp_path: Path) -> None:
    """The real script under mksh: `begin` returns before the process ends, `collect` finds it."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(SCRIPT, scripts / "run_trial.sh")
    (scripts / "state.sh").write_text("echo battery_level=80\n")
    trial = tmp_path / "trials" / "t1"
    cmd = ["mksh", str(scripts / "run_trial.sh")]
    go = tmp_path / "go"
    # A pipe on stdout, as adb's shell service has: begin must not wait for the job. The
    # job ends only once `go` exists, which is written after begin returned; a begin that
    # waited would run into its 30 s timeout (the job gives up only after 60 s).
    job = (
        f"echo out; echo err >&2; i=0; while [ ! -e {go} ] && [ $i -lt 600 ]; do "
        "sleep 0.1; i=$((i+1)); done; exit 3"
    )
    before_begin = time.time()
    out = subprocess.run(
        [*cmd, "begin", str(trial), "1", "0", MARK, "--", "sh", "-c", job],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    first = parse_collected(out, MARK)
    assert first.state.state == "running" and first.before == "battery_level=80\n"
    released = time.time()
    go.write_text("")
    out = subprocess.run(
        [*cmd, "collect", str(trial), "15", MARK], capture_output=True, text=True, timeout=30
    ).stdout
    done = parse_collected(out, MARK)
    assert done.state.state == "done" and done.state.exit_code == 3
    assert done.stdout == "out\n" and done.stderr == "err\n"
    # Its recorded span is the job's: it started after begin was called and ended after
    # `go` was written, before collect returned (an order of events; 0.05 s for clocks).
    start, end = done.state.start, done.state.end
    assert start is not None and end is not None
    assert before_begin - 0.05 <= start and released - 0.05 <= end <= time.time() + 0.05
    # kill and sweep: a stale trial is stopped and the folder cleared.
    subprocess.run([*cmd, "begin", str(tmp_path / "trials" / "t2"), "1", "0", MARK, "--",
                    "sleep", "30"], capture_output=True, timeout=30, check=True)  # fmt: skip
    swept = subprocess.run(
        [*cmd, "sweep", str(tmp_path / "trials")], capture_output=True, text=True, timeout=30
    ).stdout
    assert swept.strip() == "swept 3"  # the wrapper, its sampler and the sleep
    assert list((tmp_path / "trials").iterdir()) == []
