"""The trial order of an A/B run: each configuration's arms alternate in mirrored blocks.

ABBA, BAAB, ... blocks keep every trial of one arm next to one of the other on
the same phone, so drift in the phone's state hits both arms alike; the blocks
of all configurations are shuffled into rounds with the run's seed, as
`build_plan` shuffles configurations (docs/run.md "A/B runs").
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from harness.bench.plan import Plan, TrialSpec, build_plan
from harness.results.meta import ArmSpec
from harness.vocab import Config


def _blocks(arms: Sequence[str], trials: int, forward_first: bool) -> list[list[tuple[str, int]]]:
    """One configuration's blocks: ABBA, BAAB, ... (each arm's trials numbered in order).

    A block holds each arm twice, mirrored, so every trial of one arm sits next
    to one of the other; an odd `trials` ends with a half block (AB or BA).
    """
    out = []
    count = dict.fromkeys(arms, 0)
    for j in range(math.ceil(trials / 2)):
        order = list(arms) if (j % 2 == 0) == forward_first else list(reversed(arms))
        half = 2 * j + 1 == trials
        block = []
        for arm in order + ([] if half else list(reversed(order))):
            block.append((arm, count[arm]))
            count[arm] += 1
        out.append(block)
    return out


def build_arm_plan(
    serials: Sequence[str],
    configs: Sequence[Config],
    arms: Sequence[str],
    *,
    trials: int,
    seed: int,
) -> Plan:
    """`trials` trials per arm of every configuration, in blocks shuffled into rounds.

    Round j holds block j of every configuration in a seeded random order (as
    `build_plan` shuffles configurations), so drift is spread over configurations
    and, within a block, hits both arms alike. Every device gets the same order.
    """
    base = build_plan(serials, configs, trials=trials, seed=seed)  # same input checks
    unique = list(dict.fromkeys(configs))
    rng = random.Random(seed)
    per_config = {c: _blocks(arms, trials, rng.random() < 0.5) for c in unique}
    sequence: list[tuple[Config, str, int]] = []
    for j in range(math.ceil(trials / 2)):
        order = unique[:]
        rng.shuffle(order)
        for c in order:
            sequence.extend((c, arm, i) for arm, i in per_config[c][j])
    specs = tuple(
        TrialSpec(serial=d, config=c, trial_index=i, order_index=pos, arm=arm)
        for d in serials
        for pos, (c, arm, i) in enumerate(sequence)
    )
    return Plan(seed=base.seed, trials=specs)


def plan_for(
    serials: Sequence[str],
    configs: Sequence[Config],
    arms: Sequence[ArmSpec],
    *,
    trials: int,
    seed: int,
) -> Plan:
    """The run's plan: interleaved arms in an A/B run, else exactly `build_plan`'s."""
    if not arms:
        return build_plan(serials, configs, trials=trials, seed=seed)
    return build_arm_plan(serials, configs, [a["label"] for a in arms], trials=trials, seed=seed)
