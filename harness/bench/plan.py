"""The trial plan: which benchmark processes a run starts, and in what order.

A configuration is one (variant, quant, threads, cores, xnnpack, compute unit)
on one device; each gets `trials` separate benchmark_model processes. The order is built in
rounds: every round holds one trial of every configuration, shuffled with a
seeded RNG, so slow drifts (heat, background work) spread over all variants
instead of biasing whichever ran last. The same seed and settings give the
same plan, which is what makes `--resume` (skip completed ids) exact.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.errors import PlanError
from harness.vocab import Config

XNNPACK_CHOICES = ("default", "on", "off", "both")


def xnnpack_settings(choice: str) -> tuple[str, ...]:
    """Expand the `--xnnpack` option into the values trials record.

    `default` passes no flag (the binary decides; recorded as such), `both`
    measures builtin kernels and XNNPACK side by side.
    """
    if choice not in XNNPACK_CHOICES:
        choices = ", ".join(XNNPACK_CHOICES)
        raise PlanError(f"unknown --xnnpack value {choice!r}", hint=f"choose one of {choices}")
    return ("off", "on") if choice == "both" else (choice,)


@dataclass(frozen=True)
class TrialSpec:
    """One planned trial: a configuration, on a device, with its place in the order."""

    serial: str  # the device's
    config: Config
    trial_index: int  # 0-based within (device, config[, arm])
    order_index: int  # position in this device's sequence
    arm: str | None = None  # the A/B arm (harness.bench.arms); None outside an A/B run

    @property
    def trial_id(self) -> str:
        """Stable id, unique within a run: serial|configuration key|trial_index (`ARM:i` in A/B)."""
        return trial_id(self.serial, self.config.key, self.trial_index, self.arm)


def trial_id(serial: str, key: str, index: int, arm: str | None = None) -> str:
    """Compose a trial id; the single definition shared by planning and resuming."""
    return f"{serial}|{key}|{index if arm is None else f'{arm}:{index}'}"


@dataclass(frozen=True)
class Plan:
    """All trials of a run, per device in execution order, and the seed that ordered them."""

    seed: int
    trials: tuple[TrialSpec, ...]

    @property
    def order(self) -> list[str]:
        """Every trial id in plan order (stored in meta.json)."""
        return [t.trial_id for t in self.trials]

    @property
    def serials(self) -> list[str]:
        """Device serials in first-appearance order."""
        return list(dict.fromkeys(t.serial for t in self.trials))

    def for_device(self, serial: str) -> list[TrialSpec]:
        """The trials one device worker runs, in order."""
        return [t for t in self.trials if t.serial == serial]

    def remaining(self, completed: Iterable[str]) -> list[TrialSpec]:
        """Trials whose ids are not in `completed` (resume skips the rest)."""
        done = set(completed)
        return [t for t in self.trials if t.trial_id not in done]

    def configs(self) -> list[Config]:
        """Distinct configurations in first-appearance order."""
        return list(dict.fromkeys(t.config for t in self.trials))

    def only(self, serials: Iterable[str]) -> Plan:
        """The trials of these devices alone (a resume with part of a run's phones)."""
        keep = set(serials)
        return Plan(seed=self.seed, trials=tuple(t for t in self.trials if t.serial in keep))


def configurations(
    variants: Sequence[str],
    quants: Sequence[str],
    xnnpack: Sequence[str],
    threads: Sequence[int],
    cores: Sequence[str],
    accelerators: Sequence[str] = ("cpu",),
) -> list[Config]:
    """The cross product of the settings, in a fixed order (duplicates removed)."""
    axes: dict[str, Sequence[object]] = {
        "variants": variants,
        "quants": quants,
        "xnnpack": xnnpack,
        "threads": threads,
        "cores": cores,
        "accelerators": accelerators,
    }
    for name, values in axes.items():
        if not values:
            raise PlanError(f"no {name} selected: the run would measure nothing")
    for t in threads:
        if t < 1:
            raise PlanError(f"--threads must be >= 1, got {t}")
    return list(
        dict.fromkeys(
            Config(v, q, t, c, x, a)
            for v in variants
            for q in quants
            for x in xnnpack
            for t in threads
            for c in cores
            for a in accelerators
        )
    )


def _round_order(
    configs: list[Config], rng: random.Random, previous: Config | None
) -> list[Config]:
    """One shuffled round; avoid starting with the variant the last round ended on."""
    order = configs[:]
    rng.shuffle(order)
    if previous is not None and len(order) > 1 and order[0].variant == previous.variant:
        # Swap in the first config of another variant, so a variant is not run
        # back to back across the round boundary (the rng stays deterministic).
        for i in range(1, len(order)):
            if order[i].variant != previous.variant:
                order[0], order[i] = order[i], order[0]
                break
    return order


def build_plan(
    serials: Sequence[str],
    configs: Sequence[Config],
    *,
    trials: int,
    seed: int,
) -> Plan:
    """Plan `trials` trials of every configuration on every device, shuffled in rounds.

    Each device gets the same interleaved order (one sequence drawn from
    `seed`), so devices running in parallel measure comparable sequences.
    """
    if trials < 1:
        raise PlanError(f"--trials must be >= 1, got {trials}")
    if not serials:
        raise PlanError("no devices to run on")
    if len(set(serials)) != len(serials):
        raise PlanError(f"a device is selected twice: {', '.join(serials)}")
    unique = list(dict.fromkeys(configs))
    if not unique:
        raise PlanError("no configurations: the run would measure nothing")
    rng = random.Random(seed)
    sequence: list[tuple[Config, int]] = []
    previous: Config | None = None
    for round_index in range(trials):
        order = _round_order(unique, rng, previous)
        sequence.extend((c, round_index) for c in order)
        previous = order[-1]
    specs = tuple(
        TrialSpec(serial=d, config=c, trial_index=i, order_index=pos)
        for d in serials
        for pos, (c, i) in enumerate(sequence)
    )
    return Plan(seed=seed, trials=specs)


def new_seed() -> int:
    """A fresh seed for a new run (recorded in meta.json so the order can be replayed)."""
    return random.SystemRandom().randrange(1, 2**31)


def added_round(
    configs: Sequence[Config], *, seed: int, salt: int, previous: Config | None
) -> list[Config]:
    """One round of added trials (one per configuration) in a seeded random order.

    Sequential trials add rounds after the planned ones (harness.stages.sequential).
    Seeded with the run's seed and `salt` (how many trials the run's order held
    when the round was added), so the same records give the same round, resumed
    or not; like `build_plan`'s rounds it does not start with `previous`'s variant.
    """
    return _round_order(list(configs), random.Random(f"{seed}|{salt}"), previous)
