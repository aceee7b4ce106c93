"""Whether a run was simulated is one decision (`harness.vocab.is_simulated`), which the
device reader, `harness check`, the report and the end of `harness run` all ask.

A device is simulated when its info says `emulated`, or its properties mark an
emulator (qemu) or the harness's simulated phone; every reader of a stored
run must say so alike, or a host's figure passes for a phone's in one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.compare import compare_runs
from harness.device.info import parse_info
from harness.report.provenance import Provenance
from harness.report.runs import DeviceRun
from harness.results import load_meta
from harness.stages.finish import caveats
from harness.vocab import SIMULATED_PROPS, is_simulated
from tests.support.synthetic import noisy_latencies, write_run

VARIANT = "mobilenet_v2_1.0_224"
OFFICIAL = {"kind": "official", "sha256": "cd" * 32}

DEVICES: list[tuple[dict[str, Any], bool]] = [
    ({"emulated": True}, True),
    ({"emulated": False, "props": {"ro.harness.simulated": "1"}}, True),
    ({"emulated": False, "props": {"ro.kernel.qemu": "1"}}, True),
    ({"emulated": False, "props": {"ro.boot.qemu": "1"}}, True),
    ({"emulated": False, "props": {"ro.harness.simulated": "0"}}, False),
    ({"emulated": False}, False),
]


@pytest.mark.parametrize(("device", "simulated"), DEVICES)
def test_every_reader_of_a_stored_run_gives_the_one_answer(
    tmp_path: Path, device: dict[str, Any], simulated: bool
) -> None:
    run_dir = write_run(
        tmp_path / "run", noisy_latencies([VARIANT], n=3, cv=0.01, seed=1),
        device=device, binary=OFFICIAL,
    )  # fmt: skip
    meta = load_meta(run_dir)
    [serial] = meta.devices
    stored = meta.devices[serial]
    assert is_simulated(stored.props, stored.emulated) is simulated
    assert ("simulated device" in compare_runs(run_dir, run_dir).stand_in) is simulated
    run = DeviceRun(run_dir, meta, serial, [], [])
    assert Provenance.of(run).simulated is simulated
    assert any("simulated or emulated" in c for c in caveats(meta, [])) is simulated


@pytest.mark.parametrize("prop", SIMULATED_PROPS)
def test_the_device_reader_marks_what_the_stored_readers_recognise(prop: str) -> None:
    info = parse_info("s1", "device", f"prop.{prop}=1\nprop.ro.product.model=Pixel\n", frozenset())
    assert info.emulated and is_simulated(info.props, info.emulated)
    phone = parse_info("s1", "device", "prop.ro.product.model=Pixel\n", frozenset())
    assert not phone.emulated and not is_simulated(phone.props, phone.emulated)
