"""Turn stored runs into the report's context: rows, header facts, figures, charts.

Python computes, the template renders: every number is formatted here, once,
so the template has nothing to get wrong.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from harness import __version__, catalogue
from harness.errors import UnknownVariantError
from harness.identity import DeviceInfo
from harness.report import advice, charts, energy_charts, history, ops
from harness.report.advice import count as _count
from harness.report.arms import arms_section
from harness.report.baseline import BaselineResult, changes_for
from harness.report.energy import energy_fact, energy_section
from harness.report.model import (
    BaselineSection,
    Chart,
    Fact,
    Figure,
    ReportContext,
    Section,
    VariantRow,
)
from harness.report.order import row_size_key
from harness.report.provenance import Provenance, lede
from harness.report.runs import DeviceRun
from harness.results.flags import flagged_trials
from harness.results.meta import MeasuredSettings
from harness.results.schema import TrialRecord
from harness.results.summary import SummaryRow
from harness.vocab import OWN_FAMILY


def fmt_ms(value: float | None) -> str:
    """Milliseconds with the precision a latency deserves (3 significant digits)."""
    if value is None:
        return "–"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage ("4.2%")."""
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def _text(value: Any) -> str:
    """A stored value as people read it: lists joined, absent values as a dash."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "–"
    return "–" if value is None or value == "" else str(value)


def _published(variant: str) -> catalogue.Published | None:
    try:
        return catalogue.get(variant).published
    except UnknownVariantError:
        return None  # a user's own model file: no published figures to set beside it


def build_rows(run: DeviceRun) -> list[VariantRow]:
    """One row per measured configuration, largest model first."""
    setups = {(s.threads, s.cores, s.xnnpack) for s in run.summary}
    by_config: dict[str, list[TrialRecord]] = defaultdict(list)
    for t in run.trials:
        by_config[t.key].append(t)
    rows: list[VariantRow] = []
    for s in run.summary:
        config = s.config
        trials = by_config[config]
        ok = [t.latency_ms for t in trials if t.status == "ok" and t.latency_ms]
        errors = tuple(dict.fromkeys(t.error for t in trials if t.status != "ok" and t.error))
        first = trials[0] if trials else None
        pub = _published(s.variant)
        # A model of the user's own: MACs as our reader counts them (no published count).
        own = first is not None and first.family == OWN_FAMILY
        facts = run.meta.models.get(f"{s.variant}|{s.quant}") if own else None
        own_macs = facts.macs / 1e6 if facts is not None and facts.macs else None
        rows.append(
            VariantRow(
                config=config,
                variant=s.variant,
                family=first.family if first else "?",
                depth_multiplier=first.depth_multiplier if first else 0.0,
                resolution=first.resolution if first else 0,
                quant=s.quant,
                macs_m=float(pub.macs_m) if pub else own_macs,
                params_m=pub.params_m if pub else None,
                top1=pub.top1 if pub else None,
                published_ms=s.published_ms,
                n_trials=s.n_trials,
                n_ok=s.n_ok,
                n_throttled=s.throttled_trials,
                flagged="; ".join(flagged_trials([t.to_dict() for t in trials])),
                median_ms=s.median_ms,
                p5_ms=s.p5_ms,
                p95_ms=s.p95_ms,
                cv=s.cv,
                ratio=s.ratio,
                status=s.status,
                trials_ms=tuple(ok),
                errors=errors,
                setup=f"t{s.threads} {s.cores} xnnpack={s.xnnpack}" if len(setups) > 1 else "",
                delegation=_delegation_text(s),
                n_warned=s.warned_trials,
                stopped=_stopped(run, config),
                unit=s.accelerator,
                energy_mj=s.energy_median_mj,
                energy_p5_mj=s.energy_p5_mj,
                energy_p95_mj=s.energy_p95_mj,
                power_mw=s.power_median_mw,
                energy_trials=s.energy_trials,
                energy_biased=bool(s.energy_biased_trials),
            )
        )

    return sorted(rows, key=row_size_key)


def _stopped(run: DeviceRun, config: str) -> str:
    """Why sequential trials (`--until-confident`) gave this row no more; "" without them."""
    found = run.meta.sequential.stops.get(f"{run.serial}|{config}") if run.meta.sequential else None
    if found is None:
        return ""
    return f"{found.stop_reason.replace('_', ' ')} after {found.trials} trials"


def _delegation_text(s: SummaryRow) -> str:
    """'GPU, 40 of 49 nodes (partial)' from a summary row: the delegate most trials name,
    its nodes, and the proof's verdict unless it was applied (older runs' logs name no
    delegate; a unit that fell back names its verdict alone when no delegate ran)."""
    shown = s.delegation not in (None, "applied")
    verdict = f" ({s.delegation})" if shown else ""
    if s.delegate is None:
        return str(s.delegation) if shown and s.accelerator != "cpu" else ""
    if s.delegated_nodes is not None and s.total_nodes is not None:
        return f"{s.delegate}, {s.delegated_nodes} of {s.total_nodes} nodes{verdict}"
    return f"{s.delegate}{verdict}"


def _mask_text(run: DeviceRun) -> str:
    """Core policy, CPUs and taskset mask: from meta.json `cores` when stored, else the trials.
    A policy the topology did not back (`verified` false) says so."""
    chosen = run.meta.cores.get(run.serial) or {}
    if chosen:
        return "; ".join(
            f"{policy}: cpu {_text(c.cpus)} (mask 0x{c.stored('mask')})"
            + (", not verified" if c.stored("verified") is False else "")
            for policy, c in chosen.items()
        )
    masks = sorted({t.core_mask for t in run.trials if t.core_mask})
    cores = sorted({t.cores for t in run.trials if t.cores})
    return f"{', '.join(cores) or '–'} (mask {', '.join('0x' + m for m in masks) or '–'})"


def _clusters_text(device: DeviceInfo) -> str:
    parts = []
    for c in device.clusters:
        khz = c.max_khz
        speed = f" @ {khz / 1000:.0f} MHz" if khz is not None else ""
        parts.append(f"cpu{'/'.join(str(x) for x in c.cpus)}{speed}")
    return "; ".join(parts) or "–"


def device_facts(run: DeviceRun, prov: Provenance) -> tuple[Fact, ...]:
    """Who measured: model (and whether it was simulated), SoC, Android build, ABI, clusters."""
    d = run.device
    model = " ".join(x for x in (d.manufacturer, d.model) if x) or _text(
        run.trials[0].device_model if run.trials else None
    )
    model += prov.device_tag
    soc = " / ".join(x for x in (d.platform, d.hardware) if x)
    android = f"{_text(d.android_release)} (SDK {_text(d.sdk)})"
    return (
        Fact("Model", model),
        Fact("Device / product", f"{_text(d.device)} / {_text(d.product)}"),
        Fact("SoC", soc or "–"),
        Fact("Android", android),
        Fact("Build fingerprint", _text(d.fingerprint)),
        Fact("ABI", _text(d.abi)),
        Fact("CPU clusters", _clusters_text(d)),
        Fact("Serial", run.serial),
    )


def binary_facts(run: DeviceRun, prov: Provenance) -> tuple[Fact, ...]:
    """With what: the benchmark binary's kind (saying what a stand-in is), hash, version line."""
    b = run.binary
    kinds = {t.binary_kind for t in run.trials if t.binary_kind}
    kind = str(b.stored("kind") or ", ".join(sorted(kinds)) or "unknown")
    shas = {t.binary_sha256 for t in run.trials if t.binary_sha256}
    sha = b.sha256 or ", ".join(sorted(shas)) or "–"
    return (
        Fact("Kind", kind + prov.binary_tag),
        Fact("sha256", sha),
        Fact("Version line", _text(b.version_line)),
        Fact("Path on device", _text(b.device_path)),
    )


def _when(value: Any) -> str:
    """An ISO timestamp as people read it ("2026-11-29 09:14:34 UTC"); other text unchanged."""
    if not isinstance(value, str) or not value:
        return _text(value)
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return value
    if stamp.tzinfo is None:
        return stamp.strftime("%Y-%m-%d %H:%M:%S")
    return stamp.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _cooldown_text(settings: MeasuredSettings) -> str:
    temp = settings.cooldown_temp_c
    if temp is None:
        return "no temperature target"
    return f"below {temp} °C, at most {_text(settings.stored('cooldown_timeout_s'))} s"


def _sequential_facts(s: MeasuredSettings) -> tuple[Fact, ...]:
    if not s.until_confident:
        return ()
    budget = "no limit" if s.budget_s is None else f"{s.budget_s:g} s of phone time"
    return (
        Fact(
            "Until confident",
            f"±{s.target_ci * 100:g}% (always-valid 99%), at most {s.max_trials} trials, {budget}",
        ),
    )


def settings_facts(run: DeviceRun) -> tuple[Fact, ...]:
    """How: threads, cores, XNNPACK, run counts, and which harness wrote it when."""
    s = run.settings
    m = run.meta
    energy = energy_fact(run)
    return (
        Fact("Threads", _text(s.threads)),
        Fact("Cores", _mask_text(run)),
        Fact("XNNPACK", _text(s.xnnpack)),
        Fact("Compute units", _text(s.accelerators)),
        Fact("Runs / warmup per trial", f"{_text(s.stored('runs'))} / {_text(s.stored('warmup'))}"),
        Fact("Trials per variant", _text(s.stored("trials"))),
        Fact("Cooldown", _cooldown_text(s)),
        Fact("Op profile", "yes" if s.op_profile else "no"),
        *_sequential_facts(s),
        *((energy,) if energy is not None else ()),
        Fact("Harness", f"{_text(m.harness_version)} (git {_text(m.git_commit)})"),
        Fact("TensorFlow (converter)", _text(m.tf_version)),
        Fact("Run", f"{_text(m.run_id)}, {_text(m.status)}"),
        Fact("Started", _when(m.created_at), nowrap=True),
        Fact("Finished", _when(m.finished_at), nowrap=True),
    )


def figures(
    rows: Sequence[VariantRow], baseline: BaselineSection | None, prov: Provenance
) -> tuple[Figure, ...]:
    """The summary strip: measured, failures, median ratio, throttled, regressions.

    Off a phone, the ratio card shows no number: a host-to-phone ratio in a
    headline figure invites exactly the comparison the banner forbids.
    """
    measured = sum(1 for r in rows if r.n_ok)
    failed_configs = sum(1 for r in rows if r.status not in ("ok", "noisy"))
    failed_trials = sum(r.n_trials - r.n_ok for r in rows)
    ratios = [r.ratio for r in rows if r.ratio is not None]
    throttled = sum(r.n_throttled for r in rows)
    out = [
        Figure(
            "Variants measured",
            f"{measured} of {len(rows)}",
            "ok" if measured == len(rows) else "warn",
        ),
        Figure(
            "Failures",
            f"{_count(failed_configs, 'variant')}, {_count(failed_trials, 'trial')}",
            "bad" if failed_configs else "ok",
        ),
        Figure(
            prov.ratio_label,
            f"{statistics.median(ratios):.2f}×" if ratios and prov.phone_numbers else "–",
        ),
        Figure("Throttled trials", str(throttled), "warn" if throttled else "ok"),
    ]
    if baseline is not None and baseline.available:
        regressions = sum(1 for c in baseline.rows if c.verdict == "regression")
        out.append(Figure("Regressions", str(regressions), "bad" if regressions else "ok"))
        if baseline.energy_rows:
            more = sum(1 for c in baseline.energy_rows if c.verdict == "regression")
            out.append(Figure("Energy regressions", str(more), "bad" if more else "ok"))
    return tuple(out)


def section_charts(anchor: str, rows: Sequence[VariantRow], prov: Provenance) -> tuple[Chart, ...]:
    """The section's charts that have something to draw, saying where a host measured."""
    host = "" if prov.phone_numbers else prov.what
    made = (
        charts.measured_vs_published(f"{anchor}-pub", rows, host=host),
        charts.latency_vs_macs(f"{anchor}-macs", rows, host=host),
        charts.accuracy_vs_latency(f"{anchor}-acc", rows, host=host),
        charts.trial_distributions(f"{anchor}-dist", rows, host=host),
        charts.units_chart(f"{anchor}-units", rows, host=host),
        energy_charts.energy_vs_latency(f"{anchor}-energy", rows, host=host),
    )
    return tuple(c for c in made if c is not None)


def build_section(index: int, run: DeviceRun, baseline: BaselineResult | None) -> Section:
    """One device of one run, fully computed."""
    anchor = f"dev{index + 1}"
    rows = build_rows(run)
    base = changes_for(baseline, run, f"{anchor}-base") if baseline is not None else None
    d = run.device
    title = str(d.model or (run.trials[0].device_model if run.trials else None) or run.serial)
    subtitle = f"run {run.meta.run_id} · {run.run_dir}"
    prov = Provenance.of(run)
    return Section(
        anchor=anchor,
        key=run.key,
        title=title,
        subtitle=subtitle,
        banners=prov.banners(),
        device=device_facts(run, prov),
        binary=binary_facts(run, prov),
        settings=settings_facts(run),
        figures=figures(rows, base, prov),
        rows=tuple(rows),
        charts=section_charts(anchor, rows, prov),
        warnings=advice.section_warnings(run, rows),
        ops=ops.breakdowns(run),
        op_profile_requested=run.settings.op_profile,
        op_errors=ops.profile_errors(run),
        baseline=base,
        provenance=prov,
        arms=arms_section(run, f"{anchor}-ab"),
        units=any(r.unit != "cpu" for r in rows),
        energy=energy_section(run),
    )


def build_context(
    runs: Sequence[DeviceRun], baseline: BaselineResult | None = None
) -> ReportContext:
    """The whole report: a section per device per run, histories, cross-run warnings.

    Where several runs of one device model make a history, only the newest
    gets a full section; the history shows them all.
    """
    shown = history.shown_runs(runs)
    sections = tuple(build_section(i, run, baseline) for i, run in enumerate(shown))
    warnings = advice.cross_run_warnings(runs)
    if baseline is not None:
        warnings = (*warnings, *baseline.warnings)
    return ReportContext(
        title="MobileNet latency report",
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        harness_version=__version__,
        sections=sections,
        lede=lede([s.provenance for s in sections]),
        warnings=warnings,
        run_dirs=tuple(dict.fromkeys(str(r.run_dir) for r in runs)),
        histories=history.histories(runs),
    )
