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

from collections.abc import Iterator
from dataclasses import dataclass, field
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


def _representative(resolution: int, spec: Representative) -> Iterator[list[Any]]:
    # numpy is heavy: only the int8 calibration samples of a conversion need it.
    import numpy as np

    rng = np.random.default_rng(spec.seed)
    for _ in range(spec.samples):
        sample = rng.uniform(spec.low, spec.high, size=(1, resolution, resolution, 3))
        yield [sample.astype(np.float32)]


def to_tflite(model: Any, resolution: int, settings: ConverterSettings) -> bytes:
    """Convert a Keras model with the given `QUANT_SETTINGS` entry."""
    import tensorflow as tf  # lazily: only conversions pay for TensorFlow

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
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
        converter.representative_dataset = lambda: _representative(resolution, spec)
    data: bytes = converter.convert()
    return data
