"""Cost of the results store and the parser per trial, next to a trial's own length.

A trial of a MobileNet on a phone takes seconds; the store's fsync per
appended trial, the parse of its output and the final parquet write must be
a negligible part of that (the run's wall/benchmark-time target is <= 1.10).
Prints: mean append (write + fsync) time per trial, parse time per output,
finalize (two parquet tables) and load() times for N trials.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from harness.logs.parser import parse
from harness.results import RunStore, TrialRecord, load
from harness.results.schema import Figures

N_TRIALS = 660  # 22 variants x 2 xnnpack x 5 trials x 3 repeats
FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "data"
    / "benchmark_model"
    / "era2020_ti_am62_cpu.log"
)


def _record(run_id: str, i: int) -> TrialRecord:
    return TrialRecord(
        run_id=run_id,
        trial_id=f"dev|mobilenet_v2_1.0_224|fp32|t1|big|xnnpack=off|{i}",
        device_serial="dev",
        device_model="Pixel",
        variant="mobilenet_v2_1.0_224",
        family="v2",
        depth_multiplier=1.0,
        resolution=224,
        quant="fp32",
        threads=1,
        cores="big",
        core_mask="c",
        xnnpack="off",
        trial_index=i,
        order_index=i,
        status="ok",
        started_at="2026-11-26T12:00:00+00:00",
        finished_at="2026-11-26T12:00:05+00:00",
        wall_s=5.0,
        num_runs=50,
        warmup_runs=5,
        latency_ms=70.0 + (i % 7),
        figures=Figures(avg_us=(70.0 + (i % 7)) * 1000),
        freq_before={"2": [2150400, 2150400], "3": [2150400, 2150400]},
    )


def main() -> None:
    t0 = time.perf_counter()
    import pandas  # noqa: F401  (imported lazily by harness.results; timed once here)

    import_s = time.perf_counter() - t0
    text = FIXTURE.read_text()
    t0 = time.perf_counter()
    for _ in range(200):
        parse(text, "", 0)
    parse_ms = (time.perf_counter() - t0) / 200 * 1000

    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore.create(
            tmp, {"run_id": "bench-run", "devices": {"dev": {"model": "Pixel"}}}
        )
        appends = []
        for i in range(N_TRIALS):
            record = _record(store.run_id, i)
            t = time.perf_counter()
            store.append(record)
            appends.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.finalize()
        finalize_s = time.perf_counter() - t
        t = time.perf_counter()
        reopened = RunStore.open(store.run_dir)
        reopen_s = time.perf_counter() - t
        assert len(reopened.completed_trial_ids()) == N_TRIALS
        t = time.perf_counter()
        frame = load(store.run_dir)
        load_s = time.perf_counter() - t
        assert len(frame) == N_TRIALS

    print(f"pandas import (once per process): {import_s * 1000:8.1f} ms")
    print(f"parse (2020+ log, {len(text)} chars):  {parse_ms:8.3f} ms per output")
    print(
        f"append + fsync, {N_TRIALS} trials:      {statistics.mean(appends) * 1000:8.3f} ms mean, "
        f"{max(appends) * 1000:.3f} ms max"
    )
    print(f"finalize (2 parquet tables):      {finalize_s * 1000:8.1f} ms")
    print(f"RunStore.open ({N_TRIALS} lines):        {reopen_s * 1000:8.1f} ms")
    print(f"load() (from trials.jsonl):       {load_s * 1000:8.1f} ms")
    per_trial = statistics.mean(appends) + parse_ms / 1000
    print(f"store+parse per 5 s trial:        {per_trial / 5.0 * 100:8.4f} % of the trial")


if __name__ == "__main__":
    main()
