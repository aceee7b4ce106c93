"""`--op-profile`: one op-profiling process per configuration, after the latency trials.

Profiling adds overhead to every op, so its timings are never latency: they
go to their own files (`profiles.jsonl`, one record per device x config, and
`ops.parquet`, one row per op), never into trials.jsonl. A binary without
`--enable_op_profiling` gets a recorded `unsupported` entry and a warning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.bench.command import build_command, normalize_flags
from harness.bench.plan import Config
from harness.bench.trial import TrialRunner
from harness.errors import DeviceLostError

PROFILES_FILE = "profiles.jsonl"
OPS_PARQUET = "ops.parquet"
PROFILE_RUNS = 10  # enough for stable per-op averages, short next to the trials


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a torn last line from a crash: that profile runs again
    return out


def _append(path: Path, record: dict[str, Any]) -> None:
    from harness.results.frame import json_safe

    line = json.dumps(json_safe(record), sort_keys=True, allow_nan=False) + "\n"
    with open(path, "ab") as fh:
        fh.write(line.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def _profile_one(runner: TrialRunner, cfg: Config, runs: int) -> dict[str, Any]:
    from harness.bench.parser import parse

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
    )
    ident = f"{runner.plan_serial}|{cfg.key}|profile"
    cpus = target.cpus.get(cfg.cores, [])
    got, timed_out = runner.execute(ident, target.masks[cfg.cores], command.argv, cpus)
    state = got.state
    parsed = parse(got.stdout or "", got.stderr or "", state.exit_code).to_dict()
    status = "timeout" if timed_out else str(parsed.get("status"))
    return {
        "device_serial": runner.plan_serial,
        "device_model": target.model_name,
        "config": cfg.key,
        "variant": cfg.variant,
        "quant": cfg.quant,
        "threads": cfg.threads,
        "cores": cfg.cores,
        "xnnpack": cfg.xnnpack,
        "core_mask": target.masks[cfg.cores],
        "status": status,
        "error": parsed.get("error"),
        "num_runs": runs,
        # Profiled timings: slower than latency trials by the profiler's overhead.
        "profiled_avg_us": parsed.get("avg_us"),
        "wall_s": state.wall_s,
        "ops": parsed.get("ops") or [],
        "binary_sha256": target.binary.sha256,
        "model_sha256": model.sha256,
    }


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
    done = {(r.get("device_serial"), r.get("config")) for r in _read(path)}
    for runner in runners:
        serial = runner.plan_serial
        if "enable_op_profiling" not in normalize_flags(runner.target.binary.flags):
            if (serial, "*") not in done:
                emit(f"warning: {serial}: binary has no --enable_op_profiling; no op profile")
                _append(path, {"device_serial": serial, "config": "*", "status": "unsupported"})
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
            if record["status"] != "ok":
                emit(f"warning: {serial}: op profile of {cfg.key}: {record['error']}")
            _append(path, record)
    write_ops_table(run_dir)
    return path


def write_ops_table(run_dir: Path) -> Path | None:
    """ops.parquet: one row per op per profiled configuration (None when nothing was profiled)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for rec in _read(Path(run_dir) / PROFILES_FILE):
        for op in rec.get("ops") or []:
            row = {k: rec.get(k) for k in ("device_serial", "device_model", "config", "variant")}
            row.update({k: rec.get(k) for k in ("quant", "threads", "cores", "xnnpack")})
            row.update(op)
            rows.append(row)
    if not rows:
        return None
    out = Path(run_dir) / OPS_PARQUET
    frame = pd.DataFrame(rows)
    # Op tables mix numbers and names across eras; store mixed columns as text.
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: None if v is None else str(v))
    frame.to_parquet(out, index=False)
    return out
