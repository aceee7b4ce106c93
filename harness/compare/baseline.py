"""`harness baseline save`: a run reduced to a small JSON file meant for a git repo.

Compact and diff-friendly: keys sorted, one line per configuration, so a
refreshed baseline shows in review as one changed line per configuration
plus any context change. Versioned by `schema_version`; read back by
`harness.compare.source.read_baseline`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import __version__
from harness.compare.source import (
    BASELINE_KIND,
    BASELINE_SCHEMA_VERSION,
    Source,
    load_source,
)
from harness.errors import ResultsError
from harness.outputs import write_atomic


def baseline_dict(source: Source) -> dict[str, Any]:
    """The baseline document for a loaded run (or baseline: re-saving normalises it)."""
    configs = [
        c.to_dict()
        for model in sorted(source.configs)
        for _, c in sorted(source.configs[model].items())
    ]
    if not any(c["latency_ms"] for c in configs):
        raise ResultsError("no ok trials to make a baseline from", path=source.path)
    return {
        "schema_version": BASELINE_SCHEMA_VERSION,
        "kind": BASELINE_KIND,
        "harness_version": __version__,
        "source": {
            "run_ids": list(source.run_ids),
            "created_at": source.created_at,
            "status": source.status,
        },
        "contexts": {m: source.contexts[m].to_dict() for m in sorted(source.contexts)},
        "configs": configs,
    }


def dumps_baseline(doc: dict[str, Any]) -> str:
    """Serialise with one configuration per line (diff-friendly, still plain JSON)."""
    head = {k: v for k, v in doc.items() if k != "configs"}
    text = json.dumps(head, indent=2, sort_keys=True)
    lines = [json.dumps(c, sort_keys=True, separators=(", ", ": ")) for c in doc["configs"]]
    body = ",\n".join(f"    {line}" for line in lines)
    configs = f'"configs": [\n{body}\n  ]' if lines else '"configs": []'
    # Insert configs as the last key of the top-level object.
    return text[: text.rstrip().rfind("}")].rstrip() + f",\n  {configs}\n}}\n"


def save_baseline(run_dir: str | Path, out: str | Path) -> tuple[Path, list[str]]:
    """Write the baseline of `run_dir` to `out` atomically; returns (path, warnings)."""
    source = load_source(run_dir)
    warnings = []
    if source.kind == "run" and source.status not in (None, "complete"):
        warnings.append(f"run {source.path} is {source.status}: the baseline has what was measured")
    for model, confs in sorted(source.configs.items()):
        for c in confs.values():
            if len(c.latency_ms) < 2:
                warnings.append(
                    f"{model} {c.config.variant} {c.config.quant}: "
                    f"only {len(c.latency_ms)} ok trial(s); "
                    "checks against it will be inconclusive"
                )
    text = dumps_baseline(baseline_dict(source))
    out_path = Path(out)
    # Atomic replace: a crash never leaves a half-written baseline in the user's repo.
    write_atomic(out_path, text.encode("utf-8"), option="--out")
    return out_path, warnings
