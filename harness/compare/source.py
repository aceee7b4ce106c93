"""One side of a comparison: the trial latencies per configuration and their context.

A side comes from a run folder (meta.json + trials.jsonl, docs/design.md
"results") or from a baseline file written by `harness baseline save`; both
become the same `Source`, so the check never cares which it was given.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ResultsError, SchemaVersionError
from harness.results.schema import SCHEMA_VERSION, TrialRecord

BASELINE_KIND = "harness-baseline"
BASELINE_SCHEMA_VERSION = 1

# Context fields taken from meta.json's DeviceInfo dict, in the order they are shown.
DEVICE_FIELDS = ("model", "device", "platform", "hardware", "abi", "fingerprint",
                 "android_release", "sdk")
THERMAL_FIELDS = ("throttled_trials", "uncooled_trials", "max_temp_c")
CONTEXT_FIELDS = (*DEVICE_FIELDS, "binary_kind", "binary_sha256", *THERMAL_FIELDS)

# (variant, quant, threads, cores, xnnpack): what a configuration is, within one device.
ConfigId = tuple[str, str, int, str, str]


@dataclass(frozen=True)
class ConfigSamples:
    """The ok trial latencies of one configuration on one device model."""

    device_model: str
    variant: str
    quant: str
    threads: int
    cores: str
    xnnpack: str
    latency_ms: tuple[float, ...]
    failed: int = 0

    @property
    def config_id(self) -> ConfigId:
        """The configuration without the device (devices are paired separately)."""
        return (self.variant, self.quant, self.threads, self.cores, self.xnnpack)

    def to_dict(self) -> dict[str, Any]:
        """The baseline file's per-configuration record."""
        return {
            "device_model": self.device_model,
            "variant": self.variant,
            "quant": self.quant,
            "threads": self.threads,
            "cores": self.cores,
            "xnnpack": self.xnnpack,
            "latency_ms": list(self.latency_ms),
            "failed": self.failed,
        }


@dataclass(frozen=True)
class Source:
    """A baseline or a run, reduced to what a comparison needs."""

    path: str
    kind: str  # "run" | "baseline"
    run_ids: tuple[str, ...]
    created_at: str | None
    status: str | None  # the run's meta status (complete, interrupted, ...)
    contexts: dict[str, dict[str, Any]]  # device_model -> context (CONTEXT_FIELDS)
    configs: dict[str, dict[ConfigId, ConfigSamples]] = field(default_factory=dict)
    harness_version: str | None = None

    def models(self) -> list[str]:
        """Device models present, in sorted order."""
        return sorted(set(self.contexts) | set(self.configs))


def load_source(path: str | Path) -> Source:
    """Read a run folder or a baseline file; ResultsError if it is neither or is damaged."""
    p = Path(path)
    if p.is_dir():
        return read_run(p)
    if p.is_file():
        return read_baseline(p)
    raise ResultsError("no such run folder or baseline file", path=str(p))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError("missing", path=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"unreadable JSON: {exc}", path=str(path)) from None


def _read_trials(path: Path) -> list[TrialRecord]:
    if not path.is_file():
        raise ResultsError("missing trials.jsonl", path=str(path.parent))
    records = []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if i == len(lines) - 1:
                # The last line of an append-only log may be cut by a crash: earlier ones stand.
                continue
            raise ResultsError(f"line {i + 1}: not JSON ({exc})", path=str(path)) from None
        if not isinstance(data, dict):
            raise ResultsError(f"line {i + 1}: not a record", path=str(path))
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"line {i + 1}: schema_version {version!r}, this harness reads {SCHEMA_VERSION}",
                path=str(path),
            )
        try:
            records.append(TrialRecord.from_dict(data))
        except (TypeError, ValueError) as exc:
            raise ResultsError(f"line {i + 1}: bad trial record ({exc})", path=str(path)) from None
    return records


def _thermal(trials: list[TrialRecord]) -> dict[str, Any]:
    temps = [t for r in trials for t in (r.temp_before_c, r.temp_after_c) if t is not None]
    return {
        "throttled_trials": sum(1 for r in trials if r.throttled),
        "uncooled_trials": sum(1 for r in trials if r.cooled is False),
        "max_temp_c": max(temps) if temps else None,
    }


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_run(run_dir: Path) -> Source:
    """A run folder as a Source: context from meta.json, values from ok trials."""
    meta = _read_json(run_dir / "meta.json")
    if not isinstance(meta, dict):
        raise ResultsError("meta.json is not an object", path=str(run_dir))
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"meta.json schema_version {version!r}, this harness reads {SCHEMA_VERSION}",
            path=str(run_dir),
        )
    trials = _read_trials(run_dir / "trials.jsonl")
    devices = _as_dict(meta.get("devices"))
    binaries = _as_dict(meta.get("binaries"))
    by_model: dict[str, list[TrialRecord]] = {}
    for r in trials:
        by_model.setdefault(r.device_model, []).append(r)
    contexts: dict[str, dict[str, Any]] = {}
    configs: dict[str, dict[ConfigId, ConfigSamples]] = {}
    for model, recs in sorted(by_model.items()):
        serial = recs[0].device_serial
        info = _as_dict(devices.get(serial))
        binary = _as_dict(binaries.get(serial))
        ctx: dict[str, Any] = {k: info.get(k) for k in DEVICE_FIELDS}
        ctx["model"] = ctx["model"] or model
        # Trials record the binary too: a meta without `binaries` still says what ran.
        kinds = sorted({r.binary_kind for r in recs})
        shas = sorted({r.binary_sha256 for r in recs if r.binary_sha256})
        ctx["binary_kind"] = binary.get("kind") or ",".join(kinds)
        ctx["binary_sha256"] = binary.get("sha256") or (",".join(shas) if shas else None)
        ctx.update(_thermal(recs))
        contexts[model] = ctx
        groups: dict[ConfigId, list[TrialRecord]] = {}
        for r in recs:
            groups.setdefault((r.variant, r.quant, r.threads, r.cores, r.xnnpack), []).append(r)
        configs[model] = {
            cid: ConfigSamples(
                model, *cid,
                latency_ms=tuple(r.latency_ms for r in sorted(rs, key=lambda r: r.trial_index)
                                 if r.status == "ok" and r.latency_ms is not None),
                failed=sum(1 for r in rs if r.status not in ("ok", "skipped")),
            )
            for cid, rs in sorted(groups.items())
        }
    return Source(
        path=str(run_dir), kind="run", run_ids=(str(meta.get("run_id", run_dir.name)),),
        created_at=meta.get("created_at"), status=meta.get("status"), contexts=contexts,
        configs=configs, harness_version=meta.get("harness_version"),
    )


def _config_from_dict(data: Any, path: Path, i: int) -> ConfigSamples:
    try:
        values = tuple(float(v) for v in data["latency_ms"])
        if any(not (math.isfinite(v) and v > 0) for v in values):
            raise ValueError("latency_ms must be positive numbers")
        return ConfigSamples(
            str(data["device_model"]), str(data["variant"]), str(data["quant"]),
            int(data["threads"]), str(data["cores"]), str(data["xnnpack"]),
            latency_ms=values, failed=int(data.get("failed", 0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsError(f"configs[{i}] is malformed ({exc!r})", path=str(path)) from None


def read_baseline(path: Path) -> Source:
    """A baseline file as a Source; refuses other JSON and unknown schema versions."""
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("kind") != BASELINE_KIND:
        raise ResultsError(
            "not a harness baseline file (no kind: harness-baseline)", path=str(path),
            hint="give a run folder or a file written by `harness baseline save`",
        )
    if data.get("schema_version") != BASELINE_SCHEMA_VERSION:
        raise SchemaVersionError(
            f"baseline schema_version {data.get('schema_version')!r}, "
            f"this harness reads {BASELINE_SCHEMA_VERSION}",
            path=str(path),
        )
    contexts = data.get("contexts")
    raw = data.get("configs")
    if not isinstance(contexts, dict) or not isinstance(raw, list):
        raise ResultsError("baseline needs `contexts` (object) and `configs` (list)",
                           path=str(path))
    configs: dict[str, dict[ConfigId, ConfigSamples]] = {}
    for i, item in enumerate(raw):
        c = _config_from_dict(item, path, i)
        configs.setdefault(c.device_model, {})[c.config_id] = c
    ctxs = {str(m): {k: (v or {}).get(k) for k in CONTEXT_FIELDS} for m, v in contexts.items()
            if isinstance(v, dict)}
    source = data.get("source") or {}
    return Source(
        path=str(path), kind="baseline", run_ids=tuple(source.get("run_ids") or ()),
        created_at=source.get("created_at"), status=source.get("status"),
        contexts=ctxs, configs=configs, harness_version=data.get("harness_version"),
    )
