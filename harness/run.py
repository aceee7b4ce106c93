"""`harness run` as a plain function: convert, prepare devices, plan, measure, store, report.

The CLI is a thin layer over `run(settings)`; tests and scripts call it
directly. Every trial is stored the moment it ends, so whatever stops a run
(a phone gone for good, Ctrl-C, a killed host) leaves a folder that
`harness run --resume RUN_DIR` completes with the same seed and settings.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import shlex
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import __version__, catalogue
from harness.bench.arms import (
    ArmSpec,
    arm_note,
    check_arms,
    check_resumed_arms,
    plan_for,
    resolve_arms,
)
from harness.bench.plan import Config, configurations, new_seed, xnnpack_settings
from harness.bench.prepare import (
    ModelFile,
    PreparedDevice,
    prepare_device,
    prepare_with_reconnect,
    release_device,
)
from harness.bench.runner import WorkerOutcome, run_plan
from harness.bench.trial import TrialRunner, TrialSettings
from harness.errors import (
    EXIT_DEVICE,
    EXIT_FAILURES,
    EXIT_OK,
    HarnessError,
    PlanError,
    ResultsError,
    UnknownQuantError,
)

if TYPE_CHECKING:
    import pandas as pd

    from harness.device.session import DeviceSession
    from harness.results.store import RunStore

log = logging.getLogger(__name__)

# Settings a resumed run takes from meta.json (the rest may change: devices' adb
# address, timeouts); these define what the trials measure.
_MEASURED = (
    "variants", "quants", "threads", "cores", "trials", "runs", "warmup", "xnnpack",
    "cooldown_temp_c", "cooldown_timeout_s", "op_profile", "trial_timeout_s", "arms",
)  # fmt: skip


@dataclass
class RunSettings:
    """Everything `harness run` was asked to do (defaults as documented in docs/run.md)."""

    devices: list[str]
    variants: list[str] = field(default_factory=lambda: [catalogue.DEFAULT_SELECTION])
    quants: list[str] = field(default_factory=lambda: ["fp32"])
    threads: list[int] = field(default_factory=lambda: [1])
    cores: list[str] = field(default_factory=lambda: ["big"])
    trials: int = 5
    runs: int = 50
    warmup: int = 5
    xnnpack: str = "default"
    cooldown_temp_c: float | None = 40.0
    cooldown_timeout_s: float = 120.0
    op_profile: bool = False
    out: Path = Path("results")
    resume: Path | None = None
    benchmark_binary: Path | None = None
    adb_server: str | None = None
    reconnect_timeout_s: float = 60.0
    trial_timeout_s: float = 600.0
    seed: int | None = None
    fixed_performance: bool = False
    report: bool = True
    arms: list[ArmSpec] = field(default_factory=list)  # A/B run: harness.bench.arms

    def validate(self) -> list[Config]:
        """Check every option before any device is touched; the configurations to measure.

        Raises PlanError, UnknownVariantError, UnknownQuantError or OutputPathError
        (exit code 2), or StorageError (exit 3) for an --out the host will not let us write.
        """
        from harness.convert.tflite import QUANTS

        _refuse_out_of_bounds(self)
        for q in self.quants:
            if q not in QUANTS:
                raise UnknownQuantError(q, QUANTS)
        if self.runs < 1:
            raise PlanError(f"--runs must be >= 1, got {self.runs}")
        if self.warmup < 0:
            raise PlanError(f"--warmup must be >= 0, got {self.warmup}")
        if self.trials < 1:
            raise PlanError(f"--trials must be >= 1, got {self.trials}")
        for name in ("reconnect_timeout_s", "trial_timeout_s", "cooldown_timeout_s"):
            if not getattr(self, name) > 0:
                raise PlanError(f"--{name[:-2].replace('_', '-')} must be > 0")
        ids = [v.id for v in catalogue.select(self.variants)]
        check_arms(self.arms, ids, self.quants)
        return configurations(
            ids, self.quants, xnnpack_settings(self.xnnpack), self.threads, self.cores
        )

    def measured(self) -> dict[str, Any]:
        """The settings stored in meta.json (what the trials measure)."""
        return {k: getattr(self, k) for k in _MEASURED}


# The most trials per configuration `harness run` accepts (docs/run.md). 1000 is
# already hours per configuration on a phone; a typo like 10^9 used to build a
# plan that ate memory for a minute before printing anything.
MAX_TRIALS = 1000


def _refuse_out_of_bounds(settings: RunSettings) -> None:
    """PlanError (exit 2) for option values that select nothing or make no sense."""
    from harness.outputs import output_folder

    for option, values in (
        ("--variants", settings.variants),
        ("--quant", settings.quants),
        ("--threads", settings.threads),
        ("--cores", settings.cores),
    ):
        if not values:
            raise PlanError(f"{option} selects nothing", hint="see `harness run --help`")
    if settings.trials > MAX_TRIALS:
        raise PlanError(f"--trials must be <= {MAX_TRIALS}, got {settings.trials}")
    if settings.cooldown_temp_c is not None and not settings.cooldown_temp_c > 0:
        raise PlanError(
            f"--cooldown-temp must be above 0 °C, got {settings.cooldown_temp_c:g}",
            hint="0 turns the wait off",
        )
    output_folder(settings.out, "--out")


@dataclass
class RunOutcome:
    """What a run left behind and how it ended."""

    run_dir: Path
    run_id: str
    status: str  # complete | incomplete | interrupted | failed
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
        from harness.results.frame import json_safe

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
    if settings.adb_server:
        argv += ["--adb-server", settings.adb_server]
    return shlex.join(argv)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _tf_version() -> str | None:
    # Read from package metadata: importing TensorFlow here would cost seconds.
    for dist in ("tensorflow-cpu", "tensorflow", "tf-nightly"):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _settings_from_meta(meta: dict[str, Any], given: RunSettings) -> RunSettings:
    stored = meta.get("settings") or {}
    missing = [
        k for k in ("variants", "quants", "threads", "cores", "trials", "runs") if k not in stored
    ]
    if missing:
        raise ResultsError(f"meta.json settings lack {', '.join(missing)}", path=str(given.resume))
    merged = dataclasses.replace(given, **{k: stored[k] for k in _MEASURED if k in stored})
    merged.seed = int(meta["seed"])
    if not given.devices:
        merged.devices = list(stored.get("devices") or [])
    if not merged.devices:
        raise PlanError("--resume needs --device (the run's meta.json names none)")
    return merged


def _convert(settings: RunSettings, emit: Callable[[str], None]) -> list[Any]:
    from harness.convert import convert_many
    from harness.convert.cache import cache_dir

    variants = catalogue.select(settings.variants)
    emit(
        f"models: {len(variants)} variant(s) x {len(settings.quants)} quant(s), "
        f"converting only what {cache_dir()} lacks"
    )
    # A first run converts for minutes: the progress bar (stderr) shows it moving.
    models = list(convert_many(variants, tuple(settings.quants), progress=True))
    fresh = sum(1 for m in models if not m.cached)
    if fresh:
        emit(f"models: converted {fresh}, {len(models) - fresh} from the cache")
    return models


def _open_sessions(settings: RunSettings) -> list[DeviceSession]:
    from harness.device.select import connect

    return list(
        connect(settings.devices, adb_server=settings.adb_server,
                wait_s=settings.reconnect_timeout_s)
    )  # fmt: skip


# What makes a phone the same phone for --resume: a trial measured on another
# model, SoC, build or binary is not the same measurement.
IDENTITY_KEYS = ("model", "device", "platform", "hardware", "abi", "fingerprint")


def identity_differences(
    then: dict[str, Any], now: dict[str, Any], binary_then: str | None, binary_now: str | None
) -> list[str]:
    """`key: stored -> now` for every identity field that differs (unknowns are skipped)."""
    out = [
        f"{key} {then[key]!r} -> {now.get(key)!r}"
        for key in IDENTITY_KEYS
        if then.get(key) is not None and then.get(key) != now.get(key)
    ]
    if binary_then and binary_now and binary_then != binary_now:
        out.append(f"benchmark binary sha256 {binary_then[:12]} -> {binary_now[:12]}")
    return out


def _map_resumed_serials(
    meta: dict[str, Any], identities: dict[str, tuple[dict[str, Any], str | None]]
) -> dict[str, str]:
    """Old serial -> new serial, only for phones whose identity matches the run's.

    A device may come back under a new address (a simulated device or a phone
    over TCP gets a new port): it takes the old serial of the one device of
    the run with the same identity. `identities` is serial -> (device info,
    binary sha256) of the devices now at hand. Raises PlanError (exit 2)
    naming every difference when a device is not the one the run measured.
    """
    devices = meta.get("devices") or {}
    binaries = meta.get("binaries") or {}

    def diffs(old: str, p: tuple[dict[str, Any], str | None]) -> list[str]:
        return identity_differences(
            devices.get(old) or {}, p[0], (binaries.get(old) or {}).get("sha256"), p[1]
        )

    mapping: dict[str, str] = {}
    refused: list[str] = []
    by_serial = identities
    for serial, p in by_serial.items():
        if serial in devices:
            found = diffs(serial, p)
            if found:
                refused.append(f"{serial}: {'; '.join(found)}")
            else:
                mapping[serial] = serial
    for serial, p in by_serial.items():
        if serial in devices:
            continue
        free = [old for old in devices if old not in mapping]
        same = [old for old in free if not diffs(old, p)]
        if same:
            mapping[same[0]] = serial
        elif len(free) == 1:
            refused.append(f"{serial} (for {free[0]}): {'; '.join(diffs(free[0], p))}")
        else:
            refused.append(f"{serial} is not a device of this run ({', '.join(devices) or '-'})")
    if refused:
        raise PlanError(
            "--resume: not the device(s) this run measured: " + " | ".join(refused),
            hint="resume on the same phone with the same benchmark binary, or start a new run",
        )
    return mapping


def missing_trials(store: RunStore) -> dict[str, int]:
    """Planned trials (meta.json `order`) without a record, counted per device."""
    done = store.completed_trial_ids()
    missing: dict[str, int] = {}
    for trial in store.meta.get("order") or []:
        if trial not in done:
            device = str(trial).split("|", 1)[0]
            missing[device] = missing.get(device, 0) + 1
    return missing


def run(
    settings: RunSettings,
    *,
    sessions: Sequence[DeviceSession] | None = None,
    emit: Callable[[str], None] = lambda _msg: None,
    stop: threading.Event | None = None,
) -> RunOutcome:
    """Run (or resume) a measurement; returns what happened. Raises HarnessError
    only before the first trial (bad input, no device, conversion failure)."""
    from harness.results.store import RunStore

    store: RunStore | None = None
    meta: dict[str, Any] = {}
    if settings.resume is not None:
        store = RunStore.open(settings.resume)
        for msg in store.recovered:
            emit(msg)
        meta = store.meta
        settings = _settings_from_meta(meta, settings)
        emit(f"resuming {store.run_dir} ({len(store.completed_trial_ids())} trial(s) stored)")
    seed = settings.seed if settings.seed is not None else new_seed()
    configs = settings.validate()
    # An A/B run whose every arm brings its models converts nothing.
    converting = not settings.arms or any(a["models"] is None for a in settings.arms)
    converted = _convert(settings, emit) if converting else []
    models = [ModelFile(c.variant.id, c.quant, Path(c.path), c.sha256) for c in converted]
    arms = resolve_arms(
        settings.arms, list(dict.fromkeys(c.variant for c in configs)), settings.quants, models
    )
    if sessions is None:
        sessions = _open_sessions(settings)
    serials = [s.serial for s in sessions]
    logs_dir = (store.run_dir / "logs") if store else None
    prepared = _prepare_all(settings, sessions, models, configs, logs_dir, emit, arms.files)
    warnings = arms.warnings + [w for p in prepared for w in p.warnings]
    for w in warnings:
        emit(f"warning: {w}")
    runners: list[TrialRunner] = []
    try:
        plan_serials = serials
        if store is None:
            store = _create_store(settings, seed, prepared, converted, configs)
            if arms.meta:
                store.update_meta(arms=arms.meta)
            for p in prepared:
                p.target.logs_dir = store.run_dir / "logs"
        else:
            identities = {
                p.target.session.serial: (p.info, p.binary.get("sha256")) for p in prepared
            }
            mapping = _map_resumed_serials(meta, identities)
            _check_resumed_context(store, prepared, mapping)
            check_resumed_arms(store.meta.get("arms") or {}, arms, store.run_dir)
            plan_serials = _plan_serials(mapping, serials)
        plan = plan_for(plan_serials, configs, settings.arms, trials=settings.trials, seed=seed)
        if store.meta.get("status") != "running":
            store.update_meta(status="running")
        runners = _runners(settings, prepared, plan_serials, store.run_id, emit)
        workers = run_plan(runners, plan, store, emit=emit, stop=stop)
        lost = [w for w in workers if w.lost or w.error]
        if settings.op_profile and not lost:
            from harness.bench.profile import run_profiles

            run_profiles(runners, plan.configs(), store.run_dir, emit=emit)
        missing = missing_trials(store)
        status = "interrupted" if lost else "incomplete" if missing else "complete"
        store.finalize(status)
        store.update_meta(missing=missing)
    except PlanError:
        raise  # a refused resume changes nothing in the run folder
    except BaseException:
        # Ctrl-C, SIGTERM or an unexpected error: what is stored stays, and can be continued.
        if store is not None:
            store.update_meta(status="interrupted", missing=missing_trials(store))
            _stop_in_flight(runners, emit)
            emit(f"run interrupted; continue it with: {resume_command(store.run_dir, settings)}")
        raise
    finally:
        for p in prepared:
            release_device(p)
    return _outcome(settings, store, workers, status, warnings, emit)


def _plan_serials(mapping: dict[str, str], serials: Sequence[str]) -> list[str]:
    """Plans of a resumed run use the stored serials, so trial ids stay those of the run."""
    inverse = {new: old for old, new in mapping.items()}
    return [inverse[s] for s in serials]


# After Ctrl-C / SIGTERM, the one call that kills a trial in flight gets this long.
STOP_KILL_S = 1.0


def _stop_in_flight(runners: Sequence[TrialRunner], emit: Callable[[str], None]) -> None:
    """Kill the benchmark processes the stopped run left on its phones; say which were left.

    One bounded call per device, in parallel: a phone that does not answer at
    once keeps its process, which the next run's sweep stops before measuring.
    """
    busy = [(r, r.in_flight) for r in runners if r.in_flight]
    for r in runners:
        if not r.in_flight:
            emit(f"{r.target.session.serial}: no trial was running on the device")

    def kill(runner: TrialRunner, trial_dir: str) -> None:
        session = runner.target.session
        session.reopen()
        try:
            out = session.shell(
                ["sh", runner.target.remote.script, "kill", trial_dir], timeout_s=STOP_KILL_S
            )
            what = "killed" if out.stdout.startswith("killed") else "had already ended"
            emit(f"{session.serial}: the trial in flight {what}")
        except HarnessError as exc:
            emit(
                f"{session.serial}: the trial in flight was left running ({exc}); "
                "a resumed run stops it before measuring"
            )
        finally:
            session.abort()

    threads = [threading.Thread(target=kill, args=item, daemon=True) for item in busy]
    for t in threads:
        t.start()
    for t in threads:
        t.join(STOP_KILL_S + 0.5)


def _prepare_all(
    settings: RunSettings,
    sessions: Sequence[DeviceSession],
    models: list[ModelFile],
    configs: list[Any],
    logs_dir: Path | None,
    emit: Callable[[str], None],
    arms: dict[str, tuple[Path | None, list[ModelFile]]] | None = None,
) -> list[PreparedDevice]:
    def one(session: DeviceSession) -> PreparedDevice:
        emit(f"{session.serial}: preparing (identity, cores, binary, models)")
        return prepare_with_reconnect(
            session,
            models=models,
            configs=configs,
            cores=settings.cores,
            runs=settings.runs,
            warmup=settings.warmup,
            benchmark_binary=settings.benchmark_binary,
            reconnect_timeout_s=settings.reconnect_timeout_s,
            logs_dir=logs_dir,
            fixed_performance=settings.fixed_performance,
            on_event=emit,
            prepare=prepare_device,
            arms=arms,
        )

    results: dict[int, PreparedDevice | BaseException] = {}

    def worker(index: int, session: DeviceSession) -> None:
        try:
            results[index] = one(session)
        except BaseException as exc:  # handed to the main thread
            results[index] = exc

    # Daemon threads the main thread only watches (short joins), so Ctrl-C and
    # SIGTERM reach it at once; on a stop every call in flight is cut.
    threads = [
        threading.Thread(target=worker, args=(i, s), name=f"prepare-{s.serial}", daemon=True)
        for i, s in enumerate(sessions)
    ]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.1)
    except BaseException:
        for session in sessions:
            session.abort()
        raise
    ready = [r for r in results.values() if isinstance(r, PreparedDevice)]
    failed = [r for _i, r in sorted(results.items()) if isinstance(r, BaseException)]
    if failed:
        # Leave the devices that did get ready as they were before the run.
        for p in ready:
            release_device(p)
        raise failed[0]
    return [r for _i, r in sorted(results.items()) if isinstance(r, PreparedDevice)]


def _create_store(
    settings: RunSettings,
    seed: int,
    prepared: list[PreparedDevice],
    converted: list[Any],
    configs: list[Any],
) -> RunStore:
    from harness.results.store import RunStore

    serials = [p.target.session.serial for p in prepared]
    plan = plan_for(serials, configs, settings.arms, trials=settings.trials, seed=seed)
    binaries = {}
    for p in prepared:
        b = dict(p.binary)
        if isinstance(b.get("flags"), (set, frozenset, list, tuple)):
            b["flags"] = sorted(b["flags"])
        binaries[p.target.session.serial] = b
    meta = {
        "seed": seed,
        "git_commit": _git_commit(),
        "tf_version": _tf_version(),
        "converter": "tf.lite.TFLiteConverter",
        "harness_version": __version__,
        "settings": {**settings.measured(), "devices": list(settings.devices)},
        "devices": {p.target.session.serial: p.info for p in prepared},
        "cores": {p.target.session.serial: p.cores for p in prepared},
        "fixed_performance": {p.target.session.serial: p.fixed_performance for p in prepared},
        "binaries": binaries,
        "models": {
            f"{c.variant.id}|{c.quant}": {
                "sha256": c.sha256,
                "size_bytes": c.size_bytes,
                "macs": c.macs,
                "weight_params": c.weight_params,
            }
            for c in converted
        },
        "order": plan.order,
    }
    return RunStore.create(settings.out, meta)


def _check_resumed_context(
    store: RunStore, prepared: list[PreparedDevice], mapping: dict[str, str]
) -> None:
    """A resumed run must measure with the same models as before (the phone and
    binary were checked by _map_resumed_serials)."""
    meta = store.meta
    by_new = {p.target.session.serial: p for p in prepared}
    for new in mapping.values():
        for key, model in by_new[new].target.models.items():
            stored = (meta.get("models") or {}).get(f"{key[0]}|{key[1]}") or {}
            if stored.get("sha256") and stored["sha256"] != model.sha256:
                raise ResultsError(
                    f"model {key[0]} ({key[1]}) changed since this run started",
                    path=str(store.run_dir),
                    hint="start a new run (the converter or its cache changed)",
                )
    for p in prepared:
        p.target.logs_dir = store.run_dir / "logs"


def _runners(
    settings: RunSettings,
    prepared: list[PreparedDevice],
    plan_serials: list[str],
    run_id: str,
    emit: Callable[[str], None],
) -> list[TrialRunner]:
    trial_settings = TrialSettings(
        runs=settings.runs,
        warmup=settings.warmup,
        cooldown_temp_c=settings.cooldown_temp_c,
        cooldown_timeout_s=settings.cooldown_timeout_s,
        timeout_s=settings.trial_timeout_s,
    )
    runners = []
    for p, plan_serial in zip(prepared, plan_serials, strict=True):
        runners.append(
            TrialRunner(p.target, trial_settings, run_id, on_event=emit, plan_serial=plan_serial)
        )
    return runners


def _outcome(
    settings: RunSettings,
    store: RunStore,
    workers: list[WorkerOutcome],
    status: str,
    warnings: list[str],
    emit: Callable[[str], None],
) -> RunOutcome:
    from harness.results.frame import trials_frame
    from harness.results.summary import summarize

    records = store.records()
    frame = trials_frame(records)
    summary = summarize(frame) if records else None
    if summary is not None:
        summary = _with_planned(summary, store.meta.get("order") or [])
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
    report = _report(store.run_dir, emit) if settings.report else None
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


def _with_planned(summary: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
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


def caveats(meta: dict[str, Any], records: Sequence[Any]) -> list[str]:
    """What every reader of this run's numbers must know first (not phone numbers?)."""
    out: list[str] = []
    kinds = {r.binary_kind for r in records}
    if "stand-in" in kinds:
        out.append(
            "measured with the benchmark_model stand-in (LiteRT on the host CPU), "
            "not the official TFLite tool: these are not phone numbers"
        )
    synthetic = sorted(
        s
        for s, b in (meta.get("binaries") or {}).items()
        if "synthetic latencies" in str((b or {}).get("version_line") or "").lower()
    )
    if synthetic:
        out.append(
            f"synthetic latencies on {', '.join(synthetic)}: the simulated device's deterministic "
            "mode drew every time from a seeded distribution; they measure nothing"
        )
    emulated = [s for s, d in (meta.get("devices") or {}).items() if d.get("emulated")]
    if emulated:
        out.append(f"simulated or emulated device(s): {', '.join(sorted(emulated))}")
    note = arm_note(meta)
    if note:
        out.append(note)
    if "unknown" in kinds:
        out.append("some trials ran a benchmark_model of unknown origin (see meta.json binaries)")
    return out


def _report(run_dir: Path, emit: Callable[[str], None]) -> Path | None:
    """Write RUN_DIR/report.html when the report package offers `render`."""
    try:
        from harness.report import render
    except ImportError:
        return None
    try:
        return Path(render([run_dir], out=run_dir / "report.html"))
    except HarnessError as exc:
        emit(f"warning: report not written: {exc}")
        return None
