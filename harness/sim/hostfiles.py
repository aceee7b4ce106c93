"""The host files a simulated device shows: the runtime of its own programs, nothing else.

A phone has only its own files. The device's programs are host programs (mksh,
toybox, the few tools Debian's toybox lacks, and the Python interpreter that
runs the benchmark_model stand-in), so its namespace holds them and what they
load, and nothing more: no home folders, no checkout, no host /tmp, /root or
/etc. What they load is asked of the host once per process:

- the interpreter, run as the stand-in runs it (isolated, its site folders
  without .pth files, as the device's hold none), executes the tools' own
  import statements and reports its standard library, the packages those
  imports loaded from site folders with their distributions' metadata (the
  stand-in names its LiteRT version from it), its module files and the files
  it mapped (extension modules, shared libraries, locale data);
- `ldd` names the shared libraries of the programs, of the mapped files and of
  every shared object in those packages, as the dynamic loader finds them.

Each path is bound read-only where it is on the host. Host symlinks on the way
are recreated (`/lib64/ld-linux-x86-64.so.2`, a venv's `bin/python`), and the
folders made on the way are traverse-only (0111): the device can run
`/root/.pyenv/.../python` but cannot list `/root`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import PurePosixPath

from harness.errors import SimulatorError

PROBE_TIMEOUT_S = 120.0
LDD_TIMEOUT_S = 120.0
MAX_SYMLINKS = 40  # as the kernel's limit on a path's links
# The dynamic loader's cache: ldd's answers came through it, so the device's loader uses it too.
LOADER_FILES = ("/etc/ld.so.cache",)

# Run by the interpreter under test: argv[1:] are import statements. The device's
# site folders hold the needed packages only, so .pth files are not processed.
_PROBE = r"""
import importlib.metadata, json, os, site, sys, sysconfig
before = list(sys.path)
site.addpackage = lambda sitedir, name, known_paths: known_paths
site.main()
sites = [p for p in sys.path if p not in before]
for statement in sys.argv[1:]:
    exec(statement, {})
real_sites = [os.path.realpath(p) for p in sites]

def locations(module):
    spec = getattr(module, "__spec__", None)
    found = list(getattr(spec, "submodule_search_locations", None) or [])
    file = getattr(module, "__file__", None)
    return found or ([file] if file else [])

def in_site(path):
    path = os.path.realpath(path)
    return any(path == s or path.startswith(s + os.sep) for s in real_sites)

packages, files, tops = set(), set(), set()
for name, module in list(sys.modules.items()):
    if getattr(module, "__file__", None):
        files.add(module.__file__)
    if any(in_site(p) for p in locations(module)):
        packages.update(locations(sys.modules.get(name.partition(".")[0], module)))
        tops.add(name.partition(".")[0])
# The installed metadata of those packages' distributions (importlib.metadata reads it).
# Best effort: a distribution the machine cannot describe only loses its version there.
metadata = set()
try:
    owners = importlib.metadata.packages_distributions()
except Exception:
    owners = {}
for dist_name in sorted({d for top in tops for d in owners.get(top, [])}):
    try:
        recorded = importlib.metadata.distribution(dist_name).files or []
    except Exception:
        continue
    for f in recorded:
        if f.name == "METADATA" and f.parent.name.endswith((".dist-info", ".egg-info")):
            metadata.add(str(f.locate().parent))
mapped = set()
with open("/proc/self/maps") as maps:
    for line in maps:
        fields = line.split(None, 5)
        if len(fields) == 6 and fields[5].startswith("/"):
            mapped.add(fields[5].strip())
exe_dir = os.path.dirname(os.path.abspath(sys.executable))
configs = [os.path.join(d, "pyvenv.cfg") for d in (exe_dir, os.path.dirname(exe_dir))]
paths = sysconfig.get_paths()
print(json.dumps({
    "stdlib": sorted({paths["stdlib"], paths["platstdlib"]}),
    "sites": sites,
    "path": sys.path,
    "packages": sorted(packages),
    "metadata": sorted(metadata),
    "modules": sorted(files),
    "mapped": sorted(p for p in mapped if os.path.isfile(p)),
    "venv": [p for p in configs if os.path.isfile(p)],
}))
"""


@dataclass(frozen=True)
class Probe:
    """What the interpreter reported (paths as it names them)."""

    stdlib: list[str]  # its standard library folders
    sites: list[str]  # the site folders site.py added to sys.path
    path: list[str]  # the whole sys.path
    packages: list[str]  # top-level packages (folders) or modules (files) loaded from sites
    metadata: list[str]  # their distributions' .dist-info folders (versions, entry points)
    modules: list[str]  # every loaded module's file
    mapped: list[str]  # every file mapped into its memory
    venv: list[str]  # pyvenv.cfg, when it is a venv

    @classmethod
    def from_json(cls, text: str) -> Probe:
        raw = json.loads(text)
        fields = ("stdlib", "sites", "path", "packages", "metadata", "modules", "mapped", "venv")
        return cls(*([str(v) for v in raw[name]] for name in fields))


@dataclass(frozen=True)
class HostView:
    """Host paths a device namespace binds read-only, in bubblewrap's terms.

    Layers, in mount order: `stdlib` folders bound whole; `hidden` site folders
    inside them covered by an empty tmpfs; `packages` bound whole (inside a
    hidden folder or not); single `files`; recreated symlinks `links`.
    """

    stdlib: tuple[str, ...]
    hidden: tuple[str, ...]
    packages: tuple[str, ...]
    files: tuple[str, ...]
    links: tuple[tuple[str, str], ...]  # (location, target)
    listable: tuple[str, ...]  # folders the interpreter lists (sys.path): 0555 when made

    def covered(self, path: str) -> bool:
        """Whether `path` is already shown by a folder bound whole."""
        return _inside_any(path, self.packages) or (
            _inside_any(path, self.stdlib) and not _inside_any(path, self.hidden)
        )

    def mount_args(self) -> list[str]:
        """Binds, tmpfs covers and symlinks, parents before children."""
        ops: list[tuple[tuple[str, ...], list[str]]] = []
        ops += [(_parts(p), ["--ro-bind", p, p]) for p in self.stdlib]
        ops += [(_parts(p), ["--tmpfs", p]) for p in self.hidden]
        ops += [(_parts(p), ["--ro-bind", p, p]) for p in (*self.packages, *self.files)]
        ops += [(_parts(p), ["--symlink", target, p]) for p, target in self.links]
        return [arg for _key, args in sorted(ops, key=lambda op: op[0]) for arg in args]

    def seal_args(self) -> list[str]:
        """After every mount: made folders traverse-only, tmpfs covers read-only."""
        args: list[str] = []
        for folder in self.made_folders():
            args += ["--chmod", "0555" if folder in self.listable else "0111", folder]
        for path in self.hidden:
            args += ["--remount-ro", path]
        return args

    def made_folders(self) -> list[str]:
        """Folders that exist only because a path below them is shown."""
        made: set[str] = set(self.hidden)
        every = [*self.stdlib, *self.packages, *self.files, *(p for p, _t in self.links)]
        for path in every:
            for parent in PurePosixPath(path).parents:
                text = str(parent)
                if text != "/" and not self.covered(text):
                    made.add(text)
        return sorted(made, key=_parts)


def _parts(path: str) -> tuple[str, ...]:
    return PurePosixPath(path).parts


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _inside_any(path: str, folders: tuple[str, ...] | list[str]) -> bool:
    return any(_inside(path, folder) for folder in folders)


def resolve_chain(path: str) -> tuple[str, list[tuple[str, str]]]:
    """The real path of `path` and every symlink met on the way as (location, target).

    Each location's parent is a real folder, so recreating the links and
    binding the real path reproduces the host's resolution of `path`.
    """
    links: list[tuple[str, str]] = []
    absolute = path if path.startswith("/") else os.path.join(os.getcwd(), path)
    pending = list(PurePosixPath(absolute).parts[1:])  # not normalised: ".." after a link
    current = "/"
    hops = 0
    while pending:
        name = pending.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, name)
        if os.path.islink(candidate):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise SimulatorError(f"too many symlinks resolving {path}")
            target = os.readlink(candidate)
            links.append((candidate, target))
            parts = list(PurePosixPath(target).parts)
            if target.startswith("/"):
                current, parts = "/", parts[1:]
            pending = parts + pending
            continue
        current = candidate
    return current, links


def ldd(files: list[str]) -> set[str]:
    """Shared libraries of `files` (and theirs), by the paths the dynamic loader opens."""
    tool = shutil.which("ldd")
    if tool is None:
        raise SimulatorError("ldd is not installed", hint="apt-get install libc-bin")
    if not files:
        return set()
    try:
        out = subprocess.run(
            [tool, "--", *files],
            capture_output=True,
            text=True,
            timeout=LDD_TIMEOUT_S,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SimulatorError(f"ldd failed: {exc}") from exc
    libs: set[str] = set()
    for line in out.splitlines():
        if not line.startswith("\t"):
            continue  # a "FILE:" header
        text = line.strip()
        found = text.split("=>", 1)[1].strip() if "=>" in text else text
        path = found.split(" (", 1)[0].strip()
        if path.startswith("/"):
            libs.add(path)
    return libs


def is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def probe(python: str, imports: tuple[str, ...]) -> Probe:
    """What `python`, run as the stand-in runs it, loads for `imports` (see _PROBE)."""
    try:
        result = subprocess.run(
            [python, "-I", "-S", "-c", _PROBE, *imports],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env={},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SimulatorError(f"cannot run {python} for the device's tools: {exc}") from exc
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SimulatorError(
            f"{python} cannot import what the device's tools need: {last}",
            hint="install the harness's dependencies (numpy, ai-edge-litert) for this interpreter",
        )
    return Probe.from_json(result.stdout)


_cache: dict[tuple[tuple[str, ...], str, tuple[str, ...]], HostView] = {}
_lock = threading.Lock()


def host_view(programs: tuple[str, ...], python: str, imports: tuple[str, ...]) -> HostView:
    """The read-only host view for devices running `programs` and `python` (cached)."""
    key = (programs, python, imports)
    with _lock:
        if key not in _cache:
            _cache[key] = _build(programs, python, imports)
        return _cache[key]


def _build(programs: tuple[str, ...], python: str, imports: tuple[str, ...]) -> HostView:
    report = probe(python, imports)
    links: dict[str, str] = {}

    def real(path: str) -> str:
        resolved, met = resolve_chain(path)
        links.update(met)
        return resolved

    stdlib = _outermost([real(p) for p in report.stdlib if os.path.isdir(p)])
    sites = [real(p) for p in report.sites if os.path.isdir(p)]
    hidden = sorted(p for p in sites if _inside_any(p, stdlib))
    # Packages are bound whole (a lazy submodule must import too), so are their shared objects.
    folders = [*report.packages, *report.metadata]
    packages = _outermost([real(p) for p in folders if os.path.isdir(p)])
    shared_objects = [
        os.path.join(folder, name)
        for tree in packages
        for folder, _dirs, names in os.walk(tree)
        for name in names
        if ".so" in name
    ]
    elves = sorted(p for p in {*programs, python, *report.mapped, *shared_objects} if is_elf(p))
    wanted = [
        *programs,
        python,
        *report.mapped,
        *(p for p in report.packages if os.path.isfile(p)),
        *report.modules,  # follows a module's symlink out of the stdlib (Debian's sitecustomize)
        *report.venv,
        *ldd(elves),
        *(p for p in LOADER_FILES if os.path.isfile(p)),
    ]
    files = {r for r in (real(p) for p in wanted) if os.path.isfile(r)}
    listable = tuple(sorted({real(p) for p in report.path if os.path.isdir(p)}))
    trees = HostView(tuple(stdlib), tuple(hidden), tuple(packages), (), (), listable)
    return HostView(
        stdlib=trees.stdlib,
        hidden=trees.hidden,
        packages=trees.packages,
        files=tuple(sorted(f for f in files if not trees.covered(f))),
        links=tuple(sorted((p, t) for p, t in links.items() if not trees.covered(p))),
        listable=listable,
    )


def _outermost(folders: list[str]) -> list[str]:
    """Folders not inside another of them."""
    return sorted({f for f in folders if not any(o != f and _inside(f, o) for o in folders)})
