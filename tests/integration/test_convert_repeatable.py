"""A recipe converts to the same `.tflite` bytes every time (seeded random weights).

The sha256 of a model file names it on the phone and in every record, so two
lab hosts (or a fresh CI machine and a warm cache) converting one recipe with
the same TensorFlow must produce one file, not two with different weights.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from harness.catalogue import get
from harness.convert.core import convert_many

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_conversions_of_one_recipe_are_the_same_file(tmp_path: Path) -> None:
    digests = []
    for host in ("one", "two"):
        (model,) = convert_many(
            [get("mobilenet_v2_0.35_96")], cache_root=tmp_path / host, progress=False
        )
        digests.append(hashlib.sha256(Path(model.path).read_bytes()).hexdigest())
    assert digests[0] == digests[1]
