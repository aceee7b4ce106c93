"""Stage 2, plan: what this run measures, and in which order, before a phone is prepared.

Opens the run folder of a resumed run, converts the models and builds the one
trial order (`Plan`) every later stage uses, so a broken conversion stops the
run before a phone is prepared. The settings come in checked, with the
configurations they select (`stages.settings.checked`): a resumed run's are
its own, from its meta.json, seed included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import catalogue
from harness.bench.arm_plan import plan_for
from harness.bench.arms import ResolvedArms, resolve_arms
from harness.bench.own_models import OwnModel
from harness.bench.plan import Plan, new_seed
from harness.bench.target import ModelFile
from harness.convert import ConvertedModel, convert_many
from harness.convert.cache import cache_dir
from harness.results.meta import RunMeta
from harness.results.store import RunStore
from harness.stages.settings import Checked, RunSettings
from harness.vocab import Config


@dataclass
class Planned:
    """The plan stage's output: settings as they will run, the seed, configurations, models."""

    settings: RunSettings
    seed: int
    configs: list[Config]
    converted: list[ConvertedModel]  # sha256, size, MACs per model
    models: list[ModelFile]  # the converted models, then the user's own
    arms: ResolvedArms  # an A/B run's arms (empty without arms)
    # The trial order of every device of the run (a resumed run: the devices it stored).
    plan: Plan
    store: RunStore | None = None  # the run folder being resumed; None for a new run
    meta: RunMeta | None = None  # its meta.json
    own: tuple[OwnModel, ...] = ()  # the user's own models (`--model`), read and analysed


def plan(checked: Checked, serials: Sequence[str], emit: Callable[[str], None]) -> Planned:
    """Open a resumed run, convert, order the trials of the devices `serials` (a resumed
    run: of its own devices); raises HarnessError on bad input."""
    settings = checked.settings
    configs = checked.configs
    own = list(checked.own)
    store: RunStore | None = None
    meta: RunMeta | None = None
    if settings.resume is not None:
        store = RunStore.open(settings.resume)
        for msg in store.recovered:
            emit(msg)
        meta = store.meta
        # Trial ids name the devices the run started with, wherever they are now.
        serials = list(meta.devices)
        emit(f"resuming {store.run_dir} ({len(store.completed_trial_ids())} trial(s) stored)")
    seed = settings.seed if settings.seed is not None else new_seed()
    # Own models alone convert nothing; nor does an A/B run whose every arm brings its own.
    converting = bool(settings.variants) and (
        not settings.arms or any(a["models"] is None for a in settings.arms)
    )
    converted = convert(settings, emit) if converting else []
    models = [ModelFile(c.variant.id, c.quant, Path(c.path), c.sha256) for c in converted]
    labels = {m.label for m in own}
    variants = [v for v in dict.fromkeys(c.variant for c in configs) if v not in labels]
    arms = resolve_arms(settings.arms, variants, settings.quants, models, own=[m.file for m in own])
    models += [m.file for m in own]
    order = plan_for(serials, configs, settings.arms, trials=settings.trials, seed=seed)
    return Planned(
        settings, seed, configs, converted, models, arms, order, store, meta, own=tuple(own)
    )


def convert(settings: RunSettings, emit: Callable[[str], None]) -> list[ConvertedModel]:
    """The run's models as .tflite files, converting only what the cache lacks."""
    variants = catalogue.select(settings.variants)
    emit(
        f"models: {len(variants)} variant(s) x {len(settings.quants)} quant(s), "
        f"converting only what {cache_dir()} lacks"
    )
    # A first run converts for minutes: the progress bar (stderr) shows it moving.
    models = list(convert_many(variants, tuple(settings.quants), progress=True))
    fresh = sum(1 for m in models if not m.cached)
    if fresh:
        emit(f"models: converted {fresh}, {len(models) - fresh} from the cache")
    return models
