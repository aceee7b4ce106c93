"""RunSettings: everything `harness run` was asked to do, with its defaults in one place.

The CLI's option defaults, the "ignored on resume" warnings and docs/run.md
all read these defaults (tests/unit/test_docs_options.py holds the docs to
them), so a default changes here and nowhere else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import catalogue
from harness.bench.arms import ArmSpec, check_arms
from harness.bench.plan import configurations, xnnpack_settings
from harness.errors import PlanError, ResultsError, UnknownQuantError
from harness.vocab import Config

# Settings a resumed run takes from meta.json (the rest may change: devices' adb
# address, timeouts); these define what the trials measure.
MEASURED = (
    "variants", "quants", "threads", "cores", "trials", "runs", "warmup", "xnnpack",
    "cooldown_temp_c", "cooldown_timeout_s", "op_profile", "trial_timeout_s", "arms",
)  # fmt: skip


@dataclass
class RunSettings:
    """Everything `harness run` was asked to do (defaults as documented in docs/run.md)."""

    devices: list[str]
    variants: list[str] = field(default_factory=lambda: [catalogue.DEFAULT_SELECTION])
    quants: list[str] = field(default_factory=lambda: ["fp32"])
    threads: list[int] = field(default_factory=lambda: [1])
    cores: list[str] = field(default_factory=lambda: ["big"])
    trials: int = 5
    runs: int = 50
    warmup: int = 5
    xnnpack: str = "default"
    cooldown_temp_c: float | None = 40.0
    cooldown_timeout_s: float = 120.0
    op_profile: bool = False
    out: Path = Path("results")
    resume: Path | None = None
    benchmark_binary: Path | None = None
    adb_server: str | list[str] | None = None  # a lab: several servers
    wait_for_device_s: float | None = None  # how long to wait for a leased phone
    on_run_id: Callable[[str], None] | None = None  # told the run id (the leases record it)
    reconnect_timeout_s: float = 60.0
    trial_timeout_s: float = 600.0
    seed: int | None = None
    fixed_performance: bool = False
    report: bool = True
    # What this run is of (a release, commit, build); None: `git describe` of the
    # current folder when it is a checkout (see stages.label), else no label.
    label: str | None = None
    arms: list[ArmSpec] = field(default_factory=list)  # A/B run: harness.bench.arms

    def validate(self) -> list[Config]:
        """Check every option before any device is touched; the configurations to measure.

        Raises PlanError, UnknownVariantError, UnknownQuantError or OutputPathError
        (exit code 2), or StorageError (exit 3) for an --out the host will not let us write.
        """
        from harness.convert.tflite import QUANTS

        _refuse_out_of_bounds(self)
        for q in self.quants:
            if q not in QUANTS:
                raise UnknownQuantError(q, QUANTS)
        if self.runs < 1:
            raise PlanError(f"--runs must be >= 1, got {self.runs}")
        if self.warmup < 0:
            raise PlanError(f"--warmup must be >= 0, got {self.warmup}")
        if self.trials < 1:
            raise PlanError(f"--trials must be >= 1, got {self.trials}")
        for name in ("reconnect_timeout_s", "trial_timeout_s", "cooldown_timeout_s"):
            if not getattr(self, name) > 0:
                raise PlanError(f"{option_name(name)} must be > 0")
        ids = [v.id for v in catalogue.select(self.variants)]
        check_arms(self.arms, ids, self.quants)
        return configurations(
            ids, self.quants, xnnpack_settings(self.xnnpack), self.threads, self.cores
        )

    def measured(self) -> dict[str, Any]:
        """The settings stored in meta.json (what the trials measure)."""
        return {k: getattr(self, k) for k in MEASURED}


# The most trials per configuration `harness run` accepts (docs/run.md). 1000 is
# already hours per configuration on a phone; a typo like 10^9 used to build a
# plan that ate memory for a minute before printing anything.
MAX_TRIALS = 1000


def _refuse_out_of_bounds(settings: RunSettings) -> None:
    """PlanError (exit 2) for option values that select nothing or make no sense."""
    from harness.outputs import output_folder

    for option, values in (
        ("--variants", settings.variants),
        ("--quant", settings.quants),
        ("--threads", settings.threads),
        ("--cores", settings.cores),
    ):
        if not values:
            raise PlanError(f"{option} selects nothing", hint="see `harness run --help`")
    if settings.trials > MAX_TRIALS:
        raise PlanError(f"--trials must be <= {MAX_TRIALS}, got {settings.trials}")
    if settings.cooldown_temp_c is not None and not settings.cooldown_temp_c > 0:
        raise PlanError(
            f"--cooldown-temp must be above 0 °C, got {settings.cooldown_temp_c:g}",
            hint="0 turns the wait off",
        )
    output_folder(settings.out, "--out")


def settings_from_meta(meta: dict[str, Any], given: RunSettings) -> RunSettings:
    """`given` with the measured settings and seed of a run being resumed (its meta.json)."""
    stored = meta.get("settings") or {}
    missing = [
        k for k in ("variants", "quants", "threads", "cores", "trials", "runs") if k not in stored
    ]
    if missing:
        raise ResultsError(f"meta.json settings lack {', '.join(missing)}", path=str(given.resume))
    merged = dataclasses.replace(given, **{k: stored[k] for k in MEASURED if k in stored})
    merged.seed = int(meta["seed"])
    if not given.devices:
        merged.devices = list(stored.get("devices") or [])
    if not merged.devices:
        raise PlanError("--resume needs --device (the run's meta.json names none)")
    return merged


DEFAULTS = RunSettings(devices=[])
"""The defaults of every option: the CLI's typer defaults are read from here."""


def option_name(field_name: str) -> str:
    """The `harness run` option that sets a field: `trial_timeout_s` -> `--trial-timeout`."""
    if field_name == "quants":
        return "--quant"
    if field_name == "arms":
        return "--benchmark-binary/--models LABEL=..."
    for unit in ("_s", "_c"):
        if field_name.endswith(unit):
            field_name = field_name[: -len(unit)]
    return "--" + field_name.replace("_", "-")


def ignored_on_resume(settings: RunSettings) -> list[str]:
    """The options given away from their default that `--resume` ignores (its run's win)."""
    return [
        option_name(name)
        for name in (*MEASURED, "seed", "label")
        if getattr(settings, name) != getattr(DEFAULTS, name)
    ]
