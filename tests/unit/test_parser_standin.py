"""The parser on live output of the simulated device's benchmark_model stand-in (run on the host).

The stand-in (harness/sim/tools/benchmark_model.py) runs a real model with
LiteRT and prints the classic tool's current format; here it runs as a plain
host process on a committed converter-made model, so its stdout and stderr
arrive separately, as they do when the runner pulls the two files.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.logs.parser import parse

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = ROOT / "harness" / "sim" / "tools" / "benchmark_model.py"
MODEL = ROOT / "tests" / "data" / "convert" / "tiny_fp32.tflite"


def _run(*flags: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(STAND_IN), *flags],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_stand_in_fixed_counts_parse_ok() -> None:
    proc = _run(
        f"--graph={MODEL}",
        "--num_runs=7",
        "--warmup_runs=3",
        "--min_secs=0",
        "--warmup_min_secs=0",
        "--num_threads=1",
    )
    result = parse(proc.stdout, proc.stderr, proc.returncode)
    assert proc.returncode == 0, proc.stderr
    assert result.status == "ok", result.error
    assert result.binary_id is not None and result.binary_id.startswith(
        "harness benchmark_model stand-in"
    )
    assert result.figures.count == 7  # the regular phase, exactly --num_runs
    assert result.warmup is not None and result.warmup.count == 3
    assert result.figures.avg_us is not None and result.figures.avg_us > 0
    assert result.figures.min_us is not None and result.figures.max_us is not None
    assert result.figures.min_us <= result.figures.avg_us <= result.figures.max_us
    fig = result.figures
    assert fig.p5_us is not None and fig.median_us is not None and fig.p95_us is not None
    assert result.era == "2020+"
    assert result.figures.inference_avg_us is not None
    # the summary repeats the regular mean with 6 significant digits
    assert abs(fig.inference_avg_us - fig.avg_us) <= 1e-5 * fig.avg_us + 0.5


def test_stand_in_missing_model_is_failed() -> None:
    proc = _run("--graph=/nonexistent/model.tflite")
    result = parse(proc.stdout, proc.stderr, proc.returncode)
    assert proc.returncode == 1
    assert result.status == "failed"
    assert (
        result.error is not None
        and "Failed to mmap model /nonexistent/model.tflite" in result.error
    )


def test_stand_in_killed_mid_run_is_crashed() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(STAND_IN),
            f"--graph={MODEL}",
            "--num_runs=100000000",
            "--min_secs=0",
            "--warmup_runs=1",
            "--warmup_min_secs=0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if "Running benchmark for at least 100000000" in line:
            break
    proc.send_signal(signal.SIGKILL)
    rest, err = proc.communicate(timeout=30)
    result = parse("".join(seen) + rest, err, proc.returncode)
    assert proc.returncode == -signal.SIGKILL
    assert result.status == "crashed"
    assert result.error is not None and "SIGKILL" in result.error
    assert result.figures.avg_us is None  # only the warm-up finished


def _delegated(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """The stand-in with delegate flags, its device state in a folder of the test's own."""
    return subprocess.run(
        [sys.executable, str(STAND_IN), f"--graph={MODEL}", "--num_runs=3", "--min_secs=0",
         "--warmup_runs=1", "--warmup_min_secs=0", *flags],
        capture_output=True, text=True, timeout=60, check=False,
        env={"HARNESS_SIM_STATE": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_stand_in_gpu_run_reads_as_the_gpu_on_every_node(tmp_path: Path) -> None:
    proc = _delegated(tmp_path, "--use_gpu=true")
    result = parse(proc.stdout, proc.stderr, proc.returncode)
    assert result.status == "ok", result.error
    fig = result.figures
    assert (fig.delegate, fig.delegated_nodes, fig.total_nodes) == ("GPU", 5, 5)
    assert not [w for w in fig.parse_warnings if "delegate" in w]


def test_stand_in_nnapi_run_reads_as_partial_delegation(tmp_path: Path) -> None:
    proc = _delegated(tmp_path, "--use_nnapi=true")
    result = parse(proc.stdout, proc.stderr, proc.returncode)
    assert result.status == "ok", result.error
    fig = result.figures
    assert (fig.delegate, fig.delegated_nodes, fig.total_nodes) == ("NNAPI", 3, 5)
    assert any("NNAPI delegate took only 3 of 5 nodes" in w for w in fig.parse_warnings)


def test_stand_in_nnapi_that_takes_nothing_reads_as_no_delegation(tmp_path: Path) -> None:
    proc = _delegated(tmp_path, "--use_nnapi=true", "--nnapi_accelerator_name=qti-dsp")
    result = parse(proc.stdout, proc.stderr, proc.returncode)
    assert result.status == "ok", result.error
    assert (result.figures.delegate, result.figures.delegated_nodes) == ("NNAPI", 0)
    assert any("took no node" in w for w in result.figures.parse_warnings)


def test_stand_in_simulated_vendor_library_reads_as_external(tmp_path: Path) -> None:
    lib = tmp_path / "libvendor.so"
    lib.write_text("# harness sim delegate\nname=TfLiteVendorDelegate\nops=all\nfactor=0.3\n")
    proc = _delegated(tmp_path, f"--external_delegate_path={lib}")
    result = parse(proc.stdout, proc.stderr, proc.returncode)
    assert result.status == "ok", result.error
    fig = result.figures
    assert (fig.delegate, fig.delegated_nodes, fig.total_nodes) == ("EXTERNAL", 5, 5)


def test_stand_in_missing_external_library_reads_as_not_loaded(tmp_path: Path) -> None:
    proc = _delegated(tmp_path, f"--external_delegate_path={tmp_path / 'libnone.so'}")
    result = parse(proc.stdout, proc.stderr, proc.returncode)
    assert result.status == "ok", result.error
    # The library did not load, so the delegate took no node: the runtime's line says why.
    assert result.figures.delegate == "EXTERNAL" and result.figures.delegated_nodes == 0
    assert any(
        "failed to apply" in w and "Unable to load external delegate from" in w
        for w in result.figures.parse_warnings
    )


def test_stand_in_gpu_fault_reads_as_failed(tmp_path: Path) -> None:
    (tmp_path / "gpu_fails").write_text("on\n")
    proc = _delegated(tmp_path, "--use_gpu=true")
    result = parse(proc.stdout, proc.stderr, proc.returncode)
    assert proc.returncode == 1
    assert result.status == "failed"
    assert result.error is not None and "Failed to apply GPU delegate" in result.error
    assert result.figures.avg_us is None


VENDOR_PART = "# harness sim delegate\nname=TfLiteVendorDelegate\nops=CONV_2D\nfactor=0.3\n"
VENDOR_ALL = "# harness sim delegate\nname=TfLiteVendorDelegate\nops=all\nfactor=0.3\n"


@pytest.mark.parametrize(
    ("flags", "proved"),
    [
        ((), ("cpu", None, None, None, None, None, "applied")),
        (("--use_xnnpack=false",), ("cpu", None, None, None, None, None, "applied")),
        (("--use_gpu=true",), ("gpu", "GPU", 5, 5, 1, 1, "applied")),
        (("--use_gpu=true", "--gpu_precision_loss_allowed=false"),
         ("gpu-fp32", "GPU", 5, 5, 1, 1, "applied")),
        (("--use_nnapi=true",), ("nnapi", "NNAPI", 3, 5, 2, 4, "partial")),
        (("--use_nnapi=true", "--nnapi_accelerator_name=qti-dsp"),
         ("nnapi:qti-dsp", "NNAPI", 0, None, 0, None, "fallback")),
        (("--use_nnapi=true", "--nnapi_accelerator_name=nnapi-reference"),
         ("nnapi:nnapi-reference", "NNAPI", 5, 5, 1, 1, "applied")),
        (("--use_nnapi=true", "--nnapi_accelerator_name=qti-htp"),
         ("nnapi:qti-htp", "NNAPI", 0, None, 0, None, "failed")),
        (("--use_gpu=true", "--use_nnapi=true"), ("gpu", "GPU", 5, 5, 1, 1, "applied")),
        (("LIB", VENDOR_ALL), ("external:LIB", "EXTERNAL", 5, 5, 1, 1, "applied")),
        (("LIB", VENDOR_PART), ("external:LIB", "EXTERNAL", 1, 5, 1, 2, "partial")),
        (("LIB", None), ("external:LIB", "EXTERNAL", 0, None, 0, None, "fallback")),
    ],
)  # fmt: skip
def test_stand_in_delegation_is_proved_from_its_own_log(
    tmp_path: Path, flags: tuple[str | None, ...], proved: tuple[object, ...]
) -> None:
    """Every unit the simulated phone plays, read back with the unit inferred from the flags
    echo and proved: the node counts come from the model's own operators (5 nodes)."""
    lib = tmp_path / "libvendor.so"
    if flags[:1] == ("LIB",):
        if flags[1] is not None:
            lib.write_text(flags[1])
        flags = (f"--external_delegate_path={lib}",)
    proc = _delegated(tmp_path, *[f for f in flags if f is not None])
    result = parse(proc.stdout, proc.stderr, proc.returncode)
    proof = result.delegation
    assert proof is not None and proof.inferred
    want = (f"external:{lib}" if proved[0] == "external:LIB" else proved[0], *proved[1:])
    got = (
        proof.accelerator, proof.delegate, proof.delegated_nodes, proof.total_nodes,
        proof.partitions, proof.graph_partitions, proof.verdict,
    )  # fmt: skip
    assert got == want, proof.reason
    assert (result.status == "ok") == (proof.verdict != "failed"), result.error
    again = parse(proc.stdout, proc.stderr, proc.returncode, accelerator=proof.accelerator)
    assert again.delegation is not None and again.delegation.verdict == proof.verdict


def test_stand_in_gpu_fault_is_proved_failed_and_its_replacing_line_not_counted(
    tmp_path: Path,
) -> None:
    (tmp_path / "gpu_fails").write_text("on\n")
    proc = _delegated(tmp_path, "--use_gpu=true")
    assert "Replacing 5 out of 5 node(s)" in proc.stderr  # printed, then the apply failed
    result = parse(proc.stdout, proc.stderr, proc.returncode, accelerator="gpu")
    proof = result.delegation
    assert proof is not None and proof.verdict == "failed"
    assert (proof.delegated_nodes, proof.total_nodes, proof.partitions) == (0, 5, 0)
    assert "Failed to apply GPU delegate" in proof.reason
    assert result.figures.delegated_nodes == 0


def test_stand_in_gpu_run_judged_as_a_cpu_one_is_not_what_was_asked(tmp_path: Path) -> None:
    proc = _delegated(tmp_path, "--use_gpu=true")
    proof = parse(proc.stdout, proc.stderr, proc.returncode, accelerator="cpu").delegation
    assert proof is not None and (proof.delegate, proof.verdict) == ("GPU", "partial")
