"""Which stored trials carry proof flags, and how to name them for people.

The flags (`harness.vocab.FLAG_FIELDS`) are written by the trial's proof
(harness/bench/proof.py) and read here, below every reader of stored results:
the summary, `check` (compare/flags.py downgrades regressions built on them)
and the report, so none of those imports `harness.bench`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.vocab import FLAG_FIELDS


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


def flagged_trials(trials: Iterable[Mapping[str, object]]) -> list[str]:
    """`#i flags` for each ok trial with proof flags, in trial order (summary, report)."""
    out = []
    for t in sorted(trials, key=lambda t: int(str(t.get("trial_index") or 0))):
        marks = trial_flags(t)
        if marks and t.get("status") == "ok":
            out.append(describe(int(str(t.get("trial_index") or 0)), marks))
    return out
