"""A device lab: phones behind two adb servers, leases on the phones, pools.

Two real adb servers (the test session's, and the bundled adb started again
with `-P` on another port), simulated phones behind them, and `harness run`
as separate processes where runs compete. Every wait here is on an event (a
lease folder appears, a line is printed), never on a duration.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from harness.device.lease import (
    LEASE_DIR,
    STALE_AFTER_S,
    Holder,
    Lease,
    Owner,
    acquire,
    break_stale,
    heartbeat,
)
from harness.device.lease import try_take as take_lease
from harness.device.select import connect
from harness.sim import SimDevice
from harness.sim.image import DEFAULT_ZONES

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A trigger's `fired` is set once its action has returned, which may be just after the
# client saw what the action did: wait for it (a ceiling, not a speed bound).
FIRED_S = 60.0

VARIANT = "mobilenet_v2_0.35_96"
EVENT_TIMEOUT_S = 300.0  # a ceiling for a stuck run, not a speed bound
# A trial's benchmark_model, in the device's events (preparation runs `--help` too).
TRIAL = r"--graph="
RUN = ["--variants", VARIANT, "--runs", "2", "--warmup", "1", "--no-report", "--cooldown-temp", "0"]


# The fixtures' AdbServer (tests/integration/conftest.py), by duck type.
AdbServer = Any


@pytest.fixture
def second_server(adb_launcher: Any, tmp_path: Path) -> Iterator[AdbServer]:
    """A second adb server beside the session's (the bundled adb, `-P`)."""
    server, proc = adb_launcher.start(tmp_path / "adb-2.log")
    yield server
    adb_launcher.stop(proc)


def _until(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def sims(adb_server: AdbServer) -> Iterator[list[SimDevice]]:
    """Devices a test starts; stopped, then dropped from the session's server, at the end
    (as `make_sim` does), so no offline Pixel is left for later tests to trip over."""
    started: list[SimDevice] = []
    yield started
    for device in started:
        device.stop()
        adb_server.run("disconnect", device.serial)


def _sim(started: list[SimDevice], *servers: AdbServer) -> SimDevice:
    device = SimDevice.start()
    started.append(device)
    for server in servers:
        server.connect(device.serial)
    return device


def _spec(server: AdbServer) -> str:
    return f"127.0.0.1:{server.port}"


def _harness(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=EVENT_TIMEOUT_S)
    return proc.returncode, out, err


def _wait_line(stream: IO[str], needle: str, seen: list[str]) -> None:
    """Read lines until one holds `needle` (the process said it)."""
    for line in iter(stream.readline, ""):
        seen.append(line)
        if needle in line:
            return
    raise AssertionError(f"{needle!r} never said: {''.join(seen)}")


def _lease_dir(device: SimDevice) -> Path:
    return device.root / LEASE_DIR.lstrip("/")


def _hold(device: SimDevice, owner: Owner) -> Lease:
    """The test takes the phone's lease itself, as another run would."""
    [session] = connect([device.serial])
    assert take_lease(session, owner) is None
    return Lease(session, owner)


def _trials(run_dir: Path) -> list[dict[str, Any]]:
    text = (run_dir / "trials.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _run_dir(stdout: str) -> Path:
    return Path(json.loads(stdout)["run_dir"])


def test_one_run_over_two_servers(
    adb_server: AdbServer, second_server: AdbServer, sims: list[SimDevice], tmp_path: Path
) -> None:
    a, b = _sim(sims, adb_server), _sim(sims, second_server)
    servers = ["--adb-server", _spec(adb_server), "--adb-server", _spec(second_server)]
    code, out, err = _finish(
        _harness(
            "run",
            "-d",
            a.serial,
            "-d",
            b.serial,
            *servers,
            *RUN,
            "--trials",
            "2",
            "--out",
            str(tmp_path),
            "--json",
        )
    )
    assert code == 0, err
    trials = _trials(_run_dir(out))
    assert {(t["device_serial"], t["adb_server"]) for t in trials} == {
        (a.serial, _spec(adb_server)),
        (b.serial, _spec(second_server)),
    }
    assert len(trials) == 4 and {t["status"] for t in trials} == {"ok"}
    # `harness devices` lists both servers' phones, and names a server it cannot reach
    # without failing the others.
    with socket.socket() as unreached:
        # Bound, never listening: it refuses connections, and no other test takes the port.
        unreached.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{unreached.getsockname()[1]}"
        code, out, err = _finish(_harness("devices", "--json", *servers, "--adb-server", dead))
    assert code == 0, err
    listed = {(d["serial"], d["adb_server"]) for d in json.loads(out)}
    assert listed == {(a.serial, _spec(adb_server)), (b.serial, _spec(second_server))}
    assert f"adb server {dead}: could not be reached" in err
    assert all(d["lease"] is None for d in json.loads(out))


def test_a_serial_on_two_servers_must_name_its_server(
    adb_server: AdbServer, second_server: AdbServer, sims: list[SimDevice]
) -> None:
    both = _sim(sims, adb_server, second_server)
    servers = ["--adb-server", _spec(adb_server), "--adb-server", _spec(second_server)]
    code, _out, err = _finish(_harness("devices", "--json", "-d", both.serial, *servers))
    assert code == 3
    assert f"{both.serial}@{_spec(adb_server)}" in err
    assert f"{both.serial}@{_spec(second_server)}" in err
    code, out, err = _finish(
        _harness("devices", "--json", "-d", f"{both.serial}@{_spec(second_server)}", *servers)
    )
    assert code == 0, err
    [info] = json.loads(out)
    assert (info["serial"], info["adb_server"]) == (both.serial, _spec(second_server))


def test_a_leased_phone_is_refused_then_waited_for(
    adb_server: AdbServer, sims: list[SimDevice], tmp_path: Path
) -> None:
    phone = _sim(sims, adb_server)
    holder = Owner.new("held-by-the-test")
    lease = _hold(phone, holder)
    try:
        code, _out, err = _finish(
            _harness("run", "-d", phone.serial, *RUN, "--trials", "1", "--out", str(tmp_path))
        )
        assert code == 3
        assert (
            f"{phone.serial} is leased by host {holder.host} pid {holder.pid} "
            "run held-by-the-test since" in err
        )
        listed = json.loads(
            subprocess.run(
                [sys.executable, "-m", "harness.cli", "devices", "--json"],
                capture_output=True,
                text=True,
                check=True,
                timeout=EVENT_TIMEOUT_S,
            ).stdout
        )
        [mine] = [d for d in listed if d["serial"] == phone.serial]
        assert mine["lease"]["run"] == "held-by-the-test"
        waiting = _harness(
            "run",
            "-d",
            phone.serial,
            *RUN,
            "--trials",
            "1",
            "--out",
            str(tmp_path),
            "--json",
            "--wait-for-device",
            "600",
        )
        seen: list[str] = []
        assert waiting.stderr is not None
        _wait_line(waiting.stderr, "waiting for the lease of host", seen)
        assert "run held-by-the-test" in seen[-1]
    finally:
        lease.close()
    code, out, err = _finish(waiting)
    assert code == 0, "".join(seen) + err
    assert len(_trials(_run_dir(out))) == 1
    assert not _lease_dir(phone).exists()  # released at the end


def test_two_runs_on_one_phone_never_overlap(
    adb_server: AdbServer, sims: list[SimDevice], tmp_path: Path
) -> None:
    phone = _sim(sims, adb_server)
    args = ["run", "-d", phone.serial, *RUN, "--trials", "3", "--json", "--wait-for-device", "600"]
    first = _harness(*args, "--out", str(tmp_path / "first"))
    _until(lambda: (_lease_dir(phone) / "owner").exists(), "the first run's lease")
    second = _harness(*args, "--out", str(tmp_path / "second"))
    (c1, o1, e1), (c2, o2, e2) = _finish(first), _finish(second)
    assert c1 == 0 and c2 == 0, e1 + e2
    t1, t2 = _trials(_run_dir(o1)), _trials(_run_dir(o2))
    assert len(t1) == 3 and len(t2) == 3
    # Event order from the records: every trial of the second run started after the
    # last trial of the first ended.
    assert max(t["finished_at"] for t in t1) <= min(t["started_at"] for t in t2)


def test_a_stale_lease_is_broken_with_a_warning(
    adb_server: AdbServer, sims: list[SimDevice], tmp_path: Path
) -> None:
    phone = _sim(sims, adb_server)
    lease = _lease_dir(phone)
    lease.mkdir(parents=True)
    old = int(time.time()) - STALE_AFTER_S - 60  # the simulated phone's clock is the host's
    (lease / "owner").write_text(f"token=gone\nhost=ci-7\npid=4242\nrun=crashed-run\nsince={old}\n")
    (lease / "heartbeat").write_text(f"{old}\n")
    code, _out, err = _finish(
        _harness("run", "-d", phone.serial, *RUN, "--trials", "1", "--out", str(tmp_path))
    )
    assert code == 0, err
    assert "broke a stale lease (host ci-7 pid 4242 run crashed-run since" in err


def test_a_heartbeat_refreshes_only_our_own_lease(
    adb_server: AdbServer, sims: list[SimDevice]
) -> None:
    """The heartbeat, read with shell builtins, moves the lease's heartbeat to the phone's
    now while the lease is ours, and says so once another run holds it."""
    phone = _sim(sims, adb_server)
    [session] = connect([phone.serial])
    ours = Owner.new("ours")
    assert take_lease(session, ours) is None
    beat = _lease_dir(phone) / "heartbeat"
    beat.write_text("1000\n")
    before = int(time.time())
    assert heartbeat(session, ours.token) is True
    assert before - 1 <= int(beat.read_text()) <= int(time.time()) + 1
    beat.write_text("1000\n")
    (_lease_dir(phone) / "owner").write_text("token=someone-else\nhost=x\npid=1\nrun=r\n")
    assert heartbeat(session, ours.token) is False
    assert beat.read_text() == "1000\n"
    (_lease_dir(phone) / "owner").unlink()
    assert heartbeat(session, ours.token) is False


def test_only_one_of_two_breakers_wins(adb_server: AdbServer, sims: list[SimDevice]) -> None:
    phone = _sim(sims, adb_server)
    [one] = connect([phone.serial])
    [two] = connect([phone.serial])
    old = Owner.new("old")
    assert take_lease(one, old) is None
    (_lease_dir(phone) / "heartbeat").write_text(f"{int(time.time()) - STALE_AFTER_S - 5}\n")
    seen = take_lease(two, Owner.new("b"))
    assert isinstance(seen, Holder) and seen.stale and seen.run == "old"
    assert break_stale(one, seen) is True
    # The second breaker judged the same lease stale; it is gone, and a new holder's
    # fresh lease stands in its place: the second break must not remove it.
    fresh = Owner.new("fresh")
    assert take_lease(one, fresh) is None
    assert break_stale(two, seen) is False
    assert "run=fresh" in (_lease_dir(phone) / "owner").read_text()


def test_a_lease_taken_by_an_ask_whose_answer_was_cut_is_ours(
    adb_server: AdbServer, sims: list[SimDevice]
) -> None:
    """A drop may cut the answer of a lease call that did take the lease; asked again
    (the run's reconnect does), the lease carrying this run's token is this run's."""
    phone = _sim(sims, adb_server)
    [session] = connect([phone.serial])
    owner = Owner.new("20261207-resumed")
    assert take_lease(session, owner) is None  # the first ask: its answer never came back
    said: list[str] = []
    assert acquire(session, owner, emit=said.append) is None
    assert said == [] and f"token={owner.token}" in (_lease_dir(phone) / "owner").read_text()
    # Anyone else still finds it held.
    other = acquire(session, Owner.new("other"), emit=said.append)
    assert isinstance(other, Holder) and other.run == "20261207-resumed"


def test_clean_releases_only_a_stale_lease_unless_forced(
    adb_server: AdbServer, sims: list[SimDevice]
) -> None:
    phone = _sim(sims, adb_server)
    [session] = connect([phone.serial])
    assert take_lease(session, Owner.new("live")) is None
    code, _out, err = _finish(_harness("clean", "-d", phone.serial))
    assert code == 3 and "run live" in err
    assert _lease_dir(phone).exists()
    (_lease_dir(phone) / "heartbeat").write_text(f"{int(time.time()) - STALE_AFTER_S - 5}\n")
    code, _out, err = _finish(_harness("clean", "-d", phone.serial))
    assert code == 0 and "released" in err and "stale" in err, err
    assert not _lease_dir(phone).exists()
    assert take_lease(session, Owner.new("live-again")) is None
    code, _out, err = _finish(_harness("clean", "-d", phone.serial, "--force"))
    assert code == 0 and "--force" in err, err
    assert not _lease_dir(phone).exists()


def test_a_pool_of_three_shared_by_four_runs(
    adb_server: AdbServer, sims: list[SimDevice], tmp_path: Path
) -> None:
    phones = [_sim(sims, adb_server) for _ in range(3)]
    listed = ", ".join(f'"{p.serial}"' for p in phones)
    (tmp_path / "harness.toml").write_text(f"[pools]\nlab = [{listed}]\n")
    # Hot phones hold their runs in the cooldown wait, leases taken, until the test
    # cools them: the fourth run finds every phone busy, whatever the host's speed.
    for p in phones:
        p.faults.set_thermal({i: 60.0 for i in range(len(DEFAULT_ZONES))})
    args = [
        "run",
        "-d",
        "pool:lab",
        "--variants",
        VARIANT,
        "--runs",
        "2",
        "--warmup",
        "1",
        "--no-report",
        "--trials",
        "1",
        "--cooldown-temp",
        "45",
        "--cooldown-timeout",
        "600",
        "--json",
        "--wait-for-device",
        "600",
        "--out",
        str(tmp_path / "out"),
    ]
    runs = [_harness(*args, cwd=tmp_path) for _ in range(3)]
    _until(lambda: all((_lease_dir(p) / "owner").exists() for p in phones), "three leases")
    fourth = _harness(*args, cwd=tmp_path)
    seen: list[str] = []
    assert fourth.stderr is not None
    _wait_line(fourth.stderr, "pool lab: waiting for a free phone", seen)
    for p in phones:
        p.faults.clear_thermal()
    results = [_finish(r) for r in [*runs, fourth]]
    assert all(code == 0 for code, _o, _e in results), [e for _c, _o, e in results]
    used = [{t["device_serial"] for t in _trials(_run_dir(o))} for _c, o, _e in results]
    assert all(len(u) == 1 for u in used)
    firsts = [next(iter(u)) for u in used[:3]]
    assert sorted(firsts) == sorted(p.serial for p in phones)  # each a distinct phone
    # The fourth ran on a phone after the run that held it there ended.
    [mine] = used[3]
    before = _trials(_run_dir(results[firsts.index(mine)][1]))
    after = _trials(_run_dir(results[3][1]))
    assert max(t["finished_at"] for t in before) <= min(t["started_at"] for t in after)


def test_a_server_that_drops_mid_run_is_a_phone_gone(
    adb_server: AdbServer, adb_launcher: Any, sims: list[SimDevice], tmp_path: Path
) -> None:
    second, proc = adb_launcher.start(tmp_path / "adb-drop.log")
    try:
        a, b = _sim(sims, adb_server), _sim(sims, second)
        servers = ["--adb-server", _spec(adb_server), "--adb-server", _spec(second)]
        devices = ["-d", a.serial, "-d", b.serial]
        out = tmp_path / "out"
        # The whole second host's adb server goes away as b's second trial starts.
        gone = b.faults.on(
            "benchmark_start", lambda _e, first=proc: adb_launcher.stop(first), nth=2, match=TRIAL
        )
        run = _harness(
            "run",
            *devices,
            *servers,
            *RUN,
            "--trials",
            "6",
            "--json",
            "--reconnect-timeout",
            "3",
            "--out",
            str(out),
        )
        code, stdout, err = _finish(run)
        assert gone.fired.wait(FIRED_S) and gone.errors == []
        assert code == 3, err
        outcome = json.loads(stdout)
        assert outcome["status"] == "interrupted"
        trials = _trials(Path(outcome["run_dir"]))
        assert sum(t["device_serial"] == a.serial for t in trials) == 6  # the other went on
        assert sum(t["device_serial"] == b.serial for t in trials) == 1
        assert outcome["missing"] == {b.serial: 5}
        # The server comes back on its port; the printed resume finishes the run.
        second, proc = adb_launcher.start(tmp_path / "adb-drop.log", port=second.port)
        second.connect(b.serial)
        code, stdout, err = _finish(
            _harness(
                "run", "--resume", outcome["run_dir"], *devices, *servers, "--json", "--no-report"
            )
        )
        assert code == 0, err
        assert len(_trials(Path(outcome["run_dir"]))) == 12
        # The dropped run could not release its lease on that phone; its resume takes it over.
        assert f"{b.serial}: took over this run's lease from its ended process" in err
    finally:
        adb_launcher.stop(proc)


def test_run_called_without_sessions_leases_its_phone(
    adb_server: AdbServer, sims: list[SimDevice], tmp_path: Path
) -> None:
    """`harness.run.run()` from a script: refused on a leased phone, leased while it measures."""
    from harness.errors import DeviceBusyError
    from harness.run import RunSettings, run

    phone = _sim(sims, adb_server)
    holder = Owner.new("held-by-the-test")
    lease = _hold(phone, holder)

    def settings(out: Path) -> RunSettings:
        return RunSettings(
            devices=[phone.serial], variants=[VARIANT], trials=2, runs=2, warmup=1,
            out=out, seed=3, report=False,
        )  # fmt: skip

    try:
        with pytest.raises(DeviceBusyError, match="held-by-the-test"):
            run(settings(tmp_path / "refused"))
    finally:
        lease.close()
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
    owners: list[str] = []
    # As the first trial's benchmark starts, the run is measuring: who holds the phone?
    phone.faults.on(
        "benchmark_start",
        lambda _e: owners.append((_lease_dir(phone) / "owner").read_text()),
        match=TRIAL,
    )
    outcome = run(settings(tmp_path / "ran"))
    assert outcome.status == "complete", outcome
    [owner] = owners
    assert f"run={outcome.run_dir.name}" in owner and f"pid={os.getpid()}" in owner
    assert not _lease_dir(phone).exists()  # released at the end


def test_a_run_waiting_for_one_phone_holds_none(
    adb_server: AdbServer, sims: list[SimDevice], monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or nothing: while B is busy, a run wanting A and B leaves A free (so a run
    holding B and waiting for A can finish), then takes both once B is free."""
    import threading

    import harness.device.lease as lease_module
    from harness.device.lab import _twin

    a, b = _sim(sims, adb_server), _sim(sims, adb_server)
    [sa, sb] = connect([a.serial, b.serial])
    other = Owner.new("holds-b-then-wants-a")
    held_b = _hold(b, other)
    # Its pause between looks waits for the test, so what it holds while
    # waiting is seen between two of its looks, never in the middle of one.
    paused, go_on = threading.Event(), threading.Event()

    def pause() -> None:
        paused.set()
        assert go_on.wait(EVENT_TIMEOUT_S)

    monkeypatch.setattr(lease_module, "pause", pause)
    said: list[str] = []
    got: list[Any] = []
    errors: list[BaseException] = []

    def wants_both() -> None:
        try:
            got.extend(
                lease_module.take_all([sa, sb], Owner.new("wants-a-and-b"),
                                      wait_s=EVENT_TIMEOUT_S, emit=said.append, fresh=_twin)
            )  # fmt: skip
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=wants_both, daemon=True)
    thread.start()
    assert paused.wait(EVENT_TIMEOUT_S), errors
    assert any("waiting for the lease of" in m and "holds-b-then-wants-a" in m for m in said)
    # While it waits for B, A is free: the holder of B can take A too, and finish.
    assert not _lease_dir(a).exists()
    _hold(a, other).close()
    held_b.close()
    go_on.set()
    thread.join(EVENT_TIMEOUT_S)
    assert not thread.is_alive() and errors == []
    try:
        assert sorted(lease.target.serial for lease in got) == sorted([a.serial, b.serial])
        assert "run=wants-a-and-b" in (_lease_dir(a) / "owner").read_text()
        assert "run=wants-a-and-b" in (_lease_dir(b) / "owner").read_text()
    finally:
        for lease in got:
            lease.close()
