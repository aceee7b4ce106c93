"""Reading run_trial.sh's answers, and the script itself under mksh on the host."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from harness.bench.record import throttled
from harness.bench.remote import parse_collected, parse_state, split_sections, trial_dir_name
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
        [*cmd, "begin", str(trial), "1", "0", "200", MARK, "--", "sh", "-c", job],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    first = parse_collected(out, MARK)
    assert first.state.state == "running" and first.before == "battery_level=80\n"
    released = time.time()
    go.write_text("")
    out = subprocess.run(
        [*cmd, "collect", str(trial), "1500", "200", MARK],
        capture_output=True,
        text=True,
        timeout=30,
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
    subprocess.run([*cmd, "begin", str(tmp_path / "trials" / "t2"), "1", "0", "200", MARK, "--",
                    "sleep", "30"], capture_output=True, timeout=30, check=True)  # fmt: skip
    swept = subprocess.run(
        [*cmd, "sweep", str(tmp_path / "trials")], capture_output=True, text=True, timeout=30
    ).stdout
    assert swept.strip() == "swept 3"  # the wrapper, its sampler and the sleep
    assert list((tmp_path / "trials").iterdir()) == []


def _begin_detached(cmd: list[str], trial: Path) -> None:
    """A trial of `sleep 300` left running detached, with its sampler (one cpu: 0)."""
    subprocess.run(
        [*cmd, "begin", str(trial), "1", "0", "200", MARK, "--no-before", "0", "--",
         "sleep", "300"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip


def _scripts(tmp_path: Path) -> list[str]:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(SCRIPT, scripts / "run_trial.sh")
    (scripts / "state.sh").write_text("echo battery_level=80\n")
    return ["mksh", str(scripts / "run_trial.sh")]


@pytest.mark.parametrize("shell", ["mksh", "dash"])
def test_a_waiting_collect_says_it_is_alive_and_wakes_at_the_end(
    tmp_path: Path, shell: str
) -> None:
    """collect prints `alive` every beat while the trial runs, and answers once it ends:
    with mksh's `read -t` (the phone's shell), and with a timer process where `read`
    has no timeout (dash)."""
    if shutil.which("mksh") is None or shutil.which(shell) is None:
        pytest.skip(f"needs mksh and {shell}")
    cmd = _scripts(tmp_path)
    trial, go = tmp_path / "trials" / "t1", tmp_path / "go"
    job = f"i=0; while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
    subprocess.run(
        [*cmd, "begin", str(trial), "1", "0", "10", MARK, "--no-before", "--", "sh", "-c", job],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    # A wait of up to 60 s with a beat of 0.1 s: the trial ends when `go` is written,
    # which happens once collect has said it is alive.
    waiter = subprocess.Popen(
        [shell, cmd[1], "collect", str(trial), "6000", "10", MARK],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiter.stdout is not None
        assert waiter.stdout.readline() == "alive\n"
        if shell == "mksh":  # the phone's shell waits for the next beat with no process
            children = Path(f"/proc/{waiter.pid}/task/{waiter.pid}/children").read_text()
            assert children.split() == [], children
        go.write_text("")
        out, _ = waiter.communicate(timeout=30)
    finally:
        go.write_text("")
        if waiter.poll() is None:
            waiter.kill()
    got = parse_collected(out, MARK)
    assert got.state.state == "done" and got.state.exit_code == 0


@pytest.mark.skipif(shutil.which("mksh") is None, reason="needs mksh")
def test_a_sampler_mid_nap_does_not_hold_up_the_trials_end(tmp_path: Path) -> None:
    """With a sample every 600 s, a short trial still ends at once: the wrapper's TERM
    ends the sampler's nap (a shell acts on it only after a foreground `sleep`)."""
    cmd = _scripts(tmp_path)
    env = dict(os.environ, HARNESS_SAMPLE_S="600")
    out = subprocess.run(
        [*cmd, "begin", str(tmp_path / "t1"), "1", "6000", "200", MARK, "--no-before", "0",
         "--", "sh", "-c", "exit 0"],
        capture_output=True, text=True, timeout=60, env=env,
    ).stdout  # fmt: skip
    got = parse_collected(out, MARK)
    assert got.state.state == "done" and got.state.exit_code == 0
    assert got.samples is not None and "sample at=exit " in got.samples


@pytest.mark.skipif(shutil.which("mksh") is None, reason="needs mksh")
def test_kill_stops_every_process_of_the_trial_and_a_late_launch_runs_nothing(
    tmp_path: Path,
) -> None:
    """kill: benchmark, wrapper and sampler are gone when it answers; a begin that comes
    after it (a launch that was on its way when the run stopped) starts nothing."""
    cmd = _scripts(tmp_path)
    trial = tmp_path / "trials" / "t1"
    _begin_detached(cmd, trial)
    pids = [int((trial / name).read_text()) for name in ("wrapper_pid", "sampler_pid", "pid")]
    said = subprocess.run(
        [*cmd, "kill", str(trial)], capture_output=True, text=True, timeout=30
    ).stdout
    assert said.startswith("killed ")
    for pid in pids:
        assert not _alive(pid), pid
    assert (trial / "exit_code").read_text().strip() == "137"  # the wrapper recorded it
    again = subprocess.run(
        [*cmd, "kill", str(trial)], capture_output=True, text=True, timeout=30
    ).stdout
    assert again.strip() == "ended"
    # Stopped before it started: the stop marker outlives the folder's re-creation.
    late = tmp_path / "trials" / "t2"
    assert subprocess.run([*cmd, "kill", str(late)], capture_output=True, text=True,
                          timeout=30).stdout.strip() == "none"  # fmt: skip
    out = subprocess.run(
        [*cmd, "begin", str(late), "1", "0", "200", MARK, "--no-before", "--", "sleep", "300"],
        capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip
    assert parse_collected(out, MARK).state.reason == "stopped"
    assert not (late / "pid").exists()
    # A deliberate relaunch (--again) clears the marker.
    out = subprocess.run(
        [*cmd, "begin", str(late), "1", "6000", "200", MARK, "--again", "--no-before", "--",
         "sh", "-c", "exit 4"],
        capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip
    assert parse_collected(out, MARK).state.exit_code == 4


@pytest.mark.skipif(shutil.which("mksh") is None, reason="needs mksh")
def test_sweep_stops_a_benchmark_its_wrapper_had_not_yet_recorded(tmp_path: Path) -> None:
    """`harness clean` right after a launch: the benchmark had started, its `pid` not written.

    Killing the wrapper alone left such a benchmark running with no file naming it
    (a slow host showed it: `sleep 300` outlived `harness clean`); the wrapper is a
    group leader (setsid), so sweep stops its group.
    """
    cmd = _scripts(tmp_path)
    trial = tmp_path / "trials" / "t1"
    _begin_detached(cmd, trial)
    benchmark = int((trial / "pid").read_text())
    wrapper = int((trial / "wrapper_pid").read_text())
    (trial / "pid").unlink()  # the moment between its start and its record
    swept = subprocess.run(
        [*cmd, "sweep", str(tmp_path / "trials")], capture_output=True, text=True, timeout=30
    ).stdout
    assert swept.strip() == "swept 2"  # the wrapper and its sampler were found
    assert not _alive(benchmark) and not _alive(wrapper)
    assert list((tmp_path / "trials").iterdir()) == []


@pytest.mark.skipif(shutil.which("mksh") is None, reason="needs mksh")
def test_folders_made_ahead_are_used_and_a_used_one_is_made_anew(tmp_path: Path) -> None:
    """`make` gives each named trial its folder and bell in one call; a launch keeps such
    a folder as it is (no process for it), and makes anew one an earlier launch used."""
    cmd = _scripts(tmp_path)
    root = tmp_path / "trials"
    out = subprocess.run(
        [*cmd, "make", str(root), "t1", "t2"], capture_output=True, text=True, timeout=30
    )
    assert out.stdout.strip() == "made 2", out.stderr
    assert all(stat.S_ISFIFO((root / t / "bell").stat().st_mode) for t in ("t1", "t2"))
    (root / "t1" / "mine").write_text("")  # gone only if the folder is made anew
    # Again for one made and one new: only the new one's bell is made.
    again = subprocess.run([*cmd, "make", str(root), "t1", "t3"], capture_output=True,
                           text=True, timeout=30).stdout  # fmt: skip
    assert again.strip() == "made 1"
    begin = [*cmd, "begin", str(root / "t1"), "1", "6000", "200", MARK, "--no-before", "--"]
    got = parse_collected(
        subprocess.run([*begin, "sh", "-c", "echo one"], capture_output=True, text=True,
                       timeout=30).stdout, MARK)  # fmt: skip
    assert got.state.exit_code == 0 and got.stdout == "one\n"
    assert (root / "t1" / "mine").exists()  # the folder made ahead, as it was
    # A second launch in the same folder (--again) starts from an empty folder.
    got = parse_collected(
        subprocess.run([begin[0], begin[1], *begin[2:9], "--again", "--", "sh", "-c",
                        "echo two"], capture_output=True, text=True, timeout=30).stdout,
        MARK)  # fmt: skip
    assert got.state.exit_code == 0 and got.stdout == "two\n"
    assert not (root / "t1" / "mine").exists()
    # Names are one folder each, never a path.
    for bad in ("../x", "a/b", ".."):
        refused = subprocess.run([*cmd, "make", str(root), bad], capture_output=True,
                                 text=True, timeout=30)  # fmt: skip
        assert refused.returncode == 64 and "bad name" in refused.stderr
    assert not (tmp_path / "x").exists()


def _alive(pid: int) -> bool:
    """Whether pid runs (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
