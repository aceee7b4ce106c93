"""Compute units on the command line: each unit's flags, and a unit the binary lacks refused."""

from __future__ import annotations

import pytest

from harness.bench.command import build_command
from harness.bench.units import external_options
from harness.errors import BinaryError

DELEGATES = {
    "graph", "num_threads", "num_runs", "min_secs", "warmup_runs", "warmup_min_secs",
    "use_xnnpack", "use_gpu", "gpu_precision_loss_allowed", "use_nnapi",
    "nnapi_accelerator_name", "external_delegate_path", "external_delegate_options",
    "use_hexagon",
}  # fmt: skip


def _unit_args(unit: str, flags: set[str] = DELEGATES) -> list[str]:
    argv = build_command("b", flags, graph="g", threads=1, runs=3, warmup=1, accelerator=unit).argv
    return [a for a in argv if a.startswith(("--use_", "--gpu", "--nnapi", "--external"))]


@pytest.mark.parametrize(
    ("unit", "flags"),
    [
        ("cpu", []),
        ("gpu", ["--use_gpu=true"]),
        ("gpu-fp32", ["--use_gpu=true", "--gpu_precision_loss_allowed=false"]),
        ("nnapi", ["--use_nnapi=true"]),
        ("nnapi:qti-dsp", ["--use_nnapi=true", "--nnapi_accelerator_name=qti-dsp"]),
        ("hexagon", ["--use_hexagon=true"]),
        (
            "external:/data/local/tmp/libqnn.so",
            ["--external_delegate_path=/data/local/tmp/libqnn.so"],
        ),
        (
            "external:/d/libqnn.so?backend=htp&log=1",
            [
                "--external_delegate_path=/d/libqnn.so",
                "--external_delegate_options=backend:htp;log:1",
            ],
        ),
    ],
)
def test_each_unit_passes_its_providers_flags(unit: str, flags: list[str]) -> None:
    assert _unit_args(unit) == flags


@pytest.mark.parametrize(("unit", "flag"), [("hexagon", "use_hexagon"), ("npu", "use_npu")])
def test_a_unit_the_release_lacks_is_refused_naming_the_flag_and_release(
    unit: str, flag: str
) -> None:
    with pytest.raises(
        BinaryError, match=rf"this release \(TF 2\.4\) has no --{flag}: cannot"
    ) as e:
        build_command(
            "b", DELEGATES - {"use_hexagon"}, graph="g", threads=1, runs=3, warmup=1,
            accelerator=unit, release="TF 2.4",
        )  # fmt: skip
    assert e.value.exit_code == 2


def test_gpu_fp32_needs_the_precision_flag_too() -> None:
    with pytest.raises(BinaryError, match="no --gpu_precision_loss_allowed"):
        _unit_args("gpu-fp32", DELEGATES - {"gpu_precision_loss_allowed"})


def test_external_options_take_the_tools_form() -> None:
    assert external_options(None) is None and external_options("") is None
    assert external_options("a=1&b=x:y&flag") == "a:1;b:x:y;flag"


# LiteRT's CompiledModel benchmark_model, as its --help lists its flags
# (tests/data/benchmark_model/litert_compiled_model_help.txt).
COMPILED_MODEL = {
    "num_runs", "min_secs", "max_secs", "run_delay", "num_threads", "warmup_runs",
    "warmup_min_secs", "verbose", "graph", "signature_to_run_for", "use_cpu", "use_gpu",
    "use_npu", "dispatch_library_path", "compiler_plugin_library_path",
    "require_full_delegation", "use_profiler", "gpu_backend", "allow_fp16", "result_file_path",
}  # fmt: skip


def test_the_compiled_model_tool_measures_the_npu() -> None:
    assert _unit_args("npu", COMPILED_MODEL) == ["--use_npu=true"]


@pytest.mark.parametrize("unit", ["cpu", "gpu", "nnapi", "external:/d/libqnn.so"])
def test_the_compiled_model_tool_is_refused_for_every_other_unit(unit: str) -> None:
    with pytest.raises(BinaryError, match="CompiledModel benchmark_model") as e:
        _unit_args(unit, COMPILED_MODEL)
    text = str(e.value)
    assert "--compiler_plugin_library_path" in text and "npu alone" in text
    assert "fetch-binary" in text and e.value.exit_code == 2


def test_npu_on_the_interpreters_tool_points_to_litert_s_own() -> None:
    with pytest.raises(BinaryError, match="has no --use_npu") as e:
        _unit_args("npu", DELEGATES)
    assert "storage.googleapis.com/litert/binaries" in str(e.value)
