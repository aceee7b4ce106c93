"""The trial plan: cross product, rounds, seeded shuffle, stable ids, resume."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from harness.bench.plan import (
    PlanError,
    build_plan,
    configurations,
    xnnpack_settings,
)

VARIANTS = ["mobilenet_v2_0.35_96", "mobilenet_v2_0.35_128", "mobilenet_v2_0.5_96"]


def _plan(seed: int = 7, trials: int = 3, devices: tuple[str, ...] = ("A",)):  # type: ignore[no-untyped-def]
    configs = configurations(VARIANTS, ["fp32"], ["default"], [1], ["big"])
    return build_plan(list(devices), configs, trials=trials, seed=seed)


def test_configurations_are_the_cross_product() -> None:
    configs = configurations(VARIANTS, ["fp32", "int8"], ["off", "on"], [1, 2], ["big"])
    assert len(configs) == 3 * 2 * 2 * 2
    assert len({c.key for c in configs}) == len(configs)
    assert configs[0].key == f"{VARIANTS[0]}|fp32|t1|big|xnnpack=off"


def test_every_config_gets_each_trial_index_once() -> None:
    plan = _plan(trials=4)
    counts = Counter((t.config.key, t.trial_index) for t in plan.trials)
    assert len(counts) == 3 * 4
    assert set(counts.values()) == {1}
    assert [t.order_index for t in plan.trials] == list(range(12))


def test_rounds_interleave_variants() -> None:
    plan = _plan(trials=5)
    # Every round of 3 holds all three variants: no variant runs its trials in a block.
    for r in range(5):
        chunk = plan.trials[r * 3 : (r + 1) * 3]
        assert {t.config.variant for t in chunk} == set(VARIANTS)
        assert {t.trial_index for t in chunk} == {r}
    # ...and no variant runs twice in a row across a round boundary.
    seq = [t.config.variant for t in plan.trials]
    assert all(a != b for a, b in itertools.pairwise(seq))


def test_same_seed_same_order_other_seed_other_order() -> None:
    assert _plan(seed=11).order == _plan(seed=11).order
    orders = {tuple(_plan(seed=s, trials=4).order) for s in range(20)}
    assert len(orders) > 1  # the seed really shuffles


def test_trial_ids_are_stable_and_unique() -> None:
    plan = _plan(devices=("127.0.0.1:40001", "serialB"))
    ids = plan.order
    assert len(ids) == len(set(ids)) == 2 * 9
    first = plan.for_device("127.0.0.1:40001")[0]
    assert first.trial_id == f"127.0.0.1:40001|{first.config.key}|{first.trial_index}"
    assert plan.serials == ["127.0.0.1:40001", "serialB"]
    # Each device runs the same interleaved sequence of configurations.
    a = [(t.config, t.trial_index) for t in plan.for_device("127.0.0.1:40001")]
    b = [(t.config, t.trial_index) for t in plan.for_device("serialB")]
    assert a == b


def test_remaining_skips_completed_ids() -> None:
    plan = _plan()
    done = plan.order[:4]
    rest = plan.remaining(done)
    assert [t.trial_id for t in rest] == plan.order[4:]
    assert plan.remaining(plan.order) == []


def test_xnnpack_expansion() -> None:
    assert xnnpack_settings("both") == ("off", "on")
    assert xnnpack_settings("default") == ("default",)
    with pytest.raises(PlanError, match="--xnnpack"):
        xnnpack_settings("maybe")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trials": 0}, "--trials"),
        ({"devices": []}, "no devices"),
        ({"devices": ["A", "A"]}, "twice"),
    ],
)
def test_bad_plans_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"devices": ["A"], "trials": 2}
    args.update(kwargs)
    configs = configurations(VARIANTS, ["fp32"], ["default"], [1], ["big"])
    with pytest.raises(PlanError, match=message):
        build_plan(args["devices"], configs, trials=args["trials"], seed=1)  # type: ignore[arg-type]


def test_empty_axis_and_bad_threads_are_refused() -> None:
    with pytest.raises(PlanError, match="no quants"):
        configurations(VARIANTS, [], ["default"], [1], ["big"])
    with pytest.raises(PlanError, match="threads"):
        configurations(VARIANTS, ["fp32"], ["default"], [0], ["big"])
