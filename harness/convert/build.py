"""Build the Keras model of one catalogue variant (imports TensorFlow/Keras).

`keras.applications.MobileNetV2` and `MobileNet` (V1) with the variant's depth
multiplier (`alpha`) and a square input; random weights unless the user gives a
local weights file, since latency and cost do not depend on the weight values.
The random weights are seeded, so one recipe converts to the same file on every
host with the same TensorFlow (its sha256 names the model on the phone and in
the records).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import ModelError

_BUILDERS = {"v1": "MobileNet", "v2": "MobileNetV2"}
WEIGHTS_SEED = 0  # the random weights' seed, set before each build


def build_keras_model(
    family: str,
    depth_multiplier: float,
    resolution: int,
    *,
    classes: int = 1000,
    weights: Path | None = None,
) -> Any:
    """The Keras model for a variant, with `weights` loaded when given."""
    import keras  # lazily: only conversions pay for TensorFlow

    try:
        builder = getattr(keras.applications, _BUILDERS[family])
    except KeyError:
        raise ValueError(f"unknown family {family!r}") from None
    # Python's, NumPy's and the backend's generators: this runs in a conversion
    # worker process (harness.convert.worker), so nothing else draws from them.
    keras.utils.set_random_seed(WEIGHTS_SEED)
    model = builder(
        alpha=depth_multiplier,
        input_shape=(resolution, resolution, 3),
        weights=None,
        classes=classes,
        include_top=True,
    )
    if weights is not None:
        try:
            model.load_weights(str(weights))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot load these weights into {_BUILDERS[family]}"
                f"(alpha={depth_multiplier}, {resolution}x{resolution}): {exc}",
                path=str(weights),
            ) from None
    return model
