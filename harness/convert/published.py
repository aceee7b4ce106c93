"""A converted model's own figures, counted the way each published table counts.

The two tables were made by different tools, so each family has its rule:

- MobileNetV2 (research/slim/nets/mobilenet/README.md): MACs = floor(MACs / 1e6)
  over CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED; parameters = conv and
  fully-connected weights without biases, in millions rounded to 0.01. All 22
  rows follow it.
- MobileNetV1 (research/slim/nets/mobilenet_v1.md): parameters are every
  variable of the slim checkpoint: the weights with a 1001-class classifier
  (background + 1000), the classifier bias, and three batch-norm variables per
  channel (beta, moving mean, moving variance) of every other layer. The file
  holds batch norm folded into the convolutions, so those are counted from the
  layers' channels. The MACs column is rounded to the nearest million in some
  rows and down in others, so a V1 row matches when it is within 1 M.

Rows of the V1 table that no counting reproduces are listed in `V1_ERRATA`
with what was found, and reported as such rather than hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.catalogue import Variant
from harness.convert.analysis import ModelAnalysis

SLIM_CLASSES = 1001  # slim checkpoints classify background + 1000 ImageNet classes
BATCH_NORM_VARIABLES = 3  # beta, moving mean, moving variance (slim: scale=False)

# V1 rows that disagree with the architecture, and why (checked on all 16).
V1_FIRST_CONV_LEFT_OUT = frozenset(
    f"mobilenet_v1_0.75_{r}" for r in (224, 192, 160, 128)
)  # published = floor((MACs - first 3x3 conv) / 1e6) on all four rows
V1_ERRATA = {
    "mobilenet_v1_0.25_192": (
        "published 34 M MACs fits no counting: the architecture has 30.2 M "
        "(0.25_224 has 41 M and 0.25_160 21 M, both as published)"
    ),
}


@dataclass(frozen=True)
class PublishedCheck:
    """Computed figures in the table's convention, and whether they match it."""

    macs_m: int
    params_m: float
    macs_ok: bool
    params_ok: bool
    note: str | None = None  # how a known quirk of the published row was handled

    @property
    def ok(self) -> bool:
        return self.macs_ok and self.params_ok


def _v2(variant: Variant, analysis: ModelAnalysis) -> PublishedCheck:
    macs_m = analysis.macs // 1_000_000
    params_m = round(analysis.weight_params / 1e6, 2)
    published = variant.published
    return PublishedCheck(
        macs_m, params_m, macs_m == published.macs_m, params_m == published.params_m
    )


def v1_checkpoint_params(analysis: ModelAnalysis) -> int:
    """Variables of the slim V1 checkpoint that this (1000-class) file corresponds to."""
    if not analysis.layers:
        return analysis.weight_params
    *body, classifier = analysis.layers
    extra_classes = SLIM_CLASSES - classifier.out_channels
    return (
        analysis.weight_params
        + extra_classes * classifier.in_channels
        + SLIM_CLASSES  # classifier bias
        + BATCH_NORM_VARIABLES * sum(layer.out_channels for layer in body)
    )


def _v1(variant: Variant, analysis: ModelAnalysis) -> PublishedCheck:
    published = variant.published
    params_m = round(v1_checkpoint_params(analysis) / 1e6, 2)
    params_ok = params_m == published.params_m
    if variant.id in V1_FIRST_CONV_LEFT_OUT and analysis.layers:
        macs_m = (analysis.macs - analysis.layers[0].macs) // 1_000_000
        note = "published MACs leave out the first convolution; compared likewise"
        return PublishedCheck(macs_m, params_m, macs_m == published.macs_m, params_ok, note)
    macs_m = round(analysis.macs / 1e6)
    macs_ok = abs(analysis.macs / 1e6 - published.macs_m) < 1.0
    return PublishedCheck(macs_m, params_m, macs_ok, params_ok, V1_ERRATA.get(variant.id))


def check(variant: Variant, analysis: ModelAnalysis) -> PublishedCheck:
    """Compare a model's analysis with its variant's published row."""
    return _v1(variant, analysis) if variant.family == "v1" else _v2(variant, analysis)
