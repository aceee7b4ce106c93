"""Write a synthetic run folder through harness.results.RunStore (tests/support/fabricate.py).

For the report's tests, its benchmark and docs: a run shaped exactly like
the ones `harness run` stores (same meta keys, same TrialRecords, same
finalize), with latencies drawn around the published Pixel-1 column. Such a
run is marked simulated and stand-in, so its own report says its numbers are
not phone numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from harness import catalogue
from harness.results import TrialRecord
from harness.results.profiles import ProfileRecord, write_profiles
from harness.results.schema import BinaryKind, Figures
from harness.vocab import Config, EnergySource
from tests.support.fabricate import PIXEL1_DEVICE, write_run_folder


@dataclass
class SampleSpec:
    """What the synthetic run holds."""

    variants: str = "v2:*"
    quants: Sequence[str] = ("fp32",)
    threads: Sequence[int] = (1,)  # n threads: n times faster, as if it scaled perfectly
    trials: int = 5
    factor: float = 1.0  # measured / published
    cv: float = 0.02  # trial-to-trial variation
    seed: int = 0
    device: Mapping[str, Any] = field(default_factory=dict)  # overrides of PIXEL1_DEVICE
    binary_kind: BinaryKind = "stand-in"
    failing: Sequence[str] = ()  # variant ids whose trials all fail
    throttled: Sequence[str] = ()  # variant ids whose trials are throttled
    noisy: Sequence[str] = ()  # variant ids with 10% trial-to-trial variation
    slower: Mapping[str, float] = field(default_factory=dict)  # variant id -> extra factor
    profile_error: str | None = None  # with op_profile: every profile failed with this error
    battery_level: int = 87
    run_id: str | None = None
    label: str | None = None  # meta.json "label" (a release, a commit), as `harness run --label`
    created_at: datetime | None = None  # when the run started (default: now)
    status: str = "complete"
    settings: Mapping[str, Any] = field(default_factory=dict)
    energy: SampleEnergy | None = None  # `harness run --energy`: each ok trial's figures


@dataclass
class SampleEnergy:
    """Energy as `harness run --energy` records it: mJ per inference = latency x power."""

    source: EnergySource = "odpm"
    # rail -> what it feeds (odpm); each rail takes an equal share of the energy
    rails: Mapping[str, str] = field(
        default_factory=lambda: {"S2M_VDD_CPUCL2": "CPU(BIG)", "S5M_VDD_INT": "INT"}
    )
    power_mw: float = 1500.0  # above idle, while the timed runs run
    idle_mw: float = 120.0
    biased: bool = False  # the fuel gauge on a charger (--energy-on-usb)
    more: Mapping[str, float] = field(default_factory=dict)  # variant id -> extra energy factor
    missing: Sequence[str] = ()  # variant ids whose trials give no figure


def write_sample_run(out_dir: str | os.PathLike[str], spec: SampleSpec | None = None) -> Path:
    """Create one finalized run folder under `out_dir` and return its path."""
    spec = spec or SampleSpec()
    rng = random.Random(spec.seed)
    device = {**PIXEL1_DEVICE, **spec.device}
    serial = str(device["serial"])
    sha = hashlib.sha256(spec.binary_kind.encode()).hexdigest()  # same binary in every sample
    variants = catalogue.select(spec.variants)
    settings = {
        "variants": [v.id for v in variants],
        "quants": list(spec.quants),
        "threads": list(spec.threads),  # lists, as `harness run` stores them
        "cores": ["big"],
        "trials": spec.trials,
        "runs": 50,
        "warmup": 5,
        "xnnpack": "default",
        "cooldown_temp_c": 40.0,
        "cooldown_timeout_s": 120.0,
        "op_profile": False,
        **spec.settings,
    }
    meta: dict[str, Any] = {
        "run_id": spec.run_id,
        "label": spec.label,
        "created_at": spec.created_at.isoformat() if spec.created_at else None,
        "git_commit": "0000000",
        "tf_version": "2.16.1",
        "converter": "tflite",
        "seed": spec.seed,
        "settings": settings,
        "devices": {serial: device},
        "binaries": {
            serial: {
                "kind": spec.binary_kind,
                "sha256": sha,
                "version_line": "harness benchmark_model stand-in (sample)",
                "device_path": "/system/bin/benchmark_model",
                "flags": [],
            }
        },
        "models": {},
        "order": [],
        "cores": {serial: {"big": {"cpus": [2, 3], "mask": "c"}}},
    }
    energy = spec.energy
    if energy is not None:
        rails = list(energy.rails) if energy.source == "odpm" else []
        settings["energy"] = True
        settings["energy_on_usb"] = energy.biased
        meta["energy"] = {
            serial: {
                "source": energy.source,
                "rails": rails,
                "subsystems": {r: energy.rails[r] for r in rails},
                "on_usb": energy.biased or energy.source == "odpm",
                "biased": energy.biased,
            }
        }
    start = spec.created_at or datetime(2026, 1, 1, tzinfo=timezone.utc)
    configs = [
        (v, q, t, i)
        for v in variants
        for q in spec.quants
        for t in spec.threads
        for i in range(spec.trials)
    ]
    rng.shuffle(configs)  # interleaved, as a real run plans them
    records: list[TrialRecord] = []
    for order, (v, quant, threads, index) in enumerate(configs):
        published = v.published.pixel1_ms or v.published.macs_m * 0.25
        base = published * spec.factor * spec.slower.get(v.id, 1.0) / threads
        cv = 0.10 if v.id in spec.noisy else spec.cv
        ok = v.id not in spec.failing
        latency = max(0.1, rng.gauss(base, base * cv)) if ok else None
        when = start + timedelta(seconds=order * 10)
        records.append(
            TrialRecord(
                run_id="",  # the store's, once it is created (see `with_run_id`)
                trial_id=f"{serial}|{v.id}|{quant}|t{threads}|{index}",
                device_serial=serial,
                device_model=str(device["model"]),
                variant=v.id,
                family=v.family,
                depth_multiplier=v.depth_multiplier,
                resolution=v.resolution,
                quant=quant,
                threads=threads,
                cores="big",
                core_mask="c",
                xnnpack="default",
                trial_index=index,
                order_index=order,
                status="ok" if ok else "crashed",
                started_at=when.isoformat(),
                finished_at=(when + timedelta(seconds=5)).isoformat(),
                wall_s=5.0,
                num_runs=50,
                warmup_runs=5,
                latency_ms=latency,
                figures=Figures(avg_us=latency * 1000 if latency else None),
                exit_code=0 if ok else 139,
                error=None if ok else "Segmentation fault (signal 11)",
                temp_before_c=45.0 if v.id in spec.throttled else 35.0,
                temp_after_c=38.0,
                cooled=True,
                throttled=v.id in spec.throttled,
                battery_level=spec.battery_level,
                binary_sha256=sha,
                binary_kind=spec.binary_kind,
                model_sha256=hashlib.sha256(f"{v.id}|{quant}".encode()).hexdigest(),
            )
        )
        if energy is not None and latency is not None:
            records[-1] = _with_energy(records[-1], energy, latency, rng)

    def with_run_id(run_id: str) -> list[TrialRecord]:
        return [dataclasses.replace(r, run_id=run_id) for r in records]

    given = {k: v for k, v in meta.items() if v is not None}
    run_dir = write_run_folder(out_dir, given, with_run_id, status=spec.status)
    if settings["op_profile"]:
        _write_profiles(run_dir, serial, str(device["model"]), variants, spec)
    return run_dir


def _with_energy(
    record: TrialRecord, energy: SampleEnergy, latency_ms: float, rng: random.Random
) -> TrialRecord:
    """A trial record with its energy fields, as harness/bench/energy_record.py fills them."""
    if record.variant in energy.missing:
        return dataclasses.replace(
            record,
            energy_source=energy.source,
            energy_reason="timed runs shorter than the meters' refresh",
        )
    power = energy.power_mw * energy.more.get(record.variant, 1.0) * rng.gauss(1.0, 0.01)
    mj = latency_ms * power / 1000.0
    rails = list(energy.rails) if energy.source == "odpm" else []
    return dataclasses.replace(
        record,
        energy_mj=mj,
        power_mw=power,
        idle_power_mw=energy.idle_mw,
        energy_source=energy.source,
        energy_rails=",".join(rails) or None,
        energy_rail_mj={r: mj / len(rails) for r in rails} or None,
        energy_biased=energy.biased,
        energy_bound_pct=0.5,
    )


# Op types of a converted MobileNetV2 and their rough share of its time: (type, nodes, share).
_V2_OPS = (
    ("CONV_2D", 36, 0.66),
    ("DEPTHWISE_CONV_2D", 17, 0.27),
    ("ADD", 10, 0.04),
    ("MEAN", 1, 0.01),
    ("FULLY_CONNECTED", 1, 0.015),
    ("SOFTMAX", 1, 0.005),
)


def _write_profiles(
    run_dir: Path, serial: str, model: str, variants: Sequence[catalogue.Variant], spec: SampleSpec
) -> None:
    """profiles.jsonl as `harness run --op-profile` stores it, then ops.parquet from it."""
    records = []
    for v in variants:
        for quant in spec.quants:
            total = (v.published.pixel1_ms or 10.0) * spec.factor * 1.15  # profiler overhead
            ops = [
                {
                    "node_type": kind,
                    "avg_ms": total * share / nodes,
                    "pct": share * 100 / nodes,
                    "times_called": 1,
                    "name": f"[{kind.lower()}_{i}]:{i}",
                    "graph": None,
                }
                for kind, nodes, share in _V2_OPS
                for i in range(nodes)
            ]
            records.append(
                ProfileRecord.from_dict(
                    {
                        "device_serial": serial,
                        "device_model": model,
                        "config": Config(v.id, quant, 1, "big", "default").key,
                        "variant": v.id,
                        "quant": quant,
                        "threads": 1,
                        "cores": "big",
                        "xnnpack": "default",
                        "status": "failed" if spec.profile_error else "ok",
                        "error": spec.profile_error,
                        "ops": [] if spec.profile_error else ops,
                    }
                )
            )
    write_profiles(run_dir, records)
