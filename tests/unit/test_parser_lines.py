"""The parser line by line: count= shapes, prefixes, exit codes, the stand-in, op-table edges."""

from __future__ import annotations

import pytest

from harness.logs.parser import parse, signal_from_exit_code

RUN1 = (
    "Running benchmark for at least 1 iterations and at least 0.5 seconds"
    " but terminate if exceeding 150 seconds."
)
RUN2 = (
    "Running benchmark for at least 50 iterations and at least 1 seconds"
    " but terminate if exceeding 150 seconds."
)
WARM = "count=3 first=20000 curr=15000 min=15000 max=20000 avg=16666.7 std=2357"
DESIGN_KEYS = [
    "status", "count", "avg_us", "min_us", "max_us", "std_us", "p5_us", "median_us", "p95_us",
    "init_us", "first_us", "warmup_avg_us", "inference_avg_us", "mem_init_mb", "mem_overall_mb",
    "peak_mem_mb", "ops", "error", "era", "binary_id", "model_size_mb", "delegate",
    "delegated_nodes", "total_nodes", "parse_warnings",
]  # fmt: skip


def _log(regular: str, *extra: str) -> str:
    return "\n".join(["STARTING!", RUN1, WARM, "", RUN2, regular, "", *extra]) + "\n"


def test_to_dict_has_exactly_the_contract_keys() -> None:
    assert list(parse(_log("count=50 curr=1 min=1 max=1 avg=1 std=0")).to_dict()) == DESIGN_KEYS


def test_count_one_gives_avg_equal_to_curr() -> None:
    result = parse(_log("count=1 curr=12345"))
    assert result.status == "ok"
    fig = result.figures
    assert (fig.count, fig.avg_us, fig.min_us, fig.max_us) == (1, 12345, 12345, 12345)
    assert result.figures.std_us == 0


def test_all_same_line() -> None:
    result = parse(_log("count=4 curr=777(all same)"))
    assert result.status == "ok" and result.figures.count == 4
    assert result.figures.avg_us == result.figures.min_us == result.figures.max_us == 777
    assert result.regular is not None and result.regular.all_same


def test_count_line_without_avg_is_not_a_latency() -> None:
    # A count>1 line that lost its min/max/avg/std cannot be averaged from curr.
    result = parse(_log("count=50 first=1 curr=2"))
    assert result.status == "parse_error" and result.figures.avg_us is None


def test_scientific_notation_and_percentiles() -> None:
    line = (
        "count=5 first=1.1e+06 curr=1.2e+06 min=1e+06 max=1.3e+06 avg=1.15e+06 std=1e+05"
        " p5=1e+06 median=1.15e+06 p95=1.3e+06"
    )
    result = parse(_log(line))
    fig = result.figures
    assert fig.avg_us == 1.15e6 and fig.p95_us == 1.3e6 and fig.std_us == 1e5


def test_warmup_only_is_truncated_not_latency() -> None:
    result = parse("STARTING!\n" + RUN1 + "\n" + WARM + "\n")
    assert result.status == "parse_error"
    assert result.error is not None and "warm-up" in result.error
    assert result.figures.avg_us is None


def test_logcat_threadtime_prefixes_are_stripped() -> None:
    prefix = "05-31 10:31:13.022 21767 21767 I tflite  : "
    text = "\n".join(
        prefix + line
        for line in _log("count=50 first=5 curr=5 min=4 max=6 avg=5 std=1").splitlines()
    )
    result = parse(text)
    assert result.status == "ok" and result.figures.avg_us == 5 and result.figures.count == 50


def test_logcat_brief_and_glog_prefixes_are_stripped() -> None:
    brief = "\n".join(
        "I/tflite  ( 4242): " + line for line in _log("count=2 curr=9(all same)").splitlines()
    )
    assert parse(brief).figures.avg_us == 9
    glog = "2017-11-27 08:56:25.497476: I tensorflow/lite/tools/benchmark/benchmark_model.cc:324] "
    text = "\n".join(glog + line for line in _log("count=2 curr=8(all same)").splitlines())
    assert parse(text).figures.avg_us == 8


def test_crlf_line_endings() -> None:
    result = parse(_log("count=50 first=5 curr=5 min=4 max=6 avg=5 std=1").replace("\n", "\r\n"))
    assert result.status == "ok" and result.figures.avg_us == 5


def test_stand_in_first_line_is_the_binary_id() -> None:
    first = (
        "INFO: harness benchmark_model stand-in 0.1 (LiteRT 1.2.0); not the official TFLite tool"
    )
    result = parse(first + "\nINFO: " + _log("count=50 first=5 curr=5 min=4 max=6 avg=5 std=1"))
    assert (
        result.binary_id
        == "harness benchmark_model stand-in 0.1 (LiteRT 1.2.0); not the official TFLite tool"
    )
    assert result.status == "ok" and result.era == "2020+"


def test_peak_memory_and_nan() -> None:
    text = _log(
        "count=50 first=5 curr=5 min=4 max=6 avg=5 std=1",
        "Memory footprint delta from the start of the tool (MB): init=nan overall=3.5",
        "Overall peak memory footprint (MB) via periodic monitoring: 42.25",
    )
    result = parse(text)
    assert result.figures.peak_mem_mb == 42.25 and result.figures.mem_overall_mb == 3.5
    mem_init = result.figures.mem_init_mb
    assert mem_init is not None and mem_init != mem_init  # NaN


def test_old_memory_line() -> None:
    text = _log(
        "count=1 curr=5",
        "[Overall] - Memory usage: max resident set size = 21.5 MB, total malloc-ed size = 3.2 MB",
    )
    assert parse(text).figures.peak_mem_mb == 21.5


def test_non_fatal_error_lines_keep_an_ok_result() -> None:
    stderr = "ERROR: Following operations are not supported by GPU delegate: SQUEEZE\n"
    result = parse(_log("count=50 first=5 curr=5 min=4 max=6 avg=5 std=1"), stderr, 0)
    assert result.status == "ok" and result.error is None


def test_abort_after_results_is_a_failure() -> None:
    result = parse(
        _log("count=50 first=5 curr=5 min=4 max=6 avg=5 std=1"), "FATAL: something broke\n", 0
    )
    assert result.status == "failed" and result.error == "something broke"


@pytest.mark.parametrize(
    ("exit_code", "status"),
    [(0, "ok"), (None, "ok"), (1, "failed"), (124, "timeout"), (134, "crashed"), (-9, "crashed")],
)
def test_exit_codes(exit_code: int | None, status: str) -> None:
    result = parse(_log("count=50 first=5 curr=5 min=4 max=6 avg=5 std=1"), "", exit_code)
    assert result.status == status
    assert (result.error is None) == (status == "ok")


def test_signal_names_in_errors() -> None:
    assert signal_from_exit_code(137) == 9 and signal_from_exit_code(-6) == 6
    assert signal_from_exit_code(1) is None and signal_from_exit_code(None) is None
    assert "SIGABRT" in (parse("STARTING!\n", "", 134).error or "")


def test_failure_without_known_message_uses_exit_code_and_errors() -> None:
    result = parse(
        "INFO: STARTING!\n",
        "ERROR: Please specify the name of your TF Lite input file with --graph\n",
        1,
    )
    assert result.status == "failed"
    assert result.error is not None and "--graph" in result.error and "exit code 1" in result.error


@pytest.mark.parametrize("text", ["", "\n\n", "hello world\n", "Segmentation fault\n"])
def test_garbage_or_empty(text: str) -> None:
    result = parse(text)
    assert result.status in ("parse_error", "failed") and result.figures.avg_us is None
    assert result.error


def test_op_tables_of_several_subgraphs_are_labelled() -> None:
    lines = [
        "Operator-wise Profiling Info for Regular Benchmark Runs:",
        "Primary graph (name: main) profile:",
        "============================== Run Order ==============================",
        "\t[node type]\t[first]\t[avg ms]\t[%]\t[cdf%]\t[mem KB]\t[times called]\t[Name]",
        "\tCONV_2D\t1.0\t2.0\t50.000%\t50.000%\t0.000\t1\t[a]:0",
        "",
        "Subgraph (index: 1, name: body) profile:",
        "============================== Run Order ==============================",
        "\t[node type]\t[first]\t[avg ms]\t[%]\t[cdf%]\t[mem KB]\t[times called]\t[Name]",
        "\tADD\t1.0\t2.0\t50.000%\t100.000%\t0.000\t3\t[b]:1",
        "============================== Top by Computation Time ==============================",
        "\t[node type]\t[first]\t[avg ms]\t[%]\t[cdf%]\t[mem KB]\t[times called]\t[Name]",
        "\tCONV_2D\t1.0\t2.0\t50.000%\t50.000%\t0.000\t1\t[a]:0",
    ]
    ops = parse("\n".join(lines)).ops
    assert [(op.node_type, op.graph, op.times_called) for op in ops] == [
        ("CONV_2D", "Primary graph (name: main) profile", 1),
        ("ADD", "Subgraph (index: 1, name: body) profile", 3),
    ]


def test_op_table_stops_at_a_row_that_is_not_a_row() -> None:
    lines = [
        "============================== Run Order ==============================",
        "\t[node type]\t[first]\t[avg ms]\t[%]\t[cdf%]\t[mem KB]\t[times called]\t[Name]",
        "\tCONV_2D\t1.0\t2.0\t50.000%\t50.000%\t0.000\t1\t[a]:0",
        "\tCONV_2D\tnot-a-number\t2.0\t50.000%\t50.000%\t0.000\t1\t[b]:1",
        "\tCONV_2D\t1.0\t2.0\t50.000%\t50.000%\t0.000\t1\t[c]:2",
    ]
    assert [op.name for op in parse("\n".join(lines)).ops] == ["[a]:0"]


def test_log_cut_before_the_summary_says_which_figures_are_missing() -> None:
    text = "\n".join(
        ["STARTING!", "Initialized session in 5.5ms.", RUN1, WARM, "", RUN2,
         "count=50 first=5 curr=5 min=4 max=6 avg=5 std=1", ""]
    )  # fmt: skip
    result = parse(text)
    fig = result.figures
    assert result.status == "ok" and fig.init_us == 5500 and fig.first_us == 20000
    assert any(
        w.startswith("warmup_avg_us, inference_avg_us absent: no summary line")
        for w in result.figures.parse_warnings
    ), result.figures.parse_warnings
    assert any(w.startswith("p5_us, median_us, p95_us absent") for w in fig.parse_warnings)


def test_complete_current_log_has_no_warning() -> None:
    text = _log(
        "count=50 first=5 curr=5 min=4 max=6 avg=5 std=1 p5=4 median=5 p95=6",
        "Inference timings in us: Init: 1, First inference: 20000, Warmup (avg): 16666.7, "
        "Inference (avg): 5",
        "Memory footprint delta from the start of the tool (MB): init=1 overall=2",
    )
    assert parse(text).figures.parse_warnings == ()
