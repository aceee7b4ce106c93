"""Write constraints.txt: the exact versions of this environment's harness[test] install.

A lab that wants the set CI last passed with installs with it:

    python -m pip install -c constraints.txt -e '.[test]'

Run this after upgrading the environment and seeing the tests pass in it
(`python -m pip install -U -e '.[test]' && python -m pytest`). It walks the
installed metadata from `harness` through every requirement whose marker holds
here (the `test` extra included), so the file holds the whole closure, not
only the direct dependencies. tests/unit/test_dependencies.py checks that the
file pins every declared dependency inside its declared range.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# The versions harness[test] was last tested with on Linux x86_64, Python 3.11
# (written by scripts/update-constraints.py; checked by tests/unit/test_dependencies.py).
# A lab pins this known-good set with:
#   python -m pip install -c constraints.txt -e '.[test]'
"""


def closure(root: str, extras: tuple[str, ...]) -> dict[str, str]:
    """Canonical name -> installed version for `root[extras]` and all it needs here."""
    pins: dict[str, str] = {}
    todo: list[tuple[str, tuple[str, ...]]] = [(root, extras)]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        dist = metadata.distribution(name)
        pins[canonicalize_name(name)] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in wanted] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in envs):
                continue
            if canonicalize_name(req.name) == canonicalize_name(root):
                todo.append((root, tuple(sorted(req.extras))))
                continue
            todo.append((req.name, tuple(sorted(req.extras))))
    pins.pop(canonicalize_name(root), None)
    return pins


def main() -> int:
    pins = closure("harness", ("test",))
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    (ROOT / "constraints.txt").write_text(HEADER + "\n".join(lines) + "\n")
    print(f"constraints.txt: {len(lines)} packages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
