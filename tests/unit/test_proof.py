"""Proof figures and flags from run_trial.sh's samples, and the sampler itself under mksh."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.bench import proof
from harness.bench.remote import parse_collected
from harness.results.flags import trial_flags
from harness.results.schema import TrialRecord

SCRIPT = Path(__file__).resolve().parents[2] / "device_scripts" / "run_trial.sh"
SYSFS = Path(__file__).resolve().parents[1] / "data" / "sysfs"
MARK = "@@harness-0123456789abcdef"
MAX = {4: 2400000, 5: 2400000}

QUIET = """affinity mask=30 list=4-5
sample up=10.00 temp=41000 f4=2400000 f5=2400000 s4=1000,2000 s5=500,2000 self=100
sample up=10.50 temp=43500 f4=2400000 f5=2400000 s4=1050,2050 s5=550,2050 self=200
"""


def test_quiet_trial_has_figures_and_no_flags() -> None:
    got = proof.prove(QUIET, mask="30", cluster_max_khz=MAX, hot_limit_c=45.0)
    assert got.affinity_cpus == "4,5" and got.affinity_error is None
    assert got.samples == 2
    assert (got.freq_min_khz, got.freq_max_khz, got.temp_max_c) == (2400000, 2400000, 43.5)
    assert got.interference_pct == 0.0
    assert (got.throttled_during, got.hot, got.interfered) == (False, False, False)
    assert got.warnings == []


def test_busy_neighbour_clock_drop_and_heat_are_flagged() -> None:
    text = QUIET.replace("s5=550,2050", "s5=600,2050").replace(
        "f5=2400000 s4=1050", "f5=1200000 s4=1050"
    )
    got = proof.prove(
        text + "sample up=11.0 temp=46", mask="30", cluster_max_khz=MAX, hot_limit_c=43.5
    )
    # 150 busy ticks of 100 total, 100 of them the benchmark's: 50 of 100 = 50 %.
    assert got.interference_pct == 50.0 and got.interfered is True
    assert got.throttled_during is True and got.freq_min_khz == 1200000
    assert got.hot is True  # 43.5 reaches the limit; the cut-off last line is ignored
    assert [w.split(":")[0] for w in got.warnings] == ["throttled", "hot", "interfered"]
    assert "cpu5 ran at 1200000 kHz" in got.warnings[0]


def test_a_short_trial_is_flagged_only_for_what_its_ticks_can_tell() -> None:
    """Looks 70 ms apart on two CPUs span 14 ticks: 3 of them not the benchmark's read
    21 %, but whole ticks cannot tell that from 0 (± 21 %). Over 3 s the same share can."""
    short = (
        "sample at=start up=1.00 temp=40000 s4=100,200 s5=100,200 self=2\n"
        "sample at=exit up=1.07 temp=40000 s4=107,207 s5=107,207 self=13\n"
    )
    got = proof.prove(short, mask="30", cluster_max_khz=MAX, hot_limit_c=None)
    assert got.samples == 2 and got.interference_pct == 21.43
    assert got.interfered is False and got.warnings == []
    # No clocks in the looks: nothing to say about throttling from them.
    assert got.freq_min_khz is None and got.throttled_during is None
    long = short.replace("s4=107,207 s5=107,207 self=13", "s4=400,500 s5=400,500 self=473")
    got = proof.prove(long, mask="30", cluster_max_khz=MAX, hot_limit_c=None)
    assert got.interference_pct == 21.5 and got.interfered is True
    assert got.warnings == ["interfered: other processes used 21.5 % of the pinned CPUs "
                            "(± 0.5 %, bound 5 %)"]  # fmt: skip


def test_affinity_outside_the_mask_fails_the_trial() -> None:
    got = proof.prove(
        "affinity mask=f0 list=4-7\n", mask="30", cluster_max_khz=MAX, hot_limit_c=None
    )
    assert got.affinity_cpus == "4,5,6,7"
    assert got.affinity_error is not None and "outside the requested mask 30" in got.affinity_error
    record = proof.with_proof(
        _record(), "affinity mask=f0 list=4-7\n", cluster_max_khz=MAX, hot_limit_c=None, log=""
    )
    assert record.status == "failed" and record.latency_ms is None
    assert record.error == got.affinity_error and record.affinity_cpus == "4,5,6,7"
    # Without a taskset answer the status file's list is used.
    listed = proof.prove(
        "affinity mask= list=4-5\n", mask="30", cluster_max_khz=MAX, hot_limit_c=None
    )
    assert listed.affinity_cpus == "4,5" and listed.affinity_error is None


def test_log_contradicting_settings_is_flagged() -> None:
    log = (
        "INFO: harness benchmark_model stand-in 3 (LiteRT 1.2); not the official TFLite tool\n"
        "INFO: Num threads: [2]\nINFO: #threads used for CPU inference: [2]\n"
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
    )
    claims = proof.log_claims(log)
    assert claims.version is not None and claims.version.startswith("harness benchmark_model")
    assert (claims.threads, claims.xnnpack_applied) == (2, True)
    mismatch = proof.log_mismatch(claims, threads=4, xnnpack="off")
    assert mismatch is not None
    assert "--use_xnnpack=false asked" in mismatch and "4 threads asked" in mismatch
    assert proof.log_mismatch(claims, threads=2, xnnpack="on") is None
    record = proof.with_proof(_record(), None, cluster_max_khz=MAX, hot_limit_c=None, log=log)
    assert record.status == "ok" and record.log_mismatch is not None
    assert trial_flags(record.to_dict()) == ["log_mismatch"]


def test_a_trial_too_short_to_sample_is_hot_by_its_snapshots() -> None:
    """Hot and capped from the start, over before the first sample: the snapshots show it."""
    capped = {"4": [1500000, 1500000]}
    record = proof.with_proof(
        _record(temp_before_c=61.0, temp_after_c=60.5, freq_before=capped, throttled=True),
        "affinity mask=30 list=4-5\n",  # no sample line: the trial ended first
        cluster_max_khz=MAX, hot_limit_c=45.0, log="",
    )  # fmt: skip
    assert record.proof_samples == 0 and record.temp_max_c is None
    assert (record.throttled, record.hot) == (True, True)
    assert record.proof_warnings == "hot: 61 °C before the trial, limit 45 °C"
    assert trial_flags(record.to_dict()) == ["throttled", "hot"]

    # Cool snapshots say not hot; no reading at all, or no limit, stays unknown.
    def hot(record: TrialRecord, limit: float | None) -> bool | None:
        return proof.with_proof(record, None, cluster_max_khz=MAX, hot_limit_c=limit, log="").hot

    cool = _record(temp_before_c=33.0, temp_after_c=34.0)
    assert (hot(cool, 45.0), hot(_record(), 45.0), hot(cool, None)) == (False, None, None)
    # The hottest reading decides and is named: here the samples during the trial.
    got = proof.prove(QUIET, mask="30", cluster_max_khz=MAX, hot_limit_c=42.0, before_c=40.0)
    assert got.hot is True and got.warnings == ["hot: 43.5 °C during the trial, limit 42 °C"]


def _record(**changes: object) -> TrialRecord:
    base: dict[str, object] = dict(
        run_id="r", trial_id="t", device_serial="s", device_model="m", variant="v",
        family="f", depth_multiplier=1.0, resolution=224, quant="fp32", threads=4,
        cores="big", core_mask="30", xnnpack="off", trial_index=0, order_index=0,
        status="ok", started_at="a", finished_at="b", wall_s=1.0, num_runs=1,
        warmup_runs=0, latency_ms=5.0,
    )  # fmt: skip
    base.update(changes)
    return TrialRecord(**base)  # type: ignore[arg-type]


@pytest.mark.skipif(not (shutil.which("mksh") and shutil.which("taskset")), reason="needs mksh")
def test_wrapper_samples_a_running_trial(tmp_path: Path) -> None:
    """The real script: samples appear while the benchmark runs, with its affinity read back."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(SCRIPT, scripts / "run_trial.sh")
    (scripts / "state.sh").write_text("echo battery_level=80\n")
    # A process that runs until its `go` file exists: the length is set by the
    # test, not by host speed.
    gate = tmp_path / "go"
    body = f"while [ ! -f {gate} ]; do :; done"
    cmd = ["mksh", str(scripts / "run_trial.sh")]
    env = {"PATH": "/usr/bin:/bin", "SYSFS_ROOT": str(SYSFS / "pixel1")}
    trial = tmp_path / "t1"
    launch = subprocess.Popen(
        [*cmd, "begin", str(trial), "1", "6000", "200", MARK, "0", "--", "sh", "-c", body],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        samples = trial / "samples"
        # Until two samples taken while it ran (they read the clocks; the start look does
        # not) show the benchmark's own time growing (up to 60 s).
        for _ in range(600):
            seen = proof.parse_samples(samples.read_text() if samples.exists() else "")
            ticks = [s.self_ticks or 0 for s in seen.samples if s.freqs]
            if len(ticks) >= 2 and ticks[-1] > ticks[0]:
                break
            subprocess.run(["sleep", "0.1"], check=True)
        gate.touch()
        out, _ = launch.communicate(timeout=60)
    finally:
        gate.touch()
        launch.kill()
    got = parse_collected(out, MARK)
    assert got.state.state == "done"
    assert got.samples is not None
    parsed = proof.parse_samples(got.samples)
    assert parsed.affinity_mask == 1 and parsed.affinity_list == "0"
    # The start look, samples while it ran, the exit look: each with the counters
    # and the benchmark's own ticks; clocks only in the samples between.
    kinds = [line.split(" ", 2)[1] for line in got.samples.splitlines()[1:]]
    assert kinds[0] == "at=start" and kinds[-1] == "at=exit" and len(kinds) >= 4, kinds
    first, *during, last = parsed.samples
    assert first.freqs == {} and last.freqs == {} and first.temp_mc is not None
    assert all(s.freqs == {0: 1593600} for s in during)
    assert all(set(s.ticks) == {0} and s.self_ticks is not None for s in parsed.samples)
    # The busy loop is the benchmark's own time: it grows while it runs (the wait above
    # saw it grow between samples) and never shrinks up to the exit look. Whether a tick
    # falls between the last sample and the exit look is the host's scheduling.
    assert (last.self_ticks or 0) >= (during[-1].self_ticks or 0) > (first.self_ticks or 0)
