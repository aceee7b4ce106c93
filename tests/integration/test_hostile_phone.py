"""Hostile values that reach a phone, or come from one.

A phone's property values are data: one cannot set another, and none is cut
short. Device output used to be split with `str.splitlines`, which also
breaks at form feed, U+2028, U+2029 and a bare carriage return: a model name
holding `<U+2028>prop.ro.board.platform=INJECTED-SOC` set the recorded SoC
(which `--resume` trusts to recognise a phone), and `Goo<CR>gle` was recorded
as `Goo`. The simulated phone is given such properties, as a real one could be.

An empty `--device` names no phone: `harness clean --device ''` used to wipe
the one attached phone's harness folder and exit 0.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

from harness.cli import main
from harness.device.info import read_info
from harness.device.select import connect
from harness.sim import SimDevice

pytestmark = pytest.mark.integration

HOSTILE = {
    "ro.product.model": "Pixel\u2028prop.ro.board.platform=INJECTED-SOC",
    "ro.build.fingerprint": "google/sailfish\u2029prop.ro.hardware=INJECTED-HW",
    "ro.product.device": "sailfish\x0cprop.ro.product.cpu.abi=INJECTED-ABI",
    "ro.product.name": "sailfish\x1cprop.ro.build.version.sdk=99",
    "ro.product.manufacturer": "Goo\rgle",
}


@pytest.fixture
def hostile(make_sim: Callable[..., SimDevice]) -> SimDevice:
    return make_sim(props=HOSTILE)


def test_a_property_value_sets_no_other_and_is_kept_whole(hostile: SimDevice) -> None:
    [session] = connect([hostile.serial])
    info = read_info(session)
    # Nothing injected: the phone's own values stand.
    assert (info.platform, info.hardware, info.sdk) == ("msm8996", "sailfish", 29)
    assert info.abi == hostile.props["ro.product.cpu.abi"]
    # Each value is recorded as the phone holds it, separators and all.
    for key, field in (
        ("ro.product.model", "model"),
        ("ro.build.fingerprint", "fingerprint"),
        ("ro.product.device", "device"),
        ("ro.product.name", "product"),
        ("ro.product.manufacturer", "manufacturer"),
    ):
        assert getattr(info, field) == HOSTILE[key], field


def test_devices_prints_them_on_their_lines(
    hostile: SimDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["devices", "--device", hostile.serial, "--json"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert shown["platform"] == "msm8996" and shown["manufacturer"] == "Goo\rgle"
    assert main(["devices", "--device", hostile.serial]) == 0
    text = capsys.readouterr().out
    assert "\r" not in text and "\x0c" not in text and "\x1c" not in text
    assert "INJECTED-SOC" not in text.replace("Pixel\u2028prop.ro.board.platform=INJECTED-SOC", "")


@pytest.mark.parametrize("selection", ["", ","])
def test_clean_with_an_empty_device_touches_no_phone(
    sim: SimDevice, selection: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = sim.root / "data" / "local" / "tmp" / "harness" / "models" / "kept.tflite"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(b"model")
    assert main(["clean", "--device", selection]) == 2
    assert "--device selects nothing" in capsys.readouterr().err
    assert kept.read_bytes() == b"model"
    assert main(["clean", "--device", sim.serial]) == 0  # the control: named, it is cleaned
    assert not kept.exists()


def test_sim_serve_prints_its_properties_printable(adb_server: object) -> None:
    model = "Pix\x1b]0;pwned\x07el\x1b[2J\u2028XL"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "sim",
            "serve",
            "--prop",
            f"ro.product.model={model}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith("127.0.0.1:")
        line = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert "a simulated Pixel\u2028XL (sailfish)" in line, line
    assert "\x1b" not in line and "\x07" not in line
