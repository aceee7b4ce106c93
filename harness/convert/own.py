"""A user's Keras model or SavedModel -> `.tflite`, through the catalogue's recipes.

`harness convert --from PATH` with a `.keras` or `.h5` file or a SavedModel
folder converts it as a variant is converted: in a worker process, with the
same converter settings per `--quant` (`QUANT_SETTINGS`, int8 calibrated on the
same seeded noise, shaped as the model's inputs), into the same cache, keyed
by the recipe and the sha256 of the model's content. The path is checked (a
regular file with its format's signature, a folder holding `saved_model.pb`)
before TensorFlow is imported, so a bad one is one line at once.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import inputs
from harness.convert.analysis import ModelAnalysis
from harness.convert.archive import is_url
from harness.convert.cache import EntryFacts, ModelCache, Recipe
from harness.convert.core import cache_note, check_quants, place
from harness.convert.parallel import ProgressBar, default_jobs, run_tasks
from harness.convert.tflite import QUANT_SETTINGS
from harness.convert.worker import ConvertResult, ConvertTask, convert_task, init_worker
from harness.errors import ConversionError, InputFileError, ModelError, StorageError
from harness.texttable import Column, draw
from harness.vocab import OWN_FAMILY

SAVED_MODEL_PB = "saved_model.pb"
MAX_SAVED_MODEL_FILES = 10_000  # a SavedModel holds a handful; this bounds the hashing walk
# File name ending -> (first bytes, what a file so named must be).
_SIGNATURES = {
    ".keras": (b"PK\x03\x04", "a Keras archive (zip)"),
    ".h5": (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    ".hdf5": (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
}
KERAS_SUFFIXES = tuple(_SIGNATURES)


def is_keras_source(text: str) -> bool:
    """Whether a `--from` path names a Keras model file or a folder (a SavedModel)."""
    return not is_url(text) and (text.lower().endswith(KERAS_SUFFIXES) or Path(text).is_dir())


def default_label(path: Path) -> str:
    """The label a model goes by when none is given: its name without the suffix."""
    name = Path(os.path.abspath(path)).name
    for suffix in KERAS_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class OwnSource:
    """A user's Keras model file or SavedModel folder, checked and hashed."""

    label: str
    path: Path
    sha256: str  # of the file, or of the folder's files (relative paths and contents)


@dataclass(frozen=True)
class OwnConverted:
    """One quantisation of a user's model as a `.tflite`, with the figures read from it."""

    label: str
    quant: str
    path: Path
    sha256: str
    size_bytes: int
    cached: bool
    analysis: ModelAnalysis
    source: str

    @property
    def run_label(self) -> str:
        """The label `harness run --model` measures it under: `<label>_<quant>`."""
        return f"{self.label}_{self.quant}"

    @property
    def run_option(self) -> str:
        """The `harness run` option that measures this file."""
        return f"--model {shlex.quote(f'{self.run_label}={self.path}')}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (`harness convert --json`, as a variant's with family `own`)."""
        return {
            "id": self.label,
            "family": OWN_FAMILY,
            "quant": self.quant,
            "source": self.source,
            "path": str(self.path),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "macs": self.analysis.macs,
            "weight_params": self.analysis.weight_params,
            "bias_params": self.analysis.bias_params,
            "input_shape": self.analysis.input_shape,
            "input_dtype": self.analysis.input_dtype,
            "cached": self.cached,
            "run_model": f"{self.run_label}={self.path}",
        }


def _hash_keras_file(path: Path) -> str:
    magic, what = _SIGNATURES[next(s for s in KERAS_SUFFIXES if path.name.lower().endswith(s))]
    digest = hashlib.sha256()
    try:
        with inputs.open_binary(path, limit=inputs.ARCHIVE_BYTES, what="a Keras model") as handle:
            head = handle.read(len(magic))
            if head != magic:
                raise ModelError(f"not a Keras model: not {what}", path=str(path))
            digest.update(head)
            while block := handle.read(inputs.MiB):
                digest.update(block)
    except FileNotFoundError:
        raise ModelError("no such file", path=str(path)) from None
    except OSError as exc:
        raise ModelError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    return digest.hexdigest()


def _raise(exc: OSError) -> None:
    raise exc


def _hash_saved_model(folder: Path) -> str:
    if not (folder / SAVED_MODEL_PB).is_file():
        raise ModelError(
            f"not a SavedModel: no {SAVED_MODEL_PB} in this folder",
            path=str(folder),
            hint="give a .keras or .h5 file, a SavedModel folder or a .tflite",
        )
    files: list[Path] = []
    try:
        for top, dirs, names in os.walk(folder, onerror=_raise):
            dirs.sort()
            files.extend(Path(top) / n for n in sorted(names))
            if len(files) > MAX_SAVED_MODEL_FILES:
                raise ModelError(
                    f"not a SavedModel: over {MAX_SAVED_MODEL_FILES} files", path=str(folder)
                )
        digest = hashlib.sha256()
        for file in files:
            one = inputs.sha256_file(file, limit=inputs.ARCHIVE_BYTES, what="a SavedModel file")
            digest.update(f"{file.relative_to(folder).as_posix()}\0{one}\n".encode())
    except InputFileError as exc:
        raise ModelError(f"not a SavedModel: {exc}", path=str(folder)) from None
    except OSError as exc:
        where = exc.filename or folder
        raise ModelError(f"cannot read: {exc.strerror or exc}", path=str(where)) from None
    return digest.hexdigest()


def check_source(path: Path, label: str | None = None) -> OwnSource:
    """The model at `path`, checked and hashed without TensorFlow; ModelError (exit 2,
    one line naming it) when it is missing, unreadable, not a regular file or folder, or
    not what its name says (a `.keras` that is no zip, a folder without saved_model.pb)."""
    path = Path(path)
    sha = _hash_saved_model(path) if path.is_dir() else _hash_keras_file(path)
    return OwnSource(label or default_label(path), path, sha)


def recipe_for_source(source: OwnSource, quant: str) -> Recipe:
    """The cache recipe of a user's model under one of the catalogue's quantisations."""
    return Recipe(
        variant=source.label,
        family=OWN_FAMILY,
        depth_multiplier=0.0,  # unknown, as in a trial record of an own model
        resolution=0,
        quant=quant,
        settings=QUANT_SETTINGS[quant],
        source_sha256=source.sha256,
    )


def _converted(source: OwnSource, path: Path, facts: EntryFacts, *, cached: bool) -> OwnConverted:
    if facts.analysis is None:
        raise ModelError("the cache entry has no analysis of its model", path=str(path))
    return OwnConverted(
        label=source.label,
        quant=facts.recipe.quant,
        path=path,
        sha256=facts.sha256,
        size_bytes=facts.size_bytes,
        cached=cached,
        analysis=facts.analysis,
        source=facts.source,
    )


def convert_source(
    source: OwnSource,
    quants: Sequence[str] = ("fp32",),
    *,
    jobs: int | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
    cache_root: Path | None = None,
) -> list[OwnConverted]:
    """Each quantisation of a user's model as a `.tflite`, converting what the cache lacks.

    With `out_dir`, each is also placed there as `<label>_<quant>.tflite`.
    """
    check_quants(quants)
    cache = ModelCache(cache_root)
    recipes = [recipe_for_source(source, q) for q in dict.fromkeys(quants)]
    results: list[OwnConverted | None] = []
    for recipe in recipes:
        entry = cache.lookup(recipe.stem())
        results.append(
            None if entry is None else _converted(source, entry.path, entry.facts, cached=True)
        )
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        cache.check_writable()
    if progress:
        cache_note(len(recipes), len(recipes) - len(missing))
    tasks = [ConvertTask(recipes[i], cache.root.parent, source=source.path) for i in missing]
    for task_index, result in run_tasks(
        convert_task,
        tasks,
        jobs=min(len(tasks), jobs or default_jobs()) or 1,
        label=lambda t: f"{source.label} {t.recipe.quant}",
        died=lambda why: ConvertResult(error=why),
        progress=ProgressBar(len(tasks), enabled=progress),
        initializer=init_worker,
    ):
        i = missing[task_index]
        if result.facts is not None:
            path = cache.paths(recipes[i].stem())[0]
            results[i] = _converted(source, path, result.facts, cached=False)
        elif result.storage:
            raise StorageError(str(result.error))
        else:
            log = f" (log: {result.log})" if result.log else ""
            detail = f"{result.error} {result.log_last_line or ''}".strip()
            raise ConversionError(detail + log, variant=source.label, quant=recipes[i].quant)
    models = [m for m in results if m is not None]
    if out_dir is None:
        return models
    placed = []
    for model in models:
        target = out_dir / f"{model.run_label}.tflite"
        place(model.path, target)
        placed.append(OwnConverted(**{**model.__dict__, "path": target}))
    return placed


def format_table(models: Sequence[OwnConverted]) -> str:
    """One line per converted model, then the `harness run` option that measures each."""
    columns = [
        Column("model"),
        Column("quant"),
        Column("MB", "right"),
        Column("MACs(M)", "right"),
        Column("input"),
        Column("path"),
    ]
    rows = [
        (
            m.label,
            m.quant,
            f"{m.size_bytes / 1e6:.2f}",
            f"{m.analysis.macs / 1e6:.2f}",
            "x".join(str(d) for d in m.analysis.input_shape) + " " + m.analysis.input_dtype,
            f"{m.path} ({'cached' if m.cached else 'new'})",
        )
        for m in models
    ]
    lines = draw(columns, rows)
    if models:
        lines.append("measure with: harness run " + " ".join(m.run_option for m in models))
    return "\n".join(lines) + "\n"
