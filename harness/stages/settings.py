"""RunSettings: everything `harness run` was asked to do, with its defaults in one place.

The CLI's option defaults, the "ignored on resume" warnings and docs/run.md
all read these defaults (tests/unit/test_docs_options.py holds the docs to
them), so a default changes here and nowhere else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import catalogue, ranges
from harness.bench import own_models
from harness.bench.arms import check_arms
from harness.bench.own_models import OwnModel
from harness.bench.plan import configurations, xnnpack_settings
from harness.convert.core import FILE_QUANT
from harness.convert.tflite import QUANTS
from harness.errors import PlanError, ResultsError, UnknownQuantError
from harness.logs.accelerator import parse_accelerator
from harness.outputs import output_folder
from harness.results.files import check_run_layout
from harness.results.meta import ArmSpec, MeasuredSettings, OwnModelSpec, RunMeta
from harness.results.read import read_meta
from harness.stages.energy import check_energy_options
from harness.vocab import SEQUENTIAL_MAX_TRIALS, Config

# Settings a resumed run takes from meta.json (the rest may change: devices' adb
# address, timeouts); these define what the trials measure.
MEASURED = (
    "variants", "quants", "threads", "cores", "trials", "runs", "warmup", "xnnpack",
    "cooldown_temp_c", "cooldown_timeout_s", "op_profile", "trial_timeout_s", "arms",
    "until_confident", "target_ci", "budget_s", "max_trials", "until_decided", "equivalence",
    "accelerators", "allow_fallback", "own_models",
    "energy", "energy_on_usb", "energy_rails",
)  # fmt: skip
# Sequential trials' settings: a resumed run's own, except in a `--more` pass, which
# brings its own (and stores them for a resume of that pass).
SEQUENTIAL = (
    "until_confident", "target_ci", "budget_s", "max_trials", "until_decided", "equivalence",
)  # fmt: skip
# What a measured setting a run's meta.json lacks meant when that run was made (it
# predates the setting): every run before compute units were an axis ran on the CPU.
ABSENT_MEANS: dict[str, object] = {
    "accelerators": ["cpu"], "allow_fallback": False, "own_models": [],
}  # fmt: skip


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
    cooldown_temp_c: float | None = 40.0  # None or 0: no cooldown wait (stored as None)
    cooldown_timeout_s: float = 120.0
    op_profile: bool = False
    out: Path = Path("results")
    resume: Path | None = None
    benchmark_binary: Path | None = None
    adb_server: str | list[str] | None = None  # a lab: several servers
    wait_for_device_s: float | None = None  # how long to wait for a leased phone
    reconnect_timeout_s: float = 60.0
    trial_timeout_s: float = 600.0
    seed: int | None = None
    fixed_performance: bool = False
    report: bool = True
    # What this run is of (a release, commit, build); None: `git describe` of the
    # current folder when it is a checkout (see stages.label), else no label.
    label: str | None = None
    arms: list[ArmSpec] = field(default_factory=list)  # A/B run: harness.bench.arms
    # Sequential trials (harness.stages.sequential): after the planned trials, more of
    # each configuration whose median is not pinned down to ±target_ci, until it is,
    # max_trials is reached or the phone time (seconds per device) runs out.
    until_confident: bool = False
    target_ci: float = 0.02
    budget_s: float | None = None
    max_trials: int = SEQUENTIAL_MAX_TRIALS
    # With resume: configuration keys (`harness check --json` `inconclusive`) to measure
    # again until confident, a new pass of sequential trials on the run's phones.
    more: list[str] = field(default_factory=list)
    # A/B runs: add ABBA blocks until arm B is slower, faster or within ±equivalence of A.
    until_decided: bool = False
    equivalence: float = 0.02
    # Compute units (harness.logs.accelerator spellings), an axis like `threads`.
    accelerators: list[str] = field(default_factory=lambda: ["cpu"])
    allow_fallback: bool = False  # a delegate that fell back to the CPU: ok, with a warning
    # The user's own .tflite files (harness.bench.own_models), beside the variants; with
    # `variants=[]`, instead of them.
    own_models: list[OwnModelSpec] = field(default_factory=list)
    # Energy per inference (docs/run.md "Energy"): read it in every trial; accept a fuel
    # gauge on a charger (biased); only these rails (names as the phone spells them).
    energy: bool = False
    energy_on_usb: bool = False
    energy_rails: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # 0 turns the wait off, as `--cooldown-temp 0` does; a run records it as None.
        if self.cooldown_temp_c == 0:
            self.cooldown_temp_c = None

    def validate(self) -> list[Config]:
        """Check every option before any device is touched; the configurations to measure.

        Raises PlanError, UnknownVariantError, UnknownQuantError or OutputPathError
        (exit code 2), or StorageError (exit 3) for an --out the host will not let us write.
        """
        return validated(self).configs

    def measured(self) -> MeasuredSettings:
        """The settings meta.json stores: what the trials measure, and the devices asked for."""
        return MeasuredSettings(
            variants=tuple(self.variants),
            quants=tuple(self.quants),
            threads=tuple(self.threads),
            cores=tuple(self.cores),
            trials=self.trials,
            runs=self.runs,
            warmup=self.warmup,
            xnnpack=self.xnnpack,
            cooldown_temp_c=self.cooldown_temp_c,
            cooldown_timeout_s=self.cooldown_timeout_s,
            op_profile=self.op_profile,
            trial_timeout_s=self.trial_timeout_s,
            arms=tuple(self.arms),
            devices=tuple(self.devices),
            until_confident=self.until_confident,
            target_ci=self.target_ci,
            budget_s=self.budget_s,
            max_trials=self.max_trials,
            until_decided=self.until_decided,
            equivalence=self.equivalence,
            accelerators=tuple(self.accelerators),
            allow_fallback=self.allow_fallback,
            own_models=tuple(self.own_models),
            energy=self.energy,
            energy_on_usb=self.energy_on_usb,
            energy_rails=tuple(self.energy_rails),
        )


@dataclass(frozen=True)
class Checked:
    """The settings a run measures with, checked once, and what they select: the
    configurations, and the user's own models, read (a file that is no model has
    stopped the run already). Every stage after it takes this, not the raw settings."""

    settings: RunSettings
    configs: list[Config]
    own: tuple[OwnModel, ...]


def validated(settings: RunSettings) -> Checked:
    """`settings` checked as `RunSettings.validate` says, with what they select.

    The settings' own bounds and combinations first; then each part by the module
    that owns it: the energy options, the arms' files, the configurations the axes
    cross into, the core policies, the output folder, and last the user's model
    files, read and analysed now (the slowest check: a file that is no model stops
    the run before a device is touched).
    """
    # harness.device loads adbutils and checks the adb environment: the CLI reads these
    # settings at start-up, before its one-line error handler is in place.
    from harness.device.cores import check_policy

    _refuse_out_of_bounds(settings)
    _refuse_sequential_mix(settings)
    for q in settings.quants:
        if q not in QUANTS:
            raise UnknownQuantError(q, QUANTS)
    ids = [v.id for v in catalogue.select(settings.variants)] if settings.variants else []
    if settings.more and (settings.resume is None or not settings.until_confident):
        raise PlanError(
            "--more measures configurations of a run again: it needs --resume RUN_DIR "
            "and --until-confident"
        )
    check_energy_options(settings.energy, settings.energy_on_usb, settings.energy_rails)
    check_arms(settings.arms, ids, settings.quants)
    # Each unit in its canonical spelling: `nnapi:qti-dsp` is stored and keyed as given.
    units = [parse_accelerator(a, option="--accelerator").spec for a in settings.accelerators]
    xnnpack = xnnpack_settings(settings.xnnpack)
    labels = [m["label"] for m in settings.own_models]  # an own model's label is its variant
    configs = [
        *(configurations(ids, settings.quants, xnnpack, settings.threads, settings.cores, units)
          if ids else []),
        *(configurations(labels, [FILE_QUANT], xnnpack, settings.threads, settings.cores, units)
          if labels else []),
    ]  # fmt: skip
    unknown = [k for k in settings.more if k not in {c.key for c in configs}]
    if unknown:
        raise PlanError(
            f"--more: {', '.join(unknown)} is not a configuration of this run",
            hint="name configurations as `harness check --json` lists them (inconclusive)",
        )
    for policy in settings.cores:
        check_policy(policy)  # CorePolicyError (exit 2): a mask no phone could take
    output_folder(settings.out, "--out")
    own = own_models.load_all(settings.own_models)
    return Checked(settings, configs, tuple(own))


# The most trials per configuration `harness run` accepts (docs/run.md). A typo like
# 10^9 used to build a plan that ate memory for a minute before printing anything.
RANGES = ranges.RUN
MAX_TRIALS = int(RANGES["trials"].hi)


def _refuse_out_of_bounds(settings: RunSettings) -> None:
    """PlanError (exit 2) for option values that select nothing or lie outside RANGES."""
    for option, values in (
        # Own models alone need no variant (`variants=[]`: instead of the catalogue's).
        ("--variants", settings.variants or [m["label"] for m in settings.own_models]),
        ("--quant", settings.quants),
        ("--threads", settings.threads),
        ("--cores", settings.cores),
        ("--accelerator", settings.accelerators),
    ):
        if not values:
            raise PlanError(f"{option} selects nothing", hint="see `harness run --help`")
    for name, allowed in RANGES.items():
        value = getattr(settings, name)
        for one in value if isinstance(value, list) else [value]:
            if one is not None:
                allowed.check(option_name(name), one)


def _refuse_sequential_mix(settings: RunSettings) -> None:
    """PlanError (exit 2) for sequential options that cannot work together or alone."""

    def given(*names: str) -> list[str]:
        return [option_name(n) for n in names if getattr(settings, n) != getattr(DEFAULTS, n)]

    if settings.until_confident and settings.until_decided:
        raise PlanError("--until-confident and --until-decided: choose one")
    if not (settings.until_confident or settings.until_decided):
        alone = given("target_ci", "budget_s", "max_trials", "equivalence")
        if alone:
            raise PlanError(
                f"{', '.join(alone)} take effect only with --until-confident or --until-decided"
            )
    if settings.until_confident:
        if given("equivalence"):
            raise PlanError("--equivalence takes effect only with --until-decided")
        if settings.arms:
            raise PlanError(
                "--until-confident measures configurations, not arms against each other",
                hint="decide an A/B run with --until-decided",
            )
    if settings.until_decided:
        if given("target_ci"):
            raise PlanError("--target-ci takes effect only with --until-confident")
        if len(settings.arms) != 2:
            raise PlanError(
                "--until-decided decides arm B against arm A: it needs an A/B run of two arms",
                hint="harness run --benchmark-binary base=PATH --benchmark-binary new=PATH ...",
            )


def settings_from_meta(meta: RunMeta, given: RunSettings) -> RunSettings:
    """`given` with the measured settings and seed of a run being resumed (its meta.json).

    `meta` comes from the validating reader (`harness.results.read.read_meta`),
    so its values have their types; their ranges are checked here, naming the
    file, since no option of this command line set them.
    """
    stored = meta.settings
    missing = [
        f"settings.{k}"
        for k in ("variants", "quants", "threads", "cores", "trials", "runs")
        if not stored.has(k)
    ] + ([] if meta.seed is not None else ["seed"])
    if missing:
        raise ResultsError(f"meta.json lacks {', '.join(missing)}", path=str(given.resume))
    # The stored settings keep RunSettings' names; its lists are stored as tuples.
    kept = {
        k: _as_given(stored.stored(k)) for k in MEASURED if stored.has(k) and k not in SEQUENTIAL
    }
    if not given.more:  # a run stored without them did not measure until confident
        kept.update({k: getattr(stored, k) for k in SEQUENTIAL})
    kept.update({k: v for k, v in ABSENT_MEANS.items() if not stored.has(k)})
    merged = dataclasses.replace(given, **kept)
    merged.seed = meta.seed
    for name in (*MEASURED, "seed"):
        allowed = RANGES.get(name)
        value = getattr(merged, name)
        for one in value if isinstance(value, list) else [value]:
            why = allowed.problem(one) if allowed is not None and one is not None else None
            if why:
                path = str(Path(given.resume or ".") / "meta.json")
                field = name if name == "seed" else f"settings.{name}"
                raise ResultsError(f"{field} {why}", path=path, hint="not a run this harness made")
    if not given.devices:
        merged.devices = list(stored.devices)
    if not merged.devices:
        raise PlanError("--resume needs --device (the run's meta.json names none)")
    return merged


def _as_given(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def checked(settings: RunSettings) -> Checked:
    """The settings a run will measure with (a resumed run's own, from its meta.json),
    validated: called before any device is opened, so a bad value touches no phone."""
    if settings.resume is not None:
        # A linked .lock or logs/ is refused before a device is touched.
        check_run_layout(Path(settings.resume))
        meta = read_meta(Path(settings.resume))
        settings = settings_from_meta(meta, settings)
    return validated(settings)


DEFAULTS = RunSettings(devices=[])
"""The defaults of every option: the CLI's typer defaults are read from here."""


def option_name(field_name: str) -> str:
    """The `harness run` option that sets a field: `trial_timeout_s` -> `--trial-timeout`."""
    if field_name == "quants":
        return "--quant"
    if field_name == "arms":
        return "--benchmark-binary/--arm-models LABEL=..."
    if field_name == "accelerators":
        return "--accelerator"
    if field_name == "own_models":
        return "--model"
    for unit in ("_s", "_c"):
        if field_name.endswith(unit):
            field_name = field_name[: -len(unit)]
    return "--" + field_name.replace("_", "-")


def ignored_on_resume(settings: RunSettings) -> list[str]:
    """The options given away from their default that `--resume` ignores (its run's win)."""
    own = SEQUENTIAL if settings.more else ()  # a --more pass brings its own
    return [
        option_name(name)
        for name in (*MEASURED, "seed", "label")
        if name not in own and getattr(settings, name) != getattr(DEFAULTS, name)
    ]
