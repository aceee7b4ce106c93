"""harness.logs.delegation.prove: which delegate ran a log's run, on how much of the graph, and
whether that is what the compute unit asked for needed (real fixtures and short synthetic logs;
the simulated phone's own outputs are in test_parser_standin.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from harness.errors import OptionError
from harness.logs.accelerator import parse_accelerator
from harness.logs.delegation import prove
from harness.logs.parser import LogReader, parse, parse_files, parse_lines
from harness.logs.scan import blocks

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"
PHASES = [
    "INFO: Initialized session in 1.5ms.",
    "INFO: Running benchmark for at least 1 iterations and at least 0 seconds but terminate "
    "if exceeding 150 seconds.",
    "INFO: count=1 curr=900",
    "INFO: Running benchmark for at least 5 iterations and at least 0 seconds but terminate "
    "if exceeding 150 seconds.",
    "INFO: count=5 first=800 curr=800 min=790 max=810 avg=800 std=7",
    "INFO: Inference timings in us: Init: 1500, First inference: 900, Warmup (avg): 900, "
    "Inference (avg): 800",
]


def _log(*lines: str) -> str:
    return "\n".join(["INFO: STARTING!", "INFO: Graph: [m.tflite]", *lines]) + "\n"


def _file(name: str, **kwargs: object) -> object:
    return parse_files(DATA / name, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "spec", "unit", "delegate"),
    [
        ("cpu", "cpu", "cpu", None), ("gpu", "gpu", "gpu", "GPU"),
        ("gpu-fp32", "gpu-fp32", "gpu", "GPU"), ("nnapi", "nnapi", "nnapi", "NNAPI"),
        ("nnapi:qti-dsp", "nnapi:qti-dsp", "nnapi", "NNAPI"),
        ("hexagon", "hexagon", "hexagon", "Hexagon"), ("npu", "npu", "npu", "NPU"),
        ("external:/data/local/tmp/libQnnTFLiteDelegate.so?backend_type=htp",
         "external:/data/local/tmp/libQnnTFLiteDelegate.so?backend_type=htp", "external",
         "EXTERNAL"),
    ],
)  # fmt: skip
def test_every_unit_spelling_names_its_delegate(
    text: str, spec: str, unit: str, delegate: str | None
) -> None:
    acc = parse_accelerator(text)
    assert (acc.spec, acc.unit, acc.delegate) == (spec, unit, delegate)


def test_external_keeps_its_path_and_options_apart() -> None:
    acc = parse_accelerator("external:/x/libvx.so?a=1;b=2")
    assert (acc.path, acc.options) == ("/x/libvx.so", "a=1;b=2")


@pytest.mark.parametrize("text", ["tpu", "", "GPU", "nnapi:", "external:", "nnapi:a b", "dsp"])
def test_other_spellings_are_an_option_error(text: str) -> None:
    with pytest.raises(OptionError, match="--accelerator"):
        parse_accelerator(text)


def test_an_unknown_accelerator_given_to_parse_is_refused_before_reading() -> None:
    with pytest.raises(OptionError):
        parse(_log(*PHASES), accelerator="tpu")


def test_xnnpack_applied_by_default_on_a_cpu_run_is_no_fallback() -> None:
    parsed = _file("logcat_threadtime_apk_yolo26n_full.log", accelerator="cpu")
    proof = parsed.delegation
    assert proof is not None
    assert (proof.verdict, proof.delegate) == ("applied", "XNNPACK")
    assert (proof.delegated_nodes, proof.total_nodes, proof.graph_partitions) == (642, 685, 19)
    assert proof.partitions is None  # 19 counts the CPU's parts too: XNNPACK's own is not said
    assert parsed.figures.parse_warnings == ()


def test_a_gpu_run_asked_of_the_cpu_is_not_what_was_asked() -> None:
    proof = prove(_file("qcom_rb1_two_runs_cpu_then_gpu.log"), "cpu")
    assert proof.verdict == "partial" and proof.delegate == "GPU"
    assert "though the CPU was asked for" in proof.reason


def test_a_cpu_run_asked_of_the_gpu_is_a_fallback() -> None:
    text = _log("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", *PHASES)
    proof = prove(parse(text), "gpu")
    assert (proof.verdict, proof.delegate, proof.delegated_nodes) == ("fallback", "GPU", None)
    assert "shows no delegation to it" in proof.reason


def test_replacing_before_a_failed_apply_is_no_delegation() -> None:
    parsed = _file("tf49247_hexagon_125_of_125_then_failed.log")
    proof = parsed.delegation
    assert proof is not None and proof.verdict == "failed"
    assert (proof.delegated_nodes, proof.total_nodes, proof.partitions) == (0, 125, 0)
    assert "Failed to apply Hexagon delegate" in proof.reason
    assert parsed.figures.delegated_nodes == 0


def test_a_failed_apply_the_model_ran_past_is_a_fallback() -> None:
    text = _log(
        "INFO: Use gpu: [1]",
        "VERBOSE: Replacing 40 out of 40 node(s) with delegate (TfLiteGpuDelegateV2) node, "
        "yielding 1 partitions for subgraph 0.",
        "ERROR: Restored original execution plan after delegate application failure.",
        *PHASES,
    )
    parsed = parse(text)
    proof = parsed.delegation
    assert parsed.status == "ok" and proof is not None
    assert (proof.verdict, proof.delegated_nodes, proof.total_nodes) == ("fallback", 0, 40)
    assert any("failed to apply" in w for w in parsed.figures.parse_warnings)


def test_applying_again_after_a_failure_counts_the_second_time() -> None:
    text = _log(
        "INFO: Use gpu: [1]",
        "VERBOSE: Replacing 40 out of 40 node(s) with delegate (TfLiteGpuDelegateV2) node, "
        "yielding 1 partitions for subgraph 0.",
        "ERROR: Restored original execution plan after delegate application failure.",
        "VERBOSE: Replacing 38 out of 40 node(s) with delegate (TfLiteGpuDelegateV2) node, "
        "yielding 3 partitions for subgraph 0.",
        *PHASES,
    )
    proof = parse(text).delegation
    assert proof is not None and proof.verdict == "partial"
    assert (proof.delegated_nodes, proof.total_nodes, proof.graph_partitions) == (38, 40, 3)


def test_though_explicitly_applied_is_a_fallback_with_no_node() -> None:
    proof = _file("tf56301_threadtime_apk_nnapi_not_executed_cut.log").delegation
    assert proof is not None
    assert (proof.verdict, proof.delegated_nodes, proof.partitions) == ("fallback", 0, 0)


def test_a_delegate_that_took_no_node_in_its_own_count_is_a_fallback() -> None:
    proof = _file("tf83344_qnn_external_0_of_31_cut.log").delegation
    assert proof is not None and proof.accelerator.startswith("external:")
    assert (proof.delegate, proof.node) == ("EXTERNAL", "TfLiteQnnDelegate")
    assert proof.verdict == "fallback"
    assert (proof.delegated_nodes, proof.total_nodes) == (0, 31)


def test_partitions_are_the_delegates_own_not_the_runtimes_count_of_all_parts() -> None:
    proof = _file("tf56747_inference_diff_glog_hexagon_replacing.log").delegation
    assert proof is not None
    # "136 nodes delegated out of 139 nodes with 2 partitions" and "... yielding 5 partitions"
    assert (proof.partitions, proof.graph_partitions, proof.verdict) == (2, 5, "partial")


def test_an_invoke_failure_that_ended_the_run_is_failed() -> None:
    proof = _file("vxdelegate136_imx8mp_invoke_failed_segfault.log").delegation
    assert proof is not None and proof.verdict == "failed"
    assert "failed while running" in proof.reason


def test_the_last_run_of_a_paste_is_judged() -> None:
    proof = _file("markdown_list_backticks_cpu_then_gpu.log").delegation
    assert proof is not None
    assert (proof.accelerator, proof.delegate, proof.verdict) == ("gpu", "GPU", "applied")


def test_a_delegate_that_failed_to_start_never_ran_a_node() -> None:
    proof = _file("never_started_not_executable_64bit.log", accelerator="gpu").delegation
    assert proof is not None and proof.verdict == "failed"
    assert "never started" in proof.reason


def test_a_log_cut_before_the_model_was_set_up_does_not_say() -> None:
    text = "STARTING!\nGraph: [m.tflite]\nUse gpu: [1]\n"
    proof = parse(text).delegation
    assert proof is not None and (proof.accelerator, proof.verdict) == ("gpu", "unknown")


def test_npu_is_litert_dispatch_delegate() -> None:
    text = _log(
        "VERBOSE: Replacing 1 out of 1 node(s) with delegate (DispatchDelegate) node, "
        "yielding 1 partitions for subgraph 0.",
        *PHASES,
    )
    proof = parse(text).delegation
    assert proof is not None
    assert (proof.accelerator, proof.delegate, proof.node, proof.verdict) == (
        "npu", "NPU", "DispatchDelegate", "applied",
    )  # fmt: skip


def test_the_unit_comes_from_the_flags_echo() -> None:
    text = _log(
        "INFO: Use NNAPI: [1]", "INFO: NNAPI accelerator name: [qti-gpu]",
        "INFO: Explicitly applied NNAPI delegate, and the model graph will be partially "
        "executed by the delegate w/ 3 delegate kernels.", *PHASES,
    )  # fmt: skip
    proof = parse(text).delegation
    assert proof is not None and proof.inferred
    assert (proof.accelerator, proof.verdict, proof.partitions) == ("nnapi:qti-gpu", "partial", 3)
    given = parse(text, accelerator="nnapi").delegation
    assert given is not None and not given.inferred and given.accelerator == "nnapi"


def test_block_and_line_readers_prove_alike() -> None:
    text = (DATA / "android_studio_time_app_nnapi_29_of_482_then_failed.log").read_text()
    assert parse(text).delegation == parse_lines(text.splitlines()).delegation


@pytest.mark.parametrize("size", [40, 61, 97, 1 << 20])
def test_the_echoes_that_refine_a_unit_are_read_alike_across_block_edges(size: int) -> None:
    text = _log(
        "INFO: Use gpu: [1]", "INFO: Use NNAPI: [1]", "INFO: Num threads: [1]",
        "INFO: NNAPI accelerator name: [qti-dsp]", "INFO: Allow lower precision in gpu: [0]",
        *PHASES,
    )  # fmt: skip
    reader = LogReader()
    for block in blocks(io.StringIO(text), size=size):
        reader.feed_block(block)
    by_block = reader.result().evidence
    by_line = parse_lines(text.splitlines()).evidence
    assert (by_block.nnapi_name, by_block.gpu_fp32) == ("qti-dsp", True)
    assert by_line == by_block


def test_an_echo_far_from_its_providers_flag_refines_nothing() -> None:
    far = [f"INFO: Param {i}: [0]" for i in range(10)]
    text = _log("INFO: Use NNAPI: [1]", *far, "INFO: NNAPI accelerator name: [qti-dsp]", *PHASES)
    assert parse(text).evidence.nnapi_name is None
    assert parse_lines(text.splitlines()).evidence.nnapi_name is None
