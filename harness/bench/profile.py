"""`--op-profile`: one op-profiling process per configuration, after the latency trials.

Profiling adds overhead to every op, so its timings are never latency: they
go to their own files (`profiles.jsonl`, one record per device x config, and
`ops.parquet`, one row per op; stored by `harness.results.profiles`), never
into trials.jsonl. A binary without
`--enable_op_profiling` gets a recorded `unsupported` entry and a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from harness.bench.command import build_command, normalize_flags
from harness.bench.trial import TrialRunner
from harness.errors import DeviceLostError
from harness.logs.parser import parse
from harness.results.profiles import (
    PROFILES_FILE,
    ProfileRecord,
    append_profile,
    read_profiles,
    write_ops_table,
)
from harness.vocab import Config

PROFILE_RUNS = 10  # enough for stable per-op averages, short next to the trials


def _profile_one(runner: TrialRunner, cfg: Config, runs: int) -> ProfileRecord:
    target = runner.target
    model = target.models[(cfg.variant, cfg.quant)]
    command = build_command(
        target.binary.device_path,
        target.binary.flags,
        graph=model.path,
        threads=cfg.threads,
        runs=runs,
        warmup=runner.settings.warmup,
        xnnpack=cfg.xnnpack,
        op_profile=True,
        accelerator=cfg.accelerator,
        release=target.binary.version_line,
    )
    ident = f"{runner.plan_serial}|{cfg.key}|profile"
    cpus = target.cpus.get(cfg.cores, [])
    got, timed_out = runner.execute(ident, target.masks[cfg.cores], command.argv, cpus)
    state = got.state
    parsed = parse(got.stdout or "", got.stderr or "", state.exit_code)
    return ProfileRecord(
        device_serial=runner.plan_serial,
        device_model=target.device_model,
        config=cfg.key,
        variant=cfg.variant,
        quant=cfg.quant,
        threads=cfg.threads,
        cores=cfg.cores,
        xnnpack=cfg.xnnpack,
        core_mask=target.masks[cfg.cores],
        status="timeout" if timed_out else parsed.status,
        error=parsed.error,
        num_runs=runs,
        # Profiled timings: slower than latency trials by the profiler's overhead.
        profiled_avg_us=parsed.figures.avg_us,
        wall_s=state.wall_s,
        ops=tuple(parsed.ops),
        binary_sha256=target.binary.sha256,
        model_sha256=model.sha256,
    )


def run_profiles(
    runners: Sequence[TrialRunner],
    configs: Sequence[Config],
    run_dir: Path,
    *,
    runs: int = PROFILE_RUNS,
    emit: Callable[[str], None] = lambda _msg: None,
) -> Path:
    """Profile each configuration on each device, skipping stored ones; returns the file."""
    path = Path(run_dir) / PROFILES_FILE
    done = {(r.device_serial, r.config) for r in read_profiles(run_dir)}
    for runner in runners:
        serial = runner.plan_serial
        if "enable_op_profiling" not in normalize_flags(runner.target.binary.flags):
            if (serial, "*") not in done:
                emit(f"warning: {serial}: binary has no --enable_op_profiling; no op profile")
                # What could not be profiled: a record of these keys only.
                unsupported = {"device_serial": serial, "config": "*", "status": "unsupported"}
                append_profile(run_dir, ProfileRecord.from_dict(unsupported))
            continue
        for cfg in configs:
            if (serial, cfg.key) in done:
                continue
            emit(f"{serial}: op profile {cfg.key}")
            try:
                record = _profile_one(runner, cfg, runs)
            except DeviceLostError as exc:
                emit(f"warning: {serial}: op profiling stopped: {exc}")
                break
            if record.status != "ok":
                emit(f"warning: {serial}: op profile of {cfg.key}: {record.error}")
            append_profile(run_dir, record)
    write_ops_table(run_dir)
    return path
