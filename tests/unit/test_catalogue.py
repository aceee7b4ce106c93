"""harness.catalogue: the 38 variants, their published figures, and selections."""

from __future__ import annotations

import pytest

from harness import catalogue
from harness.errors import UnknownVariantError


def ids(variants: list[catalogue.Variant]) -> list[str]:
    return [v.id for v in variants]


def test_families_have_the_published_sizes() -> None:
    everything = catalogue.all_variants()
    assert len(everything) == 38
    assert sum(v.family == "v2" for v in everything) == 22
    assert sum(v.family == "v1" for v in everything) == 16
    assert len({v.id for v in everything}) == 38


def test_ids_follow_the_checkpoint_names() -> None:
    for variant in catalogue.all_variants():
        assert variant.id == (
            f"mobilenet_{variant.family}_{variant.depth_multiplier!r}_{variant.resolution}"
        )
        assert variant.checkpoint_url is not None
        assert variant.checkpoint_url.endswith(f"/{variant.id}.tgz")


@pytest.mark.parametrize(
    ("variant_id", "macs_m", "params_m", "top1", "top5", "pixel1_ms"),
    [
        # Rows of the published tables (tensorflow/models research/slim/nets/...).
        ("mobilenet_v2_1.4_224", 582, 6.06, 75.0, 92.5, 138.0),
        ("mobilenet_v2_1.0_224", 300, 3.47, 71.8, 91.0, 73.8),
        ("mobilenet_v2_0.35_96", 11, 1.66, 45.5, 70.4, 4.5),
        ("mobilenet_v1_1.0_224", 569, 4.24, 70.9, 89.9, None),
        ("mobilenet_v1_0.25_128", 14, 0.47, 41.5, 66.3, None),
    ],
)
def test_published_figures(
    variant_id: str,
    macs_m: int,
    params_m: float,
    top1: float,
    top5: float,
    pixel1_ms: float | None,
) -> None:
    published = catalogue.get(variant_id).published
    assert (published.macs_m, published.params_m, published.top1, published.top5) == (
        macs_m,
        params_m,
        top1,
        top5,
    )
    assert published.pixel1_ms == pixel1_ms


def test_every_v2_variant_has_a_latency_and_no_v1_does() -> None:
    for variant in catalogue.all_variants():
        assert (variant.published.pixel1_ms is not None) == (variant.family == "v2")


def test_select_all_and_default() -> None:
    assert len(catalogue.select("all")) == 38
    assert ids(catalogue.select()) == ids(catalogue.select("v2:*"))
    assert len(catalogue.select()) == 22


def test_comma_list_keeps_catalogue_order_without_duplicates() -> None:
    chosen = catalogue.select("mobilenet_v2_0.5_96, mobilenet_v2_1.4_224,mobilenet_v2_1.4_224")
    assert ids(chosen) == ["mobilenet_v2_1.4_224", "mobilenet_v2_0.5_96"]


def test_globs_and_short_forms() -> None:
    half = catalogue.select("mobilenet_v2_0.5_*")
    assert ids(half) == [f"mobilenet_v2_0.5_{r}" for r in (224, 192, 160, 128, 96)]
    assert ids(catalogue.select("v2:0.5_*")) == ids(half)
    assert ids(catalogue.select("v1:0.25_128")) == ["mobilenet_v1_0.25_128"]
    assert len(catalogue.select("v1:")) == 16
    assert len(catalogue.select("*_224")) == 6 + 4


def test_filters() -> None:
    assert len(catalogue.select("all", family="v1")) == 16
    assert ids(catalogue.select("all", family="v2", depth_multipliers=[1.4, 1.3])) == [
        "mobilenet_v2_1.4_224",
        "mobilenet_v2_1.3_224",
    ]
    assert {v.resolution for v in catalogue.select("all", resolutions=[96, 128])} == {96, 128}
    assert len(catalogue.select("v2:*", depth_multipliers=[0.35], resolutions=[96])) == 1


def test_unknown_variant_lists_close_matches() -> None:
    with pytest.raises(UnknownVariantError) as info:
        catalogue.select("mobilenet_v2_1.0_225")
    assert "mobilenet_v2_1.0_224" in info.value.suggestions
    assert "did you mean" in str(info.value)


def test_one_bad_term_fails_the_whole_selection() -> None:
    with pytest.raises(UnknownVariantError, match="v3"):
        catalogue.select("v2:1.0_224,v3:1.0_224")


def test_unknown_family_filter() -> None:
    with pytest.raises(UnknownVariantError):
        catalogue.select("all", family="v3")


def test_get_accepts_short_form_and_refuses_globs() -> None:
    assert catalogue.get("v2:1.0_224").id == "mobilenet_v2_1.0_224"
    with pytest.raises(UnknownVariantError):
        catalogue.get("v2:1.0_*")


def test_to_dict_has_the_cli_contract_keys() -> None:
    data = catalogue.get("mobilenet_v2_1.0_224").to_dict()
    assert {"id", "family", "depth_multiplier", "resolution", "published"} <= data.keys()
    assert set(data["published"]) == {"macs_m", "params_m", "top1", "top5", "pixel1_ms"}
