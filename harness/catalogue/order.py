"""One order for configurations everywhere (CLI tables, `check`, `trend`, the report): by size.

Depth multiplier, then input resolution, both descending, as the published
MobileNet tables list them; then family, quantization and setup so that the
order is total. Sorting names as text would put `1.0_96` after `1.0_224`.
"""

from __future__ import annotations

from harness import catalogue
from harness.errors import UnknownVariantError

QUANT_ORDER = ("fp32", "fp16", "dynamic", "int8")
SizeKey = tuple[float, int, bool, str, int, str, str]


def quant_rank(quant: str) -> int:
    """fp32 first, then the smaller formats; unknown ones last."""
    return QUANT_ORDER.index(quant) if quant in QUANT_ORDER else len(QUANT_ORDER)


def size_key(
    depth_multiplier: float, resolution: int, family: str, quant: str, name: str, rest: str = ""
) -> SizeKey:
    """Sort key: largest model first. A model of unknown size (0, 0) goes last."""
    # MobileNetV2 (the subject) before a V1 of the same size.
    return (-depth_multiplier, -resolution, family != "v2", family, quant_rank(quant), name, rest)


def depth_multiplier(variant: str) -> float:
    """A catalogue variant's depth multiplier; 0 for a user's own model."""
    try:
        return catalogue.get(variant).depth_multiplier
    except UnknownVariantError:
        return 0.0


def variant_size_key(variant: str, quant: str = "", rest: str = "") -> SizeKey:
    """`size_key` of a catalogue variant id; a user's own model sorts last, by name."""
    try:
        v = catalogue.get(variant)
    except UnknownVariantError:
        return size_key(0.0, 0, "", quant, variant, rest)
    return size_key(v.depth_multiplier, v.resolution, v.family, quant, variant, rest)


def config_size_key(variant: str, quant: str, threads: int, cores: str, xnnpack: str) -> SizeKey:
    """`variant_size_key` of a whole configuration: setups of one model by thread count."""
    return variant_size_key(variant, quant, f"{threads:04d}|{cores}|{xnnpack}")
