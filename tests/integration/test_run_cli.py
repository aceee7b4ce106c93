"""`harness run` through its command line: --device sim, several devices, xnnpack, op profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANT = "mobilenet_v2_0.35_96"
BIG_CPUS = {2, 3}


def _bench_records(sim: Any) -> list[dict[str, Any]]:
    return [r for r in sim.affinity_records() if any("benchmark_model" in a for a in r["argv"])]


def _json_out(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    captured = capsys.readouterr()
    try:
        return dict(json.loads(captured.out))
    except ValueError:
        raise AssertionError(f"no JSON on stdout:\n{captured.out}\n{captured.err}") from None


def test_device_sim_starts_a_simulated_pixel(
    adb_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([
        "run", "--device", "sim", "--variants", VARIANT, "--trials", "2", "--runs", "3",
        "--warmup", "1", "--out", str(tmp_path), "--json", "--fixed-performance",
        "--label", "v2.4-rc1",
    ])  # fmt: skip
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 0, out
    assert out["status"] == "complete" and out["trials_total"] == 2 and out["trials_failed"] == 0
    [row] = out["summary"]
    assert row["variant"] == VARIANT and row["n_ok"] == 2
    assert row["published_ms"] == 4.5 and row["ratio"] == pytest.approx(row["median_ms"] / 4.5)
    meta = json.loads((Path(out["run_dir"]) / "meta.json").read_text())
    [info] = meta["devices"].values()
    assert info["model"] == "Pixel"
    assert meta["settings"]["devices"] == ["sim"]
    assert meta["label"] == "v2.4-rc1"  # what the report's History names this run by
    # The simulated Pixel runs Android 10: no fixed performance mode, said and recorded.
    assert list(meta["fixed_performance"].values()) == [False]
    assert "fixed performance mode unavailable" in captured.err
    # Progress went to stderr, one line per trial; the HTML report was written.
    assert captured.err.count("[1/2]") == 1 and captured.err.count("[2/2]") == 1
    assert out["report"] and Path(out["report"]).is_file()
    # Nobody reads these as phone numbers: the run says what measured them.
    assert any("stand-in" in c and "not phone numbers" in c for c in out["caveats"])
    assert any("simulated" in c for c in out["caveats"])


def test_table_output_carries_the_caveats(
    sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([
        "run", "--device", sim.serial, "--variants", VARIANT, "--trials", "1", "--runs", "2",
        "--warmup", "0", "--out", str(tmp_path), "--no-report",
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert VARIANT in out
    assert "note: measured with the benchmark_model stand-in" in out


def test_xnnpack_both_and_op_profile(
    sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(_bench_records(sim))
    code = main([
        "run", "--device", sim.serial, "--variants", VARIANT, "--trials", "1", "--runs", "3",
        "--warmup", "1", "--xnnpack", "both", "--op-profile", "--out", str(tmp_path), "--json",
        "--no-report",
    ])  # fmt: skip
    out = _json_out(capsys)
    assert code == 0, out
    run_dir = Path(out["run_dir"])
    trials = [json.loads(x) for x in (run_dir / "trials.jsonl").read_text().splitlines()]
    # Profiling never enters the latency trials.
    assert sorted(t["xnnpack"] for t in trials) == ["off", "on"]
    assert all(t["status"] == "ok" for t in trials)
    profiles = [json.loads(x) for x in (run_dir / "profiles.jsonl").read_text().splitlines()]
    assert sorted(p["xnnpack"] for p in profiles) == ["off", "on"]
    # The stand-in has no op profiler: recorded as such, with the reason.
    for p in profiles:
        assert p["status"] != "ok" and "profil" in (p["error"] or ""), p
    argvs = [r["argv"] for r in _bench_records(sim)[before:]]
    assert len(argvs) == 4  # 2 latency trials + 2 profiling passes
    flags = [a for argv in argvs for a in argv if a.startswith("--use_xnnpack")]
    assert sorted(flags) == ["--use_xnnpack=false"] * 2 + ["--use_xnnpack=true"] * 2
    profiled = [argv for argv in argvs if "--enable_op_profiling=true" in argv]
    assert len(profiled) == 2
    for argv in argvs:
        assert "--min_secs=0" in argv and "--warmup_min_secs=0" in argv
        assert "--num_runs=3" in argv or "--enable_op_profiling=true" in argv


def test_two_devices_in_parallel_into_one_run(
    make_sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = make_sim(), make_sim()
    code = main([
        "run", "--device", a.serial, "--device", b.serial, "--variants", VARIANT,
        "--trials", "3", "--runs", "3", "--warmup", "1", "--out", str(tmp_path), "--json",
        "--no-report",
    ])  # fmt: skip
    out = _json_out(capsys)
    assert code == 0, out
    run_dir = Path(out["run_dir"])
    table = pd.read_parquet(run_dir / "trials.parquet")
    assert sorted(table["device_serial"].value_counts().to_dict().items()) == sorted(
        {a.serial: 3, b.serial: 3}.items()
    )
    summary = pd.read_parquet(run_dir / "summary.parquet")
    assert set(summary["device_serial"]) == {a.serial, b.serial}
    meta = json.loads((run_dir / "meta.json").read_text())
    assert set(meta["devices"]) == {a.serial, b.serial}
    ra, rb = _bench_records(a), _bench_records(b)
    assert len(ra) == 3 and len(rb) == 3
    for r in ra + rb:
        assert set(r["device_cpus"]) <= BIG_CPUS
    # One worker per device: the two devices' trials overlap in time.
    assert min(r["time"] for r in rb) < max(r["time"] for r in ra)
    assert min(r["time"] for r in ra) < max(r["time"] for r in rb)
