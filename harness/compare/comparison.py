"""What `harness check` produces: one verdict row per configuration, and the whole comparison.

The records of docs/design.md "compare"; harness.compare.check computes them,
and the console table, JUnit, markdown and JSON outputs render them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from harness.compare.context import DeviceContext, not_a_phone
from harness.compare.stats import METHOD, VERDICTS, Verdict
from harness.errors import EXIT_FAILURES, EXIT_INPUT, EXIT_OK
from harness.vocab import DeviceConfig

COMPARISON_SCHEMA_VERSION = 1


# The keys of a row in `check --json`, in the order it has always printed them.
ROW_KEYS = (
    "variant",
    "quant",
    "threads",
    "cores",
    "xnnpack",
    "device_model",
    "verdict",
    "baseline_median_ms",
    "current_median_ms",
    "ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "n_baseline",
    "n_current",
    "threshold",
    "reason",
    "n_failed",
    "shift",
    "own_ratio",
    "own_ci_low",
    "own_ci_high",
    "noisy",
    "accelerator",
    "quantity",
    "refused",
    "config",
)


@dataclass(frozen=True)
class ComparisonRow(DeviceConfig):
    """One configuration's verdict on one device model (fields: docs/design.md "compare")."""

    verdict: Verdict
    baseline_median_ms: float | None
    current_median_ms: float | None
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_baseline: int
    n_current: int
    threshold: float
    reason: str
    n_failed: int = 0  # current trials of this configuration that failed
    # The run's shared shift taken out (docs/ci.md "Between-run noise"): the other
    # configurations' median ratio, and this one's own change against it with its bounds.
    shift: float | None = None
    own_ratio: float | None = None
    own_ci_low: float | None = None
    own_ci_high: float | None = None
    # Either side's trials disagree beyond NOISY_CV (docs/results.md): the verdict rests
    # on figures not to be trusted, and its reason says so.
    noisy: bool = False
    # What the row judges: `latency` (ms), or `energy` (`harness run --energy`): then its
    # medians are mJ per inference and `threshold` is the energy threshold.
    quantity: str = "latency"
    # Not judged: the sides' energy figures measure different things (compare/context.py
    # ENERGY_MUST_MATCH); its verdict is inconclusive and the check exits 2 for it.
    refused: bool = False

    @property
    def unit(self) -> str:
        """The unit of the row's medians: ms, or mJ per inference for an energy row."""
        return "mJ" if self.quantity == "energy" else "ms"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the configuration's fields flat, and its key as `config`."""
        own = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        flat = {**own, **self.fields(), "config": self.key}
        return {k: flat[k] for k in ROW_KEYS}


def as_energy(row: ComparisonRow) -> ComparisonRow:
    """A verdict row judged on energy per inference: marked so, its reason said of energy
    (more or less of it, not slower or faster)."""
    reason = row.reason
    for said, meant in (("slower", "more energy"), ("faster", "less energy")):
        reason = re.sub(rf"\b{said}\b", meant, reason)
    return dataclasses.replace(row, quantity="energy", reason=reason)


@dataclass(frozen=True)
class Side:
    """Where one side came from and the device contexts it carried."""

    source: str
    kind: str
    run_ids: tuple[str, ...]
    contexts: dict[str, DeviceContext]  # device model -> what it measured with

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "source": self.source,
            "kind": self.kind,
            "run_ids": list(self.run_ids),
            "contexts": {m: c.to_dict() for m, c in self.contexts.items()},
        }


@dataclass
class Comparison:
    """All verdicts of one check, plus what a reader must be warned about."""

    rows: list[ComparisonRow]
    warnings: list[str]
    context_differences: list[str]
    baseline: Side
    current: Side
    threshold: float
    confidence: float
    method: str = METHOD
    thresholds: dict[str, float] = field(default_factory=dict)
    metric: str = "mean"
    allow_missing: bool = False
    energy_threshold: float = 0.05  # smallest energy increase that counts (energy rows)

    def fails(self, row: ComparisonRow) -> bool:
        """Whether a row fails the gate: regression, failed, or missing unless allowed."""
        return row.verdict in ("regression", "failed") or (
            row.verdict == "missing" and not self.allow_missing
        )

    @property
    def exit_code(self) -> int:
        """2 when energy was refused for a context difference (as a refused comparison is),
        else 1 when any configuration regressed, failed or is missing (unless allowed), else 0."""
        if any(r.refused for r in self.rows):
            return EXIT_INPUT
        return EXIT_FAILURES if any(self.fails(r) for r in self.rows) else EXIT_OK

    @property
    def stand_in_words(self) -> list[str]:
        """What either side really was when not a phone ("simulated device", ...), or []."""
        both = not_a_phone(self.baseline.contexts) + not_a_phone(self.current.contexts)
        return list(dict.fromkeys(both))

    @property
    def stand_in(self) -> str:
        """ "" for phones on both sides, else what the run(s) really were, for every header."""
        b, c = not_a_phone(self.baseline.contexts), not_a_phone(self.current.contexts)
        if not (b or c):
            return ""
        if b == c:
            return f"{', '.join(b)} (baseline and current): not a phone's latencies"
        sides = [f"{name} {', '.join(w)}" for name, w in (("baseline", b), ("current", c)) if w]
        return f"{'; '.join(sides)}: not a phone's latencies"

    def counts(self) -> dict[str, int]:
        """How many rows got each verdict (every verdict present, zeros included)."""
        return {v: sum(1 for r in self.rows if r.verdict == v) for v in VERDICTS}

    def inconclusive(self) -> list[str]:
        """The configuration keys found `inconclusive`, once each: what
        `harness run --resume RUN_DIR --more CONFIGS --until-confident` measures again."""
        return list(dict.fromkeys(r.key for r in self.rows if r.verdict == "inconclusive"))

    def to_dict(self) -> dict[str, Any]:
        """What `harness check --json` prints."""
        return {
            "schema_version": COMPARISON_SCHEMA_VERSION,
            "method": self.method,
            "metric": self.metric,
            "threshold": self.threshold,
            "thresholds": dict(self.thresholds),
            "confidence": self.confidence,
            "allow_missing": self.allow_missing,
            "energy_threshold": self.energy_threshold,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "warnings": list(self.warnings),
            "context_differences": list(self.context_differences),
            "baseline": self.baseline.to_dict(),
            "current": self.current.to_dict(),
            "rows": [r.to_dict() for r in self.rows],
            "inconclusive": self.inconclusive(),
        }
