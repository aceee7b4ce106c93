"""Stage 1, plan: what this run measures, before any device is touched.

Opens the run folder of a resumed run (its settings and seed win), validates
every option and converts the models, so a typo or a broken conversion stops
the run before a phone is prepared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import catalogue
from harness.bench.arms import ResolvedArms, resolve_arms
from harness.bench.plan import new_seed
from harness.bench.prepare import ModelFile
from harness.convert import ConvertedModel, convert_many
from harness.convert.cache import cache_dir
from harness.results.store import RunStore
from harness.stages.settings import RunSettings, settings_from_meta
from harness.vocab import Config


@dataclass
class Planned:
    """The plan stage's output: settings as they will run, the seed, configurations, models."""

    settings: RunSettings
    seed: int
    configs: list[Config]
    converted: list[ConvertedModel]  # sha256, size, MACs per model
    models: list[ModelFile]
    arms: ResolvedArms  # an A/B run's arms (empty without arms)
    store: RunStore | None = None  # the run folder being resumed; None for a new run


def plan(settings: RunSettings, emit: Callable[[str], None]) -> Planned:
    """Resume (settings from meta.json), validate, convert; raises HarnessError on bad input."""
    store: RunStore | None = None
    if settings.resume is not None:
        store = RunStore.open(settings.resume)
        for msg in store.recovered:
            emit(msg)
        settings = settings_from_meta(store.meta, settings)
        emit(f"resuming {store.run_dir} ({len(store.completed_trial_ids())} trial(s) stored)")
    seed = settings.seed if settings.seed is not None else new_seed()
    configs = settings.validate()
    # An A/B run whose every arm brings its own models converts nothing.
    converting = not settings.arms or any(a["models"] is None for a in settings.arms)
    converted = convert(settings, emit) if converting else []
    models = [ModelFile(c.variant.id, c.quant, Path(c.path), c.sha256) for c in converted]
    variants = list(dict.fromkeys(c.variant for c in configs))
    arms = resolve_arms(settings.arms, variants, settings.quants, models)
    return Planned(settings, seed, configs, converted, models, arms, store)


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
