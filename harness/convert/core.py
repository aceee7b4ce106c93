"""Turn catalogue variants into `.tflite` files: cache first, then workers.

`convert_many` computes each (variant, quant) recipe's cache key, takes every
model already in the cache as is (no TensorFlow import), and converts the rest
in worker processes. `import_model` brings in a ready `.tflite` or an official
checkpoint archive instead. Both return `ConvertedModel`s whose figures come
from reading the flatbuffer, so they can be checked against the published table.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from harness import catalogue, inputs
from harness.catalogue import Variant
from harness.convert import archive, published
from harness.convert.analysis import ModelAnalysis, analyze_bytes
from harness.convert.cache import (
    EntryFacts,
    ModelCache,
    Recipe,
    cache_dir,
    tool_versions,
)
from harness.convert.parallel import ProgressBar, default_jobs, run_tasks
from harness.convert.published import PublishedCheck
from harness.convert.tflite import QUANT_SETTINGS, QUANTS
from harness.convert.worker import ConvertResult, ConvertTask, convert_task, init_worker
from harness.errors import (
    ConversionError,
    ModelError,
    OptionError,
    StorageError,
    UnknownQuantError,
)
from harness.fetch import check_url
from harness.outputs import replace_file, write_atomic

FILE_QUANT = "file"  # quant name of imported models (their quantization is their own)


@dataclass(frozen=True)
class ConvertedModel:
    """A model file ready to benchmark, with the figures read from it."""

    variant: Variant
    quant: str
    path: Path
    sha256: str
    size_bytes: int
    macs: int
    weight_params: int
    bias_params: int
    cached: bool
    analysis: ModelAnalysis
    source: str = "keras"

    @property
    def published_check(self) -> PublishedCheck:
        """This model's figures counted as the published table counts them."""
        return published.check(self.variant, self.analysis)

    @property
    def macs_m(self) -> int:
        """MACs in millions, in the published table's convention (see published.py)."""
        return self.published_check.macs_m

    @property
    def params_m(self) -> float:
        """Parameters in millions to 0.01, in the published table's convention."""
        return self.published_check.params_m

    @property
    def matches_published(self) -> bool:
        """Both published figures (MACs and parameters) reproduced."""
        return self.published_check.ok

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the `harness convert --json` contract)."""
        return {
            "id": self.variant.id,
            "family": self.variant.family,
            "depth_multiplier": self.variant.depth_multiplier,
            "resolution": self.variant.resolution,
            "quant": self.quant,
            "source": self.source,
            "path": str(self.path),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "macs": self.macs,
            "weight_params": self.weight_params,
            "bias_params": self.bias_params,
            "macs_m": self.macs_m,
            "params_m": self.params_m,
            "matches_published": self.matches_published,
            "published_note": self.published_check.note,
            "input_shape": self.analysis.input_shape,
            "input_dtype": self.analysis.input_dtype,
            "cached": self.cached,
        }


def recipe_for(
    variant: Variant, quant: str, *, classes: int = 1000, weights_sha256: str | None = None
) -> Recipe:
    """The cache recipe of a catalogue variant converted with the harness settings."""
    if quant not in QUANT_SETTINGS:
        raise UnknownQuantError(quant, QUANTS)
    return Recipe(
        variant=variant.id,
        family=variant.family,
        depth_multiplier=variant.depth_multiplier,
        resolution=variant.resolution,
        quant=quant,
        classes=classes,
        weights_sha256=weights_sha256,
        settings=QUANT_SETTINGS[quant],
    )


def _model(variant: Variant, path: Path, facts: EntryFacts, *, cached: bool) -> ConvertedModel:
    analysis = facts.analysis
    if analysis is None:  # an entry .json an older or foreign writer left without one
        raise ModelError("the cache entry has no analysis of its model", path=str(path))
    return ConvertedModel(
        variant=variant,
        quant=facts.recipe.quant,
        path=path,
        sha256=facts.sha256,
        size_bytes=facts.size_bytes,
        macs=analysis.macs,
        weight_params=analysis.weight_params,
        bias_params=analysis.bias_params,
        cached=cached,
        analysis=analysis,
        source=facts.source,
    )


def cached_model(
    variant: Variant, quant: str = "fp32", *, classes: int = 1000, cache_root: Path | None = None
) -> ConvertedModel | None:
    """The variant's model if already converted with current settings, else None.

    Cheap and TensorFlow-free: `harness variants` calls it for every variant.
    """
    cache = ModelCache(cache_root)
    entry = cache.lookup(recipe_for(variant, quant, classes=classes).stem())
    return None if entry is None else _model(variant, entry.path, entry.facts, cached=True)


def place(source: Path, target: Path) -> None:
    """Put a cached model at `target` (`--out`): a hard link when possible, else a copy;
    atomically either way."""
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:  # another filesystem: copy, atomically
            write_atomic(target, source.read_bytes(), option="--out")
        else:
            try:
                replace_file(tmp, target, "--out")
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
    except OSError as exc:
        raise ModelError(f"cannot write: {exc.strerror or exc}", path=str(target)) from None


def _export(model: ConvertedModel, out_dir: Path) -> ConvertedModel:
    """Place the model in `out_dir` as `<id>_<quant>.tflite` (hard link when possible)."""
    target = out_dir / f"{model.variant.id}_{model.quant}.tflite"
    place(model.path, target)
    return ConvertedModel(**{**model.__dict__, "path": target})


def _weights_hash(weights: Path | None) -> str | None:
    if weights is None:
        return None
    try:
        return inputs.sha256_file(weights, limit=inputs.ARCHIVE_BYTES, what="a weights file")
    except OSError as exc:
        raise ModelError(f"cannot read weights: {exc.strerror or exc}", path=str(weights)) from None


def check_quants(quants: Sequence[str]) -> None:
    """OptionError / UnknownQuantError (exit 2) for a `--quant` that selects nothing or
    names no recipe."""
    if not quants:
        raise OptionError("--quant selects nothing", option="--quant", hint=f"use {QUANTS[0]}")
    for quant in quants:
        if quant not in QUANT_SETTINGS:
            raise UnknownQuantError(quant, QUANTS)


def convert_many(
    variants: Sequence[Variant],
    quants: Sequence[str] = ("fp32",),
    *,
    jobs: int | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
    classes: int = 1000,
    weights: Path | None = None,
    cache_root: Path | None = None,
) -> list[ConvertedModel]:
    """Every (variant, quant) as a `.tflite`, converting only what the cache lacks.

    Results come in the order variants x quants. Conversions that fail do not
    stop the others (their models are cached); a `ConversionError` naming them
    is raised once all have finished.
    """
    check_quants(quants)
    cache = ModelCache(cache_root)
    weights_sha = _weights_hash(weights)
    pairs = [(v, q) for v in variants for q in dict.fromkeys(quants)]
    recipes = [recipe_for(v, q, classes=classes, weights_sha256=weights_sha) for v, q in pairs]
    results: list[ConvertedModel | None] = []
    missing: list[int] = []
    for i, recipe in enumerate(recipes):
        entry = cache.lookup(recipe.stem())
        if entry is None:
            results.append(None)
            missing.append(i)
        else:
            results.append(_model(pairs[i][0], entry.path, entry.facts, cached=True))
    if missing:
        cache.check_writable()  # a full or read-only cache fails now, not after the conversions
    if progress:
        cache_note(len(pairs), len(pairs) - len(missing))
    failures = _convert_missing(
        pairs, recipes, missing, results, cache, jobs=jobs, progress=progress, weights=weights
    )
    if failures:
        (variant, quant), message = failures[0]
        more = "".join(f"; also {v.id} ({q})" for (v, q), _ in failures[1:])
        raise ConversionError(message + more, variant=variant.id, quant=quant)
    models = [m for m in results if m is not None]
    return [_export(m, out_dir) for m in models] if out_dir is not None else models


def cache_note(total: int, cached: int, stream: TextIO | None = None) -> None:
    """Say on stderr what the cache supplies: all models (nothing to wait for) or some."""
    out = stream if stream is not None else sys.stderr
    if total and cached == total:
        out.write(f"all {total} model(s) come from the cache: nothing to convert\n")
    elif cached:
        out.write(
            f"{cached} of {total} model(s) come from the cache; converting the other "
            f"{total - cached}\n"
        )
    elif total:
        out.write(
            f"converting {total} model(s) (a first conversion takes minutes; "
            "later runs use the cache)\n"
        )
    out.flush()


def _convert_missing(
    pairs: list[tuple[Variant, str]],
    recipes: list[Recipe],
    missing: list[int],
    results: list[ConvertedModel | None],
    cache: ModelCache,
    *,
    jobs: int | None,
    progress: bool,
    weights: Path | None,
) -> list[tuple[tuple[Variant, str], str]]:
    """Convert the `missing` indices in workers, filling `results`; return failures."""
    # Largest first, so that no worker is left with a big model at the end
    # while the others idle (conversion time grows with the parameters).
    missing = sorted(
        missing,
        key=lambda i: (pairs[i][0].published.params_m, pairs[i][0].published.macs_m),
        reverse=True,
    )
    tasks = [ConvertTask(recipes[i], cache.root.parent, weights) for i in missing]
    bar = ProgressBar(len(tasks), enabled=progress)
    failures: list[tuple[tuple[Variant, str], str]] = []
    for task_index, result in run_tasks(
        convert_task,
        tasks,
        jobs=jobs or default_jobs(),
        label=lambda t: f"{t.recipe.variant} {t.recipe.quant}",
        died=lambda why: ConvertResult(error=why),
        progress=bar,
        initializer=init_worker,
    ):
        i = missing[task_index]
        variant, quant = pairs[i]
        if result.facts is not None:
            path = cache.paths(recipes[i].stem())[0]
            results[i] = _model(variant, path, result.facts, cached=False)
        elif result.storage:
            # Every other conversion would hit the same disk: stop with the host's reason.
            raise StorageError(str(result.error))
        else:
            detail = result.log_last_line or ""
            log = f" (log: {result.log})" if result.log else ""
            failures.append(((variant, quant), f"{result.error} {detail}".strip() + log))
    return failures


def _guess_variant(name: str) -> Variant:
    """The catalogue variant a file is named after (longest id that prefixes it)."""
    stem = PurePosixPath(name).name.split(".tgz")[0].split(".tar")[0].removesuffix(".tflite")
    known = sorted((v for v in catalogue.all_variants()), key=lambda v: -len(v.id))
    for variant in known:
        if stem == variant.id or stem.startswith(variant.id + "_"):
            return variant
    raise ModelError(
        "cannot tell which variant this file is",
        path=name,
        hint="name one with --variants, e.g. --variants mobilenet_v2_1.0_224",
    )


def import_model(
    source: str | Path,
    *,
    variant: Variant | None = None,
    out_dir: Path | None = None,
    timeout_s: float = archive.DEFAULT_DOWNLOAD_TIMEOUT_S,
    cache_root: Path | None = None,
) -> ConvertedModel:
    """Bring a ready `.tflite` or a checkpoint `.tgz` (path or http(s) URL) into the cache.

    The entry is keyed by the file's own sha256, and its quant is `file`.
    """
    root = cache_root if cache_root is not None else cache_dir()
    text = str(source)
    url_path = check_url(text).path if archive.is_url(text) else None
    if variant is None:
        variant = _guess_variant(text if url_path is None else url_path)
    if url_path is not None:
        name = PurePosixPath(url_path).name or "download"
        local = root / "downloads" / name
        if not local.is_file():  # downloads are atomic: a file there is whole
            archive.download(text, local, timeout_s=timeout_s)
    else:
        local = Path(text)
    if local.name.endswith((".tgz", ".tar.gz", ".tar")):
        member, data = archive.tflite_from_archive(local, prefer=variant.id)
        origin = f"{text}!{member}"
    else:
        data, origin = archive.read_tflite(local), text
    analysis = analyze_bytes(data, path=origin)
    sha = hashlib.sha256(data).hexdigest()
    stem = f"{variant.id}-{FILE_QUANT}-{sha[:16]}"
    cache = ModelCache(root)
    entry = cache.lookup(stem)
    cached = entry is not None
    if entry is None:
        facts = EntryFacts(
            # An imported file's recipe: its variant and quant, nothing that built it.
            recipe=Recipe.from_dict({"variant": variant.id, "quant": FILE_QUANT}),
            tools=tool_versions(),
            source=origin,
            analysis=analysis,
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        entry = cache.store(stem, data, facts)
    model = _model(variant, entry.path, entry.facts, cached=cached)
    return _export(model, out_dir) if out_dir is not None else model
