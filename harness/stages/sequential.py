"""Stage 4b, more trials: after the planned trials, measure again where the doubt is.

With `--until-confident`, each configuration whose median is not yet pinned
down to ±target (`harness.compare.sequential.precision`: an always-valid
interval, so looking after every round costs nothing in error rate) or whose
trials are `noisy` gets one more trial per round; the round's trials are
shuffled with the run's seed as the planned rounds are, and run like them.
It stops for a configuration when it is confident, has `max_trials` trials,
or its next trial would not end within the phone-time budget. With
`--until-decided` (an A/B run of two arms) the question is
`harness.compare.sequential.decide_pairs` on the configuration's pairs, and
the answer "not yet" adds one mirrored ABBA block instead of one trial.
`--resume RUN_DIR --more CONFIGS` starts a new pass over some configurations
of a stored run (`start_more`), with its own budget.

Everything here is decided from the stored records and meta.json alone:
each round's trial ids are appended to meta.json `order` before the first of
them runs, so a run stopped mid-round is `incomplete` with those trials
missing, and `--resume` runs them, then decides the next round from the same
records as an uninterrupted run would.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harness.bench.plan import Plan, TrialSpec, added_round, trial_id
from harness.bench.trial import TrialRunner
from harness.bench.workers import Progress, WorkerOutcome, on_each_device, work
from harness.compare.sequential import decide_pairs, precision, within_budget
from harness.errors import HarnessError
from harness.results.meta import ConfigStop, RunMeta, SequentialRecord
from harness.results.schema import TrialRecord
from harness.results.store import RunStore
from harness.stages.settings import RunSettings
from harness.vocab import Config


@dataclass(frozen=True)
class Decision:
    """One device x configuration after the trials so far: one more trial (`stop` None) or not."""

    device: str
    config: Config
    stop: ConfigStop | None
    expected_s: float  # phone time its next trial should take: the mean of its trials
    out_of_budget: ConfigStop  # its stop if the next trial does not fit the budget


def _group(records: Sequence[TrialRecord]) -> dict[str, list[TrialRecord]]:
    """Records by `device|config key` (the trial id less its index)."""
    out: dict[str, list[TrialRecord]] = defaultdict(list)
    for r in records:
        out[r.trial_id.rpartition("|")[0]].append(r)
    return out


def decide(
    settings: RunSettings,
    records: Sequence[TrialRecord],
    devices: Sequence[str],
    configs: Sequence[Config],
) -> list[Decision]:
    """Whether each configuration of each device needs another trial, budget aside."""
    grouped = _group(records)
    out = []
    for device in devices:
        for config in configs:
            mine = grouped.get(f"{device}|{config.key}", [])
            n = len(mine)
            ok = [r.latency_ms for r in mine if r.status == "ok" and r.latency_ms is not None]
            expected = sum(r.wall_s for r in mine) / n if n else 0.0
            failed = f", {n - len(ok)} of them failed" if len(ok) < n else ""
            p = precision(ok, target=settings.target_ci, max_trials=settings.max_trials)
            budget = ConfigStop(
                n, "budget", f"not confident when the phone-time budget ran out: {p.detail}"
            )
            stop: ConfigStop | None = None
            if n and not ok:
                why = f"none of its {n} trial(s) worked: more would pin nothing down"
                stop = ConfigStop(n, "failed", why)
            elif p.confident:
                stop = ConfigStop(n, "confident", p.reason)
            elif n >= settings.max_trials:  # failed trials count too: they took phone time
                why = f"not confident after {n} trial(s){failed} (max_trials): {p.detail}"
                stop = ConfigStop(n, "max_trials", why)
            out.append(Decision(device, config, stop, expected, budget))
    return out


def decide_ab(
    settings: RunSettings,
    records: Sequence[TrialRecord],
    devices: Sequence[str],
    configs: Sequence[Config],
) -> list[Decision]:
    """Whether each configuration of each device needs another ABBA block (budget aside):
    arm B (the second) against arm A (the first), pair by pair, as `check --ab` pairs them."""
    a, b = (arm["label"] for arm in settings.arms[:2])
    grouped = _group(records)
    out = []
    for device in devices:
        for config in configs:
            mine = grouped.get(f"{device}|{config.key}", [])
            by_arm: dict[str | None, dict[int, float]] = {a: {}, b: {}}
            for r in mine:
                if r.status == "ok" and r.latency_ms is not None and r.arm in by_arm:
                    by_arm[r.arm][r.trial_index] = r.latency_ms
            pairs = [(by_arm[a][i], by_arm[b][i]) for i in sorted(by_arm[a].keys() & by_arm[b])]
            n = sum(1 for r in mine if r.arm == a)  # pairs measured, failed ones included
            expected = sum(r.wall_s for r in mine) / len(mine) if mine else 0.0
            d = decide_pairs(pairs, margin=settings.equivalence, max_pairs=settings.max_trials)
            broke = decide_pairs(
                pairs, margin=settings.equivalence, max_pairs=settings.max_trials,
                out_of_budget=True,
            )  # fmt: skip
            budget = ConfigStop(len(mine), "budget", f"{b} against {a}: {broke.reason}")
            stop: ConfigStop | None = None
            if mine and not pairs and len(mine) > len([*by_arm[a], *by_arm[b]]):
                why = f"no pair of its {len(mine)} trial(s) worked: more would decide nothing"
                stop = ConfigStop(len(mine), "failed", why)
            elif d.stop_reason == "decided":
                stop = ConfigStop(len(mine), "decided", f"{b} against {a}: {d.reason}")
            elif n >= settings.max_trials:  # failed pairs count too: they took phone time
                why = f"{b} against {a}: undecided after {n} pair(s) (max_trials): {d.reason}"
                stop = ConfigStop(len(mine), "max_trials", why)
            out.append(Decision(device, config, stop, expected, budget))
    return out


def _device(trial: str) -> str:
    return trial.split("|", 1)[0]


def _key(trial: str) -> str:
    """`device|config key|index` -> `device|config key`."""
    return trial.rpartition("|")[0]


def spent_s(records: Sequence[TrialRecord], order: Sequence[str], since: int) -> dict[str, float]:
    """Phone time (the trials' wall time on the device) per device, of order[since:]."""
    counted = set(order[since:])
    out: dict[str, float] = defaultdict(float)
    for r in records:
        if r.trial_id in counted:
            out[_device(r.trial_id)] += r.wall_s
    return dict(out)


def next_round(
    settings: RunSettings,
    decisions: Sequence[Decision],
    order: Sequence[str],
    spent: Mapping[str, float],
    seed: int,
) -> tuple[list[TrialSpec], dict[str, ConfigStop]]:
    """The next round's trials (each device's shuffled) and every stop decided so far.

    A configuration that wants a trial that should not end within the budget
    (`within_budget`, walking the shuffled round) stops with `budget`.
    """
    stops: dict[str, ConfigStop] = {}
    wanting: dict[str, list[Decision]] = defaultdict(list)
    for d in decisions:
        if d.stop is not None:
            stops[f"{d.device}|{d.config.key}"] = d.stop
        else:
            wanting[d.device].append(d)
    known = {d.config.key: d.config for d in decisions}
    counts: dict[tuple[str, str | None], int] = defaultdict(int)
    for t in order:
        counts[(_key(t), _arm(t))] += 1
    arms = [a["label"] for a in settings.arms[:2]] if settings.until_decided else []
    specs: list[TrialSpec] = []
    for device, wants in wanting.items():
        mine = [t for t in order if _device(t) == device]
        previous = known.get(_key(mine[-1]).split("|", 1)[1]) if mine else None
        by_config = {d.config: d for d in wants}
        # Salted with this device's trials so far: a device's rounds are the same
        # whenever another device's rounds come in between.
        configs = added_round(list(by_config), seed=seed, salt=len(mine), previous=previous)
        used = spent.get(device, 0.0)
        for config in configs:
            d = by_config[config]
            key = f"{device}|{config.key}"
            trials = _block(key, arms, counts) if arms else [(None, counts[(key, None)])]
            cost = d.expected_s * len(trials)
            if not within_budget(used, settings.budget_s, cost):
                stops[key] = d.out_of_budget
                continue
            used += cost
            for arm, index in trials:
                specs.append(TrialSpec(device, config, index, len(mine), arm))
                mine.append(trial_id(device, config.key, index, arm))
    return specs, stops


def _block(
    key: str, arms: Sequence[str], counts: Mapping[tuple[str, str | None], int]
) -> list[tuple[str | None, int]]:
    """One more ABBA (or BAAB) block of a configuration's two arms, numbered on from its
    trials: mirrored blocks alternate, as the planned ones do (harness.bench.arm_plan)."""
    a, b = arms
    n = {a: counts[(key, a)], b: counts[(key, b)]}
    order = [a, b, b, a] if (n[a] // 2) % 2 == 0 else [b, a, a, b]
    out: list[tuple[str | None, int]] = []
    for arm in order:
        out.append((arm, n[arm]))
        n[arm] += 1
    return out


def _arm(trial: str) -> str | None:
    """The arm of an A/B trial id (`...|ARM:INDEX`); None outside an A/B run."""
    arm, sep, _ = trial.rpartition("|")[2].partition(":")
    return arm if sep else None


def pending(
    order: Sequence[str], planned: Plan, done: set[str], devices: Sequence[str]
) -> list[TrialSpec]:
    """Added trials already in `order` without a record (a stopped round), to run first."""
    ours = set(devices)
    configs = {c.key: c for c in planned.configs()}
    planned_ids = set(planned.order)
    positions: dict[str, int] = defaultdict(int)
    out = []
    for t in order:
        device = _device(t)
        position = positions[device]
        positions[device] += 1
        if t in planned_ids or t in done or device not in ours:
            continue
        key, _, index = t.rpartition("|")
        arm = _arm(t)
        number = int(index.rpartition(":")[2])
        out.append(TrialSpec(device, configs[key.split("|", 1)[1]], number, position, arm))
    return out


def more_trials(
    settings: RunSettings,
    runners: Sequence[TrialRunner],
    plan: Plan,
    store: RunStore,
    workers: Sequence[WorkerOutcome],
    *,
    emit: Callable[[str], None],
    stop: threading.Event | None,
) -> list[WorkerOutcome]:
    """Add rounds of trials until every configuration of these devices has stopped.

    Each device goes through its rounds on its own: it decides from its own
    records and runs its next round as soon as its last one ended, never
    waiting for a slower phone's round. `workers`: what the planned trials'
    workers did; returned with the added trials' counts (and a lost device)
    added to them.
    """
    stop = stop or threading.Event()
    meta = store.meta
    if settings.more:
        meta = start_more(settings, store)
    since = meta.sequential.since if meta.sequential is not None else 0
    scope = meta.sequential.configs if meta.sequential is not None else None
    configs = [c for c in plan.configs() if scope is None or c.key in scope]
    several = len(runners) > 1
    # One device at a time reads meta.json `order` and appends its round to it.
    turn = threading.Lock()

    def next_trials(device: str, rounds: int) -> tuple[list[TrialSpec], bool]:
        """This device's trials still to run: a stopped round's, else a new round's (True)."""
        with turn:
            order = store.meta.order
            specs = pending(order, plan, store.completed_trial_ids(), [device])
            if specs:
                return specs, False
            records = store.records()
            judge = decide_ab if settings.until_decided else decide
            decisions = judge(settings, records, [device], configs)
            spent = spent_s(records, order, since)
            specs, stops = next_round(settings, decisions, order, spent, plan.seed)
            # This pass decides for its configurations on this device; the others
            # keep what they had.
            current = store.meta.sequential
            kept = {
                k: v
                for k, v in (current.stops if current is not None else {}).items()
                if not _ours(k, [device], scope)
            }
            kept.update(stops)
            added = tuple(s.trial_id for s in specs)
            store.update_meta(order=order + added, sequential=SequentialRecord(since, kept, scope))
        if specs:
            who = f"{device}: " if several else ""
            undecided = len({s.config for s in specs})
            emit(
                f"{who}until decided: round {rounds}, {undecided} ABBA block(s) where arm B "
                f"against arm A is neither slower, faster nor within "
                f"±{settings.equivalence * 100:g}%"
                if settings.until_decided
                else f"{who}until confident: round {rounds}, {len(specs)} more trial(s): "
                f"{undecided} configuration(s) not yet within ±{settings.target_ci * 100:g}%"
            )
        return specs, True

    def rounds_on(runner: TrialRunner) -> WorkerOutcome:
        total = WorkerOutcome(serial=runner.plan_serial, planned=0)
        rounds = 0
        while not stop.is_set():
            specs, new = next_trials(runner.plan_serial, rounds + 1)
            if not specs:
                break
            rounds += new
            try:
                done = work(runner, specs, store, Progress(len(specs), emit, several=several), stop)
            except HarnessError as exc:  # this device's rounds end; the others go on
                total.error = exc
                break
            _add(total, done)
            if done.lost:
                break
        return total

    serials = [r.plan_serial for r in runners]
    totals = {w.serial: w for w in workers}
    for more in on_each_device(runners, serials, rounds_on, stop):
        _add(totals.setdefault(more.serial, WorkerOutcome(serial=more.serial, planned=0)), more)
    return list(totals.values())


def start_more(settings: RunSettings, store: RunStore) -> RunMeta:
    """Begin a `--more` pass on a stored run: its budget counts from here, it measures
    `settings.more` only, and its settings are stored so a resume continues it."""
    meta = store.meta
    before = meta.sequential.stops if meta.sequential is not None else {}
    scope = tuple(settings.more)
    kept = {k: v for k, v in before.items() if k.partition("|")[2] not in scope}
    measured = meta.settings.replace(
        until_confident=True,
        target_ci=settings.target_ci,
        budget_s=settings.budget_s,
        max_trials=settings.max_trials,
    )
    record = SequentialRecord(len(meta.order), kept, scope)
    return store.update_meta(settings=measured, sequential=record)


def _ours(key: str, devices: Sequence[str], scope: Sequence[str] | None) -> bool:
    """Whether a stop (`device|config key`) is this pass's to decide."""
    device, _, config = key.partition("|")
    return device in devices and (scope is None or config in scope)


def _add(total: WorkerOutcome, more: WorkerOutcome) -> None:
    total.planned += more.planned
    total.skipped += more.skipped
    total.measured += more.measured
    total.failed += more.failed
    total.process_wall_s += more.process_wall_s
    total.lost = total.lost or more.lost
    total.error = total.error or more.error
    for status, n in more.statuses.items():
        total.statuses[status] = total.statuses.get(status, 0) + n
