"""Delegates on the simulated Pixel 1, through adb, with a converted MobileNetV2.

What each unit takes is checked against the model's own operators (counted
here independently, from the converter's analysis and the interpreter's op
order), and the log is read back with the harness's own parser.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.logs.parser import parse
from harness.sim import SimDevice

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUN = "--num_threads=1 --warmup_runs=1 --warmup_min_secs=0 --num_runs=5 --min_secs=0"
REMOTE = "/data/local/tmp/harness/models/mnv2.tflite"
NNAPI_CPU_OPS = {"MEAN", "SOFTMAX"}  # what the simulated Android 10 NNAPI leaves on the CPU


@pytest.fixture(scope="module")
def model() -> Path:
    from harness.catalogue import get
    from harness.convert import convert_many

    (converted,) = convert_many([get("mobilenet_v2_0.35_96")], progress=False)
    return Path(converted.path)


def _ops_in_order(model: Path) -> list[str]:
    from ai_edge_litert import interpreter as litert

    interp = litert.Interpreter(
        model_path=str(model),
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    return [str(op["op_name"]) for op in interp._get_ops_details()]


def _bench(adb_server, sim: SimDevice, model: Path, flags: str) -> subprocess.CompletedProcess[str]:
    pushed = adb_server.run("-s", sim.serial, "push", str(model), REMOTE, timeout_s=60)
    assert pushed.returncode == 0, pushed.stderr
    command = f"taskset 0c benchmark_model --graph={REMOTE} {RUN} {flags}"
    return adb_server.run("-s", sim.serial, "shell", command, timeout_s=180)


def test_gpu_runs_the_whole_mobilenet_v2_pinned_as_taskset_says(
    sim: SimDevice, adb_server, model: Path
) -> None:
    from harness.convert.analysis import analyze

    total = sum(analyze(model).ops.values())
    result = _bench(adb_server, sim, model, "--use_gpu=true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("INFO: harness benchmark_model stand-in ")
    assert (
        f"VERBOSE: Replacing {total} out of {total} node(s) with delegate (TfLiteGpuDelegateV2) "
        "node, yielding 1 partitions for subgraph 0."
    ) in result.stderr.split("\n")
    assert (
        "INFO: Explicitly applied GPU delegate, and the model graph will be completely executed "
        "by the delegate."
    ) in result.stdout.split("\n")
    assert "XNNPACK" not in result.stdout + result.stderr
    # The CPU side stays where taskset put it.
    record = sim.affinity_records()[-1]
    assert record["argv"][0] == "benchmark_model" and "--use_gpu=true" in record["argv"]
    assert record["device_cpus"] == [2, 3]
    fig = parse(result.stdout, result.stderr, result.returncode).figures
    assert (fig.delegate, fig.delegated_nodes, fig.total_nodes) == ("GPU", total, total)
    assert fig.avg_us is not None and fig.avg_us > 0


def test_nnapi_leaves_the_head_on_the_cpu(sim: SimDevice, adb_server, model: Path) -> None:
    ops = _ops_in_order(model)
    taken = [op not in NNAPI_CPU_OPS for op in ops]
    runs = 1 + sum(1 for a, b in itertools.pairwise(taken) if a != b)
    kernels = sum(1 for i, t in enumerate(taken) if t and (i == 0 or not taken[i - 1]))
    assert kernels >= 2  # several partitions: the point of the NNAPI profile
    result = _bench(adb_server, sim, model, "--use_nnapi=true")
    assert result.returncode == 0, result.stderr
    assert (
        f"VERBOSE: Replacing {sum(taken)} out of {len(ops)} node(s) with delegate "
        f"(TfLiteNnapiDelegate) node, yielding {runs} partitions for subgraph 0."
    ) in result.stderr.split("\n")
    assert (
        "INFO: Explicitly applied NNAPI delegate, and the model graph will be partially "
        f"executed by the delegate w/ {kernels} delegate kernels."
    ) in result.stdout.split("\n")
    parsed = parse(result.stdout, result.stderr, result.returncode)
    assert parsed.status == "ok", parsed.error
    fig = parsed.figures
    assert (fig.delegate, fig.delegated_nodes, fig.total_nodes) == ("NNAPI", sum(taken), len(ops))


def test_the_gpu_fault_fails_only_the_gpu(sim: SimDevice, adb_server, model: Path) -> None:
    sim.faults.set_gpu_fails(True)
    try:
        failed = _bench(adb_server, sim, model, "--use_gpu=true")
        cpu = _bench(adb_server, sim, model, "")
    finally:
        sim.faults.set_gpu_fails(False)
    assert failed.returncode == 1
    assert "ERROR: Failed to apply GPU delegate." in failed.stderr.split("\n")
    assert parse(failed.stdout, failed.stderr, failed.returncode).status == "failed"
    assert cpu.returncode == 0, cpu.stderr
    assert _bench(adb_server, sim, model, "--use_gpu=true").returncode == 0


def test_sim_serve_gpu_fails_option(adb_server) -> None:
    tiny = Path(__file__).resolve().parents[1] / "data" / "convert" / "tiny_fp32.tflite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sim", "serve", "--json", "--gpu-fails"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        serial = json.loads(proc.stdout.readline())["serial"]
        adb_server.connect(serial)
        assert adb_server.run("-s", serial, "push", str(tiny), REMOTE).returncode == 0
        out = adb_server.run(
            "-s", serial, "shell", f"benchmark_model --graph={REMOTE} {RUN} --use_gpu=true"
        )
        adb_server.run("disconnect", serial)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0
    assert out.returncode == 1
    assert "ERROR: Failed to apply GPU delegate." in out.stderr.split("\n")
