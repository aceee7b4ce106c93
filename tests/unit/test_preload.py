"""The run's end modules are imported in a thread while the phones are prepared."""

from __future__ import annotations

import sys
import threading

import pytest

from harness.stages.preload import Preload


def test_modules_are_imported_in_another_thread_and_wait_returns_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "harness_preload_probe"
    seen: list[str] = []

    class Finder:
        """Records which thread asks for the probe module, and refuses it (a failed import)."""

        def find_spec(self, fullname: str, path: object, target: object = None) -> None:
            if fullname == name:
                seen.append(threading.current_thread().name)
                raise ImportError(f"no {name}")

    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    preload = Preload(["json", name])
    preload.wait()  # a failed import is not raised here: the run's end meets it
    assert seen == ["preload"]
    assert "json" in sys.modules
