"""The parser against real benchmark_model outputs (tests/data/benchmark_model/README.md)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from harness.logs.parser import parse, parse_lines

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"


def _read(name: str) -> tuple[str, str]:
    """(stdout, stderr) of a fixture: NAME.stdout + NAME.stderr, or one merged NAME."""
    path = DATA / name
    if path.suffix == ".stdout":
        err = path.with_suffix(".stderr")
        return path.read_text(), err.read_text() if err.exists() else ""
    return path.read_text(), ""


# fixture -> (exit code, expected fields). Figures are the ones printed in each file.
CASES: dict[str, tuple[int | None, dict[str, Any]]] = {
    "era2018_ti_sdk_tflite112.log": (
        0,
        dict(status="ok", era="2018", count=50, avg_us=137722, min_us=137079, max_us=143416,
             std_us=896, init_us=4452, warmup_avg_us=146161, inference_avg_us=137722,
             first_us=146161, p5_us=None),
    ),
    "era2018_zedboard_armv7.log": (
        None,
        dict(status="ok", era="2018", count=50, avg_us=747733, min_us=747331, max_us=748577,
             std_us=293, init_us=21039, warmup_avg_us=751932),
    ),
    "era2018_mnv2_quant_pixel_op_profiling.log": (
        0,
        dict(status="ok", era="2018", count=50, avg_us=115062, min_us=88216, max_us=129193,
             std_us=7678, init_us=1892, warmup_avg_us=86184.3, first_us=91810),
    ),
    "era2019_tf_readme_op_profiling.log": (
        0,
        dict(status="ok", era="2019", count=None, avg_us=79760.9, init_us=38467,
             warmup_avg_us=83235, inference_avg_us=79760.9),
    ),
    "era2019_android_apk_logcat.log": (
        None,
        dict(status="ok", era="2019", avg_us=80660.1, init_us=4108, warmup_avg_us=91471),
    ),
    "era2020_ti_am62_cpu.log": (
        0,
        dict(status="ok", era="2020+", count=50, avg_us=1.24027e06, min_us=1238588,
             max_us=1252566, std_us=2565, p5_us=1238753, median_us=1239807, p95_us=1247415,
             init_us=5579, first_us=1357602, warmup_avg_us=1.3576e06,
             inference_avg_us=1.24027e06, mem_init_mb=6.36328, mem_overall_mb=109.832,
             peak_mem_mb=None),
    ),
    "era2020_ti_am62_xnnpack.log": (
        0,
        dict(status="ok", era="2020+", count=50, avg_us=899641, p5_us=898333,
             median_us=899281, p95_us=904305, init_us=614333, first_us=905463,
             mem_init_mb=146.363, mem_overall_mb=150.141),
    ),
    "era2020_noprefix_xnnpack_rpi.log": (
        0,
        dict(status="ok", era="2020+", count=50, avg_us=55043.2, min_us=53077, max_us=60727,
             std_us=1562, first_us=64791, warmup_avg_us=57758.2, mem_overall_mb=18.7227),
    ),
    "era2024_int4_verbose.stdout": (
        0,
        dict(status="ok", era="2020+", count=24, avg_us=42394.8, min_us=41938, max_us=42840,
             std_us=188, p5_us=42133, median_us=42419, p95_us=42671, init_us=207799,
             first_us=90710, warmup_avg_us=48230.2, mem_init_mb=23.5938),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_figures(name: str) -> None:
    exit_code, expected = CASES[name]
    result = parse(*_read(name), exit_code=exit_code).to_dict()
    for key, value in expected.items():
        if isinstance(value, float | int) and not isinstance(value, bool):
            assert result[key] == pytest.approx(value), key
        else:
            assert result[key] == value, key
    assert result["error"] is None
    assert result["binary_id"] is None  # none of these is the harness stand-in


def test_three_eras_are_covered() -> None:
    eras = {parse(*_read(name)).era for name in CASES}
    assert eras == {"2018", "2019", "2020+"}


@pytest.mark.parametrize(
    ("name", "timings_avg"),
    [("era2018_mnv2_quant_pixel_op_profiling.log", 114924.0),
     ("era2019_tf_readme_op_profiling.log", 79732.0)],
)  # fmt: skip
def test_op_profiler_totals_are_never_latency(name: str, timings_avg: float) -> None:
    result = parse(*_read(name), exit_code=0)
    assert result.figures.avg_us is not None and result.figures.avg_us != timings_avg
    assert result.figures.count != 0  # "Memory (bytes): count=0" is not a phase either


def test_regular_phase_not_warmup_is_latency() -> None:
    result = parse(*_read("era2020_noprefix_xnnpack_rpi.log"))
    assert result.warmup is not None and result.warmup.avg == pytest.approx(57758.2)
    assert result.regular is not None and result.figures.avg_us == result.regular.avg == 55043.2


def test_op_table_with_start_column_and_spaces() -> None:
    ops = parse(*_read("era2018_mnv2_quant_pixel_op_profiling.log")).ops
    assert len(ops) == 14  # the Run Order rows kept in the fixture; Top-by rows not counted
    first, last = ops[0], ops[-1]
    assert first.to_dict() == {
        "node_type": "CONV_2D", "start_ms": 0.0, "first_ms": 5.567, "avg_ms": 7.237,
        "pct": 6.297, "cdf_pct": 6.297, "mem_kb": 0.0, "times_called": 1,
        "name": "[MobilenetV2/Conv/Relu6]", "graph": None,
    }  # fmt: skip
    assert last.node_type == "RESHAPE" and last.name == "[output]"
    assert last.cdf_pct == 100.0


def test_op_table_with_start_column_and_tabs() -> None:
    ops = parse(*_read("era2019_tf_readme_op_profiling.log")).ops
    assert [op.node_type for op in ops][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert ops[1].start_ms == 4.27 and ops[1].avg_ms == 2.15
    assert ops[-1].name == "[MobilenetV1/Predictions/Softmax]"
    assert len(ops) == 9


def test_xnnpack_table_without_start_skips_init_profile() -> None:
    ops = parse(*_read("derived_xnnpack_ops_table.log")).ops
    assert [op.node_type for op in ops] == [
        "Convolution (NHWC, F32) IGEMM",
        "HardSwish (NC)",
        "Convolution (NHWC, F32) DWConv",
        "Sum (ND) Reduce",
    ]
    assert "start_ms" not in ops[0].to_dict()  # the table has no such column
    assert ops[0].name == "Delegate/Convolution (NHWC, F32) IGEMM:0"
    assert ops[0].avg_ms == 0.2 and ops[0].pct == 11.441


def test_xnnpack_csv_with_commas_in_node_type() -> None:
    ops = parse(*_read("xnnpack_ops.csv")).ops
    assert [(op.node_type, op.avg_ms) for op in ops] == [
        ("Convolution (NHWC, F32) IGEMM", 0.1999),
        ("HardSwish (NC)", 0.0656),
        ("Convolution (NHWC, F32) DWConv", 0.0408),
        ("Sum (ND) Reduce", 0.0148),
    ]
    assert ops[0].pct == 11.4405 and ops[0].times_called == 1
    assert ops[2].name == "Delegate/Convolution (NHWC\t F32) DWConv:2"


def test_benchmarking_failed_with_separate_streams() -> None:
    stdout, stderr = _read("failed_prepare.stdout")
    result = parse(stdout, stderr, exit_code=1)
    assert result.status == "failed"
    assert result.error is not None
    assert "Node number 57 (BATCH_MATMUL) failed to prepare" in result.error
    assert "Failed to allocate tensors" in result.error
    assert result.figures.avg_us is None and result.figures.count is None


def test_benchmarking_failed_even_when_old_binary_exits_zero() -> None:
    stdout, stderr = _read("failed_prepare.stdout")
    assert parse(stdout, stderr, exit_code=0).status == "failed"


def test_missing_model() -> None:
    stdout, stderr = _read("missing_model.stdout")
    result = parse(stdout, stderr, exit_code=1)
    assert result.status == "failed"
    assert result.error is not None and "Failed to mmap model" in result.error
    assert "missing.tflite" in result.error


@pytest.mark.parametrize("exit_code", [139, -11])
def test_crash_by_signal(exit_code: int) -> None:
    result = parse(*_read("crash_sigsegv_mid_run.log"), exit_code=exit_code)
    assert result.status == "crashed"
    assert result.error is not None and "SIGSEGV" in result.error
    assert result.figures.avg_us is None
    assert result.warmup is not None and result.warmup.count == 1  # what it got to


def test_cut_short_without_exit_code_is_truncated() -> None:
    result = parse(*_read("crash_sigsegv_mid_run.log"))
    assert result.status == "parse_error"
    assert result.error is not None and result.error.startswith("truncated output")


def test_line_cut_mid_figure_is_not_a_result() -> None:
    result = parse(*_read("truncated_mid_line.log"), exit_code=0)
    assert result.status == "parse_error"
    assert result.figures.avg_us is None  # never the cut "avg=7477"
    assert result.error is not None and "regular runs" in result.error


def test_merged_and_separate_streams_agree() -> None:
    stdout, stderr = _read("failed_prepare.stdout")
    separate = parse(stdout, stderr, exit_code=1).to_dict()
    merged = parse(stdout + stderr, "", exit_code=1).to_dict()
    assert separate == merged


def test_lines_between_two_runs_join_neither_whichever_reader_reads_them() -> None:
    """After a run's summary, a `Use gpu` echo and an error begin a run without STARTING!
    (its other lines cut from a paste); the next STARTING! run is a CPU one on its own."""
    first, _ = _read("era2020_ti_am62_xnnpack.log")
    last, _ = _read("era2020_ti_am62_cpu.log")
    text = first + "INFO: Use gpu: [1]\nERROR: Failed to create GPU delegate\n" + last
    by_line = parse_lines(io.StringIO(text), exit_code=0)
    by_block = parse(text, exit_code=0)
    assert by_line.to_dict() == by_block.to_dict()
    assert by_line.invocations == 2 and by_line.status == "ok"
    assert by_line.delegation.accelerator == "cpu"  # not the cut run's `Use gpu`


def test_log_of_several_runs_is_read_from_the_last() -> None:
    first, _ = _read("era2024_int4_verbose.stdout")
    second, _ = _read("era2018_zedboard_armv7.log")
    result = parse("$ ./benchmark_model ...\n" + first + "$ ./benchmark_model ...\n" + second)
    assert result.invocations == 2
    # the zedboard run, not a mix
    assert result.figures.avg_us == 747733 and result.figures.count == 50
    assert result.warmup is not None and result.warmup.count == 1
    assert result.figures.mem_init_mb is None  # the first run's memory line is not carried over
