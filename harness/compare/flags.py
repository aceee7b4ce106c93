"""A regression built on flagged trials is inconclusive: the phone may have slowed, not the code.

Trials carry proof flags (harness/bench/proof.py: `throttled`, `hot`,
`interfered`, `log_mismatch`). `check` keeps its statistics as they are and
only re-labels a `regression` whose ok trials, on either side, include flagged
ones, naming them, so that a CI gate never fails on a hot or busy phone alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from harness.bench.proof import FLAG_FIELDS

if TYPE_CHECKING:
    from harness.compare.comparison import ComparisonRow
    from harness.compare.source import ConfigSamples
    from harness.vocab import ConfigId


def trial_flags(row: Mapping[str, object]) -> list[str]:
    """The flags one trials-table row carries (NaN / None / NA / False are unflagged)."""
    return [name for name in FLAG_FIELDS if _set(row.get(name))]


def _set(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value)
    try:
        return bool(value == True)  # noqa: E712 (numpy and pandas booleans are not `True`)
    except TypeError:  # pd.NA
        return False


def describe(trial_index: int, flags: Iterable[str]) -> str:
    """`#2 hot+throttled`: which trial and why, as `check` and the report show it."""
    return f"#{trial_index} {'+'.join(flags)}"


def downgrade(
    rows: Sequence[ComparisonRow],
    base: Mapping[ConfigId, ConfigSamples],
    cur: Mapping[ConfigId, ConfigSamples],
) -> list[ComparisonRow]:
    """`rows` with each regression on flagged trials made inconclusive, with the reason."""
    out = []
    for row in rows:
        cid = (row.variant, row.quant, row.threads, row.cores, row.xnnpack)
        sides = [
            f"{name} {', '.join(samples.flagged)}"
            for name, samples in (("current", cur.get(cid)), ("baseline", base.get(cid)))
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


def flagged_trials(trials: Iterable[Mapping[str, object]]) -> list[str]:
    """`#i flags` for each ok trial with proof flags, in trial order (summary, report)."""
    out = []
    for t in sorted(trials, key=lambda t: int(str(t.get("trial_index") or 0))):
        marks = trial_flags(t)
        if marks and t.get("status") == "ok":
            out.append(describe(int(str(t.get("trial_index") or 0)), marks))
    return out
