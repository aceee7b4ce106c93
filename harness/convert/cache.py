"""The content-addressed model cache: a recipe's hash names its `.tflite`.

A recipe is everything that decides the bytes of a converted model: family,
depth multiplier, resolution, quantization, classes, local weights (by hash) or
the user's own Keras model (by hash),
the converter settings, and the TensorFlow and Keras versions. Its sha256 is the
cache key, so a second run finds its models by computing keys only, without
importing TensorFlow (versions come from the installed packages' metadata).

Every file is written atomically (temporary file, fsync, rename) and the entry's
`.json` is written last: an entry counts only when its `.json` exists and the
`.tflite` beside it has the size the `.json` records, so an interrupted
conversion leaves nothing a later run would trust.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from harness import inputs
from harness.convert.analysis import ModelAnalysis
from harness.convert.tflite import ConverterSettings
from harness.errors import InputFileError, StorageError
from harness.outputs import write_atomic
from harness.stored import OPTIONAL, Stored

# Bump when harness code changes what a recipe produces (invalidates old entries).
# 2: random weights are seeded (harness.convert.build.WEIGHTS_SEED); a format-1
# entry holds weights no other host can reproduce.
RECIPE_FORMAT = 2
MODELS_SUBDIR = "models"
LOCK_NAME = ".store.lock"  # hidden, like the temporary files; stores take it in turn


def cache_dir() -> Path:
    """`$HARNESS_CACHE_DIR`, else `~/.cache/harness` (not created here)."""
    preset = os.environ.get("HARNESS_CACHE_DIR")
    return Path(preset).expanduser() if preset else Path.home() / ".cache" / "harness"


def _dist_version(*names: str) -> str:
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(name)
    return "absent"


@lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    """Installed TensorFlow and Keras versions, read without importing them."""
    return {
        "tensorflow": _dist_version("tensorflow", "tensorflow-cpu", "tf-nightly"),
        "keras": _dist_version("keras"),
    }


@dataclass(frozen=True)
class Recipe(Stored):
    """What to build: the inputs that decide a converted model's bytes.

    An imported file's entry stores a recipe of its variant and quant only; a
    user's Keras model's has its label as `variant`, family `own` and the hash of
    the model it was converted from.
    """

    variant: str
    family: str
    depth_multiplier: float
    resolution: int
    quant: str
    classes: int = 1000
    weights_sha256: str | None = None  # local Keras weights; None = random init
    settings: ConverterSettings = field(default_factory=ConverterSettings)
    # A user's Keras model or SavedModel (harness.convert.own): its content's hash.
    source_sha256: str | None = field(default=None, metadata=OPTIONAL)

    def key(self) -> str:
        """sha256 over the recipe, the tool versions and the recipe format."""
        blob = json.dumps(
            {"recipe": self.to_dict(), "tools": tool_versions(), "format": RECIPE_FORMAT},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def stem(self) -> str:
        """Readable file name stem: id, quant and the first 16 hex digits of the key."""
        return f"{self.variant}-{self.quant}-{self.key()[:16]}"


@dataclass(frozen=True)
class EntryFacts(Stored):
    """A cache entry's `.json`, written after its model (the entry's commit mark):
    what was built, from what, and the bytes it made."""

    recipe: Recipe
    analysis: ModelAnalysis | None  # what `harness inspect` reads from the model
    source: str = "keras"  # "keras", or where an imported file came from
    tools: Mapping[str, str] = field(default_factory=dict)  # tool_versions() when built
    key: str | None = field(default=None, metadata=OPTIONAL)  # the recipe's key
    convert_s: float | None = field(default=None, metadata=OPTIONAL)  # conversion time
    created_at: str | None = None
    sha256: str = ""  # of the model file (set by `ModelCache.store`)
    size_bytes: int = 0


@dataclass(frozen=True)
class CacheEntry:
    """A trusted model in the cache and the facts stored beside it."""

    path: Path
    facts: EntryFacts


def _model_sha256(path: Path) -> str | None:
    try:
        return inputs.sha256_file(path, limit=inputs.MODEL_BYTES, what="a model")
    except (OSError, InputFileError):
        return None


class ModelCache:
    """The models folder of one cache directory."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root if root is not None else cache_dir()) / MODELS_SUBDIR

    def paths(self, stem: str) -> tuple[Path, Path]:
        """(model path, metadata path) for an entry stem."""
        return self.root / f"{stem}.tflite", self.root / f"{stem}.json"

    def lookup(self, stem: str, *, verify_hash: bool = False) -> CacheEntry | None:
        """The entry if complete and consistent, else None (it will be rebuilt)."""
        model, meta_path = self.paths(stem)
        try:
            raw = inputs.read_json(meta_path, limit=inputs.SETTINGS_BYTES, what="a cache entry")
            found = model.stat()
        except (OSError, InputFileError):
            return None
        if not stat.S_ISREG(found.st_mode) or not isinstance(raw, dict):
            return None
        facts = EntryFacts.from_dict(raw)
        if not facts.has("size_bytes") or facts.size_bytes != found.st_size:
            return None
        if verify_hash and facts.sha256 != _model_sha256(model):
            return None
        return CacheEntry(model, facts)

    def store(self, stem: str, data: bytes, facts: EntryFacts) -> CacheEntry:
        """Write the model, then its facts (the entry's commit mark).

        A complete entry already there wins: another process (a second run on
        this cache) converted the same recipe first, and may be using its file.
        Overwriting it would hand that process other bytes than the sha256 it
        holds (random weights make each conversion's bytes differ). The check
        and the writes happen under the cache's lock, one process at a time.
        """
        model, meta_path = self.paths(stem)
        facts = facts.replace(sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
        try:
            with self._locked():
                found = self.lookup(stem)
                if found is not None:
                    return found
                # Drop a stale commit mark first, so a crash between the two writes
                # cannot pair an old .json with a new .tflite of the same size.
                with contextlib.suppress(FileNotFoundError):
                    meta_path.unlink()
                write_atomic(model, data)
                text = json.dumps(facts.to_dict(), indent=1, sort_keys=True)
                write_atomic(meta_path, text.encode("utf-8"))
        except OSError as exc:  # a full or read-only disk: the host's trouble (exit 3)
            raise StorageError(
                f"cannot store a model in the cache: {exc.strerror or exc}", path=str(self.root)
            ) from None
        return CacheEntry(model, facts)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the cache's write lock (an flock on a hidden file, freed if the holder dies)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def check_writable(self) -> None:
        """Refuse (StorageError, exit 3) a cache folder that cannot take files, before any work."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe.", dir=self.root)
            try:  # one byte takes a block: an empty file would fit on a full disk
                os.write(fd, b"\0")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            raise StorageError(
                f"the model cache cannot take files: {exc.strerror or exc}", path=str(self.root)
            ) from None
