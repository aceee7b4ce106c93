"""Sequential trials in a run (harness.stages.sequential): who gets another trial, in what
order, within what budget, decided from the records alone."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pandas as pd
import pytest

from harness.bench.plan import build_plan
from harness.cli.sequential_options import parse_duration, parse_target, stop_notes
from harness.errors import OptionError, PlanError
from harness.results.meta import ConfigStop, RunMeta, SequentialRecord
from harness.results.schema import TrialRecord
from harness.stages.finish import with_stops
from harness.stages.sequential import decide, next_round, pending, spent_s
from harness.stages.settings import RunSettings
from harness.vocab import Config

DEVICE = "SERIAL1"
QUIET = Config("mobilenet_v2_0.35_96", "fp32", 1, "big", "default")
LOOSE = Config("mobilenet_v2_0.35_128", "fp32", 1, "big", "default")
OTHER = Config("mobilenet_v2_0.5_96", "fp32", 1, "big", "default")
CONFIGS = [QUIET, LOOSE, OTHER]


def _settings(**changes: Any) -> RunSettings:
    return dataclasses.replace(RunSettings(devices=[DEVICE], until_confident=True), **changes)


def _record(config: Config, index: int, latency: float | None, **changes: Any) -> TrialRecord:
    fields: dict[str, Any] = {
        "run_id": "RUN",
        "trial_id": f"{DEVICE}|{config.key}|{index}",
        "device_serial": DEVICE,
        "device_model": "Pixel",
        "variant": config.variant,
        "family": "v2",
        "depth_multiplier": 0.35,
        "resolution": 96,
        "core_mask": "c",
        "started_at": "2026-11-26T12:15:00+00:00",
        "finished_at": "2026-11-26T12:15:02+00:00",
        "num_runs": 50,
        "warmup_runs": 5,
        "quant": config.quant,
        "threads": config.threads,
        "cores": config.cores,
        "xnnpack": config.xnnpack,
        "trial_index": index,
        "order_index": index,
        "status": "ok" if latency is not None else "failed",
        "wall_s": 2.0,
        "latency_ms": latency,
    }
    fields.update(changes)
    return TrialRecord.from_dict(fields)


def _trials(config: Config, latencies: list[float | None], **changes: Any) -> list[TrialRecord]:
    return [_record(config, i, v, **changes) for i, v in enumerate(latencies)]


QUIET_MS = [10.0, 10.01, 9.99, 10.02, 9.98, 10.0, 10.01]  # within ±2% at 7 trials
LOOSE_MS = [10.0, 13.0, 10.0, 12.0, 10.0, 11.0, 10.0]  # noisy


def _records() -> list[TrialRecord]:
    return [*_trials(QUIET, QUIET_MS), *_trials(LOOSE, LOOSE_MS), *_trials(OTHER, QUIET_MS[:5])]


def _order() -> list[str]:
    return [r.trial_id for r in _records()]


def test_confident_configurations_stop_and_the_others_want_a_trial() -> None:
    decisions = {d.config: d for d in decide(_settings(), _records(), [DEVICE], CONFIGS)}
    quiet = decisions[QUIET].stop
    assert quiet is not None and quiet.stop_reason == "confident" and quiet.trials == 7
    assert decisions[LOOSE].stop is None and decisions[OTHER].stop is None  # noisy; 5: unbounded
    assert decisions[LOOSE].expected_s == 2.0
    assert decisions[LOOSE].out_of_budget.stop_reason == "budget"
    assert "noisy" in decisions[LOOSE].out_of_budget.reason


def test_max_trials_counts_failed_trials_and_a_configuration_that_never_worked_stops() -> None:
    records = [*_trials(LOOSE, [*LOOSE_MS[:5], None, None]), *_trials(OTHER, [None, None])]
    decisions = {d.config: d for d in decide(_settings(max_trials=7), records, [DEVICE], CONFIGS)}
    loose = decisions[LOOSE].stop
    assert loose is not None and loose.stop_reason == "max_trials" and loose.trials == 7
    assert "2 of them failed" in loose.reason
    other = decisions[OTHER].stop
    assert other is not None and other.stop_reason == "failed"


def test_the_next_round_is_the_same_from_the_same_records_in_any_order() -> None:
    records, order = _records(), _order()
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    rounds = []
    for these in (records, shuffled):
        decisions = decide(_settings(), these, [DEVICE], CONFIGS)
        rounds.append(next_round(_settings(), decisions, order, spent_s(these, order, 0), 42))
    assert rounds[0] == rounds[1]
    specs, stops = rounds[0]
    assert {s.config for s in specs} == {LOOSE, OTHER}
    assert {s.config: s.trial_index for s in specs} == {LOOSE: 7, OTHER: 5}  # next free index
    assert [s.order_index for s in specs] == [len(order), len(order) + 1]
    assert list(stops) == [f"{DEVICE}|{QUIET.key}"]
    # Another seed may order the round otherwise, but never starting with the variant
    # the device ran last (`order` ends with a trial of OTHER)...
    decisions = decide(_settings(), records, [DEVICE], CONFIGS)
    firsts = {
        next_round(_settings(), decisions, order, {}, seed)[0][0].config for seed in range(20)
    }
    assert firsts == {LOOSE}
    # ... and after another variant both orders come up.
    last_quiet = f"{DEVICE}|{QUIET.key}|6"
    moved = [t for t in order if t != last_quiet] + [last_quiet]
    firsts = {
        next_round(_settings(), decisions, moved, {}, seed)[0][0].config for seed in range(20)
    }
    assert firsts == {LOOSE, OTHER}


def test_a_trial_that_would_end_past_the_budget_is_not_started() -> None:
    records, order = _records(), _order()
    spent = spent_s(records, order, 0)
    assert spent == {DEVICE: 2.0 * len(records)}
    decisions = decide(_settings(), records, [DEVICE], CONFIGS)
    # Room for exactly one 2 s trial: the first of the shuffled round gets it.
    one, stops = next_round(_settings(budget_s=spent[DEVICE] + 3.0), decisions, order, spent, 42)
    assert len(one) == 1
    (left,) = {LOOSE, OTHER} - {one[0].config}
    assert stops[f"{DEVICE}|{left.key}"].stop_reason == "budget"
    none, stops = next_round(_settings(budget_s=spent[DEVICE] + 1.0), decisions, order, spent, 42)
    assert none == [] and {s.stop_reason for s in stops.values()} == {"confident", "budget"}
    # Counted from `since`: the phone time of the trials before it is not this pass's.
    assert spent_s(records, order, len(order) - 2) == {DEVICE: 4.0}


def test_added_trials_without_a_record_are_run_first_on_resume() -> None:
    plan = build_plan([DEVICE], CONFIGS, trials=2, seed=9)
    added = [f"{DEVICE}|{LOOSE.key}|2", f"{DEVICE}|{OTHER.key}|2"]
    order = [*plan.order, *added]
    done = {*plan.order, added[0]}
    (spec,) = pending(order, plan, done, [DEVICE])
    assert (spec.config, spec.trial_index, spec.order_index) == (OTHER, 2, len(order) - 1)
    assert spec.trial_id == added[1]
    assert pending(order, plan, done, ["ANOTHER"]) == []


def test_options_read_as_people_write_them() -> None:
    assert parse_duration("90s") == 90 and parse_duration("1h30m") == 5400
    assert parse_duration("2.5m") == 150 and parse_duration("600") == 600
    for bad in ("", "10x", "5m5m", "m", "1 h"):
        with pytest.raises(OptionError):
            parse_duration(bad)
    assert parse_target("2%") == pytest.approx(0.02) and parse_target("0.05") == 0.05
    with pytest.raises(OptionError):
        parse_target("200%")


def test_sequential_options_need_until_confident_and_no_arms() -> None:
    base = RunSettings(devices=["sim"], variants=["mobilenet_v2_0.35_96"])
    with pytest.raises(PlanError, match="--budget, --max-trials take effect only with"):
        dataclasses.replace(base, budget_s=60.0, max_trials=10).validate()
    arms = [
        {"label": "a", "binary": None, "models": None},
        {"label": "b", "binary": None, "models": None},
    ]
    with pytest.raises(PlanError, match="--until-confident measures configurations"):
        dataclasses.replace(base, until_confident=True, arms=arms).validate()  # type: ignore[arg-type]
    for name, value in (("target_ci", 0.0), ("budget_s", -1.0), ("max_trials", 1)):
        with pytest.raises(OptionError):
            dataclasses.replace(base, until_confident=True, **{name: value}).validate()


def test_stops_reach_meta_json_the_summary_and_the_notes() -> None:
    stop = ConfigStop(14, "max_trials", "not confident after 14 trial(s) (max_trials): noisy")
    seq = SequentialRecord(0, {f"{DEVICE}|{LOOSE.key}": stop})
    meta = RunMeta.from_dict({"seed": 1, "settings": {}, "order": []}).replace(sequential=seq)
    again = RunMeta.from_dict(meta.to_dict())
    assert again.sequential == seq
    assert (
        meta.to_dict()["sequential"]["stops"][f"{DEVICE}|{LOOSE.key}"]["stop_reason"]
        == "max_trials"
    )
    summary = pd.DataFrame(
        {
            "device_serial": [DEVICE, DEVICE],
            "config": [LOOSE.key, QUIET.key],
            "variant": [LOOSE.variant, QUIET.variant],
            "quant": ["fp32", "fp32"],
            "threads": [1, 1],
            "cores": ["big", "big"],
            "n_trials": [14, 6],
        }
    )
    out = with_stops(summary, meta)
    assert list(out["stop_reason"].astype(object).where(out["stop_reason"].notna(), None)) == [
        "max_trials",
        None,
    ]
    notes = stop_notes(out)
    assert notes[0] == "sequential trials: 1 max_trials"
    assert "mobilenet_v2_0.35_128 fp32 t1 big (14 trials): not confident after 14" in notes[1]
    plain = RunMeta.from_dict({"seed": 1, "settings": {}, "order": []})
    assert "stop_reason" not in with_stops(summary, plain).columns
    assert "sequential" not in plain.to_dict()


STORED = {
    "variants": ["mobilenet_v2_0.35_96"], "quants": ["fp32"], "threads": [1], "cores": ["big"],
    "trials": 3, "runs": 7, "warmup": 1, "xnnpack": "default", "devices": ["sim"],
}  # fmt: skip


def test_a_resume_keeps_the_runs_sequential_settings_and_a_more_pass_brings_its_own() -> None:
    from pathlib import Path

    from harness.stages.settings import ignored_on_resume, settings_from_meta

    fixed = RunMeta.from_dict({"seed": 4, "settings": STORED})
    sequential = RunMeta.from_dict(
        {"seed": 4, "settings": {**STORED, "until_confident": True, "budget_s": 60.0}}
    )
    given = RunSettings(devices=[], resume=Path("."), until_confident=True, budget_s=600.0)
    # A plain resume measures as the run did: a fixed run stays fixed, whatever is given.
    merged = settings_from_meta(fixed, given)
    assert (merged.until_confident, merged.budget_s) == (False, None)
    assert "--until-confident" in ignored_on_resume(given)
    merged = settings_from_meta(sequential, dataclasses.replace(given, until_confident=False))
    assert (merged.until_confident, merged.budget_s) == (True, 60.0)
    # A --more pass brings its own, and is told nothing is ignored.
    more = dataclasses.replace(given, more=["mobilenet_v2_0.35_96|fp32|t1|big|xnnpack=default"])
    merged = settings_from_meta(sequential, more)
    assert (merged.until_confident, merged.budget_s, merged.trials) == (True, 600.0, 3)
    assert ignored_on_resume(more) == []
    merged.validate()
    with pytest.raises(PlanError, match="--more: nope is not a configuration of this run"):
        dataclasses.replace(merged, more=["nope"]).validate()
    with pytest.raises(PlanError, match="needs --resume RUN_DIR and --until-confident"):
        dataclasses.replace(merged, resume=None).validate()


def test_check_lists_its_inconclusive_configurations_once() -> None:
    from harness.compare.comparison import Comparison, ComparisonRow, Side

    def row(variant: str, model: str, verdict: str) -> ComparisonRow:
        return ComparisonRow(
            model, Config(variant, "fp32", 1, "big", "default"), verdict,  # type: ignore[arg-type]
            None, None, None, None, None, None, 5, 3, 0.05, "",
        )  # fmt: skip

    side = Side("x", "run", (), {})
    rows = [
        row("a", "Pixel", "inconclusive"),
        row("b", "Pixel", "unchanged"),
        row("a", "Pixel 6", "inconclusive"),
        row("c", "Pixel", "inconclusive"),
    ]
    comparison = Comparison(rows, [], [], side, side, 0.05, 0.99)
    keys = ["a|fp32|t1|big|xnnpack=default", "c|fp32|t1|big|xnnpack=default"]
    assert comparison.inconclusive() == keys
    assert comparison.to_dict()["inconclusive"] == keys


ARMS = [
    {"label": "base", "binary": None, "models": "a"},
    {"label": "new", "binary": None, "models": "b"},
]


def _ab_records(
    config: Config, pairs: list[tuple[float | None, float | None]]
) -> list[TrialRecord]:
    out = []
    for i, (a, b) in enumerate(pairs):
        for arm, latency in (("base", a), ("new", b)):
            trial = f"{DEVICE}|{config.key}|{arm}:{i}"
            out.append(_record(config, i, latency, arm=arm, trial_id=trial))
    return out


def test_ab_configurations_stop_when_the_pairs_decide() -> None:
    settings = _settings(until_confident=False, until_decided=True, arms=ARMS)
    slower = [
        (10.0 * (1 + 0.002 * (-1) ** i), 11.0 * (1 + 0.002 * (-1) ** (i // 2))) for i in range(8)
    ]
    records = [
        *_ab_records(LOOSE, slower),
        *_ab_records(QUIET, [(10.0, 10.1), (10.0, 9.9)]),
        *_ab_records(OTHER, [(10.0, None), (10.0, None)]),
    ]
    got = {d.config: d for d in decide_ab_(settings, records)}
    loose, quiet, other = got[LOOSE].stop, got[QUIET].stop, got[OTHER].stop
    assert loose is not None and loose.stop_reason == "decided" and loose.trials == 16
    assert "new against base: slower by" in loose.reason
    assert (
        quiet is None and "undecided when the phone-time budget" in got[QUIET].out_of_budget.reason
    )
    assert other is not None and other.stop_reason == "failed"

    # The next block of QUIET: ABBA or BAAB as its blocks alternate, numbered on per arm;
    # a block costs four trials of phone time.
    order = [r.trial_id for r in records]
    decisions = decide_ab_(settings, records)
    specs, stops = next_round(settings, decisions, order, {}, 1)
    assert [(s.arm, s.trial_index) for s in specs] == [
        ("new", 2),
        ("base", 2),
        ("base", 3),
        ("new", 3),
    ]
    assert {s.config for s in specs} == {QUIET} and set(stops) == {
        f"{DEVICE}|{LOOSE.key}",
        f"{DEVICE}|{OTHER.key}",
    }
    spent = spent_s(records, order, 0)
    tight = dataclasses.replace(settings, budget_s=spent[DEVICE] + 7.9)  # a block: 4 x 2 s
    none, stops = next_round(tight, decisions, order, spent, 1)
    assert none == [] and stops[f"{DEVICE}|{QUIET.key}"].stop_reason == "budget"
    # A stopped round's A/B trials are run first on resume, arms and indexes kept.
    plan = build_plan([DEVICE], CONFIGS, trials=1, seed=1)
    again = pending([*order, *(s.trial_id for s in specs)], plan, set(order), [DEVICE])
    assert [(s.arm, s.trial_index, s.trial_id) for s in again] == [
        (s.arm, s.trial_index, s.trial_id) for s in specs
    ]


def decide_ab_(settings: RunSettings, records: list[TrialRecord]) -> list[Any]:
    from harness.stages.sequential import decide_ab

    return decide_ab(settings, records, [DEVICE], CONFIGS)


def test_check_ab_reads_a_decided_run_off_the_sequential_interval() -> None:
    from harness.compare.ab import ArmTrial, judge_pairs
    from harness.compare.sequential import decide_pairs

    cid = Config("mobilenet_v2_0.35_96", "fp32", 1, "big", "default", "cpu")
    pairs = [
        (10.0 * (1 + 0.002 * (-1) ** i), 11.0 * (1 + 0.002 * (-1) ** (i // 2))) for i in range(8)
    ]
    a = [ArmTrial(i, "ok", x) for i, (x, _) in enumerate(pairs)]
    b = [ArmTrial(i, "ok", y) for i, (_, y) in enumerate(pairs)]
    same = [ArmTrial(i, "ok", 10.0 * (1 + 0.002 * (-1) ** (i // 2))) for i in range(8)]
    kw: dict[str, Any] = {
        "threshold": 0.05,
        "confidence": 0.99,
        "metric": "mean",
        "labels": ("base", "new"),
    }
    row = judge_pairs(cid, "Pixel", a, b, always_valid=True, **kw)
    assert row.verdict == "regression" and "slower by +10.0%" in row.reason
    assert row.ci_low is not None and row.ci_low > 1.0 and row.p_value is None
    assert judge_pairs(cid, "Pixel", a, same, always_valid=True, **kw).verdict == "unchanged"
    few = judge_pairs(cid, "Pixel", a[:2], b[:2], always_valid=True, **kw)
    assert few.verdict == "inconclusive" and "add a block" not in few.reason
    # The interval's last look is the run's --max-trials, as when the run decided on it.
    for last in (20, 80):
        run = decide_pairs(pairs, margin=0.05, max_pairs=last)
        row = judge_pairs(cid, "Pixel", a, b, always_valid=True, max_pairs=last, **kw)
        assert (row.ci_low, row.ci_high) == (run.low, run.high)
    short = judge_pairs(cid, "Pixel", a, b, always_valid=True, max_pairs=20, **kw)
    assert short.ci_low is not None and row.ci_low is not None and short.ci_low > row.ci_low
