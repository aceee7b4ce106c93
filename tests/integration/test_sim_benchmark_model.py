"""The benchmark_model stand-in on the simulated device, with a real converted model."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from harness.sim import SimDevice

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The count= line regex from ../shared/reference/benchmark_model.md (same rules as the real tool).
NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
COUNT = re.compile(
    rf"count=(?P<count>\d+)(?: first=(?P<first>{NUM}))? curr=(?P<curr>{NUM})"
    rf"(?P<allsame>\(all same\))?"
    rf"(?: min=(?P<min>{NUM}) max=(?P<max>{NUM}) avg=(?P<avg>{NUM}) std=(?P<std>{NUM}))?"
    rf"(?: p5=(?P<p5>{NUM}) median=(?P<median>{NUM}) p95=(?P<p95>{NUM}))?"
)
SUMMARY = re.compile(
    rf"Inference timings in us: Init: (?P<init>{NUM}), First inference: (?P<first>{NUM}), "
    rf"Warmup \(avg\): (?P<warmup>{NUM}), Inference \(avg\): (?P<inference>{NUM})"
)
MEM = re.compile(
    rf"Memory footprint delta from the start of the tool \(MB\): init=({NUM}) overall=({NUM})"
)
RUN = "--num_threads=1 --warmup_runs=2 --warmup_min_secs=0 --num_runs=15 --min_secs=0"


@pytest.fixture(scope="module")
def tiny_model() -> Path:
    from harness.catalogue import get
    from harness.convert import convert_many

    (model,) = convert_many([get("mobilenet_v2_0.35_96")], progress=False)
    return Path(model.path)


def _push(sim: SimDevice, adb_server, model: Path) -> str:
    remote = "/data/local/tmp/harness/models/tiny.tflite"
    result = adb_server.run("-s", sim.serial, "push", str(model), remote, timeout_s=60)
    assert result.returncode == 0, result.stderr
    return remote


def _reported_s(stdout: str) -> float:
    """Seconds the warmup and regular runs took, by the tool's own count= lines."""
    counts = [m for line in stdout.splitlines() if (m := COUNT.search(line))]
    return sum(int(m["count"]) * float(m["avg"]) for m in counts) / 1e6


def test_output_format_and_real_latency(sim: SimDevice, adb_server, tiny_model: Path) -> None:
    remote = _push(sim, adb_server, tiny_model)
    started = time.monotonic()
    result = adb_server.run(
        "-s",
        sim.serial,
        "shell",
        f"taskset 0c benchmark_model --graph={remote} {RUN}",
        timeout_s=120,
    )
    wall_s = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("INFO: harness benchmark_model stand-in ")
    assert "not the official TFLite tool" in lines[0]
    assert lines[1] == "INFO: STARTING!"
    assert "INFO: Num threads: [1]" in lines
    assert f"INFO: Graph: [{remote}]" in lines
    running = [line for line in lines if line.startswith("INFO: Running benchmark for at least")]
    tail = "iterations and at least 0 seconds but terminate if exceeding 150 seconds."
    assert running == [
        f"INFO: Running benchmark for at least 2 {tail}",
        f"INFO: Running benchmark for at least 15 {tail}",
    ]
    counts = [m for line in lines if (m := COUNT.search(line))]
    assert [int(m["count"]) for m in counts] == [2, 15]
    regular = counts[1]
    assert (
        int(regular["min"])
        <= int(regular["p5"])
        <= int(regular["median"])
        <= int(regular["p95"])
        <= int(regular["max"])
    )
    summary = SUMMARY.search(result.stdout)
    assert summary is not None
    assert abs(float(summary["inference"]) - float(regular["avg"])) < 1.0
    assert MEM.search(result.stdout) is not None
    # Measured, not made up: not labelled synthetic, the runs differ from one another,
    # and the time they report really passed while the command ran (a lower bound on
    # the wall time, whatever the host's speed).
    assert "SYNTHETIC" not in lines[0]
    assert int(regular["min"]) < int(regular["max"])
    assert wall_s >= _reported_s(result.stdout)
    # Pinning happened, and it is on record.
    assert sim.affinity_records()[-1]["argv"][0] == "benchmark_model"

    from harness.logs.parser import parse

    parsed = parse(result.stdout, result.stderr, result.returncode).to_dict()
    assert parsed["status"] == "ok"
    assert parsed["count"] == 15
    assert parsed["binary_id"] and "stand-in" in parsed["binary_id"]


def test_xnnpack_flag_and_unknown_flags(sim: SimDevice, adb_server, tiny_model: Path) -> None:
    remote = _push(sim, adb_server, tiny_model)
    cmd = (
        f"benchmark_model --graph={remote} --use_xnnpack=false --not_a_flag=1"
        " --num_runs=3 --min_secs=0 --warmup_min_secs=0"
    )
    result = adb_server.run("-s", sim.serial, "shell", cmd, timeout_s=120)
    assert result.returncode == 0, result.stderr
    assert "WARN: Unconsumed cmdline flags: --not_a_flag=1" in result.stdout
    assert "INFO: Use xnnpack: [0]" in result.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("--enable_op_profiling=true", "op profiling"),
        ("--allow_fp16=true", "fp16 relaxation"),
        ("--num_runs=many", "Failed to parse flag '--num_runs=many'"),
    ],
)
def test_refused_flags_fail_like_the_real_tool(
    sim: SimDevice, adb_server, tiny_model: Path, flags: str, message: str
) -> None:
    remote = _push(sim, adb_server, tiny_model)
    result = adb_server.run(
        "-s", sim.serial, "shell", f"benchmark_model --graph={remote} {flags}", timeout_s=60
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stderr.rstrip().endswith("ERROR: Benchmarking failed.")


def test_missing_and_corrupt_models_fail(sim: SimDevice, adb_server) -> None:
    missing = adb_server.run(
        "-s", sim.serial, "shell", "benchmark_model --graph=/data/local/tmp/none.tflite"
    )
    assert missing.returncode == 1
    assert "ERROR: Failed to mmap model /data/local/tmp/none.tflite" in missing.stderr
    corrupt = adb_server.run(
        "-s",
        sim.serial,
        "shell",
        "echo garbage > /data/local/tmp/bad.tflite;"
        " benchmark_model --graph=/data/local/tmp/bad.tflite",
    )
    assert corrupt.returncode == 1
    assert "ERROR: Benchmarking failed." in corrupt.stderr


def test_slowdown_fault_really_slows_inference(
    sim: SimDevice, adb_server, tiny_model: Path
) -> None:
    remote = _push(sim, adb_server, tiny_model)
    # The factor, exactly: seeded draws (docs/sim.md), the same before and after.
    sim.faults.set_synthetic(7)
    try:
        _, base = _runs(adb_server, sim, remote)
        sim.faults.set_synthetic(7)  # restarts the draws
        sim.faults.set_slowdown(3.0)
        _, slow = _runs(adb_server, sim, remote)
    finally:
        sim.faults.set_synthetic(None)
    assert all(abs(s - 3 * b) <= 3 for s, b in zip(slow, base, strict=True)), (base, slow)
    # In the real mode the time is really spent: with 200x every run spins for 199 times
    # its inference, and all that reported time passed while the command ran. Times
    # scaled without the spin would claim far more than the wall time.
    sim.faults.set_slowdown(200.0)
    started = time.monotonic()
    out = adb_server.run(
        "-s", sim.serial, "shell", f"benchmark_model --graph={remote} {RUN}", timeout_s=600
    )
    wall_s = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    assert "SYNTHETIC" not in out.stdout.splitlines()[0]
    assert wall_s >= _reported_s(out.stdout)


def _runs(adb_server, sim: SimDevice, remote: str) -> tuple[str, list[int]]:
    """First line and the regular phase's run times, from the stand-in's count= line."""
    out = adb_server.run(
        "-s", sim.serial, "shell", f"benchmark_model --graph={remote} {RUN}", timeout_s=120
    )
    assert out.returncode == 0, out.stderr
    regular = [m for line in out.stdout.splitlines() if (m := COUNT.search(line))][1]
    figures = [int(regular[k]) for k in ("first", "curr", "min", "max", "p5", "median", "p95")]
    return out.stdout.splitlines()[0], figures


def test_synthetic_mode_is_labelled_seeded_and_repeatable(
    sim: SimDevice, adb_server, tiny_model: Path
) -> None:
    remote = _push(sim, adb_server, tiny_model)
    sim.faults.set_synthetic(7)
    try:
        first_line, one = _runs(adb_server, sim, remote)
        _, two = _runs(adb_server, sim, remote)
        sim.faults.set_synthetic(7)  # restarts the draws
        _, again = _runs(adb_server, sim, remote)
        sim.faults.set_synthetic(8)
        _, other_seed = _runs(adb_server, sim, remote)
    finally:
        sim.faults.set_synthetic(None)
    assert "SYNTHETIC latencies (seeded: seed=7 cv=0.02)" in first_line
    assert first_line.startswith("INFO: harness benchmark_model stand-in ")
    assert again == one  # same seed, same draws: host load plays no part
    assert two != one and other_seed != one  # each trial (and seed) draws anew
    # The binary id the harness stores says it too.
    from harness.device.binary import classify

    assert classify("0" * 64, first_line) == "stand-in"
    real_line, _ = _runs(adb_server, sim, remote)
    assert "SYNTHETIC" not in real_line


def test_synthetic_draws_ignore_the_content_and_recipe_hashes_in_a_model_name(
    sim: SimDevice, adb_server, tiny_model: Path
) -> None:
    """A fresh conversion (other random weights, other TF) names the model anew, not its draws."""
    models = "/data/local/tmp/harness/models"
    names = ["0123456789abcdef-tiny-fp32-fedcba9876543210.tflite",
             "aaaaaaaaaaaaaaaa-tiny-fp32-bbbbbbbbbbbbbbbb.tflite", "tiny-int8.tflite"]  # fmt: skip
    for name in names:
        pushed = adb_server.run("-s", sim.serial, "push", str(tiny_model), f"{models}/{name}")
        assert pushed.returncode == 0, pushed.stderr
    draws = []
    try:
        for name in names:
            sim.faults.set_synthetic(5)  # each model's first trial
            draws.append(_runs(adb_server, sim, f"{models}/{name}")[1])
    finally:
        sim.faults.set_synthetic(None)
    assert draws[0] == draws[1]
    assert draws[2] != draws[0]  # a name that differs in more than its hashes draws anew


def test_synthetic_slowdown_applies_to_the_matching_models_only(
    sim: SimDevice, adb_server, tiny_model: Path
) -> None:
    remote = _push(sim, adb_server, tiny_model)
    try:
        sim.faults.set_synthetic(3)
        _, base = _runs(adb_server, sim, remote)
        sim.faults.set_synthetic(3)
        sim.faults.set_slowdown(1.25, models="tiny*")
        _, slow = _runs(adb_server, sim, remote)
        sim.faults.set_synthetic(3)
        sim.faults.set_slowdown(1.25, models="*0.35_128*")
        _, other = _runs(adb_server, sim, remote)
    finally:
        sim.faults.set_synthetic(None)
        sim.faults.set_slowdown(1.0)
    # The same draws, each scaled by the fault (to the microsecond the tool truncates to).
    assert all(abs(s - 1.25 * b) <= 1.25 for s, b in zip(slow, base, strict=True)), (slow, base)
    assert other == base
