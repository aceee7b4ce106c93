"""Schema versions of stored results: read every earlier version, refuse the future.

Like asv's `update_to_2`, each step upgrades a stored dict from one version to
the next, in memory; a reader applies the steps from the file's version up to
`SCHEMA_VERSION` and never rewrites the file. A version from a newer harness
(or no usable version at all) is refused with SchemaVersionError. Bump
`SCHEMA_VERSION` only when the stored shape changes, and add the step that
upgrades the version before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import SchemaVersionError
from harness.results.schema import SCHEMA_VERSION

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]

# version n -> the step that turns a version-n dict into version n+1. Empty while
# the first stored shape is the only one.
META_STEPS: dict[int, Upgrade] = {}
TRIAL_STEPS: dict[int, Upgrade] = {}


def check_schema_version(value: Any, *, path: Path, current: int = SCHEMA_VERSION) -> int:
    """The stored version when this harness can read it; SchemaVersionError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= current:
        return value
    newer = isinstance(value, int) and not isinstance(value, bool) and value > current
    raise SchemaVersionError(
        f"schema_version {value!r} is not supported (this harness reads 1 to {current})",
        path=str(path),
        hint="upgrade harness to read it" if newer else "this is not a file harness wrote",
    )


def upgrade(
    data: Mapping[str, Any],
    *,
    path: Path,
    steps: Mapping[int, Upgrade],
    current: int = SCHEMA_VERSION,
) -> dict[str, Any]:
    """A copy of `data` upgraded to `current`, one step per version."""
    version = check_schema_version(data.get("schema_version"), path=path, current=current)
    out = dict(data)
    while version < current:
        out = steps[version](out)
        version += 1
        out["schema_version"] = version
    return out


def upgrade_meta(meta: Mapping[str, Any], *, path: Path) -> dict[str, Any]:
    """meta.json of any version this harness reads, as the current version."""
    return upgrade(meta, path=path, steps=META_STEPS)


def upgrade_trial(line: Mapping[str, Any], *, path: Path) -> dict[str, Any]:
    """One trials.jsonl line of any version this harness reads, as the current version."""
    return upgrade(line, path=path, steps=TRIAL_STEPS)
