"""benchmark_model argv: fixed counts, only flags the binary accepts."""

from __future__ import annotations

import pytest

from harness.bench.command import build_command, normalize_flags
from harness.errors import BinaryError

# Flags of a current classic binary (subset of `benchmark_model --help`, LiteRT HEAD).
MODERN = {
    "graph",
    "num_threads",
    "num_runs",
    "min_secs",
    "max_secs",
    "warmup_runs",
    "warmup_min_secs",
    "use_xnnpack",
    "enable_op_profiling",
}
# A 2018-era binary: no min_secs family, no XNNPACK, no op profiling flag.
OLD_2018 = {"graph", "num_threads", "num_runs", "input_layer", "input_layer_shape"}


def test_modern_binary_gets_fixed_counts() -> None:
    cmd = build_command(
        "/system/bin/benchmark_model", MODERN, graph="/d/m.tflite", threads=1, runs=50, warmup=5
    )
    assert cmd.argv == [
        "/system/bin/benchmark_model",
        "--graph=/d/m.tflite",
        "--num_threads=1",
        "--num_runs=50",
        "--min_secs=0",
        "--warmup_runs=5",
        "--warmup_min_secs=0",
    ]
    assert cmd.notes == []


@pytest.mark.parametrize(
    ("setting", "flag"), [("on", "--use_xnnpack=true"), ("off", "--use_xnnpack=false")]
)
def test_xnnpack_explicit(setting: str, flag: str) -> None:
    cmd = build_command("b", MODERN, graph="g", threads=2, runs=3, warmup=1, xnnpack=setting)
    assert flag in cmd.argv
    assert "--num_threads=2" in cmd.argv


def test_xnnpack_default_passes_no_flag() -> None:
    cmd = build_command("b", MODERN, graph="g", threads=1, runs=3, warmup=1)
    assert not any(a.startswith("--use_xnnpack") for a in cmd.argv)


def test_old_binary_gets_only_its_flags_and_notes() -> None:
    cmd = build_command("b", OLD_2018, graph="g", threads=1, runs=3, warmup=1)
    assert cmd.argv == ["b", "--graph=g", "--num_threads=1", "--num_runs=3"]
    assert any("min_secs" in n for n in cmd.notes)
    assert any("warmup_runs" in n for n in cmd.notes)


def test_old_binary_refuses_explicit_xnnpack_and_profiling() -> None:
    with pytest.raises(BinaryError, match="use_xnnpack"):
        build_command("b", OLD_2018, graph="g", threads=1, runs=3, warmup=1, xnnpack="on")
    with pytest.raises(BinaryError, match="enable_op_profiling"):
        build_command("b", OLD_2018, graph="g", threads=1, runs=3, warmup=1, op_profile=True)


def test_op_profile_flag() -> None:
    cmd = build_command("b", MODERN, graph="g", threads=1, runs=3, warmup=1, op_profile=True)
    assert cmd.argv[-1] == "--enable_op_profiling=true"


def test_missing_num_runs_is_a_binary_error() -> None:
    with pytest.raises(BinaryError, match="num_runs"):
        build_command("b", {"graph"}, graph="g", threads=1, runs=3, warmup=1)


def test_flags_are_normalized() -> None:
    assert normalize_flags(["--num_runs=50", "-graph", " min_secs ", "--"]) == {
        "num_runs",
        "graph",
        "min_secs",
    }
    cmd = build_command(
        "b", ["--graph", "--num_runs", "--num_threads"], graph="g", threads=1, runs=2, warmup=0
    )
    assert cmd.argv == ["b", "--graph=g", "--num_threads=1", "--num_runs=2"]


def test_binary_listing_no_flags_gets_only_the_timeless_ones() -> None:
    cmd = build_command("b", set(), graph="g", threads=1, runs=3, warmup=1)
    assert cmd.argv == ["b", "--graph=g", "--num_threads=1", "--num_runs=3"]
    assert any("listed no flags" in n for n in cmd.notes)
    with pytest.raises(BinaryError, match="use_xnnpack"):
        build_command("b", set(), graph="g", threads=1, runs=3, warmup=1, xnnpack="off")
