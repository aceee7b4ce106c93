"""Synthetic run folders: seeded log-normal trials in the stored run format.

For the compare tests, `benchmarks/bench_compare.py`, and trying `harness
check` without a phone. The folder is written through RunStore
(tests.support.fabricate), like a measured run's; values are drawn with
`power.draw_trials`, so their noise is the model the statistics assume.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from harness.results.schema import TrialRecord
from tests.support.fabricate import PIXEL1_DEVICE, write_run_folder
from tests.support.power import draw_trials

# The Pixel 1 of the sample report, as a phone (not emulated) with a serial of its own.
PIXEL_DEVICE: dict[str, Any] = {
    **{key: PIXEL1_DEVICE[key] for key in (
        "model", "device", "product", "manufacturer", "platform", "hardware",
        "android_release", "sdk", "fingerprint", "abi",
    )},
    "serial": "FA6AE0301234",
}  # fmt: skip
STAND_IN_BINARY = {"kind": "stand-in", "sha256": "ab" * 32}
MEDIAN_SHARE, MIN_SHARE = 0.98, 0.9  # a trial's median and min run, as shares of its mean


def write_run(
    run_dir: str | Path,
    latencies: Mapping[str, Sequence[float]],
    *,
    device: Mapping[str, Any] | None = None,
    binary: Mapping[str, Any] | None = None,
    created_at: datetime | None = None,
    status: str = "complete",
    trial_overrides: Mapping[str, Any] | None = None,
    failed: Mapping[str, int] | None = None,
) -> Path:
    """A run folder whose configuration `variant|quant` has the given ok trial latencies.

    Keys are `variant` or `variant|quant`; threads=1, cores=big, xnnpack=default.
    `failed` adds that many failed trials to a key; `trial_overrides` sets fields
    (e.g. throttled=True) on every trial. A run folder already at `run_dir` is replaced.
    """
    out = Path(run_dir)
    dev = {**PIXEL_DEVICE, **(device or {})}
    binr = {**STAND_IN_BINARY, **(binary or {})}
    start = created_at or datetime(2026, 1, 1, tzinfo=timezone.utc)
    run_id = out.name
    records = []
    order = 0
    for key, values in latencies.items():
        variant, _, quant = key.partition("|")
        quant = quant or "fp32"
        n_failed = (failed or {}).get(key, 0)
        statuses = ["ok"] * len(values) + ["crashed"] * n_failed
        for i, trial_status in enumerate(statuses):
            t = (start + timedelta(seconds=order)).isoformat()
            fields: dict[str, Any] = {
                "run_id": run_id,
                "trial_id": f"{dev['serial']}|{key}|{i}",
                "device_serial": dev["serial"],
                "device_model": dev["model"],
                "variant": variant,
                "family": "mobilenet_v2",
                "depth_multiplier": 1.0,
                "resolution": 224,
                "quant": quant,
                "threads": 1,
                "cores": "big",
                "core_mask": "c",
                "xnnpack": "default",
                "trial_index": i,
                "order_index": order,
                "status": trial_status,
                "started_at": t,
                "finished_at": t,
                "wall_s": 1.0,
                "num_runs": 50,
                "warmup_runs": 5,
                "latency_ms": values[i] if trial_status == "ok" else None,
                # Fixed shares of the mean stand in for the runs' median and minimum.
                "median_us": values[i] * 1000 * MEDIAN_SHARE if trial_status == "ok" else None,
                "min_us": values[i] * 1000 * MIN_SHARE if trial_status == "ok" else None,
                "exit_code": 0 if trial_status == "ok" else 139,
                "binary_sha256": binr["sha256"],
                "binary_kind": binr["kind"],
                **(trial_overrides or {}),
            }
            records.append(TrialRecord.from_dict(fields))
            order += 1
    meta = {
        "run_id": run_id, "created_at": start.isoformat(), "harness_version": "0.1.0",
        "seed": 0, "devices": {dev["serial"]: dev}, "binaries": {dev["serial"]: binr},
        "order": [r.trial_id for r in records],
    }  # fmt: skip
    if (out / "meta.json").is_file():
        shutil.rmtree(out)  # written again: the new run replaces the old one, as a file would
    elif out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    return write_run_folder(out.parent, meta, lambda _run_id: records, status=status)


def noisy_latencies(
    variants: Sequence[str],
    *,
    n: int,
    cv: float,
    scale: Mapping[str, float] | None = None,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Seeded log-normal trials per variant, each scaled by `scale[variant]` (default 1)."""
    rng = random.Random(seed)
    return {v: draw_trials(rng, n, cv, (scale or {}).get(v, 1.0)) for v in variants}
