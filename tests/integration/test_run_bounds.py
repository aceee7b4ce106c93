"""A run never hangs and never lies, checked against the simulated phone.

Each test injects one of the observed problems (a device call that never
answers, a drop during a push, an offline TCP device, a killed launching
stream, a resume with part of the devices or onto another phone) and waits on
events (a record written, a file on the device), never on wall-clock luck.
Faults are keyed to events on the device (a command opened, a benchmark_model
starting: docs/sim.md "Device events"), never to the harness's progress lines.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from harness.errors import PlanError
from harness.run import RunSettings, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A trigger's `fired` is set once its action has returned, which may be just after the
# client saw what the action did: wait for it (a ceiling, not a speed bound).
FIRED_S = 60.0
# A trial's benchmark_model, in the device's events (preparation runs `benchmark_model
# --help` too).
TRIAL = r"--graph="

VARIANT = "mobilenet_v2_0.35_96"
EVENT_TIMEOUT_S = 60.0


def _sessions(serial: str, wait_s: float = 10.0) -> list[Any]:
    from harness.device.select import connect

    return list(connect([serial], wait_s=wait_s))


def _trials(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "trials.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _meta(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "meta.json").read_text()))


def _bench_procs(sim: Any) -> list[dict[str, Any]]:
    return [r for r in sim.affinity_records() if any("benchmark_model" in a for a in r["argv"])]


def _settings(serial: str, tmp_path: Path, **kw: Any) -> RunSettings:
    base: dict[str, Any] = dict(
        devices=[serial], variants=[VARIANT], trials=2, runs=3, warmup=1, out=tmp_path,
        seed=4, report=False, reconnect_timeout_s=30, cooldown_temp_c=None,
    )  # fmt: skip
    base.update(kw)
    return RunSettings(**base)


@pytest.mark.parametrize("where", ["begin", "collect", "state"])
def test_a_call_that_never_answers_ends_its_trial_and_the_run_goes_on(
    sim: Any, tmp_path: Path, where: str
) -> None:
    """A hung begin / collect / state read is a `timeout` record, not a hang.

    Only the first such call hangs (the first trial's); the second trial's answers.
    """
    extra: dict[str, Any] = {"trial_timeout_s": 4.0}
    if where == "begin":
        sim.faults.hang_commands(r"run_trial\.sh begin ", times=1)
    elif where == "collect":
        # The trial outlives its 4 s (inferences of many seconds each), so the host
        # kills it and collects what is left: that collect hangs. The second
        # trial's benchmark runs at full speed.
        sim.faults.set_slowdown(100_000.0)
        sim.faults.on(
            "benchmark_start", lambda _e: sim.faults.set_slowdown(1.0), nth=2, match=TRIAL
        )
        sim.faults.hang_commands(r"run_trial\.sh collect ", times=1)
    else:
        # A hot phone makes the cooldown read the state; that read hangs.
        sim.faults.set_thermal(temps_c={"tsens_tz_sensor4": 61.0})
        sim.faults.hang_commands(r"state\.sh none", times=1)
        extra.update(cooldown_temp_c=45.0, cooldown_timeout_s=2.0)
    outcome = run(_settings(sim.serial, tmp_path, **extra), sessions=_sessions(sim.serial))
    first, second = _trials(outcome.run_dir)
    assert first["status"] == "timeout", first
    assert "did not answer in time, though the device does" in first["error"], first["error"]
    assert second["status"] == "ok", second
    assert outcome.status == "complete" and outcome.exit_code == 1
    assert _meta(outcome.run_dir)["status"] == "complete"
    if where == "collect":
        # Killed at its deadline, before the collect that hung: the kill after the
        # hang finds nothing left.
        assert first["exit_code"] is None
        assert "nothing of it was left running" in first["error"], first["error"]
    # Nothing of the timed-out trial is left running on the device.
    ps = _sessions(sim.serial)[0].shell("ps -A -o ARGS", timeout_s=10).stdout
    running = [ln for ln in ps.splitlines() if ln.split(" ", 1)[0].endswith("benchmark_model")]
    assert not running, ps


def test_a_drop_during_the_model_push_is_waited_out(sim: Any, tmp_path: Path) -> None:
    """Preparation survives a connection drop like trials do."""
    sim.faults.drop_after_bytes(400_000)  # inside the first model file's push
    messages: list[str] = []
    outcome = run(_settings(sim.serial, tmp_path, trials=1), sessions=_sessions(sim.serial),
                  emit=messages.append)  # fmt: skip
    assert any("device lost during preparation" in m for m in messages), messages
    assert any("preparing again" in m for m in messages), messages
    assert outcome.status == "complete" and outcome.exit_code == 0, messages
    assert [t["status"] for t in _trials(outcome.run_dir)] == ["ok"]


@pytest.mark.adb_protocol  # how each server lists, drops and re-attaches a TCP device
def test_an_offline_host_port_device_is_reconnected_and_waited_for(
    sim: Any, adb_server: Any
) -> None:
    """`--device HOST:PORT` listed offline is connected again, not refused."""
    sim.faults.go_offline(4.0)
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while {d.serial: d.state for d in adb_server.client().list()}.get(sim.serial) == "device":
        assert time.monotonic() < deadline, "the server never noticed the device going away"
        time.sleep(0.1)
    [session] = _sessions(sim.serial, wait_s=EVENT_TIMEOUT_S)
    assert session.shell(["echo", "back"], timeout_s=10).stdout.strip() == "back"


def test_killing_the_launching_stream_leaves_the_trial_running(sim: Any, tmp_path: Path) -> None:
    """The launching shell's group is killed mid-`begin`; the trial lives on.

    The `group` hang-up policy is the harsher daemon (SIGHUP + SIGKILL of the
    launching shell's whole process group); the connection is cut the moment
    the trial's benchmark starts on the device, which waits for the cut.
    """
    sim.faults.set_hangup("group")
    cut = sim.faults.on("benchmark_start", lambda _e: sim.faults.drop_now(), match=TRIAL)
    messages: list[str] = []
    outcome = run(_settings(sim.serial, tmp_path, trials=1), sessions=_sessions(sim.serial),
                  emit=messages.append)  # fmt: skip
    assert cut.fired.wait(FIRED_S) and cut.errors == []
    assert any("device lost during trial start" in m for m in messages), messages
    assert not any("launching it again" in m or "vanished" in m for m in messages), messages
    [trial] = _trials(outcome.run_dir)
    assert trial["status"] == "ok", trial
    assert len(_bench_procs(sim)) == 1, "the trial was killed with its launcher and ran again"


def test_a_resume_with_part_of_the_devices_is_incomplete(
    make_sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The survivor alone cannot make the run complete."""
    a, b = make_sim(), make_sim()
    # A goes away as its second trial starts: gone for good, as far as this test goes.
    a.faults.on("benchmark_start", lambda _e: a.faults.go_offline(), nth=2, match=TRIAL)
    from harness.device.select import connect

    first = run(
        _settings(a.serial, tmp_path, devices=[a.serial, b.serial], reconnect_timeout_s=1.0),
        sessions=connect([a.serial, b.serial]),
    )  # fmt: skip
    assert first.status == "interrupted" and first.exit_code == 3
    stored_a = [t for t in _trials(first.run_dir) if t["device_serial"] == a.serial]
    assert len(stored_a) == 1

    messages: list[str] = []
    resumed = run(RunSettings(devices=[b.serial], resume=first.run_dir, report=False),
                  sessions=_sessions(b.serial), emit=messages.append)  # fmt: skip
    assert resumed.status == "incomplete" and resumed.exit_code == 1
    assert resumed.missing == {a.serial: 2 - len(stored_a)}
    meta = _meta(first.run_dir)
    assert meta["status"] == "incomplete" and meta["missing"] == resumed.missing
    data = resumed.to_dict()
    assert data["trials_missing"] == 2 - len(stored_a) and data["missing"] == resumed.missing
    assert resumed.resume_command is not None and a.serial in resumed.resume_command
    assert any("run incomplete" in m for m in messages), messages
    assert resumed.summary is not None
    row_a = resumed.summary[resumed.summary["device_serial"] == a.serial]
    assert int(row_a["n_planned"].iloc[0]) == 2  # a's one stored trial reads 1/2, not 1/1
    # The command line says so too: summary line, --json, exit 1.
    from harness.cli import main

    capsys.readouterr()
    args = ["run", "--resume", str(first.run_dir), "--device", b.serial, "--no-report"]
    assert main(args) == 1
    out = capsys.readouterr().out
    n = 2 - len(stored_a)
    assert f"{n} missing ({a.serial}: {n}); run incomplete" in out, out
    assert "1/2" in out, out
    assert main([*args, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "incomplete" and data["missing"] == {a.serial: n}


def test_a_resume_onto_another_phone_is_refused(make_sim: Any, tmp_path: Path) -> None:
    """Another model and SoC is not the run's phone: exit 2, differences named."""
    pixel = make_sim()
    first = run(_settings(pixel.serial, tmp_path, trials=1), sessions=_sessions(pixel.serial))
    assert first.status == "complete"
    before = (first.run_dir / "trials.jsonl").read_bytes()
    other = make_sim(props={"ro.product.model": "Pixel 4", "ro.board.platform": "sm8150"})
    with pytest.raises(PlanError) as info:
        run(RunSettings(devices=[other.serial], resume=first.run_dir, report=False),
            sessions=_sessions(other.serial))  # fmt: skip
    message = str(info.value)
    assert info.value.exit_code == 2
    assert "model 'Pixel' -> 'Pixel 4'" in message and "platform 'msm8996' -> 'sm8150'" in message
    # Refused before any model was pushed to it.
    assert list(other.root.rglob("*.tflite")) == []
    assert (first.run_dir / "trials.jsonl").read_bytes() == before
    assert _meta(first.run_dir)["status"] == "complete"
    # The same phone at a new address is still welcome (nothing is left to run).
    twin = make_sim()
    again = run(RunSettings(devices=[twin.serial], resume=first.run_dir, report=False),
                sessions=_sessions(twin.serial))  # fmt: skip
    assert again.status == "complete" and again.exit_code == 0
