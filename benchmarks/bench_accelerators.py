"""What each compute unit takes per configuration, and what proving the delegate costs.

On the simulated Pixel 1 through a real adb server, `harness run` (a child
process, as a user runs it) measures one variant on each unit in turn
(`--accelerator UNIT`), twice: with `--trials A` and `--trials B`, after an
unmeasured pass that converts and pushes the model. Per unit it prints

- the trials' median latency and process wall time: the stand-in's timing
  model (docs/sim.md "Delegates"), never a phone's figure;
- the proof's verdict and node counts, as the records carry them;
- the harness's time around each benchmark process (from a trial's start to
  the next one's, less its process's wall time), median over the B trials;
- device shell commands per trial: the simulated phone counts every shell
  command the host opens, and (commands of the B run - those of the A run) /
  (B - A) leaves preparation out (A is large enough that both runs make their
  trial folders ahead, one call each); of them, the trial calls (`run_trial.sh
  begin`: launch, wait and collect in one round trip), which the device's
  command events name. The proof reads the log the trial collects anyway, so
  the trial calls must be one per trial on every unit (target: no extra round
  trip). A state snapshot between trials (`--cooldown-temp 0` still reads one
  when more than 2 s passed since the last) adds a command now and then, by
  the host's timing, on any unit;
- the host's cost of the proof: parsing each trial's stored log as the
  record does (`harness.logs.parse` with the unit), and the proof step alone
  (`harness.logs.delegation.prove`), median per trial over --repeats.

    python benchmarks/bench_accelerators.py [--trials 8] [--runs 20]
        [--units cpu,gpu,gpu-fp32,nnapi,nnapi:qti-dsp]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The same measure, child and phone as bench_run's (this script's folder is on sys.path).
from bench_run import HARNESS, around_ms, sim_behind_adb

from harness.bench.workers import MAKE_AHEAD_FROM

A_TRIALS = MAKE_AHEAD_FROM


def _harness(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """`harness ARGS --json` as a child; its outcome (exit 1, a fallback, is an outcome too)."""
    proc = subprocess.run(
        [sys.executable, "-c", HARNESS, *args, "--json"], env=env, capture_output=True, text=True
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"harness run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    outcome: dict[str, Any] = json.loads(proc.stdout)
    return outcome


def _records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "trials.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines if x]


def _parse_costs(run_dir: Path, unit: str, repeats: int) -> tuple[float, float]:
    """Median µs per trial log: the whole parse with the proof, and the proof step alone."""
    from harness.logs.delegation import prove
    from harness.logs.parser import parse

    whole: list[float] = []
    proof: list[float] = []
    for out in sorted((run_dir / "logs").glob("*/stdout")):
        stdout = out.read_text(errors="replace")
        err = out.with_name("stderr")
        stderr = err.read_text(errors="replace") if err.is_file() else ""
        start = time.perf_counter()
        for _ in range(repeats):
            parsed = parse(stdout, stderr, 0, accelerator=unit)
        whole.append((time.perf_counter() - start) / repeats * 1e6)
        start = time.perf_counter()
        for _ in range(repeats):
            prove(parsed, unit)
        proof.append((time.perf_counter() - start) / repeats * 1e6)
    return statistics.median(whole), statistics.median(proof)


def _unit_pass(
    unit: str, common: list[str], tmp: Path, trials: int, env: dict[str, str], sim: Any
) -> dict[str, Any]:
    count = sim.faults.triggers.count
    before = count("command")
    _harness([*common, "--accelerator", unit, "--trials", str(A_TRIALS),
              "--out", str(tmp / f"{unit}-a")], env)  # fmt: skip
    middle = count("command")
    texts: list[str] = []
    watch = sim.faults.on("command", lambda event: texts.append(event.text), every=True)
    try:
        outcome = _harness([*common, "--accelerator", unit, "--trials", str(trials),
                            "--out", str(tmp / f"{unit}-b")], env)  # fmt: skip
    finally:
        watch.cancel()
    after = count("command")
    run_dir = Path(outcome["run_dir"])
    records = _records(run_dir)
    return {
        "run_dir": run_dir,
        "records": records,
        "commands_per_trial": ((after - middle) - (middle - before)) / (trials - A_TRIALS),
        "trial_calls": sum(1 for t in texts if "run_trial.sh" in t and "begin" in t) / trials,
        "around_ms": statistics.median(around_ms(records, records)),
    }


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f}" if values else "       -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="mobilenet_v2_0.35_96")
    parser.add_argument("--units", default="cpu,gpu,gpu-fp32,nnapi,nnapi:qti-dsp")
    parser.add_argument("--trials", type=int, default=A_TRIALS + 4)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=200, help="parses per stored log")
    opts = parser.parse_args()
    if opts.trials <= A_TRIALS:
        raise SystemExit(f"--trials must be above {A_TRIALS}")
    units = [u.strip() for u in opts.units.split(",") if u.strip()]

    results: dict[str, dict[str, Any]] = {}
    with sim_behind_adb() as (sim, env), tempfile.TemporaryDirectory(prefix="bench-units-") as t:
        tmp = Path(t)
        common = [
            "run", "--device", sim.serial, "--variants", opts.variant, "--no-report",
            "--runs", str(opts.runs), "--warmup", str(opts.warmup), "--seed", "1",
            "--cooldown-temp", "0",
        ]  # fmt: skip
        print("warm-up pass (conversion and pushes; not measured)...", file=sys.stderr)
        _harness([*common, "--accelerator", ",".join(units), "--trials", "1",
                  "--out", str(tmp / "warm")], env)  # fmt: skip
        for unit in units:
            print(f"{unit}: {A_TRIALS} then {opts.trials} trials...", file=sys.stderr)
            results[unit] = _unit_pass(unit, common, tmp, opts.trials, env, sim)
            results[unit]["parse_us"] = _parse_costs(results[unit]["run_dir"], unit, opts.repeats)

    print(f"{opts.variant}, --trials {opts.trials} --runs {opts.runs} --warmup {opts.warmup}, "
          "simulated Pixel 1 (latencies: the stand-in's timing model, not a phone's)")  # fmt: skip
    print(f"{'unit':<13} {'status':<9} {'proof':<22} {'median ms':>9} {'wall ms':>8} "
          f"{'around ms':>9} {'cmds/trial':>10} {'trial calls':>11} {'parse us':>9} "
          f"{'prove us':>9}")  # fmt: skip
    for unit, r in results.items():
        records = r["records"]
        statuses = ",".join(sorted({str(t["status"]) for t in records}))
        first = records[0]
        counted = [first.get("delegated_nodes"), first.get("total_nodes")]
        nodes = f"{first['delegation']} " + "/".join("-" if n is None else str(n) for n in counted)
        lat = [float(t["latency_ms"]) for t in records if t.get("latency_ms")]
        wall = [float(t["wall_s"]) * 1000 for t in records]
        parse_us, prove_us = r["parse_us"]
        print(f"{unit:<13} {statuses:<9} {nodes:<22} {_median(lat):>9} {_median(wall):>8} "
              f"{r['around_ms']:9.1f} {r['commands_per_trial']:10.2f} {r['trial_calls']:11.2f} "
              f"{parse_us:9.0f} "
              f"{prove_us:9.1f}")  # fmt: skip
    calls = {r["trial_calls"] for r in results.values()}
    same = "one per trial on every unit" if calls == {1.0} else f"NOT one per trial: {calls}"
    print(f"trial calls (run_trial.sh begin): {same}; the proof adds no device round trip")


if __name__ == "__main__":
    main()
