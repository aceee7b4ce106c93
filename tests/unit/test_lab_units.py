"""The lab's pure parts: server lists, `SERIAL@HOST:PORT`, pool tokens, lease owner text,
and the `[pools]` / `adb_servers` settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import Defaults, HarnessConfig, load_config
from harness.device.lease import STALE_AFTER_S, _parse_holder
from harness.device.pools import PoolRequest
from harness.device.select import refuse_twins, split_at
from harness.device.servers import server_specs
from harness.errors import ConfigError, PlanError


def test_split_at_names_the_server() -> None:
    assert split_at("0123ABC@lab-2:5037") == ("0123ABC", "lab-2:5037")
    assert split_at("127.0.0.1:5555@10.0.0.9:5038") == ("127.0.0.1:5555", "10.0.0.9:5038")
    assert split_at("0123ABC") == ("0123ABC", None)
    with pytest.raises(ConfigError):
        split_at("0123ABC@nowhere")


def test_server_specs_command_line_then_settings_then_default() -> None:
    cfg = HarnessConfig(defaults=Defaults(adb_servers=("a:5037", "b:5037")))
    assert server_specs(["c:1", "c:1", "d:2"], cfg) == ["c:1", "d:2"]  # repeats once
    assert server_specs(None, cfg) == ["a:5037", "b:5037"]
    assert server_specs(None, HarnessConfig(defaults=Defaults(adb_server="e:9"))) == ["e:9"]
    assert server_specs("f:3", HarnessConfig()) == ["f:3"]
    assert server_specs(None, HarnessConfig()) == [None]


def test_pool_tokens() -> None:
    assert PoolRequest.parse("pool:pixel4") == PoolRequest("pixel4", 1)
    assert PoolRequest.parse("pool:Pixel 4*3") == PoolRequest("Pixel 4", 3)
    for bad in ("pool:", "pool:x*", "pool:x*0", "pool:x*two"):
        with pytest.raises(PlanError):
            PoolRequest.parse(bad)


def test_two_phones_with_one_serial_cannot_share_a_run() -> None:
    refuse_twins(["a", "b"])
    with pytest.raises(PlanError, match="emulator-5554"):
        refuse_twins(["emulator-5554", "x", "emulator-5554"])


def test_holder_text_and_staleness() -> None:
    text = (
        "held\ntoken=t1\nhost=ci-3\npid=77\nrun=20261129-x\nsince=1000\n\n"
        "heartbeat=1100\ncreated=999\nnow=1105\n"
    )
    holder = _parse_holder(text)
    assert (holder.host, holder.pid, holder.run, holder.age_s) == ("ci-3", "77", "20261129-x", 5)
    assert not holder.stale
    old = _parse_holder(text.replace("now=1105", f"now={1100 + STALE_AFTER_S + 1}"))
    assert old.stale
    assert "host ci-3 pid 77 run 20261129-x since 1970-01-01T00:16:40Z" in old.describe()
    # Caught between mkdir and the first heartbeat: it ages from the folder's mtime.
    young = _parse_holder("held\nheartbeat=\ncreated=500\nnow=510\n")
    assert young.age_s == 10 and young.run == "?"


def test_pools_and_adb_servers_settings(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text(
        '[defaults]\nadb_servers = ["lab-1:5037", "lab-2:5037"]\n'
        '[pools]\npixel4 = ["A", "B@lab-2:5037"]\n'
    )
    cfg = load_config(tmp_path)
    assert cfg.pools == {"pixel4": ["A", "B@lab-2:5037"]}
    assert cfg.defaults.adb_servers == ("lab-1:5037", "lab-2:5037")
    for bad in ("[pools]\np = []\n", '[pools]\np = "A"\n', '[defaults]\nadb_servers = "x:1"\n'):
        (tmp_path / "harness.toml").write_text(bad)
        with pytest.raises(ConfigError):
            load_config(tmp_path)
