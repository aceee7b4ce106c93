"""Keras model -> TFLite flatbuffer with the TF converter, one quantization each.

The settings of each quantization are plain records (`QUANT_SETTINGS`,
`ConverterSettings`) so that they enter the cache key without importing
TensorFlow; `to_tflite` turns them into converter attributes.

- fp32: the float model as is.
- int8: full-integer quantization calibrated on a seeded representative
  dataset, int8 inputs and outputs (what an integer-only accelerator needs).
- dynamic: dynamic-range quantization (int8 weights, float activations).
- fp16: float16 weights, float computation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.stored import OPTIONAL, Stored

QUANTS = ("fp32", "int8", "dynamic", "fp16")

# The representative dataset: uniform noise in the [-1, 1] range that
# MobileNet's preprocessing produces. Calibration only sets activation ranges,
# and latency does not depend on them; a fixed seed keeps the bytes (and the
# cache key) reproducible.
REPRESENTATIVE_SAMPLES = 8
REPRESENTATIVE_SEED = 20180113  # MobileNetV2 arXiv submission date


@dataclass(frozen=True)
class Representative(Stored):
    """The calibration inputs of a full-integer conversion: seeded uniform noise."""

    samples: int
    seed: int
    low: float
    high: float


@dataclass(frozen=True)
class ConverterSettings(Stored):
    """One quantization's converter attributes, by TensorFlow's names (`DEFAULT`, `int8`).

    A setting left at its default is not set on the converter and not part of the
    recipe's stored form (so the cache keys of existing models stay what they were).
    """

    optimizations: tuple[str, ...] = field(default=(), metadata=OPTIONAL)  # tf.lite.Optimize
    supported_ops: tuple[str, ...] = field(default=(), metadata=OPTIONAL)  # tf.lite.OpsSet
    supported_types: tuple[str, ...] = field(default=(), metadata=OPTIONAL)  # tf dtypes
    inference_input_type: str | None = field(default=None, metadata=OPTIONAL)
    inference_output_type: str | None = field(default=None, metadata=OPTIONAL)
    representative: Representative | None = field(default=None, metadata=OPTIONAL)


QUANT_SETTINGS: dict[str, ConverterSettings] = {
    "fp32": ConverterSettings(),
    "int8": ConverterSettings(
        optimizations=("DEFAULT",),
        supported_ops=("TFLITE_BUILTINS_INT8",),
        inference_input_type="int8",
        inference_output_type="int8",
        representative=Representative(
            samples=REPRESENTATIVE_SAMPLES, seed=REPRESENTATIVE_SEED, low=-1.0, high=1.0
        ),
    ),
    "dynamic": ConverterSettings(optimizations=("DEFAULT",)),
    "fp16": ConverterSettings(optimizations=("DEFAULT",), supported_types=("float16",)),
}


def _representative(shapes: Sequence[tuple[int, ...]], spec: Representative) -> Iterator[list[Any]]:
    """`spec.samples` calibration samples, each one array per input (in `shapes`' order)."""
    # numpy is heavy: only the int8 calibration samples of a conversion need it.
    import numpy as np

    rng = np.random.default_rng(spec.seed)
    for _ in range(spec.samples):
        yield [rng.uniform(spec.low, spec.high, size=s).astype(np.float32) for s in shapes]


def _batch_of_one(shape: Sequence[int | None]) -> tuple[int, ...]:
    """An input's shape with its unknown (batch) dimensions set to 1."""
    return tuple(1 if d is None or d < 0 else int(d) for d in shape)


def _apply(
    converter: Any, settings: ConverterSettings, samples: Callable[[Representative], Iterator[Any]]
) -> bytes:
    """Set a `QUANT_SETTINGS` entry on a TF converter and convert (`samples` calibrates)."""
    import tensorflow as tf  # lazily: only conversions pay for TensorFlow

    if settings.optimizations:
        converter.optimizations = [getattr(tf.lite.Optimize, o) for o in settings.optimizations]
    if settings.supported_ops:
        converter.target_spec.supported_ops = [
            getattr(tf.lite.OpsSet, o) for o in settings.supported_ops
        ]
    if settings.supported_types:
        converter.target_spec.supported_types = [getattr(tf, t) for t in settings.supported_types]
    if settings.inference_input_type is not None:
        converter.inference_input_type = getattr(tf, settings.inference_input_type)
    if settings.inference_output_type is not None:
        converter.inference_output_type = getattr(tf, settings.inference_output_type)
    spec = settings.representative
    if spec is not None:
        converter.representative_dataset = lambda: samples(spec)
    data: bytes = converter.convert()
    return data


def to_tflite(model: Any, settings: ConverterSettings) -> bytes:
    """Convert a Keras model with the given `QUANT_SETTINGS` entry.

    Calibration samples take the model's input shapes, batch 1 (a catalogue
    variant's is (1, resolution, resolution, 3)).
    """
    import tensorflow as tf

    shapes = [_batch_of_one(tuple(t.shape)) for t in model.inputs]
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return _apply(converter, settings, lambda spec: _representative(shapes, spec))


def saved_model_to_tflite(folder: Path, settings: ConverterSettings) -> bytes:
    """Convert a SavedModel's serving signature with the given `QUANT_SETTINGS` entry.

    Its calibration samples are keyed by the signature's input names.
    """
    import tensorflow as tf

    signature = tf.saved_model.load(str(folder)).signatures["serving_default"]
    specs = signature.structured_input_signature[1]
    names = sorted(specs)
    shapes = [_batch_of_one(specs[n].shape.as_list()) for n in names]

    def samples(spec: Representative) -> Iterator[dict[str, object]]:
        for arrays in _representative(shapes, spec):
            yield dict(zip(names, arrays, strict=True))

    converter = tf.lite.TFLiteConverter.from_saved_model(str(folder))
    return _apply(converter, settings, samples)
