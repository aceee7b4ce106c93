"""Regenerate the tiny `.tflite` fixtures of tests/unit/test_analysis*.py.

Run with TensorFlow installed: `python tests/data/convert/make_fixtures.py`.
The model is small enough to count by hand (see test_analysis.py):
8x8x3 input -> Conv2D(4, 3x3, same) -> DepthwiseConv2D(3x3, same)
-> GlobalAveragePooling2D -> Dense(10) -> softmax.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

HERE = Path(__file__).parent


def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3), batch_size=1)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def main() -> None:
    model = tiny_model()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    (HERE / "tiny_fp32.tflite").write_bytes(converter.convert())

    def representative():  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(0)
        for _ in range(4):
            yield [rng.uniform(-1, 1, (1, 8, 8, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    (HERE / "tiny_int8.tflite").write_bytes(converter.convert())


if __name__ == "__main__":
    main()
