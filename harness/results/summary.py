"""One row per device x configuration: the trial latencies reduced to figures people read.

Each trial's headline latency (`latency_ms`, the regular phase's mean) is one
sample; the summary describes the spread *between* trials (separate
processes), which is what the interleaved trial design is there to expose.
Percentiles use numpy's linear interpolation over the trial latencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness import catalogue
from harness.errors import UnknownVariantError
from harness.results.schema import config_key

if TYPE_CHECKING:  # pandas is imported when a summary is computed
    import pandas as pd

GROUP_COLUMNS: tuple[str, ...] = (
    "device_serial",
    "variant",
    "quant",
    "threads",
    "cores",
    "xnnpack",
)
FAILED_STATUSES = frozenset({"failed", "crashed", "timeout", "parse_error"})
SUMMARY_COLUMNS: tuple[str, ...] = (
    *GROUP_COLUMNS,
    "device_model",
    "config",
    "n_trials",
    "n_ok",
    "n_failed",
    "median_ms",
    "p5_ms",
    "p95_ms",
    "mean_ms",
    "std_ms",
    "cv",
    "min_ms",
    "max_ms",
    "published_ms",
    "ratio",
    "throttled_trials",
    "status",
    "delegate",
    "delegated_nodes",
    "total_nodes",
    "warned_trials",
    "flagged_trials",  # ok trials with proof flags (throttled, hot, interfered, log_mismatch)
    "proof_flags",  # which and why: "#1 hot+throttled; #3 interfered"
)
_DTYPES: dict[str, str] = {
    "device_serial": "string",
    "variant": "string",
    "quant": "string",
    "threads": "int64",
    "cores": "string",
    "xnnpack": "string",
    "device_model": "string",
    "config": "string",
    "n_trials": "int64",
    "n_ok": "int64",
    "n_failed": "int64",
    "throttled_trials": "int64",
    "status": "string",
    "delegate": "string",
    "delegated_nodes": "Int64",
    "total_nodes": "Int64",
    "warned_trials": "int64",
    "flagged_trials": "int64",
    "proof_flags": "string",
}


def published_ms(variant: str) -> float | None:
    """Google's Pixel-1 latency for `variant`, or None (unpublished or not a catalogue id)."""
    try:
        return catalogue.get(variant).published.pixel1_ms
    except UnknownVariantError:
        return None


def _status(n_ok: int, n_failed: int) -> str:
    if n_ok and not n_failed:
        return "ok"
    if n_ok:
        return "partial"
    # Nothing measured: "failed" if something was tried, "skipped" if nothing ran.
    return "failed" if n_failed else "skipped"


def _row(key: tuple[Any, ...], group: pd.DataFrame) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    statuses = group["status"].astype("string")
    ok = group[statuses == "ok"]
    lat = pd.to_numeric(ok["latency_ms"], errors="coerce").dropna().to_numpy(dtype=float)
    n_ok = len(ok)
    n_failed = int(statuses.isin(list(FAILED_STATUSES)).sum())
    row: dict[str, Any] = dict(zip(GROUP_COLUMNS, key, strict=True))
    models = group["device_model"].dropna()
    row["device_model"] = str(models.iloc[0]) if len(models) else None
    row["config"] = config_key(
        str(row["variant"]),
        str(row["quant"]),
        int(row["threads"]),
        str(row["cores"]),
        str(row["xnnpack"]),
    )
    row.update(n_trials=len(group), n_ok=n_ok, n_failed=n_failed)
    if len(lat):
        mean = float(lat.mean())
        std = float(lat.std(ddof=1)) if len(lat) > 1 else None
        row.update(
            median_ms=float(np.median(lat)),
            p5_ms=float(np.percentile(lat, 5)),
            p95_ms=float(np.percentile(lat, 95)),
            mean_ms=mean,
            std_ms=std,
            cv=std / mean if std is not None and mean > 0 else None,
            min_ms=float(lat.min()),
            max_ms=float(lat.max()),
        )
    pub = published_ms(str(row["variant"]))
    row["published_ms"] = pub
    median = row.get("median_ms")
    row["ratio"] = median / pub if median is not None and pub else None
    row["throttled_trials"] = int(group["throttled"].fillna(False).astype(bool).sum())
    row["status"] = _status(n_ok, n_failed)
    row.update(_delegation(group))
    from harness.compare.flags import flagged_trials

    flagged = flagged_trials([{str(k): v for k, v in r.items()} for r in group.to_dict("records")])
    row.update(flagged_trials=len(flagged), proof_flags="; ".join(flagged) or None)
    return row


def _delegation(group: pd.DataFrame) -> dict[str, Any]:
    """The delegate its trials name most often, its node counts, and how many trials warned."""
    named = group.dropna(subset=["delegate"])
    out: dict[str, Any] = {"delegate": None, "delegated_nodes": None, "total_nodes": None}
    if len(named):
        top = named["delegate"].astype("string").mode().iloc[0]
        of_top = named[named["delegate"].astype("string") == top]
        out["delegate"] = str(top)
        for column in ("delegated_nodes", "total_nodes"):
            values = of_top[column].dropna()
            out[column] = int(values.mode().iloc[0]) if len(values) else None
    warned = group["parse_warnings"].fillna("").astype(str).str.len() > 0
    out["warned_trials"] = int(warned.sum())
    return out


def summarize(trials: pd.DataFrame) -> pd.DataFrame:
    """Per device x config (variant, quant, threads, cores, xnnpack): counts and ms figures.

    Columns: SUMMARY_COLUMNS. `std_ms` is the sample std between trials (None
    for one trial), `cv` = std/mean, `ratio` = median / published Pixel-1 ms.
    `status` is ok (all trials ok), partial, failed (none ok) or skipped.
    `delegate`, `delegated_nodes`, `total_nodes` are what most trials' logs say;
    `warned_trials` counts trials whose log lacked figures or under-delegated.
    """
    import pandas as pd

    missing = [c for c in (*GROUP_COLUMNS, "status", "latency_ms") if c not in trials.columns]
    if missing:
        raise ValueError(f"not a trials table: missing columns {missing}")
    frame = trials.copy()
    for column in (
        "device_model",
        "throttled",
        "delegate",
        "delegated_nodes",
        "total_nodes",
        "parse_warnings",
    ):
        if column not in frame.columns:
            frame[column] = None
    rows = [
        _row(key if isinstance(key, tuple) else (key,), group)
        for key, group in frame.groupby(list(GROUP_COLUMNS), sort=True, dropna=False)
    ]
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    for column in SUMMARY_COLUMNS:
        dtype: Any = _DTYPES.get(column, "float64")  # a str the pandas stubs cannot narrow
        out[column] = out[column].astype(dtype)
    return out
