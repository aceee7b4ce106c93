"""The report's configuration order: `harness.catalogue.order`, plus the key of a table row."""

from __future__ import annotations

from harness.catalogue.order import (
    QUANT_ORDER,
    SizeKey,
    depth_multiplier,
    quant_rank,
    size_key,
    variant_size_key,
)
from harness.report.model import VariantRow

__all__ = [
    "QUANT_ORDER",
    "SizeKey",
    "depth_multiplier",
    "quant_rank",
    "row_size_key",
    "size_key",
    "variant_size_key",
]


def row_size_key(r: VariantRow) -> SizeKey:
    """`size_key` of a table row (its config breaks ties between setups)."""
    return size_key(r.depth_multiplier, r.resolution, r.family, r.quant, r.variant, r.config)
