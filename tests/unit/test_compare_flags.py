"""check: a regression built on flagged trials is inconclusive, and says which trials and why."""

from __future__ import annotations

import pandas as pd

from harness.compare.check import ComparisonRow
from harness.compare.flags import downgrade
from harness.compare.source import ConfigSamples, _configs
from harness.results.flags import trial_flags
from harness.vocab import Config

CID = Config("mobilenet_v2_1.0_224", "fp32", 1, "big", "default", "cpu")


def _row(verdict: str) -> ComparisonRow:
    return ComparisonRow(
        "Pixel", CID, verdict, 10.0, 11.0, 1.1, 1.05, 1.15, 0.001, 5, 5, 0.05,  # type: ignore[arg-type]
        "slower by +10.0%",
    )  # fmt: skip


def _samples(flagged: tuple[str, ...] = ()) -> ConfigSamples:
    return ConfigSamples("Pixel", CID, latency_ms=(10.0,) * 5, flagged=flagged)


def test_regression_on_flagged_trials_is_inconclusive_with_the_reason() -> None:
    (row,) = downgrade([_row("regression")], {CID: _samples()}, {CID: _samples(("#2 hot",))})
    assert row.verdict == "inconclusive"
    assert "flagged trials (current #2 hot)" in row.reason and "slower by" in row.reason
    # Unflagged sides, or another verdict, stay as they were.
    assert downgrade([_row("regression")], {CID: _samples()}, {CID: _samples()})[0].verdict == (
        "regression"
    )
    assert downgrade([_row("unchanged")], {}, {CID: _samples(("#0 hot",))})[0].verdict == (
        "unchanged"
    )


def test_flags_are_read_from_the_trials_table() -> None:
    assert trial_flags({"hot": True, "interfered": float("nan"), "throttled": pd.NA}) == ["hot"]
    assert trial_flags({"log_mismatch": "2 threads asked", "throttled": False}) == ["log_mismatch"]
    base = {
        "device_model": "Pixel", "variant": CID.variant, "quant": "fp32", "threads": 1,
        "cores": "big", "xnnpack": "default", "status": "ok", "latency_ms": 10.0,
        "median_us": 10000.0, "min_us": 9000.0, "order_index": 0,
    }  # fmt: skip
    rows = [
        {**base, "trial_index": 0, "hot": False, "interfered": None},
        {**base, "trial_index": 1, "hot": True, "interfered": True},
    ]
    frame = pd.DataFrame(rows).astype({"hot": "boolean", "interfered": "boolean"})
    (samples,) = _configs("Pixel", frame).values()
    assert samples.flagged == ("#1 hot+interfered",)


def test_summary_names_the_flagged_trials() -> None:
    from harness.results.summary import summarize

    base = {
        "device_serial": "s", "device_model": "Pixel", "variant": CID.variant, "quant": "fp32",
        "threads": 1, "cores": "big", "xnnpack": "default", "status": "ok", "latency_ms": 10.0,
    }  # fmt: skip
    rows = [
        {**base, "trial_index": 0, "hot": False, "throttled": False},
        {**base, "trial_index": 1, "hot": True, "throttled": True},
        {**base, "trial_index": 2, "status": "failed", "latency_ms": None, "hot": True},
    ]
    (row,) = summarize(pd.DataFrame(rows)).to_dict("records")
    assert row["flagged_trials"] == 1  # a failed trial is not a figure to doubt
    assert row["proof_flags"] == "#1 throttled+hot"
