"""The benchmark_model stand-in's delegates: what each unit takes, the real tool's lines, timing.

The stand-in runs here as a plain host process on the committed converter-made
model (CONV_2D, DEPTHWISE_CONV_2D, MEAN, FULLY_CONNECTED, SOFTMAX in that
order), with its device state folder pointed at a temporary one, so its
stdout and stderr arrive apart, as the runner pulls them from a phone.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.sim.tools import benchmark_model as bm

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = ROOT / "harness" / "sim" / "tools" / "benchmark_model.py"
MODEL = ROOT / "tests" / "data" / "convert" / "tiny_fp32.tflite"
RUNS = ("--num_threads=1", "--warmup_runs=1", "--warmup_min_secs=0", "--num_runs=5", "--min_secs=0")
COUNT = re.compile(r"count=(\d+) first=(\d+) curr=(\d+) min=(\d+) max=(\d+) avg=\S+ std=\d+ "
                   r"p5=(\d+) median=(\d+) p95=(\d+)")  # fmt: skip
NOTICE = "INFO: harness stand-in timing model: "


def _run(state: Path, *flags: str, model: Path = MODEL) -> subprocess.CompletedProcess[str]:
    env = {"HARNESS_SIM_STATE": str(state), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, str(STAND_IN), f"--graph={model}", *RUNS, *flags],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip


def _lines(text: str) -> list[str]:
    return text.split("\n")


def test_gpu_takes_every_node_in_one_partition(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--use_gpu=true")
    assert proc.returncode == 0, proc.stderr
    out, err = _lines(proc.stdout), _lines(proc.stderr)
    # The stand-in's mark is unchanged: every record still says what ran.
    assert out[0].startswith("INFO: harness benchmark_model stand-in 1.0 (LiteRT ")
    assert out[0].endswith("; not the official TFLite tool")
    # The tool's lines (stdout) and the runtime's (stderr), as LiteRT prints them.
    loaded = out.index(f"INFO: Loaded model {MODEL}")
    assert "INFO: Use gpu: [1]" in out[:loaded]
    assert out[loaded + 1 : loaded + 4] == [
        "INFO: GPU delegate created.",
        "INFO: Loaded OpenCL library with dlopen.",
        "INFO: Explicitly applied GPU delegate, and the model graph will be completely "
        "executed by the delegate.",
    ]
    assert err[:5] == [
        "INFO: Created TensorFlow Lite delegate for GPU.",
        "VERBOSE: Replacing 5 out of 5 node(s) with delegate (TfLiteGpuDelegateV2) node, "
        "yielding 1 partitions for subgraph 0.",
        "INFO: Initialized OpenCL-based API.",
        "INFO: Created 1 GPU delegate kernels.",
        "",
    ]
    # A graph the GPU runs whole gets no default XNNPACK delegate on a phone.
    assert "XNNPACK" not in proc.stdout + proc.stderr
    (notice,) = [line for line in out if line.startswith(NOTICE)]
    assert "x0.35" in notice and "invented" in notice and "not measured" in notice


def test_gpu_without_precision_loss_has_its_own_factor(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--use_gpu=true", "--gpu_precision_loss_allowed=false")
    assert proc.returncode == 0, proc.stderr
    assert "INFO: Allow lower precision in gpu: [0]" in proc.stdout
    assert "x0.6," in proc.stdout


def test_nnapi_leaves_mean_and_softmax_on_the_cpu_in_several_partitions(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--use_nnapi=true")
    assert proc.returncode == 0, proc.stderr
    out = _lines(proc.stdout)
    i = out.index("INFO: Use NNAPI: [1]")
    assert out[i + 1] == (
        "INFO: NNAPI accelerators available: [qti-default,qti-dsp,qti-gpu,nnapi-reference]"
    )
    assert "INFO: NNAPI delegate created." in out
    # CONV, DEPTHWISE | MEAN | FULLY_CONNECTED | SOFTMAX: 3 of 5 nodes, 4 partitions,
    # 2 of them NNAPI's.
    assert (
        "VERBOSE: Replacing 3 out of 5 node(s) with delegate (TfLiteNnapiDelegate) node, "
        "yielding 4 partitions for subgraph 0."
    ) in _lines(proc.stderr)
    assert (
        "INFO: Explicitly applied NNAPI delegate, and the model graph will be partially "
        "executed by the delegate w/ 2 delegate kernels."
    ) in out
    # The CPU's share gets the default XNNPACK delegate, as on a phone.
    assert "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." in proc.stderr


def test_an_nnapi_accelerator_the_phone_lacks_fails_like_the_real_tool(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--use_nnapi=true", "--nnapi_accelerator_name=qti-htp")
    assert proc.returncode == 1
    assert "INFO: NNAPI accelerator name: [qti-htp]" in proc.stdout
    assert _lines(proc.stderr)[1:] == [
        "ERROR: Could not find the specified NNAPI accelerator: qti-htp. "
        "Must be one of: {qti-default,qti-dsp,qti-gpu,nnapi-reference}.",
        "ERROR: Restored original execution plan after delegate application failure.",
        "ERROR: Failed to apply NNAPI delegate.",
        "ERROR: Benchmarking failed.",
        "",
    ]
    assert "Running benchmark" not in proc.stdout


def test_the_dsp_takes_no_float_node_and_the_model_runs_on_the_cpu(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--use_nnapi=true", "--nnapi_accelerator_name=qti-dsp")
    assert proc.returncode == 0, proc.stderr
    assert (
        "INFO: Though NNAPI delegate is explicitly applied, the model graph will not be "
        "executed by the delegate."
    ) in _lines(proc.stdout)
    assert "Replacing" not in proc.stderr and NOTICE not in proc.stdout


def test_the_gpu_fault_fails_the_delegate_as_a_driver_would(tmp_path: Path) -> None:
    (tmp_path / "gpu_fails").write_text("on\n")
    proc = _run(tmp_path, "--use_gpu=true")
    assert proc.returncode == 1
    assert _lines(proc.stderr)[1:] == [
        "VERBOSE: Replacing 5 out of 5 node(s) with delegate (TfLiteGpuDelegateV2) node, "
        "yielding 1 partitions for subgraph 0.",
        "ERROR: Failed to create a compute context - Out of resources",
        "ERROR: Falling back to OpenGL",
        "ERROR: TfLiteGpuDelegate Init: [GL_INVALID_OPERATION]: The specified operation is "
        "not allowed in the current state.",
        "INFO: Created 0 GPU delegate kernels.",
        "ERROR: TfLiteGpuDelegate Prepare: delegate is not initialized",
        "ERROR: Node number 5 (TfLiteGpuDelegateV2) failed to prepare.",
        "",
        "ERROR: Restored original execution plan after delegate application failure.",
        "ERROR: Failed to apply GPU delegate.",
        "ERROR: Benchmarking failed.",
        "",
    ]
    # Only the GPU is broken: the CPU and NNAPI still run.
    assert _run(tmp_path).returncode == 0
    assert _run(tmp_path, "--use_nnapi=true").returncode == 0


def test_a_missing_external_library_fails_to_load_and_the_cpu_runs_it(tmp_path: Path) -> None:
    lib = tmp_path / "libQnnTFLiteDelegate.so"
    proc = _run(tmp_path, f"--external_delegate_path={lib}", "--external_delegate_options=a:b;")
    assert proc.returncode == 0, proc.stderr
    assert f"INFO: External delegate path: [{lib}]" in proc.stdout
    assert "INFO: External delegate options: [a:b;]" in proc.stdout
    assert (
        f'INFO: Unable to load external delegate from : {lib} (dlopen failed: library "{lib}" '
        "not found)"
    ) in _lines(proc.stderr)
    assert "EXTERNAL delegate created" not in proc.stdout and "applied" not in proc.stdout


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x7fELF" + bytes(60), "the harness benchmark_model stand-in cannot load native"),
        (b"PK\x03\x04" + bytes(100), "has bad ELF magic: 504b0304"),
        (b"tiny", "is too small to be an ELF executable: only found 4 bytes"),
    ],
)
def test_a_library_the_stand_in_cannot_load_is_said_so(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    lib = tmp_path / "libvendor.so"
    lib.write_bytes(content)
    proc = _run(tmp_path, f"--external_delegate_path={lib}")
    assert proc.returncode == 0, proc.stderr
    (line,) = [x for x in _lines(proc.stderr) if "Unable to load external delegate" in x]
    assert reason in line


def test_a_simulated_vendor_library_takes_what_it_describes(tmp_path: Path) -> None:
    lib = tmp_path / "libvendor.so"
    lib.write_text(
        "# harness sim delegate\nname=TfLiteVendorDelegate\n"
        "ops=CONV_2D,DEPTHWISE_CONV_2D  # its kernels\nfactor=0.25\n"
    )
    proc = _run(tmp_path, f"--external_delegate_path={lib}")
    assert proc.returncode == 0, proc.stderr
    err = _lines(proc.stderr)
    assert "INFO: EXTERNAL delegate created." in proc.stdout
    assert (
        "INFO: TfLiteVendorDelegate delegate: 2 nodes delegated out of 5 nodes with 1 partitions."
    ) in err
    assert (
        "VERBOSE: Replacing 2 out of 5 node(s) with delegate (TfLiteVendorDelegate) node, "
        "yielding 2 partitions for subgraph 0."
    ) in err
    assert (
        "INFO: Explicitly applied EXTERNAL delegate, and the model graph will be partially "
        "executed by the delegate w/ 1 delegate kernels."
    ) in _lines(proc.stdout)


def test_two_delegates_apply_in_flag_order(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--use_nnapi=true", "--use_gpu=true")
    assert proc.returncode == 0, proc.stderr
    out = _lines(proc.stdout)
    assert "INFO: Going to apply 2 delegates one after another." in out
    # NNAPI's flag came first: it takes its share, the GPU what is left on the CPU.
    partial = out.index(
        "INFO: Explicitly applied NNAPI delegate, and the model graph will be partially "
        "executed by the delegate w/ 2 delegate kernels."
    )
    assert out[partial + 2] == (
        "INFO: Explicitly applied GPU delegate, and the model graph will be partially "
        "executed by the delegate w/ 2 delegate kernels."
    )
    assert (
        "VERBOSE: Replacing 2 out of 4 node(s) with delegate (TfLiteGpuDelegateV2) node, "
        "yielding 4 partitions for subgraph 0."
    ) in _lines(proc.stderr)


def test_hexagon_is_not_in_this_release(tmp_path: Path) -> None:
    """A release built without Hexagon has no such flag: warned about, then ignored."""
    proc = _run(tmp_path, "--use_hexagon=true")
    assert proc.returncode == 0, proc.stderr
    assert "WARN: Unconsumed cmdline flags: --use_hexagon=true" in proc.stdout
    assert "Hexagon" not in proc.stdout.replace("--use_hexagon", "")
    usage = subprocess.run(
        [sys.executable, str(STAND_IN), "--help"], capture_output=True, text=True, timeout=60
    ).stderr
    flags = set(re.findall(r"--(\w+)=", usage))
    assert {"use_gpu", "gpu_precision_loss_allowed", "use_nnapi", "nnapi_accelerator_name"} <= flags
    assert {"external_delegate_path", "external_delegate_options"} <= flags
    assert "use_hexagon" not in flags


def _regular(state: Path, *flags: str) -> list[int]:
    proc = _run(state, *flags)
    assert proc.returncode == 0, proc.stderr
    m = [m for line in _lines(proc.stdout) if (m := COUNT.search(line))][-1]
    return [int(v) for v in m.groups()[1:]]


def test_the_timing_model_scales_the_same_draws_by_the_units_factor(tmp_path: Path) -> None:
    """Seeded draws: the n-th trial of each unit draws what the CPU's n-th trial draws."""
    (tmp_path / "synthetic").write_text("seed=7 cv=0.02 run_cv=0.01\n")
    cpu = _regular(tmp_path)
    gpu = _regular(tmp_path, "--use_gpu=true")
    gpu32 = _regular(tmp_path, "--use_gpu=true", "--gpu_precision_loss_allowed=false")
    nnapi = _regular(tmp_path, "--use_nnapi=true")
    # The tiny model's work (MACs, else output elements): CONV 8x8x4 outputs x 3x3x3 =
    # 6912, DEPTHWISE 8x8x4 x 3x3 = 2304, MEAN 4, FULLY_CONNECTED 10 x 4 = 40, SOFTMAX 10.
    nnapi_scale = (6912 * 0.5 + 2304 * 0.5 + 4 + 40 * 0.5 + 10) / (6912 + 2304 + 4 + 40 + 10)
    for scaled, factor in ((gpu, 0.35), (gpu32, 0.6), (nnapi, nnapi_scale)):
        assert all(abs(s - factor * c) <= 1 for s, c in zip(scaled, cpu, strict=True)), (
            factor, cpu, scaled,
        )  # fmt: skip
    # Each unit counts its own trials: a second GPU trial draws anew.
    assert _regular(tmp_path, "--use_gpu=true") != gpu


def test_a_scaled_run_is_never_zero_microseconds(tmp_path: Path) -> None:
    """The tiny model runs in a few microseconds: scaled by 0.35 it must not read 0."""
    proc = _run(tmp_path, "--use_gpu=true")
    assert proc.returncode == 0, proc.stderr
    (regular,) = [line for line in _lines(proc.stdout) if line.startswith("INFO: count=5")]
    assert not re.search(r"\b(?:first|curr|min|p5|median)=0\b", regular), regular


def test_subsets_cut_a_chain_into_runs() -> None:
    assert bm.subsets([True, True, False, True, False]) == [
        (True, [0, 1]), (False, [2]), (True, [3]), (False, [4]),
    ]  # fmt: skip
    assert bm.subsets([]) == []
