"""A phone the harness cannot fully use gets one clear line, at once.

Each test takes something away from a simulated phone (taskset, the CPU
topology in sysfs, benchmark_model) by editing its files from the host, the
way a stripped-down or locked-down phone differs from a Pixel.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.errors import DeviceError
from harness.run import RunSettings, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANT = "mobilenet_v2_0.35_96"


def _sessions(serial: str) -> list[Any]:
    from harness.device.select import connect

    return list(connect([serial]))


def _settings(serial: str, out: Path, **kw: Any) -> RunSettings:
    base: dict[str, Any] = dict(
        devices=[serial], variants=[VARIANT], trials=1, runs=3, warmup=1, out=out, seed=2,
        report=False, cooldown_temp_c=None,
    )  # fmt: skip
    base.update(kw)
    return RunSettings(**base)


def test_no_taskset_fails_once_before_any_trial(
    sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (sim.root / "system" / "bin" / "taskset").unlink()
    with pytest.raises(DeviceError, match="no `taskset` on the device") as info:
        run(_settings(sim.serial, tmp_path / "api"), sessions=_sessions(sim.serial))
    assert info.value.exit_code == 3
    assert not (tmp_path / "api").exists() or not any((tmp_path / "api").iterdir())
    assert _bench_count(sim) == 0
    # The command line: exit 3 and one error line, no run folder.
    code = main(["run", "--device", sim.serial, "--variants", VARIANT, "--trials", "1",
                 "--runs", "3", "--out", str(tmp_path / "cli"), "--no-report"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "taskset" in errors[0], err


def _bench_count(sim: Any) -> int:
    path = sim.root / "state" / "affinity.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _remove_cpu_sysfs(sim: Any) -> None:
    cpu = sim.root / "sysfs" / "cpu"
    for child in cpu.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def test_without_cpu_sysfs_an_explicit_mask_or_all_runs_unverified(
    sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _remove_cpu_sysfs(sim)
    messages: list[str] = []
    outcome = run(_settings(sim.serial, tmp_path, cores=["all", "c"]),
                  sessions=_sessions(sim.serial), emit=messages.append)  # fmt: skip
    assert outcome.status == "complete" and outcome.exit_code == 0, messages
    meta = json.loads((outcome.run_dir / "meta.json").read_text())
    cores = meta["cores"][sim.serial]
    assert cores["all"]["verified"] is False and cores["c"]["mask"] == "c"
    assert cores["c"]["cpus"] == [2, 3]
    assert any("affinity not verified" in w for w in outcome.warnings), outcome.warnings
    # A named cluster cannot be resolved without the topology: exit 3, one line.
    with pytest.raises(DeviceError, match="--cores big needs the CPU topology") as info:
        run(_settings(sim.serial, tmp_path), sessions=_sessions(sim.serial))
    assert info.value.exit_code == 3
    # `harness devices` says the same before anyone runs anything.
    assert main(["devices", "--device", sim.serial, "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert any("is not readable" in w for w in listed["warnings"]), listed["warnings"]


def test_no_benchmark_model_names_the_places_searched_and_the_hint_works(
    sim: Any, tmp_path: Path
) -> None:
    standin = sim.root / "system" / "bin" / "benchmark_model"
    kept = tmp_path / "benchmark_model"
    shutil.copy2(standin.resolve(), kept)
    standin.unlink()
    with pytest.raises(DeviceError) as info:
        run(_settings(sim.serial, tmp_path / "runs"), sessions=_sessions(sim.serial))
    message = str(info.value)
    assert info.value.exit_code == 3
    assert "$PATH" in message
    assert "/data/local/tmp/benchmark_model, /system/bin/benchmark_model" in message
    assert "adb push benchmark_model /data/local/tmp/benchmark_model" in message
    # Follow the hint's second way: push it there, make it executable, run again.
    [session] = _sessions(sim.serial)
    session.push(kept, "/data/local/tmp/benchmark_model", timeout_s=60, mode=0o644)
    session.shell(["chmod", "755", "/data/local/tmp/benchmark_model"], timeout_s=10)
    outcome = run(_settings(sim.serial, tmp_path / "runs"), sessions=_sessions(sim.serial))
    assert outcome.status == "complete" and outcome.exit_code == 0
