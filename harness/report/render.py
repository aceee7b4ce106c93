"""Render stored runs into one self-contained HTML file.

CSS, script, chart SVG and the raw trial data are all inline, and a
Content-Security-Policy forbids every fetch, so the file opens anywhere
offline and cannot phone home. The only script allowed to run is the
report's own, pinned by its sha256: even a device string that got past
escaping could not run. Device strings are escaped by jinja2's autoescape in
HTML and by `json_for_script` inside the embedded JSON block.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.errors import ResultsError
from harness.outputs import write_atomic
from harness.report.advice import CV_LIMIT
from harness.report.baseline import DEFAULT_THRESHOLD, compare_baseline
from harness.report.context import build_context, fmt_ms, fmt_pct
from harness.report.history import shown_runs
from harness.report.model import ReportContext
from harness.report.runs import DeviceRun, read_runs
from harness.results.frame import DICT_COLUMNS, json_safe
from harness.results.schema import TRIAL_FIELDS

REPORT_NAME = "report.html"
# Per-trial columns of the CSV download: the section key, then the record, then context.
DATA_COLUMNS: tuple[str, ...] = (
    "section",
    *TRIAL_FIELDS,
    "device_fingerprint",
    "device_platform",
    "device_android_release",
)


def json_for_script(value: Any) -> Markup:
    """JSON safe inside `<script type="application/json">`: no `<`, `>` or `&` survive.

    A device string holding `</script>` would otherwise end the block and
    start markup; escaped as \\u003c it stays a character of a JSON string.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


@dataclass(frozen=True)
class TrialTable:
    """Every trial of the report, for the CSV download: DATA_COLUMNS and a row per trial."""

    rows: list[list[object]]
    columns: tuple[str, ...] = DATA_COLUMNS

    def to_dict(self) -> dict[str, Any]:
        """What the page embeds: compact, column names once."""
        return {"columns": list(self.columns), "rows": self.rows}


def trial_data(runs: Sequence[DeviceRun]) -> TrialTable:
    """Each trial's stored columns (dicts as the table holds them, JSON text) and the
    device's build, under its section's key."""
    rows: list[list[object]] = []
    for run in runs:
        device = run.device
        for trial in run.trials:
            flat = trial.to_dict()
            for name in DICT_COLUMNS:
                flat[name] = _json_text(flat[name])
            rows.append(
                [
                    run.key, *(flat[c] for c in TRIAL_FIELDS),
                    device.fingerprint, device.platform, device.android_release,
                ]
            )  # fmt: skip
    return TrialTable(rows)


def _json_text(value: object) -> object:
    return value if value is None else json.dumps(json_safe(value), sort_keys=True)


def _static(name: str) -> str:
    return resources.files("harness.report").joinpath("static", name).read_text("utf-8")


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1f}%"


def _num(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def environment() -> jinja2.Environment:
    """The report's jinja2 environment: package templates, autoescape, StrictUndefined."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ms=fmt_ms, pct=fmt_pct, ratio=_ratio, signed=_signed, num=_num)
    return env


def render_html(ctx: ReportContext, data: TrialTable) -> str:
    """The report as one HTML string."""
    js = _static("report.js")
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    template = environment().get_template("report.html.j2")
    return template.render(
        ctx=ctx,
        css=Markup(_static("report.css")),
        js=Markup(js),
        csp=csp,
        data_json=json_for_script(data.to_dict()),
        cv_limit=CV_LIMIT,
    )


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a report."""
    try:
        write_atomic(path, text.encode("utf-8"), option="--output")
    except OSError as exc:
        raise ResultsError(f"cannot write the report: {exc}", path=str(path)) from None


def default_output(runs: Sequence[DeviceRun]) -> Path:
    """RUN_DIR/report.html for one run folder, ./report.html for several."""
    folders = list(dict.fromkeys(r.run_dir for r in runs))
    return folders[0] / REPORT_NAME if len(folders) == 1 else Path(REPORT_NAME)


@dataclass(frozen=True)
class Rendered:
    """A written report: where it is and what it showed (for `harness report --json`)."""

    path: Path
    context: ReportContext
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: the file and, per section, the counts a script may gate on."""
        sections = []
        for s in self.context.sections:
            base = s.baseline
            sections.append(
                {
                    "device": s.title,
                    "key": s.key,
                    "variants": len(s.rows),
                    "measured": sum(1 for r in s.rows if r.n_ok),
                    "failed": sum(1 for r in s.rows if r.status not in ("ok", "noisy")),
                    "noisy": sum(1 for r in s.rows if r.status == "noisy"),
                    "not_phone_numbers": bool(s.banners),
                    "warnings": [w.title for w in s.warnings],
                    "regressions": (
                        sum(1 for c in base.rows if c.verdict == "regression")
                        if base is not None and base.available
                        else None
                    ),
                    # `harness run --energy`: configurations with energy, and those the
                    # baseline judged more costly (None without energy on both sides).
                    "energy_measured": sum(1 for r in s.rows if r.energy_trials),
                    "energy_regressions": (
                        sum(1 for c in base.energy_rows if c.verdict == "regression")
                        if base is not None and base.energy_rows
                        else None
                    ),
                }
            )
        return {
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "sections": sections,
            "warnings": [w.title for w in self.context.warnings],
            "history": [
                {
                    "device": h.device,
                    "runs": [r.run_id for r in h.runs],
                    "steps": [
                        {
                            "config": st.config,
                            "at_run_id": st.at_run_id,
                            "change_pct": round(st.change_pct, 2),
                        }
                        for st in h.steps
                    ],
                }
                for h in self.context.histories
            ],
        }


def build(
    run_dirs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    baseline: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> Rendered:
    """Build and write the HTML report of `run_dirs`, optionally against `baseline`.

    Reads stored results only. Raises ResultsError / SchemaVersionError for
    unusable input; nothing is written then.
    """
    paths = [run_dirs] if isinstance(run_dirs, (str, os.PathLike)) else list(run_dirs)
    runs = read_runs(paths)
    shown = shown_runs(runs)  # the older runs of a history get no section of their own
    base = None
    if baseline is not None:
        base = compare_baseline(baseline, [r.run_dir for r in shown], threshold=threshold)
    ctx = build_context(runs, base)
    html = render_html(ctx, trial_data(shown))
    target = Path(out) if out is not None else default_output(runs)
    _write_atomic(target, html)
    return Rendered(path=target, context=ctx, size_bytes=len(html.encode("utf-8")))


def render(
    run_dirs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    baseline: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
) -> Path:
    """The contract entry point (docs/design.md "report"): write the report, return its path."""
    return build(run_dirs, baseline, out).path
