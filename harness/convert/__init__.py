"""Catalogue variants -> `.tflite` files, cached by recipe, and their analysis.

Importing this package does not import TensorFlow: only the worker processes
that actually convert do. See docs/convert.md.
"""

from __future__ import annotations

from harness.convert.analysis import ModelAnalysis, analyze
from harness.convert.cache import cache_dir
from harness.convert.core import (
    FILE_QUANT,
    ConvertedModel,
    cached_model,
    convert_many,
    import_model,
    recipe_for,
)
from harness.convert.tflite import QUANTS

__all__ = [
    "FILE_QUANT",
    "QUANTS",
    "ConvertedModel",
    "ModelAnalysis",
    "analyze",
    "cache_dir",
    "cached_model",
    "convert_many",
    "import_model",
    "recipe_for",
]
