"""`harness parse` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"


def test_parse_json_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", str(DATA / "era2020_ti_am62_cpu.log"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["status"] == "ok" and out["avg_us"] == pytest.approx(1.24027e6)
    assert out["p95_us"] == 1247415 and out["era"] == "2020+" and out["error"] is None


def test_parse_separate_stderr_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "parse",
            str(DATA / "failed_prepare.stdout"),
            "--stderr",
            str(DATA / "failed_prepare.stderr"),
            "--exit-code",
            "1",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # something measured failed
    assert out["status"] == "failed" and "BATCH_MATMUL" in out["error"]


def test_parse_crash_by_signal_text(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", str(DATA / "crash_sigsegv_mid_run.log"), "--exit-code", "139"])
    out = capsys.readouterr().out
    assert code == 1
    assert "status:      crashed" in out and "SIGSEGV" in out


def test_parse_text_lists_slowest_ops(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", str(DATA / "era2019_tf_readme_op_profiling.log")])
    out = capsys.readouterr().out
    assert code == 0
    assert "79.761 ms" in out  # the Inference: summary, not the profiler's 79.732
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "9 profiled" in line)
    assert "Conv2d_1_pointwise" in lines[at + 1]  # the slowest op (6.107 ms) first


def test_parse_json_turns_nan_into_null(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "nan.log"
    log.write_text(
        "count=1 curr=10\n"
        "Memory footprint delta from the start of the tool (MB): init=nan overall=1\n"
    )
    assert main(["parse", str(log), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mem_init_mb"] is None and out["mem_overall_mb"] == 1


def test_parse_missing_file_is_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["parse", str(tmp_path / "nope.log")])
    assert code == 2
    assert "cannot read" in capsys.readouterr().err


def test_parse_undecodable_bytes_keep_the_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "bytes.log"
    log.write_bytes((DATA / "era2018_zedboard_armv7.log").read_bytes() + b"\xff\xfe junk\n")
    assert main(["parse", str(log), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["avg_us"] == 747733


def test_parse_prints_warnings_on_stderr_and_keeps_json_clean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = DATA / "tf56301_threadtime_nnapi_partial_cut.log"
    assert main(["parse", str(log), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)  # stdout is only the JSON
    assert out["delegate"] == "NNAPI" and out["avg_us"] == pytest.approx(12167.6)
    assert out["parse_warnings"] and all(w in captured.err for w in out["parse_warnings"])
    assert "warning: p5_us, median_us, p95_us absent" in captured.err
    assert "NNAPI delegate took only part of the graph" in captured.err


def test_parse_complete_log_prints_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", str(DATA / "logcat_threadtime_apk_yolo26n_full.log")])
    captured = capsys.readouterr()
    assert code == 0 and captured.err == ""
    assert "delegate:    XNNPACK, 642 of 685 nodes" in captured.out


def test_parse_proves_the_delegation_from_the_logs_own_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["parse", str(DATA / "markdown_list_backticks_cpu_then_gpu.log"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["delegation"] == {
        "accelerator": "gpu", "inferred": True, "delegate": "GPU",
        "node": "TfLiteGpuDelegateV2", "delegated_nodes": 58, "total_nodes": 58,
        "partitions": 1, "graph_partitions": 1, "verdict": "applied",
        "reason": "GPU delegate took all 58 nodes in 1 delegate kernels",
    }  # fmt: skip
    assert (out["delegate"], out["delegated_nodes"], out["avg_us"]) == ("GPU", 58, 35134.9)


def test_parse_text_shows_the_unit_the_delegate_and_the_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = DATA / "tf56747_inference_diff_glog_hexagon_replacing.log"
    main(["parse", str(log)])
    out = capsys.readouterr().out
    assert "accelerator: hexagon (read from the log)" in out
    assert "delegate:    Hexagon, 136 of 139 nodes in 2 partitions (graph cut in 5 parts)" in out
    assert "delegation:  partial: Hexagon delegate took only 136 of 139 nodes" in out


def test_parse_against_another_unit_is_a_fallback_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = DATA / "qcom_rb1_two_runs_cpu_then_gpu.log"
    assert main(["parse", str(log)]) == 0  # the GPU the log asked for took the graph
    capsys.readouterr()
    code = main(["parse", str(log), "--accelerator", "nnapi:qti-dsp", "--json"])
    captured = capsys.readouterr()
    proof = json.loads(captured.out)["delegation"]
    assert code == 1
    assert (proof["accelerator"], proof["inferred"], proof["verdict"]) == (
        "nnapi:qti-dsp", False, "fallback",
    )  # fmt: skip
    assert "warning: NNAPI delegate was asked for but the log shows no delegation" in captured.err


@pytest.mark.parametrize("spelling", ["tpu", "", "nnapi:", "external:"])
def test_parse_refuses_an_accelerator_no_unit_spells(
    spelling: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["parse", str(DATA / "era2020_ti_am62_cpu.log"), "--accelerator", spelling])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "--accelerator" in captured.err


def test_parse_a_binary_that_never_started_is_failed_with_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["parse", str(DATA / "never_started_not_executable_64bit.log"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["status"] == "failed"
    assert out["error"] == (
        "benchmark_model never started: /system/bin/sh: /data/local/tmp/benchmark_model: "
        "not executable: 64-bit ELF file"
    )
    assert out["delegation"]["verdict"] == "failed"
