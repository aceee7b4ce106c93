"""Which host files a simulated device shows, and how bubblewrap is told (harness.sim.hostfiles)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from harness.errors import SimulatorError
from harness.sim import hostfiles, tools
from harness.sim.hostfiles import HostView, resolve_chain


def test_a_chain_of_links_resolves_to_the_real_file_and_names_each_link(tmp_path: Path) -> None:
    real = tmp_path / "usr" / "lib" / "libx.so.1.2"
    real.parent.mkdir(parents=True)
    real.write_text("x")
    (tmp_path / "lib").symlink_to("usr/lib")  # relative, like /lib -> usr/lib
    (tmp_path / "usr" / "lib" / "libx.so.1").symlink_to("libx.so.1.2")
    (tmp_path / "lib64").symlink_to(tmp_path / "lib")  # absolute
    resolved, links = resolve_chain(str(tmp_path / "lib64" / "libx.so.1"))
    assert resolved == str(real)
    assert links == [
        (str(tmp_path / "lib64"), str(tmp_path / "lib")),
        (str(tmp_path / "lib"), "usr/lib"),
        (str(tmp_path / "usr" / "lib" / "libx.so.1"), "libx.so.1.2"),
    ]
    # Every link's folder is a real folder, so recreating the links reproduces the path.
    assert all(os.path.realpath(os.path.dirname(p)) == os.path.dirname(p) for p, _t in links)


def test_a_link_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(SimulatorError, match="too many symlinks"):
        resolve_chain(str(tmp_path / "a"))


def test_dotdot_after_a_link_follows_the_link_target(tmp_path: Path) -> None:
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "f").write_text("f")
    (tmp_path / "link").symlink_to(tmp_path / "real" / "sub")
    assert resolve_chain(str(tmp_path / "link" / ".." / "f"))[0] == str(tmp_path / "real" / "f")


PY = "/opt/py/lib/python3.11"
VIEW = HostView(
    stdlib=(PY,),
    hidden=(f"{PY}/site-packages",),
    packages=(f"{PY}/site-packages/numpy",),
    files=(f"{PY}/site-packages/numpy.libs/libblas.so", "/opt/py/bin/python3.11", "/usr/bin/mksh"),
    links=(("/opt/py/bin/python", "python3.11"), ("/lib", "usr/lib")),
    listable=(PY, f"{PY}/site-packages"),
)


def test_mounts_come_parents_first() -> None:
    args = VIEW.mount_args()
    order = [args[i + 1] if args[i] == "--tmpfs" else args[i + 2] for i in _ops(args)]
    assert order == [
        "/lib",
        "/opt/py/bin/python",
        "/opt/py/bin/python3.11",
        PY,
        f"{PY}/site-packages",
        f"{PY}/site-packages/numpy",
        f"{PY}/site-packages/numpy.libs/libblas.so",
        "/usr/bin/mksh",
    ]
    assert args[args.index("--tmpfs") + 1] == f"{PY}/site-packages"
    assert args[3:6] == ["--symlink", "python3.11", "/opt/py/bin/python"]


def _ops(args: list[str]) -> list[int]:
    sizes = {"--ro-bind": 3, "--tmpfs": 2, "--symlink": 3}
    i, out = 0, []
    while i < len(args):
        out.append(i)
        i += sizes[args[i]]
    return out


def test_made_folders_are_traverse_only_except_the_interpreters_site_folder() -> None:
    assert VIEW.made_folders() == [
        "/opt",
        "/opt/py",
        "/opt/py/bin",
        "/opt/py/lib",
        f"{PY}/site-packages",
        f"{PY}/site-packages/numpy.libs",
        "/usr",
        "/usr/bin",
    ]
    seal = VIEW.seal_args()
    modes = {seal[i + 2]: seal[i + 1] for i in range(0, len(seal), 3) if seal[i] == "--chmod"}
    assert modes[f"{PY}/site-packages"] == "0555"  # the import system lists it
    assert {m for f, m in modes.items() if f != f"{PY}/site-packages"} == {"0111"}
    assert seal[-2:] == ["--remount-ro", f"{PY}/site-packages"]


def test_what_is_covered_by_a_folder_bound_whole() -> None:
    assert VIEW.covered(f"{PY}/os.py")
    assert VIEW.covered(f"{PY}/site-packages/numpy/core.py")
    assert not VIEW.covered(f"{PY}/site-packages/pandas")  # hidden under the empty tmpfs
    assert not VIEW.covered("/usr/bin/mksh")


def test_the_tools_import_statements_are_all_collected() -> None:
    lines = tools.import_lines()
    assert "import numpy as np" in lines
    assert "from ai_edge_litert import interpreter as litert" in lines  # inside main()
    assert "import json" in lines  # taskset's and benchmark_model's stdlib
    assert not any("__future__" in line for line in lines)


def test_a_missing_package_is_one_clear_error() -> None:
    with pytest.raises(SimulatorError, match="cannot import what the device's tools need"):
        hostfiles.probe(sys.executable, ("import no_such_module_for_the_stand_in",))
