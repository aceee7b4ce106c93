"""SIGTERM (what CI runners and `timeout` send) stops a run like Ctrl-C.

The harness runs as a child process. With `--device sim` it starts and must
clean up its own simulated phone and temporary folder; the signal is sent
once a trial is stored, and then the run folder, the exit code, stderr and
the temporary folder are checked. Against a phone that outlives the harness,
the signal comes while a trial runs, and the phone's process table shows
what the harness left there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WAIT_S = 240.0


def _signals_as_from_a_terminal() -> None:
    """In the child: SIGINT handled by default, whatever this test process inherited.

    A shell without job control starts its background commands with SIGINT
    ignored (POSIX), and a Python started with SIGINT ignored keeps ignoring it:
    a suite launched that way would see the harness ignore Ctrl-C, which a user
    at a terminal never does.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _records(out: Path) -> tuple[Path | None, int]:
    for run_dir in out.iterdir() if out.exists() else []:
        path = run_dir / "trials.jsonl"
        if path.exists():
            return run_dir, len([x for x in path.read_text().splitlines() if x.strip()])
    return None, 0


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "sigint"]
)
def test_a_signal_stops_the_run_records_it_and_cleans_up(
    adb_server: Any, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    argv = [
        "run", "--device", "sim", "--variants", "v2:0.35_96,v2:0.35_128", "--trials", "3",
        "--runs", "5000", "--warmup", "1", "--cooldown-temp", "0", "--out", str(out),
        "--no-report",
    ]  # fmt: skip
    script = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *argv], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_signals_as_from_a_terminal,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT_S
        run_dir, stored = _records(out)
        while stored < 1:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no trial stored in time"
            time.sleep(0.02)
            run_dir, stored = _records(out)
        proc.send_signal(sig)
        _stdout, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert run_dir is not None
    assert proc.returncode == code, err
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "interrupted", meta["status"]
    assert sum(meta["missing"].values()) >= 1
    assert "continue it with: harness run --resume" in err, err
    # What became of the trial in flight is said, one way or the other.
    assert "the trial in flight" in err or "no trial was running" in err, err
    # The simulated phone and its temporary folder are gone.
    assert not list(tmp.glob("harness-sim-*")), list(tmp.iterdir())


def _trial_procs(session: Any) -> list[str]:
    """The phone's live processes of a trial: benchmark, wrapper, sampler (zombies aside)."""
    table = session.shell("ps -A -o PID,S,ARGS", timeout_s=30).stdout.splitlines()
    rows = [line.split(None, 2) for line in table[1:]]
    return [
        " ".join(row)
        for row in rows
        if len(row) == 3
        and row[1] != "Z"
        and not row[2].startswith("ps ")
        and any(word in row[2] for word in ("benchmark_model", " _wrap ", " _sample "))
    ]


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "sigint"]
)
def test_a_signal_mid_trial_stops_the_trial_on_the_phone(
    sim: Any, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """The trial in flight (benchmark, wrapper, sampler) is gone from the phone when the
    harness has exited, and stderr says it was killed."""
    from harness.device.select import connect

    [session] = connect([sim.serial])
    sim.faults.set_hold(True)  # the benchmark pauses between runs: in flight until stopped
    argv = [
        "run", "--device", sim.serial, "--variants", "v2:0.35_96", "--trials", "2",
        "--runs", "3", "--warmup", "0", "--cooldown-temp", "0", "--out", str(tmp_path / "out"),
        "--no-report",
    ]  # fmt: skip
    script = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *argv], text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_signals_as_from_a_terminal,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT_S
        # The wrapper writes `started` once it has launched the benchmark and its sampler.
        while not list(sim.root.glob("data/local/tmp/harness/trials/*/started")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no trial started in time"
            time.sleep(0.02)
        assert _trial_procs(session), "the trial should be running on the phone"
        proc.send_signal(sig)
        _stdout, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        sim.faults.set_hold(False)
    assert proc.returncode == code, err
    assert "the trial in flight was killed" in err, err
    assert _trial_procs(session) == []
