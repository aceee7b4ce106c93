"""benchmark_model resolution, identification and ABI checks; `harness clean`; the CLI."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.bench.units import compiled_model_flag
from harness.cli import main
from harness.device import download
from harness.device.binary import prepare_binary
from harness.device.cores import select_cores
from harness.device.files import WORKDIR, clean, push_many
from harness.device.select import connect
from harness.device.session import DeviceSession
from harness.errors import BinaryError
from harness.sim import SimDevice

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"


def _open(sim: SimDevice) -> DeviceSession:
    [session] = connect([sim.serial])
    return session


def _elf(path: Path, bits: int, machine: int) -> Path:
    """An ELF identification + e_machine header (enough for the ABI check)."""
    head = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1, 1]) + bytes(9)
    head += struct.pack("<HH", 2, machine) + bytes(44)
    path.write_bytes(head)
    return path


def test_installed_stand_in_is_found_and_named_so(sim: SimDevice) -> None:
    session = _open(sim)
    info = prepare_binary(session, None)
    assert info.device_path == "/system/bin/benchmark_model"
    assert info.kind == "stand-in"
    assert info.version_line and "stand-in" in info.version_line
    # The LiteRT it runs is named from the package's metadata, which the phone's files hold.
    assert f"(LiteRT {importlib.metadata.version('ai-edge-litert')})" in info.version_line
    assert {"graph", "num_runs", "warmup_runs", "num_threads"} <= info.flags
    on_host = hashlib.sha256((sim.root / "system/bin/benchmark_model").read_bytes()).hexdigest()
    assert info.sha256 == on_host


def test_wrong_abi_is_refused_before_any_push(sim: SimDevice, tmp_path: Path) -> None:
    session = _open(sim)
    abi = session.shell(["getprop", "ro.product.cpu.abi"], timeout_s=10).stdout.strip()
    # A build for some other ABI than the device's.
    bits, machine = (64, 183) if abi != "arm64-v8a" else (64, 62)
    wrong = _elf(tmp_path / "benchmark_model", bits, machine)
    with pytest.raises(BinaryError, match="built for") as info:
        prepare_binary(session, wrong)
    assert "fetch-binary" in str(info.value)
    assert not session.exists(f"{WORKDIR}/bin/benchmark_model")
    not_elf = tmp_path / "script.sh"
    not_elf.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(BinaryError, match="not an ELF"):
        prepare_binary(session, not_elf)


def test_litert_compiled_model_tool_is_identified_by_its_help(make_sim) -> None:
    """LiteRT's other benchmark_model (CompiledModel API) is told apart by its --help;
    which units it may run is `build_command`'s (tests/unit/test_units_command.py)."""
    sim = make_sim()
    listing = (DATA / "litert_compiled_model_help.txt").read_text()
    tool = sim.root / "system" / "bin" / "benchmark_model"
    # The device runs this file as its installed tool: it prints that tool's listing.
    tool.write_text(f"#!/system/bin/sh\ncat <<'LISTING'\n{listing}LISTING\nexit 1\n")
    session = _open(sim)
    info = prepare_binary(session, None)
    assert info.device_path == "/system/bin/benchmark_model" and info.kind == "unknown"
    assert compiled_model_flag(info.flags) == "compiler_plugin_library_path"
    assert {"use_npu", "use_cpu", "num_runs", "graph"} <= info.flags
    assert compiled_model_flag(prepare_binary(_open(make_sim()), None).flags) is None


def test_pushed_binary_is_identified_from_the_device(
    sim: SimDevice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = _open(sim)
    # The device runs host binaries (see its ABI), so a host tool stands in for
    # a local benchmark_model; toybox prints a usage line for --help.
    toybox = shutil.which("toybox")
    assert toybox
    local = tmp_path / "benchmark_model"
    shutil.copy(toybox, local)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    info = prepare_binary(session, local, abilist=["x86_64"])
    digest = hashlib.sha256(local.read_bytes()).hexdigest()
    assert (info.device_path, info.sha256, info.kind) == (
        f"{WORKDIR}/bin/benchmark_model",
        digest,
        "unknown",
    )
    # The same hash, once recorded as fetched from the official bucket, is "official".
    download.record(
        download.cache_root(),
        download.FetchedBinary(
            "x86_64",
            local,
            digest,
            local.stat().st_size,
            download.binary_url("x86_64"),
            official=True,
            cached=False,
        ),
    )
    assert prepare_binary(session, local, abilist=["x86_64"]).kind == "official"


def test_clean_removes_everything(sim: SimDevice, tmp_path: Path) -> None:
    session = _open(sim)
    src = tmp_path / "m.tflite"
    src.write_bytes(b"x" * 1000)
    push_many(session, [(src, "models/m.tflite")])
    assert clean(session) >= 1
    assert not session.exists(WORKDIR)
    assert clean(session) == 0


def test_cli_devices_json_and_clean(
    sim: SimDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["devices", "--json", "--device", "pixel"]) == 0
    [info] = json.loads(capsys.readouterr().out)
    assert info["serial"] == sim.serial and info["masks"]["big"] == "c"
    assert main(["devices"]) == 0
    assert "masks big=c" in capsys.readouterr().out
    assert main(["clean", "--device", sim.serial]) == 0
    assert f"removed {WORKDIR}" in capsys.readouterr().err
    assert main(["devices", "--device", "no-such-phone"]) == 3
    assert "no device matches" in capsys.readouterr().err


def test_hostile_model_name_is_pushed_and_benchmarked_pinned_to_big(sim: SimDevice) -> None:
    session = _open(sim)
    model = Path(__file__).resolve().parents[1] / "data" / "convert" / "tiny_fp32.tflite"
    name = "models/my model 'v2' \"q\" $(touch pwned) `id`.tflite"
    [pushed] = push_many(session, [(model, name)])
    remote = pushed.remote
    binary = prepare_binary(session, None)
    mask = select_cores(session, "big").mask
    result = session.shell(
        [
            "taskset",
            mask,
            binary.device_path,
            f"--graph={remote}",
            "--num_runs=3",
            "--min_secs=0",
            "--warmup_runs=1",
            "--warmup_min_secs=0",
            "--num_threads=1",
        ],
        timeout_s=120,
    )
    assert "count=3" in result.output and remote in result.output
    assert not (sim.root / "pwned").exists()
    assert not session.exists(f"{WORKDIR}/models/pwned")
    runs = [r for r in sim.affinity_records() if any(remote in a for a in r["argv"])]
    assert runs and all(sorted(r["host_cpus"]) == sim.topology.host_cpus([2, 3]) for r in runs)


def test_cli_devices_lists_several_and_an_offline_one(
    make_sim: Callable[..., SimDevice], adb_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    pixel2 = {
        "clusters": [
            {"cpus": [0, 1, 2, 3], "max_khz": 1900800},
            {"cpus": [4, 5, 6, 7], "max_khz": 2457600},
        ]
    }
    first, second, gone = make_sim(), make_sim(topology=pixel2), make_sim()
    gone.faults.go_offline(30.0)
    adb_server.wait_state(gone.serial, "offline")
    assert main(["devices", "--json"]) == 0
    listed = {d["serial"]: d for d in json.loads(capsys.readouterr().out)}
    assert listed[first.serial]["masks"]["big"] == "c"
    assert listed[second.serial]["masks"]["big"] == "f0"
    assert listed[gone.serial]["state"] == "offline" and listed[gone.serial]["warnings"]
