"""Sequential trials on the command line: `--budget` and `--target-ci` as people
write them, and the notes under the summary that say why trials stopped.

A budget of phone time is read as `90s`, `15m`, `1h30m` or a number of
seconds; a target as `2%` or `0.02`. Their ranges are RunSettings' (checked
with every other option before anything runs).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from harness.errors import BadFractionError, OptionError

if TYPE_CHECKING:
    import pandas as pd

_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str, option: str = "--budget") -> float:
    """`90s`, `15m`, `1h30m`, `2.5h` or `600` (seconds) -> seconds."""
    raw = text.strip().lower()
    try:
        return float(raw)
    except ValueError:
        pass
    parts = _PART.findall(raw)
    if (
        not raw
        or "".join(n + u for n, u in parts) != raw
        or len({u for _, u in parts}) < len(parts)
    ):
        raise OptionError(
            f"{option} {text!r} is not a duration",
            option=option,
            hint="write it as 90s, 15m, 1h30m or a number of seconds",
        )
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def parse_target(text: str, option: str = "--target-ci") -> float:
    """`2%` or `0.02` -> 0.02: the half-width, relative to the median, to reach."""
    # harness.compare loads pandas and scipy: not at the command line's start-up.
    from harness.compare.thresholds import parse_fraction

    try:
        return parse_fraction(text, what=option)
    except BadFractionError as exc:
        raise OptionError(str(exc), option=option) from None


def stop_notes(summary: pd.DataFrame) -> list[str]:
    """Under the table of a run with sequential trials: how many configurations stopped
    for which reason, and why each that is not `confident` stopped (its interval, or the
    A/B verdict)."""
    if "stop_reason" not in summary.columns:
        return []
    rows = summary.to_dict(orient="records")
    counts = Counter(str(r["stop_reason"]) for r in rows if isinstance(r["stop_reason"], str))
    said = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
    notes = [f"sequential trials: {said or 'no configuration stopped'}"]
    several = summary["device_serial"].nunique() > 1
    for r in rows:
        if isinstance(r["stop_reason"], str) and r["stop_reason"] != "confident":
            where = f"{r['device_serial']} " if several else ""
            name = f"{where}{r['variant']} {r['quant']} t{r['threads']} {r['cores']}"
            notes.append(f"  {name} ({r['n_trials']} trials): {r['stop_detail']}")
    return notes
