"""`harness check --ab`: arm B against arm A of one A/B run, pair by pair.

Why pairs: the plan put trial i of A next to trial i of B on the same phone
(harness.bench.arms: ABBA blocks), so whatever drifted during the run (heat, a
background job starting half-way) moved both trials of a pair alike. The test
is Student's one-sample t on the pairs' log ratios log(B_i / A_i), with n-1
degrees of freedom; the drift cancels within each pair instead of widening
(or faking) the difference of two means. The verdict rules are the baseline
check's (`harness.compare.stats.decide`: threshold and significance both);
there is no between-run shift to take out, since both arms are one run.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

from harness.compare.comparison import Comparison, ComparisonRow, Side, as_energy
from harness.compare.sequential import MAX_TRIALS, decide_pairs
from harness.compare.source import METRICS
from harness.compare.stats import (
    MIN_TRIALS,
    Effect,
    StatResult,
    Verdict,
    decide,
    median,
    validate_confidence,
    validate_threshold,
)
from harness.errors import PlanError, ResultsError, StatsInputError
from harness.results.load import load, load_meta
from harness.results.meta import RunMeta
from harness.vocab import FAILED_STATUSES, Config

METHOD = (
    "paired Student t on log(B/A) of the A and B trials the plan put next to each other "
    "(same device and configuration), one-sided at the confidence level; effect = geometric "
    "mean ratio B/A, must also exceed the threshold"
)
# A run that added ABBA blocks until decided (`harness run --until-decided`) looked after
# every block: its verdict is read off the group sequential interval that decided it.
SEQUENTIAL_METHOD = (
    "group sequential paired t interval (Pocock, calibrated for the run's max_trials) on "
    "log(B/A) of the paired A and B trials, which holds at every block the run looked at "
    "(harness.compare.sequential); "
    "effect = geometric mean ratio B/A, must also exceed the threshold"
)
_SEQUENTIAL_VERDICTS: dict[str, Verdict] = {
    "slower": "regression", "faster": "improvement", "equivalent": "unchanged",
    "undecided": "inconclusive",
}  # fmt: skip
FAILED = FAILED_STATUSES


def run_arms(meta: RunMeta) -> list[str]:
    """The arm labels of a run, in the order given on the command line."""
    return [a["label"] for a in meta.settings.arms if "label" in a]


def pick_arms(arms: list[str], a: str | None, b: str | None, run_dir: Path) -> tuple[str, str]:
    """(A, B): the ones named, else the first two arms; PlanError (exit 2) otherwise."""
    if len(arms) < 2:
        what = "no arms" if not arms else f"one arm ({arms[0]})"
        raise PlanError(
            f"--ab: {run_dir} has {what}; an A/B check needs a run with two labelled arms",
            hint="harness run --benchmark-binary base=PATH --benchmark-binary new=PATH ...",
        )
    for option, label in (("--a", a), ("--b", b)):
        if label is not None and label not in arms:
            raise PlanError(f"{option}: no arm {label!r} in {run_dir} (arms: {', '.join(arms)})")
    first = a or next(x for x in arms if x != b)
    second = b or next(x for x in arms if x != first)
    if first == second:
        raise PlanError(f"--a and --b name the same arm {first!r}")
    return first, second


@dataclass(frozen=True)
class ArmTrial:
    """What the pairing reads of one trial of an arm."""

    trial_index: int
    status: str
    latency_ms: float | None = None  # the trial's mean
    median_us: float | None = None  # of its timed runs
    min_us: float | None = None
    energy_mj: float | None = None  # per inference (`harness run --energy`)

    def value(self, metric: str) -> float | None:
        """The trial's figure for `metric` (METRICS) in ms, or for `energy` in mJ per
        inference; None when it has none."""
        if self.status != "ok":
            return None
        raw = {
            "mean": self.latency_ms,
            "median": self.median_us,
            "min": self.min_us,
            "energy": self.energy_mj,
        }[metric]
        if raw is None or math.isnan(raw):
            return None
        value = raw / (1000.0 if metric in ("median", "min") else 1.0)
        return value if value > 0 else None


def _known(value: object) -> float | None:
    """A number of a table cell; None for NA or NaN (an absent figure)."""
    if not isinstance(value, numbers.Real) or math.isnan(value):
        return None
    return float(value)


def paired_effect(pairs: list[tuple[float, float]]) -> Effect | None:
    """The mean log ratio B/A of the pairs and its standard error; None below MIN_TRIALS pairs."""
    logs = [math.log(b) - math.log(a) for a, b in pairs]
    n = len(logs)
    if n < MIN_TRIALS:
        return None
    mean = sum(logs) / n
    var = sum((x - mean) ** 2 for x in logs) / (n - 1)
    return Effect(mean, math.sqrt(var / n), n - 1, n, n)


def judge_pairs(
    cid: Config,
    model: str,
    a_rows: list[ArmTrial],
    b_rows: list[ArmTrial],
    *,
    threshold: float,
    confidence: float,
    metric: str,
    labels: tuple[str, str],
    always_valid: bool = False,
    max_pairs: int = MAX_TRIALS,
) -> ComparisonRow:
    """One configuration on one device: B's trials against the A trials beside them
    (`always_valid`: read off the sequential interval, for a run that stopped on it, whose
    horizon is the run's `max_pairs`)."""
    la, lb = labels
    a_ok = {r.trial_index: v for r in a_rows if (v := r.value(metric)) is not None}
    b_ok = {r.trial_index: v for r in b_rows if (v := r.value(metric)) is not None}
    b_failed = sum(1 for r in b_rows if r.status in FAILED)
    a_failed = sum(1 for r in a_rows if r.status in FAILED)
    pairs = [(a_ok[i], b_ok[i]) for i in sorted(set(a_ok) & set(b_ok))]
    a_med, b_med = median(list(a_ok.values())), median(list(b_ok.values()))

    def row(verdict: Verdict, reason: str, res: StatResult | None = None) -> ComparisonRow:
        return ComparisonRow(
            model,
            cid,
            verdict,
            a_med,
            b_med,
            res.ratio if res else None,
            res.ci_low if res else None,
            res.ci_high if res else None,
            res.p_value if res else None,
            len(pairs),
            len(pairs),
            threshold,
            reason,
            n_failed=b_failed,
        )

    if not b_ok and b_failed:
        return row(
            "failed",
            f"all {b_failed} trial(s) of arm {lb} failed: it does not run this configuration",
        )
    if not a_ok and a_failed:
        return row(
            "failed",
            f"all {a_failed} trial(s) of arm {la} (the reference) failed: "
            "nothing to compare against",
        )
    if not a_ok or not b_ok:
        return row("missing", f"no ok trial of arm {la if not a_ok else lb} (none ran)")
    if always_valid and pairs:
        seq = decide_pairs(pairs, margin=threshold, confidence=confidence, max_pairs=max_pairs)
        done = row(_SEQUENTIAL_VERDICTS[seq.verdict], seq.reason.replace(": add a block", ""))
        return dataclasses.replace(done, ratio=seq.ratio, ci_low=seq.low, ci_high=seq.high)
    eff = paired_effect(pairs)
    if eff is None:
        ratio = math.exp(sum(math.log(b / a) for a, b in pairs) / len(pairs)) if pairs else None
        few = row("inconclusive", f"{len(pairs)} complete pair(s); need {MIN_TRIALS}")
        return dataclasses.replace(few, ratio=ratio)
    result = decide(eff, threshold=threshold, confidence=confidence)
    reason = result.reason.replace("(n=", "(pairs n=")
    if b_failed or a_failed:
        reason += (
            f"; {a_failed} trial(s) of {la} and {b_failed} of {lb} failed (their pairs left out)"
        )
    return row(result.verdict, reason, result)


def compare_arms(
    run_dir: str | Path,
    *,
    a: str | None = None,
    b: str | None = None,
    threshold: float = 0.05,
    confidence: float = 0.99,
    metric: str = "mean",
    energy_threshold: float = 0.05,
) -> Comparison:
    """Verdicts for arm B against arm A in every configuration and device of an A/B run;
    where both arms read energy (`--energy`), an energy row per configuration too."""
    if metric not in METRICS:
        raise StatsInputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    threshold, confidence = validate_threshold(threshold), validate_confidence(confidence)
    energy_threshold = validate_threshold(energy_threshold)
    run_dir = Path(run_dir)
    if not (run_dir / "meta.json").is_file():
        raise ResultsError(
            "not a run folder (no meta.json)",
            path=str(run_dir),
            hint="pass the RUN_DIR of an A/B `harness run`",
        )
    meta = load_meta(run_dir)
    la, lb = pick_arms(run_arms(meta), a, b, run_dir)
    trials = load(run_dir)
    groups: dict[tuple[str, Config], dict[str, list[ArmTrial]]] = {}
    for r in trials.to_dict(orient="records"):  # the table's rows, read once into ArmTrials
        if r["arm"] not in (la, lb):
            continue
        cid = Config(
            str(r["variant"]), str(r["quant"]), int(r["threads"]), str(r["cores"]),
            str(r["xnnpack"]), str(r["accelerator"]),
        )  # fmt: skip
        named = isinstance(r["device_model"], str) and r["device_model"]
        model = str(r["device_model"]) if named else str(r["device_serial"])
        trial = ArmTrial(
            trial_index=int(r["trial_index"]),
            status=str(r["status"]),
            latency_ms=_known(r["latency_ms"]),
            median_us=_known(r["median_us"]),
            min_us=_known(r["min_us"]),
            energy_mj=_known(r.get("energy_mj")),
        )
        groups.setdefault((model, cid), {la: [], lb: []})[str(r["arm"])].append(trial)
    rows = [
        judge_pairs(
            cid,
            model,
            g[la],
            g[lb],
            threshold=threshold,
            confidence=confidence,
            metric=metric,
            labels=(la, lb),
            always_valid=meta.settings.until_decided,
            max_pairs=meta.settings.max_trials,
        )
        for (model, cid), g in sorted(groups.items())
    ]
    rows += [
        as_energy(
            judge_pairs(
                cid,
                model,
                g[la],
                g[lb],
                threshold=energy_threshold,
                confidence=confidence,
                metric="energy",
                labels=(la, lb),
            )
        )
        for (model, cid), g in sorted(groups.items())
        if all(any(t.value("energy") is not None for t in g[arm]) for arm in (la, lb))
    ]
    # A configuration's energy row right after its latency row.
    rows.sort(
        key=lambda r: (
            r.device_model, dataclasses.astuple(r.config)[:5], r.quantity != "latency",
        )
    )  # fmt: skip
    warnings = []
    status = meta.status
    if status not in (None, "complete"):
        warnings.append(f"the run {run_dir} is {status}: only what it measured counts")
    run_id = meta.run_id or run_dir.name

    def side(label: str) -> Side:
        return Side(f"{run_dir} arm {label}", "arm", (run_id,), {})

    return Comparison(
        rows=rows,
        warnings=warnings,
        context_differences=[],
        baseline=side(la),
        current=side(lb),
        threshold=threshold,
        confidence=confidence,
        method=SEQUENTIAL_METHOD if meta.settings.until_decided else METHOD,
        metric=metric,
        energy_threshold=energy_threshold,
    )
