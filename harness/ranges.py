"""The documented range of every numeric option, written once and checked before any work.

A number a person types can be a typo (`--runs 5000000`), `inf`, `nan` or
absurd (`--cooldown-temp 1e308`): each would start work that never ends or
store a value no reader trusts. Every numeric option of every command has a
`Range`: its `--help` shows `str(range)`, and the command checks the value
with `Range.check` before it touches a device, a model or a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.errors import OptionError


def _number(value: float) -> str:
    """`40`, `0.5`, `1e+308`; an integer too long to spell is named by its size."""
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 64 else f"a {value.bit_length()}-bit number"
    return f"{value:g}"


@dataclass(frozen=True)
class Range:
    """Numbers from `lo` to `hi` (both included, unless `above`: then `lo` is not)."""

    lo: float
    hi: float
    unit: str = ""  # " s", " °C": shown after the bound
    above: bool = False  # `lo` itself is excluded (a timeout of 0 s is no timeout)
    integer: bool = False

    def __str__(self) -> str:
        hi = f"{_number(self.hi)}{self.unit}"
        if self.above:
            return f"above {_number(self.lo)}, up to {hi}"
        return f"{_number(self.lo)} to {hi}"

    def problem(self, value: object) -> str | None:
        """Why `value` is not in the range (`must be ...`), or None when it is."""
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (self.integer and not isinstance(value, int)):
            kind = "a whole number" if self.integer else "a number"
            return f"must be {kind} {'' if self.above else 'from '}{self}, got {value!r}"
        assert isinstance(value, (int, float))
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be {'' if self.above else 'from '}{self}, got {value!r}"
        if value < self.lo or (self.above and value == self.lo):
            bound = f"above {_number(self.lo)}" if self.above else f">= {_number(self.lo)}"
            return f"must be {bound}{self.unit}, got {_number(value)}"
        if value > self.hi:
            return f"must be <= {_number(self.hi)}{self.unit}, got {_number(value)}"
        return None

    def check(self, option: str, value: object) -> None:
        """OptionError (exit 2) naming `option` when `value` is outside the range."""
        why = self.problem(value)
        if why:
            raise OptionError(f"{option} {why}", option=option)
