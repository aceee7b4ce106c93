"""Stage 5, finish: what the run left behind, said plainly, with an exit code.

Reads back the stored trials (not what the workers remember), so a resumed
run's outcome covers every trial of the run.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.bench.arms import arm_note
from harness.bench.workers import WorkerOutcome
from harness.errors import EXIT_DEVICE, EXIT_FAILURES, EXIT_OK, HarnessError
from harness.results.frame import json_safe
from harness.results.meta import RunMeta
from harness.results.schema import TrialRecord
from harness.stages.measure import Measured, missing_trials
from harness.stages.settings import RunSettings
from harness.vocab import SYNTHETIC_MARK, is_simulated

if TYPE_CHECKING:
    import pandas as pd

    from harness.results.store import RunStore


@dataclass
class RunOutcome:
    """What a run left behind and how it ended."""

    run_dir: Path
    run_id: str
    status: str  # complete | incomplete | interrupted (harness.vocab.RUN_STATUSES)
    exit_code: int
    trials_total: int
    trials_failed: int
    summary: pd.DataFrame | None
    workers: list[WorkerOutcome]
    resume_command: str | None = None
    report: Path | None = None
    warnings: list[str] = field(default_factory=list)
    # What a reader must know before any figure (stand-in binary, simulated device).
    caveats: list[str] = field(default_factory=list)
    process_wall_s: float = 0.0
    # Planned trials without a record, per device (empty when complete).
    missing: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the `harness run --json` contract)."""
        rows: list[dict[str, Any]] = []
        if self.summary is not None:
            rows = [json_safe(r) for r in self.summary.to_dict(orient="records")]
        return {
            "run_dir": str(self.run_dir),
            "run_id": self.run_id,
            "status": self.status,
            "exit_code": self.exit_code,
            "trials_total": self.trials_total,
            "trials_failed": self.trials_failed,
            "trials_missing": sum(self.missing.values()),
            "missing": self.missing,
            "resume_command": self.resume_command,
            "report": str(self.report) if self.report else None,
            "warnings": self.warnings,
            "caveats": self.caveats,
            "summary": rows,
        }


def resume_command(run_dir: Path, settings: RunSettings) -> str:
    """The exact command that continues this run."""
    argv = ["harness", "run", "--resume", str(run_dir)]
    for d in settings.devices:
        argv += ["--device", d]
    servers = (
        [settings.adb_server]
        if isinstance(settings.adb_server, str)
        else (settings.adb_server or [])
    )
    for server in servers:
        argv += ["--adb-server", server]
    return shlex.join(argv)


def finish(
    settings: RunSettings,
    store: RunStore,
    measured: Measured,
    warnings: list[str],
    emit: Callable[[str], None],
) -> RunOutcome:
    """Summarise the stored trials, write the report, say how to continue; the outcome."""
    workers, status = measured.workers, measured.status

    records = store.records()
    summary = store.summary() if records else None
    if summary is not None:
        summary = with_stops(with_planned(summary, store.meta.order), store.meta)
    failed = sum(1 for r in records if r.status != "ok")
    missing = missing_trials(store)
    resume = None
    if status == "interrupted":
        resume = resume_command(store.run_dir, settings)
        for w in workers:
            if w.lost or w.error:
                emit(f"{w.serial}: {w.lost or w.error}")
        emit(f"run interrupted; continue it with: {resume}")
    elif status == "incomplete":
        # The trials of devices this resume did not include: name those devices.
        resume = resume_command(store.run_dir, dataclasses.replace(settings, devices=list(missing)))
        counts = ", ".join(f"{d}: {n}" for d, n in missing.items())
        emit(
            f"run incomplete: {sum(missing.values())} planned trial(s) missing ({counts}); "
            f"continue it with: {resume}"
        )
    report = write_report(store.run_dir, emit) if settings.report else None
    if status == "interrupted":
        exit_code = EXIT_DEVICE
    else:
        exit_code = EXIT_FAILURES if failed or missing else EXIT_OK
    return RunOutcome(
        run_dir=store.run_dir,
        run_id=store.run_id,
        status=status,
        exit_code=exit_code,
        trials_total=len(records),
        trials_failed=failed,
        summary=summary,
        workers=workers,
        resume_command=resume,
        report=report,
        warnings=warnings,
        caveats=caveats(store.meta, records),
        process_wall_s=sum(w.process_wall_s for w in workers),
        missing=missing,
    )


def with_planned(summary: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Add `n_planned` (trials the plan has for each row's device and configuration),
    so a device that never ran its trials reads 1/2, not 1/1."""
    planned: dict[tuple[str, str], int] = {}
    for trial in order:
        # device|config key (itself |-separated)|trial index
        device, _, rest = str(trial).partition("|")
        key = rest.rpartition("|")[0]
        planned[(device, key)] = planned.get((device, key), 0) + 1
    out = summary.copy()
    out["n_planned"] = [
        planned.get((str(d), str(c)), int(n))
        for d, c, n in zip(out["device_serial"], out["config"], out["n_trials"], strict=True)
    ]
    return out


def with_stops(summary: pd.DataFrame, meta: RunMeta) -> pd.DataFrame:
    """Add `stop_reason` and `stop_detail` (why a configuration got no more trials) to
    the rows of a run with sequential trials (`--until-confident`); others unchanged."""
    if meta.sequential is None:
        return summary
    stops = meta.sequential.stops
    out = summary.copy()
    found = [
        stops.get(f"{d}|{c}") for d, c in zip(out["device_serial"], out["config"], strict=True)
    ]
    out["stop_reason"] = [s.stop_reason if s else None for s in found]
    out["stop_detail"] = [s.reason if s else None for s in found]
    for column in ("stop_reason", "stop_detail"):
        out[column] = out[column].astype("string")
    return out


def caveats(meta: RunMeta, records: Sequence[TrialRecord]) -> list[str]:
    """What every reader of this run's numbers must know first (not phone numbers?)."""
    out: list[str] = []
    kinds = {r.binary_kind for r in records}
    if "stand-in" in kinds:
        out.append(
            "measured with the benchmark_model stand-in (LiteRT on the host CPU), "
            "not the official TFLite tool: these are not phone numbers"
        )
    synthetic = sorted(
        s for s, b in meta.binaries.items() if SYNTHETIC_MARK in (b.version_line or "").lower()
    )
    if synthetic:
        out.append(
            f"synthetic latencies on {', '.join(synthetic)}: the simulated device's deterministic "
            "mode drew every time from a seeded distribution; they measure nothing"
        )
    emulated = [s for s, d in meta.devices.items() if is_simulated(d.props, d.emulated)]
    if emulated:
        out.append(f"simulated or emulated device(s): {', '.join(sorted(emulated))}")
    note = arm_note(meta.settings)
    if note:
        out.append(note)
    if "unknown" in kinds:
        out.append("some trials ran a benchmark_model of unknown origin (see meta.json binaries)")
    return out


def write_report(run_dir: Path, emit: Callable[[str], None]) -> Path | None:
    """Write RUN_DIR/report.html; a report that cannot be written is a warning, not a failure."""
    # harness.report loads matplotlib, scipy and jinja2: only a run that writes its report
    # pays for them (outside the try: a failed import is a bug, not a warning).
    from harness.report import render

    try:
        return Path(render([run_dir], out=run_dir / "report.html"))
    except HarnessError as exc:
        emit(f"warning: report not written: {exc}")
        return None
