"""Device sources: a `--device` token that starts a device, found by name.

The harness's own (`sim`) come from its table; a plug-in is an installed
package's entry point in the group `harness.device_sources`, found through
the real package metadata (a dist-info folder on sys.path, as pip leaves one).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.device.sources import GROUP, _plugins, find_source, is_source, source_name
from harness.errors import ConfigError

PLUGIN = """
import contextlib

STARTED = []


@contextlib.contextmanager
def start(token):
    STARTED.append(token)
    yield "127.0.0.1:1"
    STARTED.append("stopped")
"""


@pytest.fixture(autouse=True)
def _fresh_plugin_list() -> Iterator[None]:
    """No test here leaves its installed plugins in the process's list for the next test."""
    yield
    _plugins.cache_clear()


def _install(root: Path, name: str, entry: str) -> None:
    """What `pip install` leaves for a package declaring one device source."""
    (root / "farm_source.py").write_text(PLUGIN)
    dist = root / "farm_source-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: farm-source\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{GROUP}]\n{name} = {entry}\n")


def test_tokens_name_a_source_by_what_precedes_the_first_colon() -> None:
    assert source_name("sim") == "sim" and source_name("SIM:pixel6") == "sim"
    assert is_source("sim") and is_source("Sim") and is_source("sim:pixel6")
    for token in ("pixel", "all", "127.0.0.1:5555", "FA6A1@lab:5037", "pool:pixel4", "simx"):
        assert not is_source(token), token


def test_a_plugin_source_is_found_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not is_source("farm:pixel4")
    _install(tmp_path, "farm", "farm_source:start")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    _plugins.cache_clear()  # installed "before this process": the list is read once a process
    assert is_source("farm:pixel4") and is_source("sim")
    with find_source("farm:pixel4")("farm:pixel4") as address:
        assert address == "127.0.0.1:1"
    module = importlib.import_module("farm_source")
    assert module.STARTED == ["farm:pixel4", "stopped"]


def test_a_source_that_cannot_load_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, "broken", "farm_source:nowhere")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    _plugins.cache_clear()  # installed "before this process": the list is read once a process
    with pytest.raises(ConfigError, match="cannot be loaded"):
        find_source("broken")
    with pytest.raises(ConfigError, match="no device source"):
        find_source("pixel")
