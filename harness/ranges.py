"""The documented range of every numeric option, written once and checked before any work.

A number a person types can be a typo (`--runs 5000000`), `inf`, `nan` or
absurd (`--cooldown-temp 1e308`): each would start work that never ends or
store a value no reader trusts. Every numeric option of every command has a
`Range` in the tables below: its `--help` shows `str(range)`, and the command
checks the value with `Range.check` before it touches a device, a model or a
file. (Thresholds and confidences are fractions, checked by
`harness.compare.thresholds.parse_fraction`.)
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


DAY_S = 86400.0

# `harness run`, by RunSettings field (harness.stages.settings checks them, for the CLI,
# `run()` and a resumed run's meta.json alike). None, where a field allows it, means
# "off" or "not given": --cooldown-temp 0 is None.
RUN: dict[str, Range] = {
    "trials": Range(1, 1000, integer=True),  # 1000 is already hours per configuration
    "runs": Range(1, 10000, integer=True),
    "warmup": Range(0, 1000, integer=True),
    "threads": Range(1, 64, integer=True),  # each of the list
    "cooldown_temp_c": Range(0, 100, " °C", above=True),
    "cooldown_timeout_s": Range(0, 3600, " s", above=True),
    "trial_timeout_s": Range(0, DAY_S, " s", above=True),
    "reconnect_timeout_s": Range(0, DAY_S, " s", above=True),
    "wait_for_device_s": Range(0, DAY_S, " s"),
    "seed": Range(0, 2**63 - 1, integer=True),  # what a parquet Int64 column holds
    "target_ci": Range(0, 0.5, above=True),  # a fraction: ±50% pins nothing down
    "budget_s": Range(0, 7 * DAY_S, " s", above=True),
    "max_trials": Range(2, 1000, integer=True),  # as --trials; 2: the fewest with a spread
    "equivalence": Range(0, 0.5, above=True),  # a fraction, as target_ci
}

# `harness convert`: more workers than this only queue up (each holds a TensorFlow); a
# classifier of more outputs than ImageNet-21k's 21,843 is a typo that builds gigabytes.
CONVERT: dict[str, Range] = {
    "--jobs": Range(1, 64, integer=True),
    "--classes": Range(1, 30000, integer=True),
}

# `harness parse`: an exit status (0-255), or -N for a process killed by signal N.
PARSE: dict[str, Range] = {"--exit-code": Range(-64, 255, integer=True)}

# `harness trend`: the cost of one more segment, in noise^2 x ln(n).
TREND: dict[str, Range] = {"--penalty": Range(0, 1000, above=True)}

# `harness sim serve` (its ZONE=CELSIUS, CPU=KHZ and accept-after:SECONDS values too).
SIM_SERVE: dict[str, Range] = {
    "--port": Range(0, 65535, integer=True),
    "--slowdown": Range(1, 1000),
    "--synthetic": Range(0, 2**32 - 1, integer=True),
    "--fail-pushes-after": Range(0, 10**12, " bytes", integer=True),
    "--drop-after-bytes": Range(0, 10**12, " bytes", integer=True),
    "--drop-after-commands": Range(0, 10**9, integer=True),
    "--thermal": Range(-50, 150, " °C"),
    "--cap": Range(1, 10**7, " kHz", integer=True),
    "--auth": Range(0, DAY_S, " s"),
}
