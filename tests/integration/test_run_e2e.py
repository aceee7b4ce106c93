"""`harness run` end to end on the simulated Pixel 1 through the real adb server.

Smallest variants, `--runs 3 --warmup 1 --trials 2`: what matters here is the
path (convert, prepare, detached pinned trials, store, summary), not figures.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.run import RunSettings, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANTS = ["mobilenet_v2_0.35_96", "mobilenet_v2_0.35_128"]
BIG_CPUS = {2, 3}  # Pixel 1: the 2.15 GHz Kryo pair


def _sessions(sim: Any) -> list[Any]:
    from harness.device.select import connect

    return list(connect([sim.serial]))


def _bench_records(sim: Any) -> list[dict[str, Any]]:
    """Affinity records of benchmark_model processes (not of other pinned tools)."""
    return [r for r in sim.affinity_records() if any("benchmark_model" in a for a in r["argv"])]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_run_several_variants_and_trials(sim: Any, tmp_path: Path) -> None:
    before = len(_bench_records(sim))
    messages: list[str] = []
    settings = RunSettings(
        devices=[sim.serial], variants=VARIANTS, trials=2, runs=3, warmup=1,
        out=tmp_path, seed=1234, report=False,
    )  # fmt: skip
    outcome = run(settings, sessions=_sessions(sim), emit=messages.append)

    assert outcome.status == "complete", messages
    assert outcome.exit_code == 0
    run_dir = outcome.run_dir
    trials = _read_jsonl(run_dir / "trials.jsonl")
    assert len(trials) == 4
    assert {t["status"] for t in trials} == {"ok"}, [t["error"] for t in trials]
    assert Counter(t["variant"] for t in trials) == {v: 2 for v in VARIANTS}
    assert len({t["trial_id"] for t in trials}) == 4
    for t in trials:
        assert t["trial_id"].startswith(f"{sim.serial}|{t['variant']}|fp32|t1|big|xnnpack=default|")
        assert t["latency_ms"] > 0 and t["count"] == 3
        assert t["core_mask"].lower().lstrip("0x").lstrip("0") == "c"
        assert t["binary_kind"] == "stand-in"
        assert t["wall_s"] > 0
    # Trials ran in the recorded, seeded, interleaved order.
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "complete" and meta["seed"] == 1234
    assert meta["order"] == [t["trial_id"] for t in sorted(trials, key=lambda t: t["order_index"])]
    assert [t["trial_id"] for t in trials] == meta["order"]
    assert meta["settings"]["runs"] == 3 and meta["settings"]["trials"] == 2
    assert sim.serial in meta["devices"] and sim.serial in meta["binaries"]
    assert set(meta["models"]) == {f"{v}|fp32" for v in VARIANTS}
    # The tidy tables.
    table = pd.read_parquet(run_dir / "trials.parquet")
    assert len(table) == 4 and set(table["variant"]) == set(VARIANTS)
    summary = pd.read_parquet(run_dir / "summary.parquet")
    assert len(summary) == 2 and list(summary["n_ok"]) == [2, 2]
    assert outcome.summary is not None and len(outcome.summary) == 2
    # Every benchmark process ran only on the big cores, once per trial.
    procs = _bench_records(sim)[before:]
    assert len(procs) == 4
    for p in procs:
        assert set(p["device_cpus"]) <= BIG_CPUS and p["device_cpus"], p
    # Raw outputs are kept beside the records.
    assert len(list((run_dir / "logs").glob("*/stdout"))) == 4
    # The run has ended: its folder keeps no lock file.
    assert not (run_dir / ".lock").exists()


def test_failing_variant_is_recorded_and_run_goes_on(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One variant's model on the device is corrupt: its trials fail, the other's measure."""
    import harness.stages.prepare as prepare_stage
    from harness.bench import prepare as prep
    from harness.device import files

    sessions = _sessions(sim)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"TFL3 but not a flatbuffer at all")
    real = prep.prepare_device

    def corrupting(*args: Any, **kwargs: Any) -> Any:
        prepared = real(*args, **kwargs)
        [pushed] = files.push_many(sessions[0], [(bad, "models/bad.tflite")])
        remote = pushed.remote
        key = (VARIANTS[0], "fp32")
        model = prepared.target.models[key]
        prepared.target.models[key] = type(model)(path=remote, sha256=model.sha256)
        return prepared

    monkeypatch.setattr(prepare_stage, "prepare_device", corrupting)
    settings = RunSettings(
        devices=[sim.serial], variants=VARIANTS, trials=2, runs=3, warmup=1,
        out=tmp_path, seed=6, report=False, trial_timeout_s=60,
    )  # fmt: skip
    outcome = run(settings, sessions=sessions)
    assert outcome.status == "complete"
    assert outcome.exit_code == 1  # something measured failed
    trials = _read_jsonl(outcome.run_dir / "trials.jsonl")
    assert len(trials) == 4
    by_variant: dict[str, set[str]] = {}
    for t in trials:
        by_variant.setdefault(t["variant"], set()).add(t["status"])
        if t["variant"] == VARIANTS[0]:
            assert t["latency_ms"] is None and t["error"] and t["stderr_tail"], t
            assert t["exit_code"] not in (None, 0) or t["status"] == "parse_error"
    assert by_variant[VARIANTS[1]] == {"ok"}
    assert by_variant[VARIANTS[0]] & {"failed", "crashed", "parse_error"}
    assert outcome.trials_failed == 2
