"""The benchmark_model stand-in's pieces: stats line, number format, flags; and taskset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.sim.tools import benchmark_model as bm

TASKSET = Path(bm.__file__).with_name("taskset.py")


def test_stat_line_like_tsl_stat_with_percentiles() -> None:
    stat = bm.Stat()
    for us in [100, 300, 200, 400]:
        stat.add(us)
    # avg 250; population std sqrt(12500)=111.8 -> 111; percentile = sorted[n*p/100]
    assert (
        stat.line()
        == "count=4 first=100 curr=400 min=100 max=400 avg=250 std=111 p5=100 median=300 p95=400"
    )


def test_stat_line_single_and_all_same() -> None:
    one = bm.Stat()
    one.add(1041765)
    assert one.line() == "count=1 curr=1041765 p5=1041765 median=1041765 p95=1041765"
    same = bm.Stat()
    same.add(5)
    same.add(5)
    assert same.line().startswith("count=2 curr=5(all same)")
    assert bm.Stat().line() == "count=0"


def test_doubles_print_like_cpp_ostream() -> None:
    assert bm.fmt(1041765.4) == "1.04177e+06"
    assert bm.fmt(2345.6) == "2345.6"
    assert bm.fmt(0.5) == "0.5"
    assert bm.fmt(150.0) == "150"


def test_flag_parsing() -> None:
    values, given, unconsumed = bm.parse(
        ["--graph=/m.tflite", "--num_runs=5", "--use_xnnpack=false", "--x=1", "stray"]
    )
    assert (
        values["graph"] == "/m.tflite"
        and values["num_runs"] == 5
        and values["use_xnnpack"] is False
    )
    assert given == {"graph", "num_runs", "use_xnnpack"}
    assert unconsumed == ["--x=1", "stray"]
    with pytest.raises(bm.Failure, match="Failed to parse flag '--min_secs=soon'"):
        bm.parse(["--min_secs=soon"])
    with pytest.raises(bm.Failure):
        bm.parse(["--use_xnnpack=maybe"])


def test_run_phase_counts_like_the_real_loop() -> None:
    calls: list[int] = []
    stat = bm.run_phase(lambda: calls.append(1), min_runs=7, min_secs=0, max_secs=100, delay=-1)
    assert len(calls) == 7 and len(stat.values) == 7
    stat = bm.run_phase(lambda: calls.append(1), min_runs=0, min_secs=-1, max_secs=100, delay=-1)
    assert stat.values == []


def _state(tmp_path: Path, host: int) -> dict[str, str]:
    topo = {
        "clusters": [{"cpus": [0, 1]}, {"cpus": [2, 3], "offline": [3]}],
        "host_map": {"0": host, "1": host, "2": host, "3": host},
    }
    (tmp_path / "topology.json").write_text(json.dumps(topo))
    return dict(os.environ, HARNESS_SIM_STATE=str(tmp_path))


def test_taskset_pins_and_records(tmp_path: Path) -> None:
    host = sorted(os.sched_getaffinity(0))[-1]
    env = _state(tmp_path, host)
    out = subprocess.run(
        [sys.executable, str(TASKSET), "0xc", "grep", "Cpus_allowed_list", "/proc/self/status"],
        capture_output=True, text=True, env=env, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert out.split(":")[1].strip() == str(host)
    (record,) = [
        json.loads(line) for line in (tmp_path / "affinity.jsonl").read_text().splitlines()
    ]
    assert record["device_cpus"] == [2]  # cpu3 is offline
    assert record["host_cpus"] == [host]
    assert record["device_mask"] == "c"
    assert record["argv"] == ["grep", "Cpus_allowed_list", "/proc/self/status"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["8", "true"], "Invalid argument"),
        (["zz", "true"], "bad mask"),
        (["3"], "Needs 2 arguments"),
        (["-x", "3", "true"], "Unknown option"),
    ],
)
def test_taskset_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, str(TASKSET), *args],
        capture_output=True,
        text=True,
        env=_state(tmp_path, 0),
        timeout=30,
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "affinity.jsonl").exists()


def test_taskset_missing_command_is_127(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(TASKSET), "1", "/no/such/tool"],
        capture_output=True,
        text=True,
        env=_state(tmp_path, 0),
        timeout=30,
    )
    assert result.returncode == 127


def test_taskset_p_answers_in_device_cpus(tmp_path: Path) -> None:
    """All device cpus share one host cpu here: only the pinning record tells 0x4 from 0x7."""
    host = sorted(os.sched_getaffinity(0))[-1]
    env = _state(tmp_path, host)
    pinned = subprocess.Popen([sys.executable, str(TASKSET), "0xc", "sleep", "30"], env=env)
    plain = subprocess.Popen(["sleep", "30"], env=env)
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "affinity.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

        def ask(pid: int) -> str:
            return subprocess.run(
                [sys.executable, str(TASKSET), "-p", str(pid)],
                capture_output=True, text=True, env=env, timeout=30, check=True,
            ).stdout.strip()  # fmt: skip

        # toybox's format; cpu3 is offline, so of 0xc only cpu2 remains.
        assert ask(pinned.pid) == f"pid {pinned.pid}'s current affinity mask: 4"
        # Never pinned by taskset: the reverse map of its host cpus, all online cpus.
        assert ask(plain.pid) == f"pid {plain.pid}'s current affinity mask: 7"
    finally:
        for proc in (pinned, plain):
            proc.kill()
            proc.wait()


def test_each_line_reaches_the_output_file_as_it_is_printed(tmp_path: Path) -> None:
    """The real tool ends every log line with std::endl; a reader of its output file
    (the trial's sampler, watching for the timed runs) sees a phase begin while it runs."""
    stand_in = Path(bm.__file__)
    model = Path(__file__).resolve().parents[1] / "data" / "convert" / "tiny_fp32.tflite"
    (tmp_path / "hold").write_text("on\n")  # pauses after every run until removed
    out = tmp_path / "stdout"
    # As on the device: no PYTHONUNBUFFERED or the like from this process's environment.
    env = {"HARNESS_SIM_STATE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, str(stand_in), f"--graph={model}", "--num_threads=1",
            "--warmup_runs=1", "--warmup_min_secs=0", "--num_runs=2", "--min_secs=0"]  # fmt: skip
    with out.open("w") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 60  # a bound for a broken stand-in, not a speed claim
        while "Running benchmark for" not in out.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, "the stand-in ended while held"
            time.sleep(0.02)
        assert "INFO: Running benchmark for at least 1 iterations" in out.read_text()
        assert proc.poll() is None  # held after its first warm-up run: the line came first
    finally:
        (tmp_path / "hold").unlink()
        assert proc.wait(timeout=60) == 0
    assert out.read_text().count("Running benchmark for") == 2
