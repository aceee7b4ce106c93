"""Compute units as a run axis, on the simulated Pixel 1 through the real adb server.

Each trial's record carries the proof of what ran its graph, read from its own
log: the stand-in's GPU takes every MobileNetV2 node, its NNAPI leaves the head
on the CPU, its NNAPI DSP takes no node of a float model (a silent fallback on
a phone), and its GPU fault stops the run as the real tool does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.errors import BinaryError
from harness.run import RunSettings, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANT = "mobilenet_v2_0.35_96"


def _sessions(sim: Any) -> list[Any]:
    from harness.device.select import connect

    return list(connect([sim.serial]))


def _records(run_dir: Path) -> dict[str, dict[str, Any]]:
    lines = (run_dir / "trials.jsonl").read_text().splitlines()
    return {r["accelerator"]: r for r in map(json.loads, lines) if r}


def _settings(sim: Any, tmp_path: Path, units: list[str], **more: Any) -> RunSettings:
    return RunSettings(
        devices=[sim.serial], variants=[VARIANT], trials=1, runs=2, warmup=0,
        cooldown_temp_c=0, out=tmp_path, seed=7, report=False, accelerators=units, **more,
    )  # fmt: skip


def test_each_unit_is_proved_from_its_own_log(sim: Any, tmp_path: Path) -> None:
    messages: list[str] = []
    settings = _settings(sim, tmp_path, ["cpu", "gpu", "nnapi", "nnapi:qti-dsp"])
    outcome = run(settings, sessions=_sessions(sim), emit=messages.append)

    assert outcome.status == "complete", messages
    got = _records(outcome.run_dir)
    assert set(got) == {"cpu", "gpu", "nnapi", "nnapi:qti-dsp"}
    cpu, gpu, nnapi, dsp = got["cpu"], got["gpu"], got["nnapi"], got["nnapi:qti-dsp"]
    # The CPU's key (and trial id) is what it was before units were an axis.
    assert "|unit=" not in cpu["trial_id"] and cpu["status"] == "ok"
    assert cpu["delegation"] == "applied"
    assert gpu["trial_id"].startswith(
        f"{sim.serial}|{VARIANT}|fp32|t1|big|xnnpack=default|unit=gpu|"
    )
    assert gpu["status"] == "ok" and gpu["delegation"] == "applied"
    assert gpu["delegate"] == "GPU" and gpu["partitions"] == 1
    assert gpu["delegated_nodes"] == gpu["total_nodes"] and gpu["total_nodes"] > 0
    # NNAPI leaves MEAN and SOFTMAX on the CPU: ok, flagged with its node counts.
    assert nnapi["status"] == "ok" and nnapi["delegation"] == "partial"
    assert nnapi["delegated_nodes"] == nnapi["total_nodes"] - 2 and nnapi["partitions"] == 2
    assert "partial: NNAPI delegate took" in (nnapi["proof_warnings"] or "")
    # The DSP takes no float node: the CPU ran it, which is not what was asked.
    assert dsp["status"] == "fallback" and dsp["delegation"] == "fallback"
    assert dsp["latency_ms"] is None and dsp["avg_us"] > 0
    assert "took no node" in dsp["error"]
    assert outcome.exit_code == 1 and outcome.trials_failed == 1
    assert list((sim.root / "data/local/tmp/harness").glob("models/*"))  # where models go
    # What reached the phone: each unit's own flags, nothing for the CPU.
    argvs = {
        a for r in sim.affinity_records() for a in r["argv"] if a.startswith(("--use_", "--nnapi"))
    }
    assert {"--use_gpu=true", "--use_nnapi=true", "--nnapi_accelerator_name=qti-dsp"} <= argvs
    summary = outcome.summary
    assert summary is not None
    rows = {r["accelerator"]: r for r in summary.to_dict(orient="records")}
    assert rows["gpu"]["delegation"] == "applied" and rows["nnapi"]["delegation"] == "partial"
    assert rows["nnapi:qti-dsp"]["status"] == "fallback"
    meta = json.loads((outcome.run_dir / "meta.json").read_text())
    assert meta["settings"]["accelerators"] == ["cpu", "gpu", "nnapi", "nnapi:qti-dsp"]


def test_allow_fallback_keeps_the_figure_with_a_warning(sim: Any, tmp_path: Path) -> None:
    settings = _settings(sim, tmp_path, ["nnapi:qti-dsp"], allow_fallback=True)
    outcome = run(settings, sessions=_sessions(sim))

    dsp = _records(outcome.run_dir)["nnapi:qti-dsp"]
    assert dsp["status"] == "ok" and dsp["delegation"] == "fallback" and dsp["latency_ms"] > 0
    assert "fallback: NNAPI delegate took" in dsp["proof_warnings"]
    assert outcome.exit_code == 0


def test_gpu_that_fails_to_apply_fails_the_trial(make_sim: Any, tmp_path: Path) -> None:
    sim = make_sim(faults={"gpu_fails": True})
    outcome = run(_settings(sim, tmp_path, ["gpu"]), sessions=_sessions(sim))

    gpu = _records(outcome.run_dir)["gpu"]
    # The real tool stops when its delegate fails to apply: no figure, the reason named.
    assert gpu["status"] == "failed" and gpu["delegation"] == "failed"
    assert outcome.exit_code == 1


def test_a_unit_the_binary_lacks_is_refused_before_any_model_is_pushed(
    sim: Any, tmp_path: Path
) -> None:
    with pytest.raises(
        BinaryError, match=r"has no --use_hexagon: cannot run --accelerator hexagon"
    ):
        run(_settings(sim, tmp_path, ["cpu", "hexagon"]), sessions=_sessions(sim))
    assert not list((sim.root / "data/local/tmp/harness").glob("models/*"))


DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"


def _install_compiled_model_tool(sim: Any) -> None:
    """LiteRT's CompiledModel benchmark_model as the phone's tool: its --help listing,
    and for a run the corpus's NPU log with the run count asked for."""
    listing = (DATA / "litert_compiled_model_help.txt").read_text()
    log = (DATA / "litert_compiled_model_npu.log").read_text()
    assert "$" not in log and "`" not in log  # the here-document below expands only $runs
    script = (
        "#!/system/bin/sh\n"
        f"case \"$*\" in *--help*) cat <<'LISTING'\n{listing}LISTING\nexit 1;; esac\n"
        "runs=0\n"
        'for a in "$@"; do case $a in --num_runs=*) runs=${a#--num_runs=};; esac; done\n'
        f"cat <<LOG\n{log.replace('count=843', 'count=$runs')}LOG\n"
    )
    (sim.root / "system" / "bin" / "benchmark_model").write_text(script)


def test_npu_runs_on_litert_s_compiled_model_tool_and_no_other_unit_does(
    make_sim: Any, tmp_path: Path
) -> None:
    sim = make_sim()
    _install_compiled_model_tool(sim)
    # The CPU is measured with the interpreter's tool, as the published column was:
    # refused before any model reaches the phone.
    with pytest.raises(BinaryError, match="CompiledModel benchmark_model") as refused:
        run(_settings(sim, tmp_path / "both", ["cpu", "npu"]), sessions=_sessions(sim))
    assert "npu alone" in str(refused.value) and refused.value.exit_code == 2
    assert not list((sim.root / "data/local/tmp/harness").glob("models/*"))

    messages: list[str] = []
    settings = _settings(sim, tmp_path / "npu", ["npu"])
    outcome = run(settings, sessions=_sessions(sim), emit=messages.append)
    assert outcome.status == "complete" and outcome.exit_code == 0, messages
    (npu,) = _records(outcome.run_dir).values()
    assert npu["accelerator"] == "npu" and npu["status"] == "ok"
    assert (npu["delegate"], npu["delegation"]) == ("NPU", "applied")
    assert (npu["delegated_nodes"], npu["total_nodes"], npu["partitions"]) == (1, 1, 1)
    assert npu["latency_ms"] == pytest.approx(1.186)  # the count= line's avg, in ms
    assert any("LiteRT's CompiledModel tool" in m for m in messages)


def test_a_pixel_6_lists_tensor_s_nnapi_drivers_not_a_pixel_1_s(
    make_sim: Any, tmp_path: Path
) -> None:
    sim = make_sim(profile="pixel6")
    units = ["nnapi", "nnapi:google-edgetpu", "nnapi:qti-dsp"]
    outcome = run(_settings(sim, tmp_path, units), sessions=_sessions(sim))
    got = _records(outcome.run_dir)
    # No name: the default driver, the Mali GPU's (Arm NN), leaves the head on the CPU.
    assert got["nnapi"]["status"] == "ok" and got["nnapi"]["delegation"] == "partial"
    # The TPU's driver takes no node of a float model: the CPU ran it.
    tpu = got["nnapi:google-edgetpu"]
    assert tpu["status"] == "fallback" and tpu["delegated_nodes"] == 0
    # A Qualcomm driver is not on this phone, and the tool says which are.
    dsp = got["nnapi:qti-dsp"]
    assert dsp["status"] == "failed"
    assert "Must be one of: {google-armnn,google-edgetpu,nnapi-reference}" in dsp["error"]
