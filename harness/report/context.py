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
from harness.report import advice, charts, ops
from harness.report.advice import count as _count
from harness.report.baseline import BaselineResult, changes_for
from harness.report.model import (
    BaselineSection,
    Chart,
    Fact,
    Figure,
    ReportContext,
    Section,
    VariantRow,
)
from harness.report.runs import DeviceRun

QUANT_ORDER = ("fp32", "fp16", "dynamic", "int8")


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


def _catalogue_order() -> dict[str, int]:
    return {v.id: i for i, v in enumerate(catalogue.all_variants())}


def _published(variant: str) -> catalogue.Published | None:
    try:
        return catalogue.get(variant).published
    except UnknownVariantError:
        return None  # a user's own model file: no published figures to set beside it


def build_rows(run: DeviceRun) -> list[VariantRow]:
    """One row per measured configuration, in the order of the published tables."""
    order = _catalogue_order()
    setups = {(s["threads"], s["cores"], s["xnnpack"]) for s in run.summary}
    by_config: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in run.trials:
        by_config[str(t["config"])].append(t)
    rows: list[VariantRow] = []
    for s in run.summary:
        config = str(s["config"])
        trials = by_config[config]
        ok = [float(t["latency_ms"]) for t in trials if t["status"] == "ok" and t["latency_ms"]]
        errors = tuple(
            dict.fromkeys(str(t["error"]) for t in trials if t["status"] != "ok" and t["error"])
        )
        first = trials[0] if trials else {}
        pub = _published(str(s["variant"]))
        rows.append(
            VariantRow(
                config=config,
                variant=str(s["variant"]),
                family=str(first.get("family") or "?"),
                depth_multiplier=float(first.get("depth_multiplier") or 0.0),
                resolution=int(first.get("resolution") or 0),
                quant=str(s["quant"]),
                macs_m=float(pub.macs_m) if pub else None,
                params_m=pub.params_m if pub else None,
                top1=pub.top1 if pub else None,
                published_ms=s["published_ms"],
                n_trials=int(s["n_trials"]),
                n_ok=int(s["n_ok"]),
                n_throttled=int(s["throttled_trials"] or 0),
                median_ms=s["median_ms"],
                p5_ms=s["p5_ms"],
                p95_ms=s["p95_ms"],
                cv=s["cv"],
                ratio=s["ratio"],
                status=str(s["status"]),
                trials_ms=tuple(ok),
                errors=errors,
                setup=f"t{s['threads']} {s['cores']} xnnpack={s['xnnpack']}"
                if len(setups) > 1
                else "",
            )
        )

    def sort_key(r: VariantRow) -> tuple[int, str, int, str]:
        quant = QUANT_ORDER.index(r.quant) if r.quant in QUANT_ORDER else len(QUANT_ORDER)
        return (order.get(r.variant, len(order)), r.variant, quant, r.config)

    return sorted(rows, key=sort_key)


def _mask_text(run: DeviceRun) -> str:
    """Core policy, CPUs and taskset mask: from meta["cores"] when stored, else the trials."""
    chosen = (run.meta.get("cores") or {}).get(run.serial) or {}
    if chosen:
        return "; ".join(
            f"{policy}: cpu {_text((c or {}).get('cpus'))} (mask 0x{(c or {}).get('mask')})"
            for policy, c in chosen.items()
        )
    masks = sorted({str(t["core_mask"]) for t in run.trials if t.get("core_mask")})
    cores = sorted({str(t["cores"]) for t in run.trials if t.get("cores")})
    return f"{', '.join(cores) or '–'} (mask {', '.join('0x' + m for m in masks) or '–'})"


def _clusters_text(device: dict[str, Any]) -> str:
    parts = []
    for c in device.get("clusters") or []:
        cpus = c.get("cpus") or []
        khz = c.get("max_khz")
        speed = f" @ {khz / 1000:.0f} MHz" if isinstance(khz, (int, float)) else ""
        parts.append(f"cpu{'/'.join(str(x) for x in cpus)}{speed}")
    return "; ".join(parts) or "–"


def device_facts(run: DeviceRun) -> tuple[Fact, ...]:
    """Who measured: model, SoC, Android build, ABI, CPU clusters."""
    d = run.device
    model = " ".join(str(x) for x in (d.get("manufacturer"), d.get("model")) if x) or _text(
        run.trials[0].get("device_model") if run.trials else None
    )
    soc = " / ".join(str(x) for x in (d.get("platform"), d.get("hardware")) if x)
    android = f"{_text(d.get('android_release'))} (SDK {_text(d.get('sdk'))})"
    return (
        Fact("Model", model),
        Fact("Device / product", f"{_text(d.get('device'))} / {_text(d.get('product'))}"),
        Fact("SoC", soc or "–"),
        Fact("Android", android),
        Fact("Build fingerprint", _text(d.get("fingerprint"))),
        Fact("ABI", _text(d.get("abi"))),
        Fact("CPU clusters", _clusters_text(d)),
        Fact("Serial", run.serial),
    )


def binary_facts(run: DeviceRun) -> tuple[Fact, ...]:
    """With what: the benchmark binary's kind, hash and own version line."""
    b = run.binary
    kinds = {str(t["binary_kind"]) for t in run.trials if t.get("binary_kind")}
    kind = str(b.get("kind") or ", ".join(sorted(kinds)) or "unknown")
    shas = {str(t["binary_sha256"]) for t in run.trials if t.get("binary_sha256")}
    sha = str(b.get("sha256") or ", ".join(sorted(shas)) or "–")
    return (
        Fact("benchmark_model", kind),
        Fact("sha256", sha),
        Fact("Version line", _text(b.get("version_line"))),
        Fact("Path on device", _text(b.get("device_path"))),
    )


def _cooldown_text(settings: dict[str, Any]) -> str:
    temp = settings.get("cooldown_temp_c")
    if temp is None:
        return "no temperature target"
    return f"below {temp} °C, at most {_text(settings.get('cooldown_timeout_s'))} s"


def settings_facts(run: DeviceRun) -> tuple[Fact, ...]:
    """How: threads, cores, XNNPACK, run counts, and which harness wrote it when."""
    s = run.settings
    m = run.meta
    return (
        Fact("Threads", _text(s.get("threads"))),
        Fact("Cores", _mask_text(run)),
        Fact("XNNPACK", _text(s.get("xnnpack"))),
        Fact("Runs / warmup per trial", f"{_text(s.get('runs'))} / {_text(s.get('warmup'))}"),
        Fact("Trials per variant", _text(s.get("trials"))),
        Fact("Cooldown", _cooldown_text(s)),
        Fact("Op profile", "yes" if s.get("op_profile") else "no"),
        Fact("Harness", f"{_text(m.get('harness_version'))} (git {_text(m.get('git_commit'))})"),
        Fact("TensorFlow (converter)", _text(m.get("tf_version"))),
        Fact("Run", f"{_text(m.get('run_id'))}, {_text(m.get('status'))}"),
        Fact("Date", f"{_text(m.get('created_at'))} → {_text(m.get('finished_at'))}"),
    )


def is_simulated(run: DeviceRun) -> bool:
    """True for the harness's simulated device (its numbers are the host's, not a phone's)."""
    d = run.device
    props = d.get("props") or {}
    return bool(d.get("emulated")) or str(props.get("ro.harness.simulated", "")) == "1"


def is_stand_in(run: DeviceRun) -> bool:
    """True when any trial ran the host stand-in rather than TFLite's benchmark_model."""
    kinds = {str(t.get("binary_kind")) for t in run.trials} | {str(run.binary.get("kind"))}
    return "stand-in" in kinds


def banners(run: DeviceRun) -> tuple[str, ...]:
    """Why this section's numbers are not phone numbers (empty for a real phone and binary)."""
    out = []
    if is_simulated(run):
        out.append(
            "Measured on the simulated device: these numbers are the host computer's, "
            "not a phone's. Do not compare them with the Pixel-1 column."
        )
    if "synthetic latencies" in str(run.binary.get("version_line") or "").lower():
        out.append(
            "Synthetic latencies: the simulated device's deterministic mode drew every time "
            "from a seeded distribution. They measure nothing; they exist to test the harness."
        )
    if is_stand_in(run):
        out.append(
            "Measured with the stand-in benchmark binary (the LiteRT interpreter on the host), "
            "not TFLite's benchmark_model: these are not phone numbers."
        )
    return tuple(out)


def figures(rows: Sequence[VariantRow], baseline: BaselineSection | None) -> tuple[Figure, ...]:
    """The summary strip: measured, failures, median ratio, throttled, regressions."""
    measured = sum(1 for r in rows if r.n_ok)
    failed_configs = sum(1 for r in rows if r.status != "ok")
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
        Figure("Median ratio to Pixel 1", f"{statistics.median(ratios):.2f}×" if ratios else "–"),
        Figure("Throttled trials", str(throttled), "warn" if throttled else "ok"),
    ]
    if baseline is not None and baseline.available:
        regressions = sum(1 for c in baseline.rows if c.verdict == "regression")
        out.append(Figure("Regressions", str(regressions), "bad" if regressions else "ok"))
    return tuple(out)


def section_charts(anchor: str, rows: Sequence[VariantRow]) -> tuple[Chart, ...]:
    """The section's charts that have something to draw."""
    made = (
        charts.measured_vs_published(f"{anchor}-pub", rows),
        charts.latency_vs_macs(f"{anchor}-macs", rows),
        charts.accuracy_vs_latency(f"{anchor}-acc", rows),
        charts.trial_distributions(f"{anchor}-dist", rows),
    )
    return tuple(c for c in made if c is not None)


def build_section(index: int, run: DeviceRun, baseline: BaselineResult | None) -> Section:
    """One device of one run, fully computed."""
    anchor = f"dev{index + 1}"
    rows = build_rows(run)
    base = changes_for(baseline, run, f"{anchor}-base") if baseline is not None else None
    d = run.device
    title = str(
        d.get("model") or (run.trials[0].get("device_model") if run.trials else None) or run.serial
    )
    subtitle = f"run {run.meta.get('run_id')} · {run.run_dir}"
    return Section(
        anchor=anchor,
        key=run.key,
        title=title,
        subtitle=subtitle,
        banners=banners(run),
        device=device_facts(run),
        binary=binary_facts(run),
        settings=settings_facts(run),
        figures=figures(rows, base),
        rows=tuple(rows),
        charts=section_charts(anchor, rows),
        warnings=advice.section_warnings(run, rows),
        ops=ops.breakdowns(run),
        op_profile_requested=bool(run.settings.get("op_profile")),
        op_errors=ops.profile_errors(run),
        baseline=base,
    )


def build_context(
    runs: Sequence[DeviceRun], baseline: BaselineResult | None = None
) -> ReportContext:
    """The whole report: one section per device per run, plus cross-run warnings."""
    sections = tuple(build_section(i, run, baseline) for i, run in enumerate(runs))
    warnings = advice.cross_run_warnings(runs)
    if baseline is not None:
        warnings = (*warnings, *baseline.warnings)
    return ReportContext(
        title="MobileNet latency report",
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        harness_version=__version__,
        sections=sections,
        warnings=warnings,
        run_dirs=tuple(dict.fromkeys(str(r.run_dir) for r in runs)),
    )
