"""Keras model -> TFLite flatbuffer with the TF converter, one quantization each.

The settings of each quantization are plain data (`QUANT_SETTINGS`) so that
they enter the cache key without importing TensorFlow; `to_tflite` turns them
into converter attributes.

- fp32: the float model as is.
- int8: full-integer quantization calibrated on a seeded representative
  dataset, int8 inputs and outputs (what an integer-only accelerator needs).
- dynamic: dynamic-range quantization (int8 weights, float activations).
- fp16: float16 weights, float computation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

QUANTS = ("fp32", "int8", "dynamic", "fp16")

# The representative dataset: uniform noise in the [-1, 1] range that
# MobileNet's preprocessing produces. Calibration only sets activation ranges,
# and latency does not depend on them; a fixed seed keeps the bytes (and the
# cache key) reproducible.
REPRESENTATIVE_SAMPLES = 8
REPRESENTATIVE_SEED = 20180113  # MobileNetV2 arXiv submission date

QUANT_SETTINGS: dict[str, dict[str, Any]] = {
    "fp32": {},
    "int8": {
        "optimizations": ["DEFAULT"],
        "supported_ops": ["TFLITE_BUILTINS_INT8"],
        "inference_input_type": "int8",
        "inference_output_type": "int8",
        "representative": {
            "samples": REPRESENTATIVE_SAMPLES,
            "seed": REPRESENTATIVE_SEED,
            "low": -1.0,
            "high": 1.0,
        },
    },
    "dynamic": {"optimizations": ["DEFAULT"]},
    "fp16": {"optimizations": ["DEFAULT"], "supported_types": ["float16"]},
}


def _representative(resolution: int, spec: dict[str, Any]) -> Iterator[list[Any]]:
    # numpy is heavy: only the int8 calibration samples of a conversion need it.
    import numpy as np

    rng = np.random.default_rng(int(spec["seed"]))
    for _ in range(int(spec["samples"])):
        sample = rng.uniform(spec["low"], spec["high"], size=(1, resolution, resolution, 3))
        yield [sample.astype(np.float32)]


def to_tflite(model: Any, resolution: int, settings: dict[str, Any]) -> bytes:
    """Convert a Keras model with the given `QUANT_SETTINGS` entry."""
    import tensorflow as tf  # lazily: only conversions pay for TensorFlow

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if "optimizations" in settings:
        converter.optimizations = [getattr(tf.lite.Optimize, o) for o in settings["optimizations"]]
    if "supported_ops" in settings:
        converter.target_spec.supported_ops = [
            getattr(tf.lite.OpsSet, o) for o in settings["supported_ops"]
        ]
    if "supported_types" in settings:
        converter.target_spec.supported_types = [
            getattr(tf, t) for t in settings["supported_types"]
        ]
    if "inference_input_type" in settings:
        converter.inference_input_type = getattr(tf, settings["inference_input_type"])
    if "inference_output_type" in settings:
        converter.inference_output_type = getattr(tf, settings["inference_output_type"])
    if "representative" in settings:
        spec = settings["representative"]
        converter.representative_dataset = lambda: _representative(resolution, spec)
    data: bytes = converter.convert()
    return data
