"""A run survives a phone that drops off the bus, and a host that is killed.

The simulated device's fault injection takes it off the network mid-run
(`go_offline`), exactly as a USB hiccup or a rebooting lab switch would; the
benchmark process on the device keeps running. Afterwards the run must be
complete with every trial recorded exactly once. Each fault is keyed to an
event on the device (a benchmark_model starting or ending, a command opened:
docs/sim.md "Device events"), so it lands at the same point of the run
however fast the host is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.device.thermal import POLL_S
from harness.run import RunSettings, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A trigger's `fired` is set once its action has returned, which may be just after the
# client saw what the action did: wait for it (a ceiling, not a speed bound).
FIRED_S = 60.0
# A trial's benchmark_model, in the device's events (preparation runs `benchmark_model
# --help` too).
TRIAL = r"--graph="

VARIANTS = ["mobilenet_v2_0.35_96", "mobilenet_v2_0.35_128"]
BIG_CPUS = {2, 3}


def _sessions(serial: str) -> list[Any]:
    from harness.device.select import connect

    return list(connect([serial]))


def _bench_records(sim: Any) -> list[dict[str, Any]]:
    return [r for r in sim.affinity_records() if any("benchmark_model" in a for a in r["argv"])]


def _trials(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "trials.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _assert_complete(run_dir: Path, expected: int) -> list[dict[str, Any]]:
    trials = _trials(run_dir)
    ids = [t["trial_id"] for t in trials]
    assert len(ids) == len(set(ids)), "a trial was recorded twice"
    meta = json.loads((run_dir / "meta.json").read_text())
    assert sorted(ids) == sorted(meta["order"]), "a planned trial is missing"
    assert len(trials) == expected
    assert {t["status"] for t in trials} == {"ok"}, [t["error"] for t in trials]
    assert meta["status"] == "complete"
    return trials


def _wait_back(serial: str, timeout_s: float = 60.0) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            sessions = _sessions(serial)
            sessions[0].shell(["true"], timeout_s=5)
            return sessions
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_device_drop_mid_run_loses_nothing(sim: Any, tmp_path: Path) -> None:
    before = len(_bench_records(sim))
    messages: list[str] = []
    # The phone goes away as the second trial's benchmark starts (the host is
    # waiting on it), and comes back once that benchmark has ended.
    gone = sim.faults.on("benchmark_start", lambda _e: sim.faults.go_offline(), nth=2, match=TRIAL)
    back = sim.faults.on("benchmark_end", lambda _e: sim.faults.back_online(), nth=2, match=TRIAL)
    settings = RunSettings(
        devices=[sim.serial], variants=VARIANTS, trials=2, runs=3, warmup=1,
        out=tmp_path, seed=99, report=False, reconnect_timeout_s=120,
    )  # fmt: skip
    outcome = run(settings, sessions=_sessions(sim.serial), emit=messages.append)
    assert gone.fired.wait(FIRED_S) and back.fired.wait(FIRED_S)
    assert gone.errors == [] and back.errors == []
    assert any("device lost" in m for m in messages), messages
    assert any("device is back" in m for m in messages), messages
    assert outcome.status == "complete" and outcome.exit_code == 0, messages
    _assert_complete(outcome.run_dir, 4)
    procs = _bench_records(sim)[before:]
    assert len(procs) == 4, "a trial's benchmark process ran twice"
    assert all(set(p["device_cpus"]) <= BIG_CPUS for p in procs)


def test_device_gone_too_long_stops_then_resume_completes(sim: Any, tmp_path: Path) -> None:
    messages: list[str] = []
    # Away from the second trial's start until the test brings it back.
    gone = sim.faults.on("benchmark_start", lambda _e: sim.faults.go_offline(), nth=2, match=TRIAL)
    settings = RunSettings(
        devices=[sim.serial], variants=VARIANTS, trials=2, runs=3, warmup=1,
        out=tmp_path, seed=7, report=False, reconnect_timeout_s=1.0,
    )  # fmt: skip
    outcome = run(settings, sessions=_sessions(sim.serial), emit=messages.append)
    assert gone.fired.wait(FIRED_S)
    assert outcome.status == "interrupted"
    assert outcome.exit_code == 3
    run_dir = outcome.run_dir
    assert outcome.resume_command is not None
    assert f"--resume {run_dir}" in outcome.resume_command
    assert any(f"harness run --resume {run_dir}" in m for m in messages), messages
    stored = _trials(run_dir)
    assert len(stored) == 1  # the first trial; the second was lost with the phone
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "interrupted"

    sim.faults.back_online()
    sessions = _wait_back(sim.serial)
    resumed = run(
        RunSettings(devices=[sim.serial], resume=run_dir, report=False), sessions=sessions
    )
    assert resumed.status == "complete" and resumed.exit_code == 0
    trials = _assert_complete(run_dir, 4)
    # The first trials are untouched by the resume; the seed and settings were reused.
    assert trials[: len(stored)] == stored
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["seed"] == 7 and meta["settings"]["runs"] == 3


def _harness(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    code = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(), **kwargs,
    )  # fmt: skip


def test_killed_harness_then_resume_completes(sim: Any, tmp_path: Path) -> None:
    before = len(_bench_records(sim))
    args = [
        "run", "--device", sim.serial, "--variants", ",".join(VARIANTS), "--trials", "2",
        "--runs", "3", "--warmup", "1", "--out", str(tmp_path), "--seed", "3", "--no-report",
    ]  # fmt: skip
    # The harness is killed while the second trial's benchmark runs: the device
    # waits for the kill before that benchmark goes on.
    started: list[subprocess.Popen[str]] = []
    killed = sim.faults.on(
        "benchmark_start", lambda _e: started[0].send_signal(signal.SIGKILL), nth=2, match=TRIAL
    )
    proc = _harness(*args)
    started.append(proc)
    try:
        proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert killed.fired.wait(FIRED_S) and proc.returncode == -signal.SIGKILL
    [run_dir] = [d for d in tmp_path.iterdir() if (d / "trials.jsonl").exists()]
    stored = _trials(run_dir)
    assert len(stored) == 1
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "running"

    resumed = _harness("run", "--resume", str(run_dir), "--device", sim.serial, "--json")
    out, err = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, err
    outcome = json.loads(out)
    assert outcome["status"] == "complete" and outcome["trials_total"] == 4
    trials = _assert_complete(run_dir, 4)
    assert trials[: len(stored)] == stored
    # The one trial in flight at the kill ran again; the sweep stopped it if it
    # was still running, so it never overlapped a new trial.
    procs = _bench_records(sim)[before:]
    assert len(procs) == 5
    assert all(set(p["device_cpus"]) <= BIG_CPUS for p in procs)


@pytest.mark.timeout(300)  # a hang guard only; the records below decide
def test_trial_over_its_timeout_is_killed_and_recorded(sim: Any, tmp_path: Path) -> None:
    """A benchmark that hangs is killed on the device, recorded `timeout`, and the run goes on."""
    sim.faults.set_slowdown(5000.0)  # every inference spins on: one takes over a second
    settings = RunSettings(
        devices=[sim.serial], variants=VARIANTS[:1], trials=2, runs=3, warmup=1,
        out=tmp_path, seed=1, report=False, trial_timeout_s=1.5,
    )  # fmt: skip
    outcome = run(settings, sessions=_sessions(sim.serial))
    assert outcome.status == "complete" and outcome.exit_code == 1
    trials = _trials(outcome.run_dir)
    assert [t["status"] for t in trials] == ["timeout", "timeout"], trials
    for t in trials:
        assert t["exit_code"] == 137  # SIGKILL, written by the trial's wrapper
        assert "1.5 s" in t["error"] and t["latency_ms"] is None
    # Nothing is left running on the device.
    ps = _sessions(sim.serial)[0].shell("ps -A -o ARGS", timeout_s=10).stdout
    assert "benchmark_model" not in ps, ps


def test_hot_throttled_phone_is_waited_for_and_recorded(sim: Any, tmp_path: Path) -> None:
    """A cooldown that times out is recorded (cooled=False); a capped big cluster is throttled."""
    sim.faults.set_thermal(temps_c={"tsens_tz_sensor4": 61.0}, max_khz={2: 1_500_000})
    reads = sim.faults.on("command", lambda _e: None, match=r"state\.sh none$", every=True)
    messages: list[str] = []
    settings = RunSettings(
        devices=[sim.serial], variants=VARIANTS[:1], trials=1, runs=3, warmup=1,
        out=tmp_path, seed=1, report=False, cooldown_temp_c=45.0, cooldown_timeout_s=3.0,
    )  # fmt: skip
    outcome = run(settings, sessions=_sessions(sim.serial), emit=messages.append)
    assert outcome.exit_code == 0
    [trial] = _trials(outcome.run_dir)
    assert trial["status"] == "ok"
    # It waited one poll (2 s) and gave up at the next read, as the 3 s timeout
    # leaves no room for another poll; then it measured anyway.
    assert trial["cooled"] is False and trial["cooldown_wait_s"] >= POLL_S
    assert len(reads.events) == 2
    reads.cancel()
    assert trial["temp_before_c"] >= 61.0
    assert trial["throttled"] is True
    assert trial["freq_before"]["2"][0] == 1_500_000
    assert any("cooldown" in m for m in messages), messages

    sim.faults.clear_thermal()
    cool = run(
        RunSettings(
            devices=[sim.serial],
            variants=VARIANTS[:1],
            trials=1,
            runs=3,
            warmup=1,
            out=tmp_path,
            seed=1,
            report=False,
            cooldown_temp_c=45.0,
            cooldown_timeout_s=5.0,
        ),
        sessions=_sessions(sim.serial),
    )
    [trial] = _trials(cool.run_dir)
    assert trial["cooled"] is True and trial["throttled"] is False
    assert trial["temp_before_c"] < 45.0


def test_a_drop_on_a_resumes_lease_call_is_ridden_out(sim: Any, tmp_path: Path) -> None:
    """The lease is the first thing a resume asks the phone: a drop there waits for the
    phone and asks again, as every other call does, instead of ending the run (exit 3)."""
    stop = threading.Event()
    # The run stops once the first trial's benchmark has ended: that trial is
    # stored, the rest left for the resume.
    sim.faults.on("benchmark_end", lambda _e: stop.set(), match=TRIAL)
    settings = RunSettings(
        devices=[sim.serial], variants=VARIANTS, trials=1, runs=3, warmup=1,
        out=tmp_path, seed=5, report=False, cooldown_temp_c=None,
    )  # fmt: skip
    first = run(settings, sessions=_sessions(sim.serial), stop=stop)
    assert first.status == "incomplete" and len(_trials(first.run_dir)) == 1
    messages: list[str] = []
    sim.faults.drop_after_commands(0)  # the next service the phone opens is cut
    resumed = run(
        RunSettings(devices=[sim.serial], resume=first.run_dir, report=False),
        emit=messages.append,
    )  # no sessions: run() opens and leases the phone itself, as the CLI does
    assert any("device lost during lease" in m for m in messages), messages
    assert any("device is back" in m for m in messages), messages
    assert resumed.status == "complete" and resumed.exit_code == 0, messages
    _assert_complete(first.run_dir, 2)
    # The lease was released when the run ended.
    check = _sessions(sim.serial)[0].shell("ls -d /data/local/tmp/harness-lease", timeout_s=10,
                                           check=False)  # fmt: skip
    assert check.exit_code != 0, check


def test_one_of_two_devices_gone_the_other_finishes(make_sim: Any, tmp_path: Path) -> None:
    """Device A vanishes for good: B still completes its trials; resume finishes only A's."""
    a, b = make_sim(), make_sim()
    # A goes away as its second trial starts, until the test brings it back.
    a.faults.on("benchmark_start", lambda _e: a.faults.go_offline(), nth=2, match=TRIAL)
    settings = RunSettings(
        devices=[a.serial, b.serial], variants=VARIANTS, trials=2, runs=3, warmup=1,
        out=tmp_path, seed=11, report=False, reconnect_timeout_s=1.0,
    )  # fmt: skip
    from harness.device.select import connect

    outcome = run(settings, sessions=connect([a.serial, b.serial]))
    assert outcome.status == "interrupted" and outcome.exit_code == 3
    assert outcome.resume_command is not None and a.serial in outcome.resume_command
    stored = _trials(outcome.run_dir)
    by_device = {s: [t for t in stored if t["device_serial"] == s] for s in (a.serial, b.serial)}
    assert len(by_device[b.serial]) == 4, "the healthy device stopped too"
    assert len(by_device[a.serial]) == 1
    lost = [w for w in outcome.workers if w.lost]
    assert [w.serial for w in lost] == [a.serial]

    a.faults.back_online()
    sessions = _wait_back(a.serial) + _sessions(b.serial)
    resumed = run(RunSettings(devices=[a.serial, b.serial], resume=outcome.run_dir,
                              report=False), sessions=sessions)  # fmt: skip
    assert resumed.status == "complete" and resumed.exit_code == 0
    _assert_complete(outcome.run_dir, 8)
    assert len(_bench_records(b)) == 4, "b's trials ran again on resume"


@pytest.mark.parametrize(
    ("event", "relaunched"),
    [
        # The connection drops as the second trial's launch is sent: nothing ran, launch again.
        ({"event": "command", "match": r"run_trial\.sh begin ", "nth": 2}, True),
        # It drops once that trial's benchmark has started, while the launch waits for
        # its answer: the trial ran, collect it, no relaunch.
        ({"event": "benchmark_start", "match": TRIAL, "nth": 2}, False),
    ],
    ids=["at-the-launch", "after-the-start"],
)
def test_drop_around_a_launch_runs_each_trial_once(
    sim: Any, tmp_path: Path, event: dict[str, Any], relaunched: bool
) -> None:
    before = len(_bench_records(sim))
    messages: list[str] = []
    cut = sim.faults.on(action=lambda _e: sim.faults.drop_now(), **event)
    settings = RunSettings(
        devices=[sim.serial], variants=VARIANTS, trials=2, runs=3, warmup=1,
        out=tmp_path, seed=5, report=False, reconnect_timeout_s=60,
    )  # fmt: skip
    outcome = run(settings, sessions=_sessions(sim.serial), emit=messages.append)
    assert cut.fired.wait(FIRED_S) and cut.errors == []
    assert any("device lost during trial start" in m for m in messages), messages
    assert any("launching it again" in m for m in messages) is relaunched, messages
    assert outcome.status == "complete" and outcome.exit_code == 0, messages
    _assert_complete(outcome.run_dir, 4)
    assert len(_bench_records(sim)) - before == 4, "a trial ran twice or not at all"


def test_a_failed_preparation_leaves_fixed_performance_mode(
    make_sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--fixed-performance is switched on during preparation; a preparation that fails
    after that switches it off again, and a run that completes does too."""
    import harness.bench.prepare as bench_prepare
    from harness.errors import DeviceError

    phone = make_sim(props={"ro.build.version.sdk": "30", "ro.build.version.release": "11"})
    state = phone.root / "state" / "fixed_performance_mode"
    seen: list[str] = []

    def broken(session: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(state.read_text().strip())  # what the phone was in when it failed
        raise DeviceError("the state read failed", serial=session.serial)

    settings = RunSettings(
        devices=[phone.serial], variants=VARIANTS[:1], trials=1, runs=2, warmup=1,
        out=tmp_path, seed=2, report=False, fixed_performance=True,
    )  # fmt: skip
    with monkeypatch.context() as patch:
        patch.setattr(bench_prepare, "_conditions", broken)
        with pytest.raises(DeviceError, match="state read failed"):
            run(settings, sessions=_sessions(phone.serial))
    assert seen == ["true"] and state.read_text().strip() == "false"
    outcome = run(settings, sessions=_sessions(phone.serial))
    assert outcome.status == "complete", outcome
    meta = json.loads((outcome.run_dir / "meta.json").read_text())
    assert list(meta["fixed_performance"].values()) == [True]
    assert state.read_text().strip() == "false"
