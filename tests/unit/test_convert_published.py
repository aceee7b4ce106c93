"""harness.convert.published: each family's counting rule, on hand-built analyses.

The real models are checked in test_convert_models.py (a subset) and by
`benchmarks/bench_convert.py --check-all` (all 38).
"""

from __future__ import annotations

from harness import catalogue
from harness.convert.analysis import MacLayer, ModelAnalysis
from harness.convert.published import check, v1_checkpoint_params


def analysis(macs: int, weight_params: int, layers: list[MacLayer] | None = None) -> ModelAnalysis:
    return ModelAnalysis(
        macs=macs,
        weight_params=weight_params,
        bias_params=0,
        ops={},
        input_shape=[1, 224, 224, 3],
        input_dtype="float32",
        output_shape=[1, 1000],
        output_dtype="float32",
        size_bytes=0,
        layers=layers or [],
    )


def test_v2_floors_macs_and_rounds_weights() -> None:
    variant = catalogue.get("mobilenet_v2_0.35_96")  # published 11 M MACs, 1.66 M params
    result = check(variant, analysis(11_934_128, 1_662_048))
    assert (result.macs_m, result.params_m, result.ok) == (11, 1.66, True)
    assert not check(variant, analysis(12_000_000, 1_662_048)).macs_ok  # 12, not 11
    assert not check(variant, analysis(10_999_999, 1_662_048)).macs_ok
    assert not check(variant, analysis(11_934_128, 1_654_000)).params_ok  # 1.65 after rounding


def test_v1_params_are_the_checkpoint_variables() -> None:
    # Two body layers of 8 channels, a 1x1 classifier 8 -> 1000.
    layers = [
        MacLayer("CONV_2D", 0, 216, 3, 8),
        MacLayer("DEPTHWISE_CONV_2D", 0, 72, 8, 8),
        MacLayer("CONV_2D", 0, 8000, 8, 1000),
    ]
    weights = 216 + 72 + 8000
    # + one more class row (1001 classes) + classifier bias + 3 batch-norm variables x 16
    expected = weights + 8 + 1001 + 3 * 16
    assert v1_checkpoint_params(analysis(0, weights, layers)) == expected


def test_v1_macs_match_within_one_million() -> None:
    variant = catalogue.get("mobilenet_v1_0.25_128")  # published 14
    layers = [MacLayer("CONV_2D", 1, 1, 3, 8)]
    assert check(variant, analysis(13_570_048, 0, layers)).macs_ok
    assert check(variant, analysis(14_900_000, 0, layers)).macs_ok
    assert not check(variant, analysis(12_900_000, 0, layers)).macs_ok


def test_v1_075_rows_leave_out_the_first_convolution() -> None:
    variant = catalogue.get("mobilenet_v1_0.75_224")  # published 317
    first = 112 * 112 * (3 * 3 * 3) * 24  # the stride-2 3x3 conv to 24 channels
    layers = [MacLayer("CONV_2D", first, 648, 3, 24), MacLayer("CONV_2D", 0, 768_000, 768, 1000)]
    result = check(variant, analysis(325_400_448, 0, layers))
    assert result.macs_ok and result.macs_m == 317
    assert result.note is not None and "first convolution" in result.note
    assert not check(variant, analysis(330_000_000, 0, layers)).macs_ok


def test_unreproducible_v1_row_is_reported_not_hidden() -> None:
    variant = catalogue.get("mobilenet_v1_0.25_192")  # published 34
    layers = [MacLayer("CONV_2D", 1, 1, 3, 8)]
    result = check(variant, analysis(30_212_608, 0, layers))
    assert not result.ok
    assert result.note is not None and "34" in result.note
