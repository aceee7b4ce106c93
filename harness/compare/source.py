"""One side of a comparison: the trial latencies per configuration and their context.

A side comes from a run folder (meta.json + trials.jsonl, docs/design.md
"results") or from a baseline file written by `harness baseline save`; both
become the same `Source`, so the check never cares which it was given.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd

from harness.compare.context import DeviceContext
from harness.errors import ResultsError, SchemaVersionError
from harness.identity import DeviceInfo
from harness.inputs import META_BYTES, loads_json, read_text
from harness.results import load, load_meta
from harness.results.flags import describe, trial_flags
from harness.results.shapes import fields_checker
from harness.results.validate import latency_problem
from harness.vocab import (
    CONFIG_FIELDS,
    DEFAULT_ACCELERATOR,
    FAILED_STATUSES,
    FLAG_FIELDS,
    SYNTHETIC_MARK,
    Config,
    DeviceConfig,
    is_simulated,
)

BASELINE_KIND = "harness-baseline"
BASELINE_SCHEMA_VERSION = 1

CONFIG_COLUMNS = CONFIG_FIELDS
# Which per-trial figure a comparison uses: the trial's mean (the headline, as published),
# the median of its timed runs, or their minimum (both robust to interference).
METRICS = ("mean", "median", "min")


@dataclass(frozen=True)
class ConfigSamples(DeviceConfig):
    """The ok trial latencies of one configuration on one device model."""

    latency_ms: tuple[float, ...]  # per ok trial: the mean of its timed runs
    failed: int = 0
    median_ms: tuple[float, ...] = ()  # per ok trial that reported it
    min_ms: tuple[float, ...] = ()
    flagged: tuple[str, ...] = ()  # ok trials with proof flags, "#2 hot" (compare/flags.py)
    # Trials whose delegate fell back to the CPU (status `fallback`, or let pass `ok` with
    # --allow-fallback): the configuration did not run on its unit.
    fell_back: int = 0
    energy_mj: tuple[float, ...] = ()  # per ok trial with a figure: mJ per inference (--energy)

    def values(self, metric: str = "mean") -> tuple[float, ...]:
        """The per-trial figures for `metric` (see METRICS), or `energy`."""
        if metric == "energy":
            return self.energy_mj
        return {"mean": self.latency_ms, "median": self.median_ms, "min": self.min_ms}[metric]

    def with_metric(self, metric: str) -> ConfigSamples:
        """A copy whose `latency_ms` holds the `metric` figures (what the check compares)."""
        return dataclasses.replace(self, latency_ms=self.values(metric))

    def to_dict(self) -> dict[str, Any]:
        """The baseline file's per-configuration record."""
        return {
            **self.fields(),
            "latency_ms": list(self.latency_ms),
            "median_ms": list(self.median_ms),
            "min_ms": list(self.min_ms),
            "failed": self.failed,
            # Only with energy: a baseline saved without it reads as it always did.
            **({"energy_mj": list(self.energy_mj)} if self.energy_mj else {}),
        }


@dataclass(frozen=True)
class Source:
    """A baseline or a run, reduced to what a comparison needs."""

    path: str
    kind: str  # "run" | "baseline"
    run_ids: tuple[str, ...]
    created_at: str | None
    status: str | None  # the run's meta status (complete, interrupted, ...)
    contexts: dict[str, DeviceContext]  # device_model -> what it measured with
    configs: dict[str, dict[Config, ConfigSamples]] = field(default_factory=dict)
    harness_version: str | None = None

    def models(self) -> list[str]:
        """Device models present, in sorted order."""
        return sorted(set(self.contexts) | set(self.configs))


def load_source(path: str | Path) -> Source:
    """Read a run folder or a baseline file; ResultsError if it is neither or is damaged."""
    p = Path(path)
    if p.is_dir():
        return read_run(p)
    if p.exists():
        return read_baseline(p)  # a FIFO or device is refused there, in one line
    raise ResultsError("no such run folder or baseline file", path=str(p))


def _read_json(path: Path) -> Any:
    try:
        text = read_text(path, limit=META_BYTES, what="a baseline")
        return loads_json(text)
    except FileNotFoundError:
        raise ResultsError("missing", path=str(path)) from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"unreadable JSON: {exc}", path=str(path)) from None


def _value(x: Any) -> Any:
    # pandas gives NA/NaN for absent values; the context wants plain None.
    return None if x is None or (not isinstance(x, str) and bool(pd.isna(x))) else x


def _joined(trials: pd.DataFrame, column: str) -> str | None:
    values = sorted({str(v) for v in trials[column].dropna().unique()})
    return ",".join(values) if values else None


def _context(model: str, trials: pd.DataFrame, info: DeviceInfo) -> DeviceContext:
    # Drawn (the simulated device's deterministic mode) or measured: never compared across.
    versions = " ".join(str(v) for v in trials["binary_version"].dropna().unique()).lower()
    temps = pd.concat([trials["temp_before_c"], trials["temp_after_c"]]).dropna()
    cooled = trials["cooled"].astype("boolean")
    return DeviceContext(
        model=info.model or model,
        device=info.device,
        platform=info.platform,
        hardware=info.hardware,
        abi=info.abi,
        fingerprint=info.fingerprint,
        android_release=info.android_release,
        sdk=info.sdk,
        # The trials record the binary themselves (meta fills gaps in `load`).
        binary_kind=_joined(trials, "binary_kind"),
        binary_sha256=_joined(trials, "binary_sha256"),
        latencies="synthetic" if SYNTHETIC_MARK in versions else "measured",
        # The harness's simulated device (or an emulator): the host's speed, not a phone's.
        simulated=is_simulated(info.props, info.emulated),
        throttled_trials=int(trials["throttled"].fillna(False).astype(bool).sum()),
        # cooled is None where no cooldown was asked for: only an explicit False counts...
        uncooled_trials=int((~cooled.fillna(True)).sum()),
        # ...and None with a reason where one was asked but no temperature was readable.
        cooled_unknown_trials=int((cooled.isna() & trials["cooled_reason"].notna()).sum()),
        max_temp_c=float(temps.max()) if len(temps) else None,
        **_energy_context(trials),
    )


class _EnergyContext(TypedDict, total=False):
    energy_source: str | None
    energy_rails: str | None
    energy_biased: bool


def _energy_context(trials: pd.DataFrame) -> _EnergyContext:
    """What the ok trials' energy figures measured: source, rails, a charger's bias.

    Only trials with a figure count, so a run without `--energy` (or from before it)
    says nothing and is never refused for it."""
    if "energy_mj" not in trials.columns:
        return {}
    measured = trials[(trials["status"] == "ok") & trials["energy_mj"].notna()]
    if not len(measured):
        return {}
    rails = sorted({str(v) for v in measured["energy_rails"].dropna()})
    return {
        "energy_source": _joined(measured, "energy_source"),
        "energy_rails": ";".join(rails) or None,
        "energy_biased": bool(measured["energy_biased"].fillna(False).astype(bool).any()),
    }


def _configs(model: str, recs: pd.DataFrame) -> dict[Config, ConfigSamples]:
    # Plain lists, not a pandas groupby per configuration: 10x faster for 150 configs.
    # A table from before compute units were an axis ran on the CPU, and proved nothing.
    absent = {"accelerator": DEFAULT_ACCELERATOR, "delegation": None}
    recs = recs.assign(**{c: v for c, v in absent.items() if c not in recs.columns})
    cols = {
        c: recs[c].tolist()
        for c in (
            *CONFIG_COLUMNS,
            "status",
            "latency_ms",
            "median_us",
            "min_us",
            "trial_index",
            "order_index",
            "delegation",
        )
    }
    energy = recs["energy_mj"].tolist() if "energy_mj" in recs.columns else [None] * len(recs)
    values: dict[Config, list[tuple[int, int, float, float | None, float | None]]] = {}
    energies: dict[Config, list[tuple[int, int, float]]] = {}
    failed: dict[Config, int] = {}
    flag_cols = {c: recs[c].tolist() for c in FLAG_FIELDS if c in recs.columns}
    flagged: dict[Config, list[str]] = {}
    fell_back: dict[Config, int] = {}
    for i in range(len(recs)):
        cid = Config(
            str(cols["variant"][i]),
            str(cols["quant"][i]),
            int(cols["threads"][i]),
            str(cols["cores"][i]),
            str(cols["xnnpack"][i]),
            str(cols["accelerator"][i]),
        )
        values.setdefault(cid, [])
        failed.setdefault(cid, 0)
        if status_fell_back(cols["status"][i], cols["delegation"][i]):
            fell_back[cid] = fell_back.get(cid, 0) + 1
        status, latency = cols["status"][i], _value(cols["latency_ms"][i])
        if status == "ok" and latency is not None:
            marks = trial_flags({k: v[i] for k, v in flag_cols.items()})
            if marks:
                flagged.setdefault(cid, []).append(describe(int(cols["trial_index"][i]), marks))
            med, low = _value(cols["median_us"][i]), _value(cols["min_us"][i])
            mj = _value(energy[i])
            if mj is not None and float(mj) > 0:  # ratios need positive figures
                at = (int(cols["trial_index"][i]), int(cols["order_index"][i]))
                energies.setdefault(cid, []).append((*at, float(mj)))
            values[cid].append(
                (
                    int(cols["trial_index"][i]),
                    int(cols["order_index"][i]),
                    float(latency),
                    None if med is None else float(med) / 1000.0,
                    None if low is None else float(low) / 1000.0,
                )
            )
        elif status in FAILED_STATUSES:
            failed[cid] += 1
    out = {}
    for cid in sorted(values):
        trials = sorted(values[cid], key=lambda v: v[:2])
        out[cid] = ConfigSamples(
            model,
            cid,
            latency_ms=tuple(t[2] for t in trials),
            failed=failed[cid],
            # Only strictly positive figures: a 0 us minimum is a timer artefact, not a value.
            median_ms=tuple(t[3] for t in trials if t[3] is not None and t[3] > 0),
            min_ms=tuple(t[4] for t in trials if t[4] is not None and t[4] > 0),
            flagged=tuple(flagged.get(cid, ())),
            fell_back=fell_back.get(cid, 0),
            energy_mj=tuple(e[2] for e in sorted(energies.get(cid, []))),
        )
    return out


def status_fell_back(status: object, delegation: object) -> bool:
    """Whether a trial ran on the CPU instead of its unit (`fallback`, or ok by leave)."""
    return "fallback" in (_value(status), _value(delegation))


def read_run(run_dir: str | Path) -> Source:
    """A run folder as a Source, read with `harness.results` (context from meta.json)."""
    run_dir = Path(run_dir)
    if not (run_dir / "meta.json").is_file():
        raise ResultsError(
            "not a run folder (no meta.json)",
            path=str(run_dir),
            hint="pass a RUN_DIR made by `harness run`, or a baseline file",
        )
    meta = load_meta(run_dir)
    trials = load(run_dir)
    contexts: dict[str, DeviceContext] = {}
    configs: dict[str, dict[Config, ConfigSamples]] = {}
    for model, recs in trials.groupby("device_model", sort=True):
        model = str(model)
        serial = str(recs["device_serial"].iloc[0])
        contexts[model] = _context(model, recs, meta.device(serial))
        configs[model] = _configs(model, recs)
    return Source(
        path=str(run_dir),
        kind="run",
        run_ids=(meta.run_id or run_dir.name,),
        created_at=meta.created_at,
        status=meta.status,
        contexts=contexts,
        configs=configs,
        harness_version=meta.harness_version,
    )


class _ConfigShape(TypedDict, total=False):
    """One line of a baseline's `configs` (ConfigSamples.to_dict)."""

    device_model: str
    variant: str
    quant: str
    threads: int
    cores: str
    xnnpack: str
    accelerator: str  # absent in baselines saved before units were an axis: cpu
    latency_ms: list[float]
    median_ms: list[float]
    min_ms: list[float]
    failed: int
    energy_mj: list[float]


class _SourceShape(TypedDict, total=False):
    run_ids: list[str]
    created_at: str | None
    status: str | None


class _BaselineShape(TypedDict, total=False):
    """A baseline file, as `read_baseline` trusts it."""

    schema_version: int
    kind: str
    harness_version: str | None
    source: _SourceShape
    contexts: dict[str, DeviceContext]
    configs: list[object]  # a list here; each item is checked as a _ConfigShape, by index


_baseline_problem = fields_checker(typing.get_type_hints(_BaselineShape))
_config_problem = fields_checker(typing.get_type_hints(_ConfigShape))
_REQUIRED = ("device_model", "variant", "quant", "threads", "cores", "xnnpack", "latency_ms")


def _config_from_dict(data: Any, path: Path, i: int) -> ConfigSamples:
    """configs[i], checked: every key there with its type, every latency believable."""

    def refuse(why: str) -> ResultsError:
        return ResultsError(f"configs[{i}] is malformed: {why}", path=str(path))

    if not isinstance(data, dict):
        raise refuse("not an object")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise refuse(f"it lacks {', '.join(missing)}")
    problem = _config_problem(data)
    if problem:
        raise refuse(problem)
    lists: dict[str, tuple[float, ...]] = {}
    for key in ("latency_ms", "median_ms", "min_ms", "energy_mj"):
        values = tuple(float(v) for v in data.get(key) or ())
        why = next((w for v in values if (w := latency_problem(v, unit_ms=1, positive=True))), None)
        if why:
            raise refuse(f"{key} {why}")
        lists[key] = values
    failed = data.get("failed", 0)
    if failed < 0:
        raise refuse(f"failed {failed} is negative")
    return ConfigSamples(
        data["device_model"],
        Config(
            data["variant"],
            data["quant"],
            data["threads"],
            data["cores"],
            data["xnnpack"],
            data.get("accelerator", DEFAULT_ACCELERATOR),
        ),
        latency_ms=lists["latency_ms"],
        failed=failed,
        median_ms=lists["median_ms"],
        min_ms=lists["min_ms"],
        energy_mj=lists["energy_mj"],
    )


def read_baseline(path: Path) -> Source:
    """A baseline file as a Source; refuses other JSON and unknown schema versions."""
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("kind") != BASELINE_KIND:
        raise ResultsError(
            "not a harness baseline file (no kind: harness-baseline)",
            path=str(path),
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
        raise ResultsError(
            "baseline needs `contexts` (object) and `configs` (list)", path=str(path)
        )
    problem = _baseline_problem(data)
    if problem:
        raise ResultsError(problem, path=str(path))
    configs: dict[str, dict[Config, ConfigSamples]] = {}
    first: dict[tuple[str, Config], int] = {}
    for i, item in enumerate(raw):
        c = _config_from_dict(item, path, i)
        seen = first.setdefault((c.device_model, c.config), i)
        if seen != i:  # two entries for one configuration: which would the check believe?
            raise ResultsError(
                f"configs[{i}] repeats the configuration of configs[{seen}] "
                f"({c.device_model} {c.config.variant} {c.config.quant} t{c.config.threads} "
                f"{c.config.cores})",
                path=str(path),
                hint="keep one line per configuration (`harness baseline save` writes one)",
            )
        configs.setdefault(c.device_model, {})[c.config] = c
    # Every context key, None where the file has none; keys this harness does not know go.
    ctxs = {
        str(m): DeviceContext.from_dict({k: v.get(k) for k in DeviceContext.field_types()})
        for m, v in contexts.items()
    }
    source = data.get("source") or {}
    return Source(
        path=str(path),
        kind="baseline",
        run_ids=tuple(source.get("run_ids") or ()),
        created_at=source.get("created_at"),
        status=source.get("status"),
        contexts=ctxs,
        configs=configs,
        harness_version=data.get("harness_version"),
    )
