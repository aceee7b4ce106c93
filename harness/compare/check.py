"""`harness check`: every configuration of a run against a baseline, one verdict each.

`compare_runs` is the public API (docs/design.md "compare"); the outputs
(console table, JUnit, markdown, JSON) are renderings of its `Comparison`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from collections.abc import Mapping
from pathlib import Path

from harness.catalogue.order import config_size_key
from harness.compare.comparison import (
    COMPARISON_SCHEMA_VERSION,
    Comparison,
    ComparisonRow,
    Side,
    as_energy,
)
from harness.compare.context import (
    DeviceContext,
    check_pair,
    energy_differences,
    pair_devices,
)
from harness.compare.flags import downgrade
from harness.compare.shift import MIN_CONFIGS, family_confidence, own_changes, shared_shift
from harness.compare.source import METRICS, ConfigSamples, Source, load_source
from harness.compare.stats import (
    Effect,
    StatResult,
    Verdict,
    compare_samples,
    cv,
    decide,
    effect,
    median,
    validate_confidence,
    validate_threshold,
)
from harness.errors import ContextMismatchError, StatsInputError
from harness.results.summary import NOISY_CV, is_noisy
from harness.vocab import Config

__all__ = [
    "COMPARISON_SCHEMA_VERSION",
    "Comparison",
    "ComparisonRow",
    "Side",
    "compare_runs",
    "judge_configs",
    "judge_energy",
    "threshold_for",
]


def threshold_for(variant: str, default: float, thresholds: Mapping[str, float] | None) -> float:
    """A variant's threshold: exact id, else the longest matching fnmatch pattern, else default."""
    if not thresholds:
        return default
    if variant in thresholds:
        return thresholds[variant]
    matches = [p for p in thresholds if fnmatch.fnmatchcase(variant, p)]
    return thresholds[max(matches, key=len)] if matches else default


def _as_source(x: str | Path | Source) -> Source:
    return x if isinstance(x, Source) else load_source(x)


def _metric_view(s: Source, metric: str) -> Source:
    if metric == "mean":
        return s
    configs = {
        m: {cid: c.with_metric(metric) for cid, c in confs.items()}
        for m, confs in s.configs.items()
    }
    return dataclasses.replace(s, configs=configs)


def _side(s: Source) -> Side:
    return Side(s.path, s.kind, s.run_ids, dict(sorted(s.contexts.items())))


def _one_sided_row(
    c: ConfigSamples, verdict: Verdict, threshold: float, model: str
) -> ComparisonRow:
    n = len(c.latency_ms)
    if verdict == "missing":
        reason = "in the baseline, not measured in the current run"
    else:
        reason = "measured in the current run, not in the baseline"
    med = median(c.latency_ms)
    return ComparisonRow(
        model,
        c.config,
        verdict,
        med if verdict == "missing" else None,
        med if verdict == "new" else None,
        None,
        None,
        None,
        None,
        n if verdict == "missing" else 0,
        n if verdict == "new" else 0,
        threshold,
        reason,
        n_failed=c.failed if verdict == "new" else 0,
    )


def _failed_row(b: ConfigSamples, c: ConfigSamples, threshold: float, model: str) -> ComparisonRow:
    """In the baseline, measured now, and every current trial failed: the configuration broke."""
    return dataclasses.replace(
        _one_sided_row(b, "missing", threshold, model),
        verdict="failed",
        reason=f"all {c.failed} current trial(s) failed: the configuration no longer runs",
        n_failed=c.failed,
    )


def _fell_back_row(
    b: ConfigSamples, c: ConfigSamples, threshold: float, model: str
) -> ComparisonRow:
    """Trials of the current run ran on the CPU instead of their unit: not a figure of it."""
    return dataclasses.replace(
        _one_sided_row(b, "missing", threshold, model),
        verdict="failed",
        reason=f"{c.fell_back} current trial(s) fell back to the CPU: {c.config.accelerator} did "
        "not run the graph (trials.jsonl delegation says why)",
        n_failed=c.failed,
    )


def unit_differences(
    base: Mapping[Config, ConfigSamples], cur: Mapping[Config, ConfigSamples]
) -> list[str]:
    """Configurations measured on one compute unit in the baseline and only on others now:
    a context difference (a GPU figure is no baseline for a CPU one), one line each."""
    units: dict[tuple[object, ...], tuple[set[str], set[str]]] = {}
    for side, configs in enumerate((base, cur)):
        for config in configs:
            units.setdefault(dataclasses.astuple(config)[:5], (set(), set()))[side].add(
                config.accelerator
            )
    out = []
    for (variant, quant, threads, cores, xnnpack), (was, now) in sorted(
        units.items(), key=lambda kv: str(kv[0])
    ):
        if was and now and not was & now:
            out.append(
                f"{variant} {quant} t{threads} {cores} xnnpack={xnnpack}: compute unit "
                f"{','.join(sorted(was))} -> {','.join(sorted(now))}"
            )
    return out


def _pct(ratio: float) -> str:
    return f"{(ratio - 1.0) * 100:+.1f}%"


def _with_shift(raw: StatResult, own: StatResult, shift: float) -> tuple[Verdict, str]:
    """The verdict once the run's shared shift is taken out (docs/ci.md "Between-run noise").

    The own change decides a regression or improvement (so a device that got
    faster cannot hide a slower configuration); a change the whole run shares
    is inconclusive, whatever its size.
    """
    moved = f"the run's configurations moved {_pct(math.exp(shift))} (median)"
    own_bounds = (
        f"own change {_pct(own.ratio or 1.0)}, bounds {_pct(own.ci_low or 1.0)} .. "
        f"{_pct(own.ci_high or 1.0)}"
    )
    # A configuration measured within the threshold stays unchanged: calling it slower or
    # faster than the others would contradict its own numbers, and when most of a run
    # really got faster (an optimisation) the rest would fail the gate.
    if own.verdict in ("regression", "improvement") and raw.verdict != "unchanged":
        word = "slower" if own.verdict == "regression" else "faster"
        return own.verdict, (
            f"{word} by {_pct(own.ratio or 1.0)} than the rest of the run "
            f"({moved}; {own_bounds}, p={own.p_value:.2g}); "
            f"measured {_pct(raw.ratio or 1.0)}"
        )
    if raw.verdict in ("regression", "improvement"):
        return "inconclusive", (
            f"measured {_pct(raw.ratio or 1.0)}, but {moved} too: the device "
            "or its state changed between the runs, or a change moved every "
            f"configuration alike; check cannot tell these apart "
            f"({own_bounds})"
        )
    return raw.verdict, raw.reason


def judge_configs(
    base: dict[Config, ConfigSamples],
    cur: dict[Config, ConfigSamples],
    model: str,
    *,
    threshold: float,
    confidence: float,
    thresholds: Mapping[str, float] | None,
) -> tuple[list[ComparisonRow], float | None]:
    """The rows of one device pair, and the run's shared shift (None below MIN_CONFIGS).

    What `compare_runs` does per device once the files are read; public so the
    power simulations (`tests.support.power`) run exactly this code.
    """
    rows = []
    measured: list[tuple[Config, ConfigSamples, ConfigSamples, float, Effect]] = []
    for cid in sorted(set(base) | set(cur)):
        t = threshold_for(cid.variant, threshold, thresholds)
        b, c = base.get(cid), cur.get(cid)
        if b is not None and c is None:
            rows.append(_one_sided_row(b, "missing", t, model))
        elif c is not None and b is None:
            rows.append(_one_sided_row(c, "new", t, model))
        elif b is not None and c is not None:
            eff = effect(b.latency_ms, c.latency_ms)
            if c.fell_back:
                rows.append(_fell_back_row(b, c, t, model))
            elif not c.latency_ms and c.failed:
                rows.append(_failed_row(b, c, t, model))
            elif not c.latency_ms and b.latency_ms:
                rows.append(
                    dataclasses.replace(  # listed, but none of its trials ran
                        _one_sided_row(b, "missing", t, model),
                        reason="no ok trials in the current run (none failed: none ran)",
                    )
                )
            elif eff is None:
                res = compare_samples(
                    b.latency_ms, c.latency_ms, threshold=t, confidence=confidence
                )
                rows.append(_row(cid, model, b, c, t, res, res.verdict, res.reason))
            else:
                measured.append((cid, b, c, t, eff))
    owns = own_changes([m[4] for m in measured])
    # One false-alarm budget for the device's configurations (docs/ci.md "Between-run noise").
    own_level = family_confidence(confidence, len(measured)) if owns else confidence
    for i, (cid, b, c, t, eff) in enumerate(measured):
        raw = decide(eff, threshold=t, confidence=confidence)
        if owns is None:
            rows.append(_row(cid, model, b, c, t, raw, raw.verdict, raw.reason))
            continue
        own = decide(owns[i].effect, threshold=t, confidence=own_level)
        verdict, reason = _with_shift(raw, own, owns[i].shift)
        rows.append(
            dataclasses.replace(
                _row(cid, model, b, c, t, raw, verdict, reason),
                shift=math.exp(owns[i].shift),
                own_ratio=own.ratio,
                own_ci_low=own.ci_low,
                own_ci_high=own.ci_high,
            )
        )
    return rows, shared_shift([m[4] for m in measured])


def judge_energy(
    base: Mapping[Config, ConfigSamples],
    cur: Mapping[Config, ConfigSamples],
    model: str,
    *,
    threshold: float,
    confidence: float,
) -> list[ComparisonRow]:
    """Energy rows of one device pair: the configurations with energy on both sides,
    judged as latency is (the same statistics, shift and false-alarm budget)."""
    shared = sorted(c for c in set(base) & set(cur) if base[c].energy_mj and cur[c].energy_mj)
    if not shared:
        return []
    rows, _shift = judge_configs(
        {c: base[c].with_metric("energy") for c in shared},
        {c: cur[c].with_metric("energy") for c in shared},
        model,
        threshold=threshold,
        confidence=confidence,
        thresholds=None,
    )
    return [as_energy(r) for r in downgrade(rows, base, cur)]


def _energy_rows(
    base: Mapping[Config, ConfigSamples],
    cur: Mapping[Config, ConfigSamples],
    model: str,
    differences: list[str],
    *,
    threshold: float,
    confidence: float,
) -> list[ComparisonRow]:
    """A device pair's energy rows: judged when both sides measured energy alike, else
    refused, one row per configuration with no statistics and the differences as reason."""
    if not differences:
        return judge_energy(base, cur, model, threshold=threshold, confidence=confidence)
    why = (
        f"energy not compared: {'; '.join(differences)} (not the same measurement; "
        "pass --allow-context-change to compare anyway)"
    )
    rows = []
    for cid in sorted(c for c in set(base) & set(cur) if base[c].energy_mj and cur[c].energy_mj):
        b, c = base[cid], cur[cid]
        rows.append(
            ComparisonRow(
                model,
                cid,
                "inconclusive",
                median(b.energy_mj),
                median(c.energy_mj),
                None,
                None,
                None,
                None,
                len(b.energy_mj),
                len(c.energy_mj),
                threshold,
                why,
                quantity="energy",
                refused=True,
            )
        )
    return rows


def _row(
    cid: Config,
    model: str,
    b: ConfigSamples,
    c: ConfigSamples,
    t: float,
    res: StatResult,
    verdict: Verdict,
    reason: str,
) -> ComparisonRow:
    if c.failed:
        reason += f"; {c.failed} of {c.failed + len(c.latency_ms)} current trials failed"
    noise = _noise_note(b, c)
    return ComparisonRow(
        model,
        cid,
        verdict,
        median(b.latency_ms),
        median(c.latency_ms),
        res.ratio,
        res.ci_low,
        res.ci_high,
        res.p_value,
        res.n_baseline,
        res.n_current,
        t,
        reason + noise,
        n_failed=c.failed,
        noisy=bool(noise),
    )


def _noise_note(b: ConfigSamples, c: ConfigSamples) -> str:
    """The reason's clause naming the side(s) whose trials disagree beyond NOISY_CV, or ''."""
    sides = [
        f"{name} CV {v * 100:.0f}%"
        for name, v in (("baseline", cv(b.latency_ms)), ("current", cv(c.latency_ms)))
        if v is not None and is_noisy(v)
    ]
    if not sides:
        return ""
    return (
        f"; built on noisy trials ({', '.join(sides)}, bound {NOISY_CV:.0%}): do not "
        "trust this verdict before a rerun on a quiet phone"
    )


def _shift_warning(
    model: str, shift: float | None, n: int, threshold: float, rows: list[ComparisonRow]
) -> str | None:
    """A line for every output when the whole run moved, or when it could not be checked."""
    if shift is not None:
        if abs(math.log(shift)) <= math.log1p(threshold):
            return None
        return (
            f"{model}: the whole run moved by about {_pct(shift)} (median of {n} "
            "configurations): "
            "the device or its state changed between the runs (thermal state, background "
            "load, governor), or a change moved them all alike; check cannot tell these "
            "apart, so such rows are inconclusive: rerun the baseline's code to see which"
        )
    if any(r.verdict in ("regression", "improvement") for r in rows):
        return (
            f"{model}: only {n} configuration(s) measured on both sides (fewer than "
            f"{MIN_CONFIGS}): a change of the whole run (device state) cannot be told "
            "from a change of one configuration, so between-run noise is not accounted for"
        )
    return None


def compare_runs(
    baseline: str | Path | Source,
    current: str | Path | Source,
    *,
    threshold: float = 0.05,
    confidence: float = 0.99,
    thresholds: dict[str, float] | None = None,
    allow_context_change: bool = False,
    metric: str = "mean",
    allow_missing: bool = False,
    energy_threshold: float = 0.05,
) -> Comparison:
    """Verdicts for every configuration of `current` against `baseline`.

    Raises ContextMismatchError when device model, SoC, ABI or binary differ
    (unless `allow_context_change`: then each difference becomes a warning).
    `metric` picks the per-trial figure: `mean` (the trial's headline latency,
    default), or the `median` / `min` of its timed runs (robust to interference).
    `allow_missing` keeps configurations absent from the current run (a deliberate
    subset) from failing the gate; a configuration whose trials all failed still fails.
    Configurations with energy figures on both sides (`harness run --energy`) get an
    energy row too, judged alike against `energy_threshold`.
    """
    if metric not in METRICS:
        raise StatsInputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    threshold = validate_threshold(threshold)
    energy_threshold = validate_threshold(energy_threshold)
    confidence = validate_confidence(confidence)
    for value in (thresholds or {}).values():
        validate_threshold(value)
    raw_base, raw_cur = _as_source(baseline), _as_source(current)
    base, cur = _metric_view(raw_base, metric), _metric_view(raw_cur, metric)
    warnings: list[str] = []
    for side, src in (("baseline", raw_base), ("current run", raw_cur)):
        lacking = sum(
            1
            for confs in src.configs.values()
            for c in confs.values()
            if len(c.values(metric)) < len(c.latency_ms)
        )
        if lacking:
            warnings.append(
                f"the {side} lacks per-trial {metric} figures for {lacking} "
                f"configuration(s); those trials are left out"
            )
    differences: list[str] = []
    rows: list[ComparisonRow] = []
    for side, src in (("baseline", base), ("current run", cur)):
        if src.status not in (None, "complete"):
            warnings.append(f"the {side} {src.path} is {src.status}: only what it measured counts")
    pairs = pair_devices(base.models(), cur.models())
    for bm, cm in pairs:
        label = cm or bm or "?"
        if bm is not None and cm is not None:
            none = DeviceContext()
            report = check_pair(
                base.contexts.get(bm, none), cur.contexts.get(cm, none), label=label
            )
            # With several devices, say which one differs.
            found = report.differences + unit_differences(
                base.configs.get(bm, {}), cur.configs.get(cm, {})
            )
            differences += [f"{label}: {d}" if len(pairs) > 1 else d for d in found]
            warnings += report.warnings
            pair_rows, shift = judge_configs(
                base.configs.get(bm, {}),
                cur.configs.get(cm, {}),
                cm,
                threshold=threshold,
                confidence=confidence,
                thresholds=thresholds,
            )
            pair_rows = downgrade(pair_rows, base.configs.get(bm, {}), cur.configs.get(cm, {}))
            rows += pair_rows
            both = sum(1 for r in pair_rows if r.n_baseline >= 2 and r.n_current >= 2)
            note = _shift_warning(label, shift, both, threshold, pair_rows)
            if note:
                warnings.append(note)
            # Energy from different sources (or rails, or a charger's bias on one side) is
            # refused apart: its rows say so and the check exits 2; latency is judged above.
            energy_diffs = energy_differences(
                base.contexts.get(bm, none), cur.contexts.get(cm, none)
            )
            energy_rows = _energy_rows(
                base.configs.get(bm, {}),
                cur.configs.get(cm, {}),
                cm,
                [] if allow_context_change else energy_diffs,
                threshold=energy_threshold,
                confidence=confidence,
            )
            if energy_rows and energy_diffs:
                said = (
                    "energy compared anyway (allowed)"
                    if allow_context_change
                    else ("energy not compared (pass --allow-context-change to compare anyway)")
                )
                warnings.append(f"{label}: {said}: {'; '.join(energy_diffs)}")
            rows += energy_rows
        elif bm is not None:
            warnings.append(f"{bm}: in the baseline, absent from the current run")
            rows += [
                _one_sided_row(
                    c, "missing", threshold_for(c.config.variant, threshold, thresholds), bm
                )
                for _, c in sorted(base.configs.get(bm, {}).items())
            ]
        elif cm is not None:
            rows += [
                _one_sided_row(c, "new", threshold_for(c.config.variant, threshold, thresholds), cm)
                for _, c in sorted(cur.configs.get(cm, {}).items())
            ]
    differences = list(dict.fromkeys(differences))
    if differences and not allow_context_change:
        raise ContextMismatchError(differences)
    warnings = [f"context changed (allowed): {d}" for d in differences] + warnings
    noisy = sum(r.noisy for r in rows)
    if noisy:
        warnings.append(
            f"{noisy} configuration(s) rest on noisy trials (CV {NOISY_CV:.0%} or "
            "more on a side): their verdicts and medians are not to be trusted; "
            "rerun them on a quiet phone with more --trials"
        )
    rows.sort(
        key=lambda r: (
            r.device_model,
            config_size_key(*dataclasses.astuple(r.config)[:5]),
            r.config.accelerator,
            r.quantity != "latency",  # a configuration's energy row after its latency row
        )
    )
    return Comparison(
        rows=rows,
        warnings=list(dict.fromkeys(warnings)),
        context_differences=differences,
        baseline=_side(base),
        current=_side(cur),
        threshold=threshold,
        confidence=confidence,
        thresholds=dict(thresholds or {}),
        metric=metric,
        allow_missing=allow_missing,
        energy_threshold=energy_threshold,
    )
