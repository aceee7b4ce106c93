"""What reading energy costs a trial, and how close its figure comes to the truth.

1. The trial scripts' own CPU time, under mksh on the host (load does not
   blur CPU time as it blurs latency): run_trial.sh begin + collect on a
   "benchmark" that prints the real tool's warm-up line, naps WARM_S, prints
   the timed line and naps TRIAL_S, with energy on (two ODPM meters of eight
   rails each, as a Pixel 6's, in a sysfs tree) and off. This process is the
   child subreaper, so the detached wrapper and sampler are reaped here and
   their CPU time counted (RUSAGE_CHILDREN). Two warm-up lengths split the
   difference into what the four looks cost per trial (no warm-up: the
   timed line is there at the first poll) and what the watch for the timed
   line costs per second of warm-up (its 5 ms polls).

2. Latency and harness time, on the simulated Pixel 6 through a real adb
   server: trials of one configuration alternate energy on, off, off, on, ...
   (TrialRunner, as `harness run --energy` runs its trials)
   and each ABBA block's mean latencies are compared:

       cost = median over blocks of (mean with energy / mean without) - 1   (target within 1 %)

   and the same with each trial's median run, which a loaded host's
   preemptions move less than the mean.
   Each energy trial's figure is set beside what the power model charged its
   timed runs, and the time each trial took beyond its benchmark process
   (less the idle window, which is spent on purpose) beside that of the
   trials without energy.

3. Energy per inference against the power model's truth across the 22
   MobileNetV2 variants (fp32, big cores) on the simulated Pixel 6, each
   trial's figure (`trial_energy`, what `harness run --energy` records) set
   beside what the model charged that process's timed runs. Each variant's
   runs are chosen for a timed phase of about --timed-s (from one short
   calibration trial), far fewer than a run's default: the figure needs ten
   times the meters' 50 ms refresh, not minutes.

4. The gate: how often `harness check` flags a 10% energy increase of one
   configuration, and how often identical code fails it, over seeded pairs of
   runs judged by `judge_energy` (the code of check's energy rows) under a
   stated noise model (`tests.support.power.RunNoise`): bench_check_power's
   latency model with the trial CV widened by the meters' own error (part 3's
   spread, or --meter-cv), and a harsher one.

    python benchmarks/bench_energy.py [--part all|cost|latency|accuracy|gate]
        [--blocks 6] [--runs 5000] [--repeats 5] [--trials 3] [--timed-s 1.0] [--reps 2000]
"""

from __future__ import annotations

import argparse
import ctypes
import math
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "device_scripts" / "run_trial.sh"
MARK = "@@harness-bench"
TRIAL_S = 3.0
WARM_S = (0.0, 2.0)
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
VARIANT = "mobilenet_v2_0.35_96"
# Two meters of eight rails, as a Pixel 6 shows them (docs/energy-sources.md).
RAILS = (
    ("S10M_VDD_TPU", "VSYS_PWR_MODEM", "VSYS_PWR_RFFE", "S2M_VDD_CPUCL2", "S3M_VDD_CPUCL1",
     "S4M_VDD_CPUCL0", "S5M_VDD_INT", "S1M_VDD_MIF"),
    ("VSYS_PWR_WLAN_BT", "L2S_VDD_AOC_RET", "S9S_VDD_AOC", "S5S_VDDQ_MEM", "S10S_VDD2L",
     "S4S_VDD2H_MEM", "S2S_VDD_G3D", "L9S_GNSS_CORE"),
)  # fmt: skip
BENCHMARK = """\
echo "INFO: Running benchmark for at least 5 iterations and at least 0 seconds"
{sleep} {warm}
echo "INFO: Running benchmark for at least 50 iterations and at least 0 seconds"
{sleep} {timed}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reap_all() -> None:
    """Wait for every child, including orphans handed to this subreaper."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _phone(work: Path) -> dict[str, str]:
    """A sysfs tree with two ODPM meters, the scripts, and `sh` -> mksh first on PATH."""
    for index, rails in enumerate(RAILS):
        meter = work / "root" / "sys" / "bus" / "iio" / "devices" / f"iio:device{index}"
        meter.mkdir(parents=True)
        rows = "".join(f"CH{c}(T=9000)[{name}], {c * 1000}\n" for c, name in enumerate(rails))
        (meter / "energy_value").write_text(f"t=9000\n{rows}")
    (work / "state.sh").write_text("echo battery_level=80\n")
    shutil.copy(SCRIPT, work / "run_trial.sh")
    bindir = work / "bin"
    bindir.mkdir()
    (bindir / "sh").symlink_to(shutil.which("mksh") or "mksh")
    path = f"{bindir}:{os.environ['PATH']}"
    return dict(os.environ, PATH=path, SYSFS_ROOT=str(work / "root"), HARNESS_SAMPLE_S="0.5")


def script_cpu_s(work: Path, energy: bool, warm_s: float) -> float:
    """CPU seconds run_trial.sh's processes (and the stand-in) used for one trial."""
    work.mkdir(parents=True)
    env = _phone(work)
    real = shutil.which("sleep") or "/bin/sleep"
    bench = work / "bench.sh"
    bench.write_text(BENCHMARK.format(sleep=real, warm=warm_s, timed=TRIAL_S))
    cmd = ["mksh", str(work / "run_trial.sh")]
    trial = work / "t"
    cpu = str(sorted(os.sched_getaffinity(0))[0])
    flags = ["--energy=odpm:0,1:", "--idle=10"] if energy else []
    _reap_all()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [*cmd, "begin", str(trial), "1", "0", "200", MARK, *flags, "--no-before", cpu, "--",
         "sh", str(bench)],
        env=env, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        [*cmd, "collect", str(trial), "6000", "200", MARK, cpu],
        env=env, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    _reap_all()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    samples = (trial / "samples").read_text()
    if energy and "energy at=timed" not in samples:
        raise SystemExit(f"no timed look in the energy trial:\n{samples}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def script_cost(repeats: int) -> dict[float, tuple[float, float]]:
    """Per warm-up length: median CPU s per trial with energy and without."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    out: dict[float, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for warm in WARM_S:
            on: list[float] = []
            off: list[float] = []
            for i in range(repeats):
                on.append(script_cpu_s(Path(tmp) / f"on{warm}-{i}", True, warm))
                off.append(script_cpu_s(Path(tmp) / f"off{warm}-{i}", False, warm))
            out[warm] = (statistics.median(on), statistics.median(off))
    return out


def _prepared(serial: str, variants: list[str], runs: int) -> tuple[Any, Any]:
    """The device prepared as a run prepares it, with these fp32 models: (session, target)."""
    from harness.bench.prepare import ModelFile, Preparation, identify, prepare_device
    from harness.catalogue import get
    from harness.convert import convert_many
    from harness.device.select import connect
    from harness.vocab import Config

    converted = convert_many([get(v) for v in variants], progress=False)
    models = [
        ModelFile(v, "fp32", Path(c.path), c.sha256)
        for v, c in zip(variants, converted, strict=True)
    ]
    configs = [Config(v, "fp32", 1, "big", "default") for v in variants]
    (session,) = connect([serial])
    prep = Preparation(
        cores=("big",), benchmark_binary=None, models=tuple(models), configs=tuple(configs),
        runs=runs, warmup=3, reconnect_timeout_s=10,
    )  # fmt: skip
    identified = identify(session, prep)
    prepared = prepare_device(session, identified, prep, logs_dir=None)
    return session, prepared.target


@contextmanager
def _simulated_pixel6() -> Iterator[Any]:
    """A simulated Pixel 6 behind a real adb server of its own; stopped on the way out."""
    import adbutils

    from harness.sim import SimDevice

    port = _free_port()
    env = dict(
        os.environ, ANDROID_ADB_SERVER_PORT=str(port), ADB_EMU="0", ADB_MDNS="0", ADB_USB="0"
    )
    adb = adbutils.adb_path()
    subprocess.run([adb, "-P", str(port), "start-server"], env=env, check=True, capture_output=True)
    before = os.environ.get("ANDROID_ADB_SERVER_PORT")
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(port)
    sim = SimDevice.start(profile="pixel6")
    try:
        subprocess.run(
            [adb, "-P", str(port), "connect", sim.serial], env=env, check=True, capture_output=True
        )
        yield sim
    finally:
        sim.stop()
        subprocess.run([adb, "-P", str(port), "kill-server"], env=env, capture_output=True)
        if before is None:
            os.environ.pop("ANDROID_ADB_SERVER_PORT", None)
        else:
            os.environ["ANDROID_ADB_SERVER_PORT"] = before


def trial_costs(blocks: int, runs: int) -> dict[str, list[float]]:
    """Trials alternating energy on/off in ABBA blocks on the simulated Pixel 6."""
    from harness.bench.command import build_command
    from harness.bench.energy import trial_energy
    from harness.bench.trial import TrialRunner, TrialSettings
    from harness.device.energy import choose_energy, probe_energy
    from harness.logs.parser import parse

    keys = ("on", "off", "ratio", "median_ratio", "err", "bound", "end")
    found: dict[str, list[float]] = {k: [] for k in keys}
    found.update({"around_on": [], "around_off": []})
    with _simulated_pixel6() as sim:
        session, target = _prepared(sim.serial, [VARIANT], runs)
        model = target.models[(VARIANT, "fp32")]
        request = choose_energy(probe_energy(session), serial=sim.serial)
        command = build_command(
            target.binary.device_path, target.binary.flags, graph=model.path, threads=1,
            runs=runs, warmup=3, xnnpack="default",
        )  # fmt: skip
        runners = {
            on: TrialRunner(target, TrialSettings(runs=runs, warmup=3, timeout_s=600,
                                                  energy=request if on else None), "bench")
            for on in (True, False)
        }  # fmt: skip
        mask, cpus = target.masks["big"], target.cpus["big"]
        runners[False].execute("warm", mask, command.argv, cpus)  # warm the caches, unmeasured
        for b in range(blocks):
            means: dict[bool, list[float]] = {True: [], False: []}
            medians: dict[bool, list[float]] = {True: [], False: []}
            for i, on in enumerate((True, False, False, True)):
                began = time.perf_counter()
                got, _ = runners[on].execute(f"b{b}-{i}", mask, command.argv, cpus)
                took = time.perf_counter() - began
                parsed = parse(got.stdout or "", got.stderr or "", got.state.exit_code)
                figures = parsed.figures
                if parsed.status != "ok" or figures.avg_us is None or figures.median_us is None:
                    raise SystemExit(f"trial failed: {parsed.error}")
                latency = figures.avg_us / 1000.0
                means[on].append(latency)
                medians[on].append(figures.median_us / 1000.0)
                found["on" if on else "off"].append(latency)
                wall = got.state.wall_s or 0.0
                idle = request.idle_s if on else 0.0
                found["around_on" if on else "around_off"].append((took - wall - idle) * 1000)
                if on:
                    energy = trial_energy(got, request)
                    proc = sim.power.processes()[-1]
                    truth = proc.uws_by_phase["timed"] / 1000 / runs
                    if energy.energy_mj is None or energy.bound_pct is None:
                        raise SystemExit(f"no energy figure: {energy.reason}")
                    found["err"].append((energy.energy_mj / truth - 1) * 100)
                    found["bound"].append(energy.bound_pct)
                    # What the process spent after its timed runs (results, exit), which the
                    # figure counts as timed: the share it adds.
                    end = proc.uws_by_phase.get("end", 0.0) / proc.uws_by_phase["timed"]
                    found["end"].append(end * 100)
            found["ratio"].append(statistics.mean(means[True]) / statistics.mean(means[False]))
            found["median_ratio"].append(
                statistics.mean(medians[True]) / statistics.mean(medians[False])
            )
    return found


@dataclass
class VariantEnergy:
    """One variant's energy trials against the power model's truth."""

    variant: str
    runs: int
    timed_s: list[float] = field(default_factory=list)  # each trial's timed runs, as placed
    err_pct: list[float] = field(default_factory=list)  # figure / truth - 1, per trial
    bound_pct: list[float] = field(default_factory=list)
    energy_mj: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)


def accuracy(trials: int, timed_s: float) -> list[VariantEnergy]:
    """Every MobileNetV2 variant's energy per inference against the power model's truth."""
    from harness.bench.command import build_command
    from harness.bench.energy import trial_energy
    from harness.bench.trial import TrialRunner, TrialSettings
    from harness.catalogue import select
    from harness.device.energy import choose_energy, probe_energy
    from harness.logs.parser import parse

    variants = [v.id for v in select("v2:*")]
    out: list[VariantEnergy] = []
    with _simulated_pixel6() as sim:
        session, target = _prepared(sim.serial, variants, 50)
        request = choose_energy(probe_energy(session), serial=sim.serial)
        mask, cpus = target.masks["big"], target.cpus["big"]

        def trial(variant: str, runs: int, energy: bool, name: str) -> tuple[Any, float]:
            settings = TrialSettings(
                runs=runs, warmup=3, timeout_s=600, energy=request if energy else None
            )
            command = build_command(
                target.binary.device_path, target.binary.flags,
                graph=target.models[(variant, "fp32")].path, threads=1, runs=runs, warmup=3,
                xnnpack="default",
            )  # fmt: skip
            got, _ = TrialRunner(target, settings, "bench").execute(name, mask, command.argv, cpus)
            parsed = parse(got.stdout or "", got.stderr or "", got.state.exit_code)
            if parsed.status != "ok" or parsed.figures.avg_us is None:
                raise SystemExit(f"{variant}: trial failed: {parsed.error}")
            return got, parsed.figures.avg_us / 1000.0

        for variant in variants:
            _, calibration_ms = trial(variant, 10, False, f"{variant}-cal")
            runs = max(10, math.ceil(timed_s * 1000.0 / calibration_ms))
            found = VariantEnergy(variant, runs)
            for i in range(trials):
                got, latency = trial(variant, runs, True, f"{variant}-{i}")
                energy = trial_energy(got, request)
                truth = sim.power.processes()[-1].uws_by_phase["timed"] / 1000 / runs
                if energy.energy_mj is None or energy.bound_pct is None:
                    raise SystemExit(f"{variant}: no energy figure: {energy.reason}")
                found.err_pct.append((energy.energy_mj / truth - 1) * 100)
                found.bound_pct.append(energy.bound_pct)
                found.timed_s.append(energy.timed_s or 0.0)
                found.energy_mj.append(energy.energy_mj)
                found.latency_ms.append(latency)
            out.append(found)
            print(
                f"  {variant:24} {runs:4d} runs, timed {statistics.median(found.timed_s):.2f} s: "
                f"error median {statistics.median(found.err_pct):+.2f} %, worst "
                f"{max(found.err_pct, key=abs):+.2f} %, "
                f"bound {statistics.median(found.bound_pct):.2f} %",
                flush=True,
            )
    return out


def _cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.mean(values) if len(values) > 1 else 0.0


def print_accuracy(found: list[VariantEnergy], trials: int, timed_s: float) -> float:
    """The summary of part 3; returns the meters' own error (sd of figure / truth, a fraction)."""
    errs = [e for v in found for e in v.err_pct]
    within = sum(abs(e) <= 5.0 for e in errs)
    worst = max(found, key=lambda v: max(abs(e) for e in v.err_pct))
    meter = statistics.stdev(errs) / 100 if len(errs) > 1 else 0.0
    print(
        f"  {len(found)} variants x {trials} trials (timed phase ~{timed_s:g} s each): "
        f"{within} of {len(errs)} figures within 5 % of the truth; error median "
        f"{statistics.median(errs):+.2f} %, worst {max(errs, key=abs):+.2f} % "
        f"({worst.variant}), sd {meter * 100:.2f} %"
    )
    print(
        "  trial-to-trial CV on this host (median over variants): energy "
        f"{statistics.median(_cv(v.energy_mj) for v in found) * 100:.1f} %, latency "
        f"{statistics.median(_cv(v.latency_ms) for v in found) * 100:.1f} %"
    )
    return meter


def gate(reps: int, meter_cv: float) -> None:
    """Part 4: check's energy rows under a stated noise model, seeded pairs of runs."""
    from tests.support.power import RunNoise, check_rates, energy_noise

    latency = RunNoise()
    stated = energy_noise(meter_cv, latency)
    harsh = RunNoise(cv=0.03, config_sd=0.01)
    print(f"  noise model (energy): {stated.describe()}")
    print(
        f"  (bench_check_power's latency model, its trial CV {latency.cv:.0%} widened by the "
        f"meters' own error {meter_cv:.2%} to {stated.cv:.2%}: energy per inference = power x "
        "latency)"
    )
    print(f"  harsher: {harsh.describe()}")
    print(f"  {reps} seeded pairs of runs per cell; threshold 5%, confidence 99%")
    print()
    print(
        "  | noise, configurations, trials a side | false alarms per check | per configuration "
        "| 10% more energy in one flagged |"
    )
    print("  |---|---:|---:|---:|")
    for label, noise in (("stated", stated), ("harsher", harsh)):
        for configs in (6, 22):
            for n in (5, 10):
                kw = dict(reps=reps, noise=noise, configs=configs, n=n, energy=True)
                same = check_rates(**kw)  # type: ignore[arg-type]
                more = check_rates(slowdown=0.10, **kw)  # type: ignore[arg-type]
                print(
                    f"  | {label}, {configs}, {n} | {same.false_per_check * 100:.1f}% | "
                    f"{same.false_per_config * 100:.2f}% | {more.detected * 100:.1f}% |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--part", choices=("all", "cost", "latency", "accuracy", "gate"), default="all"
    )
    parser.add_argument("--blocks", type=int, default=6, help="ABBA blocks of 4 trials")
    # Enough runs that a trial spans several 500 ms samples, as bench_proof's.
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5, help="CPU-time trials per side")
    parser.add_argument("--trials", type=int, default=3, help="energy trials per variant")
    parser.add_argument("--timed-s", type=float, default=1.0, help="timed phase per trial")
    parser.add_argument("--reps", type=int, default=2000, help="seeded pairs per gate cell")
    parser.add_argument(
        "--meter-cv", type=float, default=None,
        help="the meters' own error for the gate's model (default: part 3's, else 0.01)",
    )  # fmt: skip
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    part = args.part
    started = time.perf_counter()

    if part in ("all", "cost"):
        _print_cost(args.repeats)
    if part in ("all", "latency"):
        _print_latency(args.blocks, args.runs)
    meter = args.meter_cv
    if part in ("all", "accuracy"):
        print(
            f"energy per inference vs the power model's truth, 22 variants (fp32, big cores, "
            f"simulated Pixel 6, {args.trials} trials each):",
            flush=True,
        )
        found = accuracy(args.trials, args.timed_s)
        measured = print_accuracy(found, args.trials, args.timed_s)
        meter = measured if meter is None else meter
    if part in ("all", "gate"):
        print("the gate on energy (harness check's energy rows, judge_energy):")
        gate(args.reps, 0.01 if meter is None else meter)
    print(f"({time.perf_counter() - started:.0f} s)")
    sys.exit(0)


def _print_cost(repeats: int) -> None:
    cost = script_cost(repeats)
    (short, (on_s, off_s)), (long, (on_l, off_l)) = sorted(cost.items())
    looks = on_s - off_s
    per_warm = ((on_l - off_l) - looks) / (long - short)
    print(f"the scripts' CPU time per trial (median of {repeats}, mksh, {TRIAL_S:g} s timed):")
    for warm, (on, off) in sorted(cost.items()):
        print(f"  warm-up {warm:g} s: energy on {on * 1000:7.1f} ms, off {off * 1000:7.1f} ms")
    print(
        f"  watching for the timed line: {per_warm * 1000:.1f} ms per second of warm-up "
        f"({per_warm * 100:.2f} % of one CPU, off the measured cores, before the timed runs)"
    )
    print(f"  the four looks (two meters, 16 rails): {looks * 1000:.1f} ms per trial", flush=True)


def _print_latency(blocks: int, runs: int) -> None:
    found = trial_costs(blocks, runs)
    print(f"trial latency on the simulated Pixel 6 ({VARIANT}, big cores, {runs} runs):")
    print(
        f"  with energy {statistics.mean(found['on']):.3f} ms ({len(found['on'])} trials), "
        f"without {statistics.mean(found['off']):.3f} ms ({len(found['off'])})"
    )
    for key, what in (("ratio", "mean"), ("median_ratio", "median run")):
        ratios = found[key]
        cost_pct = (statistics.median(ratios) - 1.0) * 100
        q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
        verdict = "within" if abs(cost_pct) <= 1.0 else "OUTSIDE"
        print(
            f"  energy cost ({what}), median of {len(ratios)} ABBA blocks: {cost_pct:+.2f} % "
            f"(quartiles {(q[0] - 1) * 100:+.2f} % .. {(q[2] - 1) * 100:+.2f} %; "
            f"{verdict} the 1 % target)"
        )
    err, bound, end = found["err"], found["bound"], found["end"]
    print(
        f"  energy per inference vs the power model's truth for the timed runs: median "
        f"{statistics.median(err):+.2f} %, worst {max(err, key=abs):+.2f} %; bound (edges and "
        f"counter steps) median {statistics.median(bound):.2f} %; the process's end after its "
        f"timed runs, which the figure counts in, adds {statistics.median(end):.2f} %"
    )
    print(
        "  time per trial beyond its process (median): "
        f"with energy {statistics.median(found['around_on']):.0f} ms + the idle window, "
        f"without {statistics.median(found['around_off']):.0f} ms",
        flush=True,
    )


if __name__ == "__main__":
    main()
