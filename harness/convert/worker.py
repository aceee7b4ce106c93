"""One conversion, run inside a worker process: build, convert, analyse, store.

It runs in a separate process because TensorFlow is heavy to import, prints to
the process's stdout (which must stay clean for `--json`), and keeps memory
after a conversion. Its output goes to a log file in the cache, whose tail ends
up in the error when a conversion fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.convert.analysis import analyze_bytes
from harness.convert.build import build_keras_model
from harness.convert.cache import EntryFacts, ModelCache, Recipe, tool_versions
from harness.convert.tflite import saved_model_to_tflite, to_tflite
from harness.errors import STORAGE_ERRNOS, StorageError, from_os_error

LOG_TAIL_CHARS = 1500


@dataclass(frozen=True)
class ConvertTask:
    """One conversion for a worker process: the recipe, the cache, the local weights,
    or the user's Keras model file or SavedModel folder to convert instead of a variant."""

    recipe: Recipe
    cache_root: Path
    weights: Path | None = None
    source: Path | None = None


@dataclass(frozen=True)
class ConvertResult:
    """What a worker made of its task; a failure is data, never raised."""

    facts: EntryFacts | None = None  # the stored entry's facts, when it worked
    error: str | None = None
    storage: bool = False  # the host's trouble (a full disk, say), not the model's
    log: str | None = None  # the converter's log file
    log_last_line: str | None = None

    @property
    def ok(self) -> bool:
        return self.facts is not None


def init_worker() -> None:
    """Pool initializer: quiet TensorFlow's C++ logging before it is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def _output_to(log_path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors too) to a log file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_path.open("wb") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text("utf-8", errors="replace")[-LOG_TAIL_CHARS:]
    return ""


def _convert(task: ConvertTask) -> bytes:
    """The task's `.tflite` bytes: its variant built in Keras, or the user's model loaded."""
    recipe = task.recipe
    if task.source is None:
        model = build_keras_model(
            recipe.family,
            recipe.depth_multiplier,
            recipe.resolution,
            classes=recipe.classes,
            weights=task.weights,
        )
    elif task.source.is_dir():
        return saved_model_to_tflite(task.source, recipe.settings)
    else:
        import keras

        model = keras.models.load_model(str(task.source), compile=False)
    return to_tflite(model, recipe.settings)


def convert_task(task: ConvertTask) -> ConvertResult:
    """Convert one recipe into the cache; never raises (errors come back as data)."""
    recipe = task.recipe
    cache = ModelCache(task.cache_root)
    stem = recipe.stem()
    log_path = cache.root.parent / "logs" / f"{stem}.log"
    started = time.monotonic()
    try:
        with _output_to(log_path):
            data = _convert(task)
            # keras (TensorFlow) is heavy: only a worker that converts loads it.
            import keras

            keras.backend.clear_session()  # free the graph before the next task
        analysis = analyze_bytes(data, path=f"{stem}.tflite")
        facts = EntryFacts(
            recipe=recipe,
            key=recipe.key(),
            tools=tool_versions(),
            source="keras" if task.source is None else str(task.source),
            analysis=analysis,
            convert_s=round(time.monotonic() - started, 3),
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        entry = cache.store(stem, data, facts)
    except Exception as exc:
        if isinstance(exc, StorageError) or (
            isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS
        ):
            # The host's trouble (a full disk, say), not the model's: say so plainly,
            # without the converter log's last line (often a tensor spec) appended.
            error = exc if isinstance(exc, StorageError) else from_os_error(exc)
            return ConvertResult(error=str(error), storage=True)
        tail = _tail(log_path).strip().splitlines()
        return ConvertResult(
            error=f"{type(exc).__name__}: {exc}",
            log=str(log_path),
            log_last_line=tail[-1] if tail else "",
        )
    return ConvertResult(facts=entry.facts)
