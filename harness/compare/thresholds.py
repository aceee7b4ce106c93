"""Thresholds and confidence levels as people write them: `5%`, `0.05`, a per-variant file.

The thresholds file is JSON or TOML mapping a variant id or fnmatch pattern
to a threshold, e.g. `{"mobilenet_v2_0.35_*": "8%", "mobilenet_v2_1.4_224": 0.03}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import BadFractionError, ResultsError
from harness.inputs import SETTINGS_BYTES, loads_json, loads_toml, read_text


def parse_fraction(text: str | float, *, what: str = "threshold") -> float:
    """`5%` -> 0.05, `0.05` -> 0.05; a fraction strictly between 0 and 1."""
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise BadFractionError(
            f"{what} {raw!r} is not a percentage like 5% or a fraction like 0.05"
        ) from None
    if not 0.0 < value < 1.0:
        raise BadFractionError(f"{what} {raw!r} must be between 0% and 100% (exclusive)")
    return value


def load_thresholds(path: str | Path) -> dict[str, float]:
    """Read a per-variant thresholds file (JSON, or TOML by the .toml suffix)."""
    p = Path(path)
    try:
        text = read_text(p, limit=SETTINGS_BYTES, what="a thresholds file")
    except OSError as exc:
        raise ResultsError(f"cannot read thresholds file ({exc.strerror})", path=str(p)) from None
    data: Any
    try:
        data = loads_toml(text) if p.suffix == ".toml" else loads_json(text)
    except ValueError as exc:
        raise ResultsError(f"thresholds file is malformed ({exc})", path=str(p)) from None
    if isinstance(data, dict) and isinstance(data.get("thresholds"), dict):
        data = data["thresholds"]  # allow a [thresholds] table
    if not isinstance(data, dict) or not data:
        raise ResultsError(
            "thresholds file must map variant ids or patterns to thresholds", path=str(p)
        )
    out = {}
    for key, value in data.items():
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ResultsError(f"threshold for {key!r} must be like 5% or 0.05", path=str(p))
        out[str(key)] = parse_fraction(value, what=f"threshold for {key!r}")
    return out
