"""A phone whose model name holds escape sequences cannot drive the terminal.

The simulated phone's `ro.product.model` holds a window-title OSC and a
clear-screen CSI. `harness devices` and `harness run` print the name without
them, while the run's stored records keep the raw value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main
from harness.sim import SimDevice

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOSTILE_MODEL = "\x1b]0;pwned\x07Pixel\x1b[2J XL"


def assert_clean(text: str) -> None:
    """No control character but newline and tab: nothing a terminal would act on."""
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text), text


@pytest.fixture
def hostile(make_sim: Callable[..., SimDevice]) -> SimDevice:
    return make_sim(props={"ro.product.model": HOSTILE_MODEL})


@pytest.mark.adb_protocol  # the server reads the model from the device's banner
def test_devices_prints_the_model_without_escapes(
    hostile: SimDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["devices"]) == 0
    captured = capsys.readouterr()
    assert_clean(captured.out + captured.err)
    assert "Pixel XL" in captured.out and hostile.serial in captured.out
    assert "pwned" not in captured.out  # the whole title sequence went, not just its ESC
    assert main(["devices", "--json"]) == 0
    [info] = [d for d in json.loads(capsys.readouterr().out) if d["serial"] == hostile.serial]
    assert info["model"] == HOSTILE_MODEL  # machine output: raw, JSON-escaped


def test_run_prints_the_model_without_escapes_and_stores_it_raw(
    hostile: SimDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([
        "run", "--device", hostile.serial, "--variants", "v2:0.35_96", "--trials", "1",
        "--runs", "2", "--warmup", "0", "--cooldown-temp", "0", "--out", str(tmp_path),
        "--no-report",
    ])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert_clean(captured.out + captured.err)
    assert "Pixel XL" in captured.err  # the progress line names the phone
    [run_dir] = [p for p in tmp_path.iterdir() if p.is_dir()]
    [line] = (run_dir / "trials.jsonl").read_text().splitlines()
    assert json.loads(line)["device_model"] == HOSTILE_MODEL
