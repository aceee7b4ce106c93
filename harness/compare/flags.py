"""A regression built on flagged trials is inconclusive: the phone may have slowed, not the code.

Trials carry proof flags (`harness.vocab.FLAG_FIELDS`, read by
`harness.results.flags`: `throttled`, `hot`, `interfered`, `log_mismatch`).
`check` keeps its statistics as they are and only re-labels a `regression`
whose ok trials, on either side, include flagged ones, naming them, so that a
CI gate never fails on a hot or busy phone alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.compare.comparison import ComparisonRow
    from harness.compare.source import ConfigSamples
    from harness.vocab import Config


def downgrade(
    rows: Sequence[ComparisonRow],
    base: Mapping[Config, ConfigSamples],
    cur: Mapping[Config, ConfigSamples],
) -> list[ComparisonRow]:
    """`rows` with each regression on flagged trials made inconclusive, with the reason."""
    out = []
    for row in rows:
        sides = [
            f"{name} {', '.join(samples.flagged)}"
            for name, samples in (
                ("current", cur.get(row.config)),
                ("baseline", base.get(row.config)),
            )
            if samples is not None and samples.flagged
        ]
        if row.verdict == "regression" and sides:
            row = dataclasses.replace(
                row,
                verdict="inconclusive",
                reason=f"{row.reason}; but built on flagged trials ({'; '.join(sides)}): "
                "the phone may have slowed, not the code",
            )
        out.append(row)
    return out
