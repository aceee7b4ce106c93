"""benchmark_model stand-in for the simulated device (runs the model with LiteRT).

The official binary cannot be fetched here, so the device image carries this
instead. It accepts the classic tool's flags (`--name=value`), runs the model
with `ai_edge_litert.interpreter` and prints the classic tool's current output
format (LiteRT `tflite/tools/benchmark/benchmark_model.cc`, summarised in
`../shared/reference/benchmark_model.md`) with real measured times. Its first
line says what it is, so no result is ever mistaken for the official tool's.
Like the real tool, unknown flags only draw a `WARN: Unconsumed cmdline flags`
line; a known flag with a bad value, or one this stand-in cannot honour
(GPU/NNAPI delegates, op profiling), ends it with `ERROR:` lines and exit 1.
Standalone (copied into the image): stdlib + numpy + ai_edge_litert only.

Deterministic mode (docs/sim.md "Synthetic latencies"): when the device's
state file `synthetic` holds a seed, every time printed is drawn from a
seeded distribution instead of measured, so tests of the statistics and the
pipeline do not depend on how busy the host is. The model is still loaded and
run once (a broken model fails as before). The first line then says
"SYNTHETIC latencies", so every log, binary id and report built from it says
so too.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import math
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STANDIN_VERSION = "1.0"
STATE = os.environ.get("HARNESS_SIM_STATE", "/dev/.harness-sim")

# name -> (type, default, log description, usage). Descriptions as the real tool
# logs them (LOG_BENCHMARK_PARAM); defaults are LiteRT HEAD's.
FLAGS: dict[str, tuple[str, Any, str, str]] = {
    "num_runs": (
        "int32",
        50,
        "Min num runs",
        "expected number of runs, see also min_secs, max_secs",
    ),
    "min_secs": (
        "float",
        1.0,
        "Min runs duration (seconds)",
        "minimum number of seconds to rerun for",
    ),
    "max_secs": (
        "float",
        150.0,
        "Max runs duration (seconds)",
        "maximum number of seconds to rerun for",
    ),
    "run_delay": ("float", -1.0, "Inter-run delay (seconds)", "delay between runs in seconds"),
    "num_threads": ("int32", -1, "Num threads", "number of threads"),
    "benchmark_name": ("string", "", "Benchmark name", "benchmark name"),
    "output_prefix": ("string", "", "Benchmark output prefix", "benchmark output prefix"),
    "warmup_runs": (
        "int32",
        1,
        "Min warmup runs",
        "minimum number of runs performed on initialization",
    ),
    "warmup_min_secs": (
        "float",
        0.5,
        "Min warmup runs duration (seconds)",
        "minimum number of seconds to rerun for during warmup",
    ),
    "verbose": (
        "bool",
        False,
        "Log parameter values verbosely",
        "whether to log parameters whose values are not set",
    ),
    "dry_run": ("bool", False, "Run w/o invoking kernels", "load and allocate only"),
    "report_peak_memory_footprint": (
        "bool",
        False,
        "Report the peak memory footprint",
        "report the peak memory footprint",
    ),
    "memory_footprint_check_interval_ms": (
        "int32",
        50,
        "Memory footprint check interval (ms)",
        "sampling interval",
    ),
    "graph": ("string", "", "Graph", "graph file name"),
    "signature_to_run_for": (
        "string",
        "",
        "Signature to run",
        "signature to run (unused: the first subgraph runs)",
    ),
    "enable_op_profiling": (
        "bool",
        False,
        "Enable op profiling",
        "enable op profiling (not available in this stand-in)",
    ),
    "use_xnnpack": (
        "bool",
        None,
        "Use xnnpack",
        "explicitly apply the XNNPACK delegate (false: builtin kernels only)",
    ),
    "use_gpu": ("bool", False, "Use gpu", "not available in this stand-in"),
    "use_nnapi": ("bool", False, "Use NNAPI", "not available in this stand-in"),
    "use_hexagon": ("bool", False, "Use Hexagon", "not available in this stand-in"),
    "allow_fp16": ("bool", False, "Allow fp16", "not available in this stand-in"),
    "help": ("bool", False, "Help", "print this message"),
}
# Flags that only label or tune the real tool and change nothing measurable here.
_UNSUPPORTED_TRUE = {
    "use_gpu": "the GPU delegate",
    "use_nnapi": "the NNAPI delegate",
    "use_hexagon": "the Hexagon delegate",
    "allow_fp16": "fp16 relaxation",
    "enable_op_profiling": "op profiling (the LiteRT Python interpreter exposes no profiler)",
}


class Failure(Exception):
    """Ends the run with ERROR lines and exit 1."""


def info(line: str) -> None:
    sys.stdout.write(f"INFO: {line}\n")


def error(line: str) -> None:
    sys.stderr.write(f"ERROR: {line}\n")


def fmt(value: float) -> str:
    """A double as C++ ostream prints it by default (6 significant digits)."""
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:g}"


def usage() -> str:
    lines = ["usage: benchmark_model", "Flags:"]
    for name, (kind, default, _desc, text) in FLAGS.items():
        shown = "" if default is None else str(default).lower() if kind == "bool" else str(default)
        lines.append(f"\t--{name}={shown}\t{kind}\toptional\t{text}")
    return "\n".join(lines)


def parse_bool(text: str) -> bool:
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(text)


def parse(argv: list[str]) -> tuple[dict[str, Any], set[str], list[str]]:
    """Flag values, the names set explicitly, and unconsumed arguments."""
    values = {name: spec[1] for name, spec in FLAGS.items()}
    given: set[str] = set()
    unconsumed: list[str] = []
    converters: dict[str, Callable[[str], Any]] = {
        "int32": int,
        "float": float,
        "string": str,
        "bool": parse_bool,
    }
    for arg in argv:
        name, sep, text = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if name not in FLAGS or (not sep and FLAGS[name][0] != "bool"):
            unconsumed.append(arg)
            continue
        kind = FLAGS[name][0]
        try:
            values[name] = converters[kind](text) if sep else True
        except ValueError:
            raise Failure(f"Failed to parse flag '{arg}' as {kind}\n" + usage()) from None
        given.add(name)
    return values, given, unconsumed


class Stat:
    """tsl StatWithPercentiles<int64_t>: what the `count=` line prints."""

    def __init__(self) -> None:
        self.values: list[int] = []

    def add(self, us: int) -> None:
        self.values.append(us)

    def count(self) -> int:
        return len(self.values)

    def avg(self) -> float:
        return sum(self.values) / len(self.values) if self.values else 0.0

    def line(self) -> str:
        v = self.values
        if not v:
            return "count=0"
        count = len(v)
        if all(x == v[0] for x in v):
            out = f"count={count} curr={v[-1]}" + ("(all same)" if count > 1 else "")
        else:
            avg = self.avg()
            var = sum(x * x for x in v) / count - avg * avg
            std = int(math.sqrt(max(var, 0.0)))  # population std, truncated like ValueType
            out = (
                f"count={count} first={v[0]} curr={v[-1]} min={min(v)} max={max(v)} "
                f"avg={fmt(avg)} std={std}"
            )
        ordered = sorted(v)

        def pct(p: int) -> int:
            return ordered[min(count * p // 100, count - 1)]

        return out + f" p5={pct(5)} median={pct(50)} p95={pct(95)}"


def slowdown(graph: str = "") -> float:
    """The device's slowdown fault for this model, re-read before every run so tests can flip it.

    The state file holds `FACTOR` (every model) or `FACTOR PATTERN` (models whose
    file name matches the fnmatch PATTERN; others run at full speed).
    """
    try:
        with open(os.path.join(STATE, "slowdown")) as fh:
            factor, _, pattern = fh.read().strip().partition(" ")
        if pattern and not fnmatch.fnmatchcase(os.path.basename(graph), pattern.strip()):
            return 1.0
        return max(1.0, float(factor or 1.0))
    except (OSError, ValueError):
        return 1.0


# -- deterministic mode -------------------------------------------------------------------
# A made-up scale, not a prediction: ms per MB of model at 224x224 input, one thread.
SYNTHETIC_MS_PER_MB = 5.0
SYNTHETIC_FLOOR_MS = 0.2


@dataclass(frozen=True)
class Synthetic:
    """The device's deterministic mode: seed, trial-to-trial CV, run-to-run CV."""

    seed: int
    cv: float = 0.02
    run_cv: float = 0.01

    def label(self) -> str:
        return (
            f"SYNTHETIC latencies (seeded: seed={self.seed} cv={self.cv:g}); "
            "times are drawn, not measured"
        )


def synthetic_mode() -> Synthetic | None:
    """The `synthetic` state file: `seed=N cv=F run_cv=F` (empty or absent: off)."""
    try:
        with open(os.path.join(STATE, "synthetic")) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    if not text:
        return None
    fields = dict(item.partition("=")[::2] for item in text.split())
    try:
        return Synthetic(
            int(fields["seed"]), float(fields.get("cv", 0.02)), float(fields.get("run_cv", 0.01))
        )
    except (KeyError, ValueError):
        raise Failure(f"synthetic mode: cannot read {text!r} (want seed=N cv=F run_cv=F)") from None


def draw_number(key: str) -> int:
    """How many trials of `key` this device drew before (a per-key counter, under a lock).

    Each process is one trial; numbering them per model and flags keeps one
    configuration's draws the same whatever else ran in between.
    """
    path = os.path.join(STATE, "synthetic.count")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = b""
        while chunk := os.read(fd, 65536):
            raw += chunk
        try:
            counts: dict[str, int] = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise Failure(f"synthetic mode: {path} is damaged; set the mode again") from None
        n = counts.get(key, 0)
        counts[key] = n + 1
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(counts, sort_keys=True).encode())
        return n
    finally:
        os.close(fd)


class SyntheticClock:
    """Seeded run times for one trial: nominal x trial factor x run factor x slowdown."""

    def __init__(self, mode: Synthetic, graph: str, nominal_us: float, key: str) -> None:
        self.graph = graph
        self.rng = random.Random(f"{mode.seed}|{key}|{draw_number(key)}")
        self.run_sigma = math.sqrt(math.log1p(mode.run_cv * mode.run_cv))
        sigma = math.sqrt(math.log1p(mode.cv * mode.cv))
        self.trial_us = nominal_us * math.exp(self.rng.gauss(-sigma * sigma / 2.0, sigma))

    def run_us(self) -> int:
        s = self.run_sigma
        factor = math.exp(self.rng.gauss(-s * s / 2.0, s))
        return max(1, int(self.trial_us * factor * slowdown(self.graph)))


def nominal_us(graph: str, input_shape: tuple[int, ...], threads: int) -> float:
    """A synthetic model's nominal latency: grows with its size and input pixels."""
    size_mb = os.path.getsize(graph) / 1e6
    pixels = input_shape[1] * input_shape[2] if len(input_shape) == 4 else 224 * 224
    ms = SYNTHETIC_MS_PER_MB * size_mb * pixels / (224 * 224) + SYNTHETIC_FLOOR_MS
    speedup: float = max(1, threads) ** 0.7
    return ms * 1000.0 / speedup


def spin_until(deadline: float) -> None:
    """Stretch a run by computing, as a slower core would, not by sleeping.

    A sleep of a few hundred microseconds overshoots by the timer slack and the
    wake-up latency, so a 1.25x fault measured 1.4x or more on sub-millisecond
    models; spinning on the clock ends within a microsecond of the deadline and
    suffers the same contention as the inference itself.
    """
    while time.perf_counter() < deadline:
        pass


def maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_phase(
    invoke: Callable[[], None],
    min_runs: int,
    min_secs: float,
    max_secs: float,
    delay: float,
    graph: str = "",
    clock: SyntheticClock | None = None,
) -> Stat:
    """BenchmarkModel::Run: loop while (runs < min or time < min_secs) and time <= max_secs.

    With a synthetic clock the runs are drawn, not timed, and the loop's own
    time is the sum of the drawn runs.
    """
    stat = Stat()
    if clock is not None:
        elapsed = 0.0
        while (stat.count() < min_runs or elapsed < min_secs) and elapsed <= max_secs:
            us = clock.run_us()
            stat.add(us)
            elapsed += us / 1e6 + max(delay, 0.0)
        return stat
    start = time.perf_counter()
    min_finish = start + min_secs
    max_finish = start + max_secs
    now = start
    runs = 0
    while (runs < min_runs or now < min_finish) and now <= max_finish:
        factor = slowdown(graph)
        t0 = time.perf_counter()
        invoke()
        elapsed_s = time.perf_counter() - t0
        if factor > 1.0:
            spin_until(t0 + elapsed_s * factor)
        stat.add(int((time.perf_counter() - t0) * 1e6))
        runs += 1
        if delay > 0:
            time.sleep(delay)
        hold()
        now = time.perf_counter()
    return stat


def hold() -> None:
    """Pause between runs while the device's hold fault is on (tests end a trial on an event)."""
    path = os.path.join(STATE, "hold")
    while os.path.exists(path):
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    rss_start = maxrss_kb()
    # LiteRT and numpy are heavy; imported after the start RSS is read, so the memory
    # line's init figure includes them.
    import ai_edge_litert
    import numpy as np
    from ai_edge_litert import interpreter as litert

    litert_version = getattr(ai_edge_litert, "__version__", "unknown")
    mode = synthetic_mode()
    info(
        f"harness benchmark_model stand-in {STANDIN_VERSION} (LiteRT {litert_version});"
        " not the official TFLite tool" + (f"; {mode.label()}" if mode else "")
    )
    sys.stdout.flush()
    values, given, unconsumed = parse(argv)
    info("STARTING!")
    if values["help"]:
        raise Failure(usage())
    if unconsumed:
        sys.stdout.write("WARN: Unconsumed cmdline flags: " + " ".join(unconsumed) + "\n")
    for name, what in _UNSUPPORTED_TRUE.items():
        if values[name]:
            raise Failure(
                f"--{name}=true: {what} is not available in the harness benchmark_model stand-in"
            )
    for name, (kind, _default, desc, _text) in FLAGS.items():
        if name in ("help",) or (
            name not in given
            and not values["verbose"]
            and name not in ("graph", "signature_to_run_for")
        ):
            continue
        value = values[name]
        shown = (
            ("1" if value else "0")
            if kind == "bool"
            else fmt(value)
            if kind == "float"
            else str(value)
        )
        info(f"{desc}: [{shown}]")
        if name == "num_threads":
            info(f"#threads used for CPU inference: [{shown}]")
    graph = values["graph"]
    if not graph:
        raise Failure("Please specify the name of your TF Lite input file with --graph")
    if not os.path.isfile(graph):
        raise Failure(f"Failed to mmap model {graph}")
    info(f"Loaded model {graph}")
    resolver = litert.OpResolverType.AUTO
    if values["use_xnnpack"] is False:
        resolver = litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    threads = values["num_threads"]
    t_init = time.perf_counter()
    try:
        interp = litert.Interpreter(
            model_path=graph,
            num_threads=threads if threads > 0 else None,
            experimental_op_resolver_type=resolver,
        )
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        error(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise Failure(f"Failed to mmap model {graph}") from None
    info(f"The input model file size (MB): {fmt(os.path.getsize(graph) / 1e6)}")
    init_us = int((time.perf_counter() - t_init) * 1e6)
    clock: SyntheticClock | None = None
    if mode:
        shape = tuple(int(d) for d in interp.get_input_details()[0]["shape"])
        key = f"{os.path.basename(graph)}|t{threads}|xnnpack={values['use_xnnpack']}"
        clock = SyntheticClock(mode, graph, nominal_us(graph, shape, threads), key)
        init_us = int(clock.trial_us * 3)  # drawn like everything else it prints
    info(f"Initialized session in {fmt(init_us / 1e3)}ms.")
    rss_init = maxrss_kb()
    rng = np.random.default_rng(0)
    for detail in interp.get_input_details():
        dtype = np.dtype(detail["dtype"])
        shape = tuple(int(d) for d in detail["shape"])
        if np.issubdtype(dtype, np.floating):
            data = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
        else:
            bounds = np.iinfo(dtype)
            data = rng.integers(bounds.min, bounds.max, size=shape, endpoint=True).astype(dtype)
        interp.set_tensor(detail["index"], data)
    if values["dry_run"]:
        values["warmup_runs"], values["num_runs"], values["min_secs"], values["warmup_min_secs"] = (
            0,
            0,
            -1.0,
            -1.0,
        )
    if clock is not None and not values["dry_run"]:
        try:
            interp.invoke()  # once, untimed: a model that cannot run still fails
        except (ValueError, RuntimeError) as exc:
            error(str(exc).strip() or type(exc).__name__)
            raise Failure("Failed to invoke!") from None
    phases = []
    for runs_key, secs_key in (("warmup_runs", "warmup_min_secs"), ("num_runs", "min_secs")):
        min_runs, min_secs, max_secs = values[runs_key], values[secs_key], values["max_secs"]
        info(
            f"Running benchmark for at least {min_runs} iterations"
            f" and at least {fmt(min_secs)} seconds"
            f" but terminate if exceeding {fmt(max_secs)} seconds."
        )
        try:
            stat = run_phase(
                interp.invoke, min_runs, min_secs, max_secs, values["run_delay"], graph, clock
            )
        except (ValueError, RuntimeError) as exc:
            error(str(exc).strip() or type(exc).__name__)
            raise Failure("Failed to invoke!") from None
        info(stat.line() + "\n")
        phases.append(stat)
    warmup, regular = phases
    first = warmup.values[0] if warmup.values else 0
    info(
        f"Inference timings in us: Init: {init_us}, First inference: {first}, "
        f"Warmup (avg): {fmt(warmup.avg())}, Inference (avg): {fmt(regular.avg())}"
    )
    info(
        "Note: as the benchmark tool itself affects memory footprint, the following is only "
        "APPROXIMATE to the actual memory footprint of the model at runtime. "
        "Take the information at your discretion."
    )
    rss_end = maxrss_kb()
    info(
        "Memory footprint delta from the start of the tool (MB): "
        f"init={fmt((rss_init - rss_start) / 1024.0)} "
        f"overall={fmt((rss_end - rss_start) / 1024.0)}"
    )
    if values["report_peak_memory_footprint"]:
        info(f"Overall peak memory footprint (MB) via periodic monitoring: {fmt(rss_end / 1024.0)}")
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except Failure as exc:
        for line in str(exc).splitlines():
            error(line)
        error("Benchmarking failed.")
        code = 1
    sys.stdout.flush()
    sys.exit(code)
