"""benchmark_model stand-in for the simulated device (runs the model with LiteRT).

The official binary cannot be fetched here, so the device image carries this
instead. It accepts the classic tool's flags (`--name=value`), runs the model
with `ai_edge_litert.interpreter` and prints the classic tool's current output
format (LiteRT `tflite/tools/benchmark/benchmark_model.cc`, summarised in
`../shared/reference/benchmark_model.md`) with real measured times. Its first
line says what it is, so no result is ever mistaken for the official tool's.
Like the real tool, unknown flags only draw a `WARN: Unconsumed cmdline flags`
line; a known flag with a bad value, or one this stand-in cannot honour (op
profiling, fp16 relaxation), ends it with `ERROR:` lines and exit 1.
Standalone (copied into the image, run with `-I`, so one file): stdlib + numpy
+ ai_edge_litert only.

Delegates (docs/sim.md "Delegates"): `--use_gpu`, `--use_nnapi` (with
`--nnapi_accelerator_name`) and `--external_delegate_path` are honoured the way
a Pixel 1 would take them: the stand-in decides from the model's own operators
which nodes each unit takes, prints what the real tool and runtime print, still
runs every node on the host CPU, and scales the delegated share of each
measured run by an invented per-unit factor, saying so in its log.

Deterministic mode (docs/sim.md "Synthetic latencies"): when the device's
state file `synthetic` holds a seed, every time printed is drawn from a
seeded distribution instead of measured, so tests of the statistics and the
pipeline do not depend on how busy the host is. The model is still loaded and
run once (a broken model fails as before). The first line then says
"SYNTHETIC latencies", so every log, binary id and report built from it says
so too.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import functools
import importlib.metadata
import json
import math
import os
import random
import re
import resource
import socket
import sys
import time
from collections.abc import Callable, Iterator
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
    # Delegate providers, in the order the real tool logs them (gpu, nnapi, xnnpack,
    # external; tflite/tools/delegates/*_provider.cc). No Hexagon: like a release built
    # without TFLITE_ENABLE_HEXAGON, `--use_hexagon` is an unconsumed flag here.
    "use_gpu": ("bool", False, "Use gpu", "use gpu"),
    "gpu_precision_loss_allowed": (
        "bool",
        True,
        "Allow lower precision in gpu",
        "Allow to process computation in lower precision than FP32 in GPU. "
        "By default, it's enabled.",
    ),
    "use_nnapi": ("bool", False, "Use NNAPI", "use nnapi delegate api"),
    "nnapi_accelerator_name": (
        "string",
        "",
        "NNAPI accelerator name",
        "the name of the nnapi accelerator to use (requires Android Q+)",
    ),
    "use_xnnpack": (
        "bool",
        None,
        "Use xnnpack",
        "explicitly apply the XNNPACK delegate (false: builtin kernels only)",
    ),
    "external_delegate_path": (
        "string",
        "",
        "External delegate path",
        "The library path for the underlying external.",
    ),
    "external_delegate_options": (
        "string",
        "",
        "External delegate options",
        "A list of comma-separated options to be passed to the external delegate. "
        "Each option is a colon-separated key-value pair, e.g. option_name:option_value.",
    ),
    "allow_fp16": ("bool", False, "Allow fp16", "not available in this stand-in"),
    "help": ("bool", False, "Help", "print this message"),
}
# Flags this stand-in cannot honour: set to true, they end the run.
_UNSUPPORTED_TRUE = {
    "allow_fp16": "fp16 relaxation",
    "enable_op_profiling": "op profiling (the LiteRT Python interpreter exposes no profiler)",
}


class Failure(Exception):
    """Ends the run with ERROR lines and exit 1."""


def info(line: str) -> None:
    """A line of the tool's logger: stdout, flushed at once (the real one ends it with
    std::endl), so a reader of the output file sees each phase as it begins."""
    sys.stdout.write(f"INFO: {line}\n")
    sys.stdout.flush()


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


HASH_PART = re.compile(r"[0-9a-f]{16}")


def draw_name(graph: str) -> str:
    """The model's file name without its 16-hex-digit parts, which seeds its draws.

    The harness names a pushed model `CONTENT-VARIANT-QUANT-RECIPE.tflite`:
    the content hash changes with every conversion of randomly initialised
    weights, the recipe hash with every TensorFlow release. Seeding on either
    gave a fresh checkout other numbers than a warm model cache (docs/sim.md
    "Synthetic latencies"); the name without them is the same everywhere.
    """
    stem, dot, ext = os.path.basename(graph).rpartition(".")
    if not dot:
        stem, ext = ext, ""
    kept = [part for part in stem.split("-") if not HASH_PART.fullmatch(part)]
    return "-".join(kept or [stem]) + dot + ext


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
    """Seeded run times for one trial: nominal x trial factor x run factor x slowdown.

    `key` seeds the draws and `count_key` (default: `key`) numbers the trials:
    a delegate's trials keep their own count but draw what the same model's
    CPU trial of that number draws, so their times differ by the delegate's
    scale alone.
    """

    def __init__(
        self, mode: Synthetic, graph: str, nominal_us: float, key: str, count_key: str = ""
    ) -> None:
        self.graph = graph
        self.rng = random.Random(f"{mode.seed}|{key}|{draw_number(count_key or key)}")
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


class CpuLedger:
    """Appends this process's CPU time to the device's power ledger (docs/sim.md "Power model").

    One line per step, `pid start cpu_ns phase host_cpus`, written with one
    O_APPEND write after the step is timed, so it never lands inside a run's
    time. The device's energy counters charge what it says when they are read.
    """

    def __init__(self) -> None:
        self.start = time.monotonic_ns()
        self.phase = "start"
        try:
            self.fd: int | None = os.open(os.path.join(STATE, "cpu.log"), os.O_WRONLY | os.O_APPEND)
        except OSError:
            self.fd = None  # not on the simulated device: nothing to account to

    def tick(self, phase: str | None = None) -> None:
        if phase is not None:
            self.phase = phase
        if self.fd is None:
            return
        cpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
        line = f"{os.getpid()} {self.start} {time.process_time_ns()} {self.phase} {cpus}\n"
        with contextlib.suppress(OSError):
            os.write(self.fd, line.encode())


LEDGER = CpuLedger()


def device_event(kind: str, **fields: object) -> None:
    """Tell the simulated device this process started or is ending; wait for its answer.

    Tests key faults to these moments (docs/sim.md "Device events"): the device
    answers once whatever was keyed to this one has happened, so a fault set at
    the start is in place before the model loads, and one set at the end before
    the process exits. Off the simulated device there is no socket to tell.
    """
    report = {"kind": kind, "pid": os.getpid(), "argv": sys.argv, **fields}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(os.path.join(STATE, "events.sock"))
            sock.sendall((json.dumps(report) + "\n").encode())
            while True:  # "ok" or end-of-file (the device is stopping): go on either way
                answer = sock.recv(64)
                if not answer or answer.endswith(b"\n"):
                    return
    except OSError:
        return


def stdout_path() -> str | None:
    """Where this process's stdout leads (the trial's `stdout` file), for the start event."""
    try:
        return os.readlink("/proc/self/fd/1")
    except OSError:
        return None


def run_phase(
    invoke: Callable[[], None],
    min_runs: int,
    min_secs: float,
    max_secs: float,
    delay: float,
    graph: str = "",
    clock: SyntheticClock | None = None,
    scale: float = 1.0,
) -> Stat:
    """BenchmarkModel::Run: loop while (runs < min or time < min_secs) and time <= max_secs.

    With a synthetic clock the runs are drawn, not timed, and the loop's own
    time is the sum of the drawn runs. `scale` is the delegate timing model's
    (see `time_scale`): each measured run is reported times it.
    """
    stat = Stat()
    if clock is not None:
        elapsed = 0.0
        while (stat.count() < min_runs or elapsed < min_secs) and elapsed <= max_secs:
            us = clock.run_us()
            stat.add(us)
            elapsed += us / 1e6 + max(delay, 0.0)
            hold()  # drawn times are not held up by it: only the trial's wall time grows
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
        stat.add(max(1, int((time.perf_counter() - t0) * 1e6 * scale)))
        LEDGER.tick()
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


# -- delegates (docs/sim.md "Delegates") ------------------------------------------------
# The phone this stand-in plays: a Pixel 1 (Adreno 530 GPU; Android 10's NNAPI with
# Qualcomm's drivers), or the NNAPI drivers its profile lists (a Pixel 6's: Tensor's).
# Which nodes each unit takes and every factor below are the stand-in's own
# invention: nothing here was measured on a phone. The lines printed
# around them are the real tool's (benchmark_tflite_model.cc, delegates/*_provider.cc,
# the GPU and NNAPI delegates, subgraph.cc), on the streams the stand-in uses for
# them: the tool's INFO lines on stdout, the runtime's lines and all errors on stderr.
GPU_KERNEL = "TfLiteGpuDelegateV2"
NNAPI_KERNEL = "TfLiteNnapiDelegate"
SIM_LIBRARY_MAGIC = "# harness sim delegate"  # first line of a simulated vendor library
ELF_HEADER_BYTES = 64  # bionic reads this much before it checks the magic


@dataclass(frozen=True)
class Node:
    """One operator of the model, as the stand-in's delegates judge and time it."""

    op: str
    cost: float  # MACs for convolutions and fully connected layers, else output elements
    quantized: bool  # its outputs are 8-bit integers


@dataclass(frozen=True)
class Unit:
    """A compute unit: which nodes it takes, and its time for them relative to the host's."""

    factor: float
    cpu_ops: frozenset[str] = frozenset()  # op types it leaves on the CPU
    only_ops: frozenset[str] | None = None  # op types it takes (None: any)
    quantized_only: bool = False

    def takes(self, node: Node) -> bool:
        if node.op in self.cpu_ops or (self.quantized_only and not node.quantized):
            return False
        return self.only_ops is None or node.op in self.only_ops


GPU_UNITS = {True: Unit(0.35), False: Unit(0.6)}  # by --gpu_precision_loss_allowed
# What each NNAPI driver a simulated phone may list takes, and how fast. The phone's
# own list (its profile's, in the state folder) names its devices in the order NNAPI
# lists them; without --nnapi_accelerator_name the stand-in models NNAPI as the first,
# its default vendor driver. A stand-in run outside a device lists a Pixel 1's.
_NNAPI_CPU_OPS = frozenset({"MEAN", "SOFTMAX"})
NNAPI_UNITS = {
    "qti-default": Unit(0.5, _NNAPI_CPU_OPS),
    "qti-dsp": Unit(0.3, quantized_only=True),
    "qti-gpu": Unit(0.45, _NNAPI_CPU_OPS),
    "google-armnn": Unit(0.45, _NNAPI_CPU_OPS),
    "google-edgetpu": Unit(0.2, quantized_only=True),
    "nnapi-reference": Unit(3.0),
}
PIXEL1_NNAPI = ("qti-default", "qti-dsp", "qti-gpu", "nnapi-reference")


@functools.cache  # the phone's list, read once per run (parameters, delegates, errors)
def nnapi_devices() -> tuple[str, ...]:
    """The NNAPI devices this phone lists (its state folder's `nnapi`), default first."""
    try:
        with open(os.path.join(STATE, "nnapi")) as fh:
            names = tuple(n for n in (line.strip() for line in fh) if n in NNAPI_UNITS)
    except OSError:
        return PIXEL1_NNAPI
    return names or PIXEL1_NNAPI


@dataclass(frozen=True)
class Delegate:
    """A delegate the command line asked for and its provider created."""

    provider: str  # the name benchmark_model logs: GPU, NNAPI, EXTERNAL
    kernel: str  # the custom name of the node that replaces what it takes
    unit: Unit | None  # None: an NNAPI accelerator the phone lacks
    rank: int  # where its flag stood on the command line (the real tool's order)
    accelerator: str = ""
    claims: bool = False  # logs "<kernel> delegate: N nodes delegated out of M ..."


@dataclass(frozen=True)
class Kernel:
    """A delegate's node in the execution plan, standing for the nodes it took."""

    delegate: Delegate


def runtime(severity: str, line: str) -> None:
    """A line of the LiteRT runtime's logger (stderr), after what the tool printed so far."""
    sys.stdout.flush()
    sys.stderr.write(f"{severity}: {line}\n")


def graph_nodes(interp: Any) -> list[Node]:
    """The model's operators in execution order, with their work and output type."""
    tensors = {int(t["index"]): t for t in interp.get_tensor_details()}

    def shape(index: int) -> list[int]:  # a tensor the interpreter will not describe: none
        return [int(d) for d in tensors[index]["shape"]] if index in tensors else [0]

    nodes = []
    for op in interp._get_ops_details():
        inputs = [int(i) for i in op["inputs"] if i >= 0]
        outputs = [int(i) for i in op["outputs"] if i >= 0]
        work = float(sum(math.prod(shape(i)) for i in outputs))
        weights = shape(inputs[1]) if len(inputs) > 1 else []
        name = str(op["op_name"])
        if name == "CONV_2D" and len(weights) == 4:
            work *= math.prod(weights[1:])
        elif name == "DEPTHWISE_CONV_2D" and len(weights) == 4:
            work *= weights[1] * weights[2]
        elif name == "FULLY_CONNECTED" and len(weights) == 2:
            work *= weights[1]
        bits8 = [
            getattr(tensors[i]["dtype"], "__name__", "") in ("int8", "uint8")
            for i in outputs
            if i in tensors
        ]
        nodes.append(Node(name, max(work, 1.0), bool(bits8) and all(bits8)))
    return nodes


def flag_rank(argv: list[str], name: str) -> int:
    """Where a flag stood on the command line (its last occurrence wins, as it does)."""
    return max((i for i, a in enumerate(argv) if a.partition("=")[0] == f"--{name}"), default=0)


def create_delegates(values: dict[str, Any], argv: list[str]) -> list[Delegate]:
    """The providers' CreateTfLiteDelegate, in the tool's order, then sorted by flag rank."""
    made: list[Delegate] = []

    def created(delegate: Delegate) -> None:
        if not made:  # ProvidedDelegateList logs the first one only
            info(f"{delegate.provider} delegate created.")
        made.append(delegate)

    if values["use_gpu"]:
        runtime("INFO", "Created TensorFlow Lite delegate for GPU.")
        gpu = GPU_UNITS[bool(values["gpu_precision_loss_allowed"])]
        created(Delegate("GPU", GPU_KERNEL, gpu, flag_rank(argv, "use_gpu")))
    name = values["nnapi_accelerator_name"]
    if values["use_nnapi"]:
        runtime("INFO", "Created TensorFlow Lite delegate for NNAPI.")
        listed = nnapi_devices()
        chosen = name or listed[0]  # no name: the default vendor driver
        unit = NNAPI_UNITS[chosen] if chosen in listed else None
        created(Delegate("NNAPI", NNAPI_KERNEL, unit, flag_rank(argv, "use_nnapi"), name))
    elif name:
        sys.stdout.write(
            "WARN: `--use_nnapi=true` must be set for the provided NNAPI accelerator "
            f"({name}) to be used.\n"
        )
    path = values["external_delegate_path"]
    if path:
        external = load_external(path, flag_rank(argv, "external_delegate_path"))
        if external is not None:
            created(external)
    if len(made) >= 2:
        info(f"Going to apply {len(made)} delegates one after another.")
    return sorted(made, key=lambda d: d.rank)


def load_external(path: str, rank: int) -> Delegate | None:
    """dlopen the external delegate library; None (and the runtime's line) when it fails.

    The stand-in runs no native code, so the only library it can load is a
    simulated one: a text file whose first line is SIM_LIBRARY_MAGIC, then
    `name=` (its node's name), `ops=all|none|OP,OP,...` (what it takes) and
    `factor=` (its time for them relative to the host's). Anything else fails
    as bionic's dlopen would, or says that the stand-in cannot load it.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        reason = f'dlopen failed: library "{path}" not found'
    else:
        text = head.decode("utf-8", "replace")
        if text.startswith(SIM_LIBRARY_MAGIC):
            try:
                return simulated_library(text, rank)
            except ValueError as exc:
                reason = f"{path} is not a simulated delegate library: {exc}"
        elif head[:4] == b"\x7fELF":
            reason = "the harness benchmark_model stand-in cannot load native libraries"
        elif len(head) < ELF_HEADER_BYTES:
            reason = (
                f'dlopen failed: "{path}" is too small to be an ELF executable: '
                f"only found {len(head)} bytes"
            )
        else:
            reason = f'dlopen failed: "{path}" has bad ELF magic: {head[:4].hex()}'
    runtime("INFO", f"Unable to load external delegate from : {path} ({reason})")
    return None


def simulated_library(text: str, rank: int) -> Delegate:
    """The Delegate a simulated vendor library describes (ValueError if it is malformed)."""
    fields: dict[str, str] = {}
    for line in text.split("\n")[1:]:
        line = line.split("#", 1)[0].strip()
        if line:
            key, sep, value = line.partition("=")
            if not sep or key.strip() not in ("name", "ops", "factor"):
                raise ValueError(f"unknown line {line!r}")
            fields[key.strip()] = value.strip()
    ops = fields.get("ops", "all")
    only = None if ops == "all" else frozenset() if ops == "none" else frozenset(ops.split(","))
    factor = float(fields.get("factor", "1"))
    name = fields.get("name", "TfLiteSimVendorDelegate")
    if not (factor > 0 and math.isfinite(factor)) or not name or " " in name:
        raise ValueError("factor must be a positive number and name one word")
    return Delegate("EXTERNAL", name, Unit(factor, only_ops=only), rank, claims=True)


def subsets(takes: list[bool]) -> list[tuple[bool, list[int]]]:
    """The plan cut into runs of nodes a delegate takes or leaves, in execution order.

    What PartitionGraphIntoIndependentNodeSubsets yields for a chain of nodes
    (each node needs the one before it), as in MobileNetV2.
    """
    out: list[tuple[bool, list[int]]] = []
    for pos, taken in enumerate(takes):
        if out and out[-1][0] == taken:
            out[-1][1].append(pos)
        else:
            out.append((taken, [pos]))
    return out


def fail_apply(delegate: Delegate) -> Failure:
    """What follows a delegate's failed Prepare: the plan restored, then the tool gives up."""
    runtime("ERROR", "Restored original execution plan after delegate application failure.")
    return Failure(f"Failed to apply {delegate.provider} delegate.")


def gpu_fails() -> bool:
    """The device's GPU fault: the GPU driver cannot set up the delegate's kernels."""
    return os.path.exists(os.path.join(STATE, "gpu_fails"))


@dataclass(frozen=True)
class Delegation:
    """What the delegates took: each node's delegate (None: the CPU), and whether one ran all."""

    nodes: list[Node]
    owner: list[Delegate | None]
    full: bool  # one delegate node is the whole plan (no default XNNPACK then)

    def scale(self) -> float:
        """What a run measured on the host becomes: delegated work counts its factor times.

        The host runs every node; a node a delegate took counts `factor` times
        its share of the work (by `Node.cost`), a node left on the CPU as measured.
        """
        total = sum(n.cost for n in self.nodes)
        if not total:
            return 1.0
        weighted = sum(
            n.cost * (o.unit.factor if o and o.unit else 1.0)
            for n, o in zip(self.nodes, self.owner, strict=True)
        )
        return weighted / total

    def share(self) -> float:
        """The delegated nodes' share of the work."""
        total = sum(n.cost for n in self.nodes)
        taken = sum(n.cost for n, o in zip(self.nodes, self.owner, strict=True) if o)
        return taken / total if total else 0.0

    def label(self) -> str:
        """The delegates and the scale: what numbers a configuration's synthetic trials."""
        names = sorted({f"{o.provider}:{o.accelerator or o.kernel}" for o in self.owner if o})
        return ",".join(names) + f"x{self.scale():.6g}"


def apply_delegates(delegates: list[Delegate], nodes: list[Node]) -> Delegation:
    """ModifyGraphWithDelegate for each delegate in turn; which delegate took each node.

    Prints what the runtime and the tool print; raises Failure where the real
    tool stops (an NNAPI accelerator the phone lacks, the GPU fault).
    """
    plan: list[int | Kernel] = list(range(len(nodes)))
    owner: list[Delegate | None] = [None] * len(nodes)
    added = 0  # delegate nodes are numbered after the model's
    for delegate in delegates:
        unit = delegate.unit
        if unit is None:
            devices = ",".join(nnapi_devices())
            runtime(
                "ERROR",
                f"Could not find the specified NNAPI accelerator: {delegate.accelerator}. "
                f"Must be one of: {{{devices}}}.",
            )
            raise fail_apply(delegate)
        takes = [isinstance(item, int) and unit.takes(nodes[item]) for item in plan]
        parts = subsets(takes)
        taken, kernels = sum(takes), sum(1 for t, _ in parts if t)
        if delegate.provider == "GPU":
            info("Loaded OpenCL library with dlopen.")
        if delegate.claims:
            runtime(
                "INFO",
                f"{delegate.kernel} delegate: {taken} nodes delegated out of {len(plan)} nodes "
                f"with {kernels} partitions.\n",
            )
        if taken:
            runtime(
                "VERBOSE",
                f"Replacing {taken} out of {len(plan)} node(s) with delegate "
                f"({delegate.kernel}) node, yielding {len(parts)} partitions for subgraph 0.",
            )
        if delegate.provider == "GPU":
            if taken and gpu_fails():
                runtime("ERROR", "Failed to create a compute context - Out of resources")
                runtime("ERROR", "Falling back to OpenGL")
                runtime(
                    "ERROR",
                    "TfLiteGpuDelegate Init: [GL_INVALID_OPERATION]: The specified operation "
                    "is not allowed in the current state.",
                )
                runtime("INFO", "Created 0 GPU delegate kernels.")
                runtime("ERROR", "TfLiteGpuDelegate Prepare: delegate is not initialized")
                number = len(nodes) + added
                runtime("ERROR", f"Node number {number} ({GPU_KERNEL}) failed to prepare.\n")
                raise fail_apply(delegate)
            if taken:
                runtime("INFO", "Initialized OpenCL-based API.")
            runtime("INFO", f"Created {kernels} GPU delegate kernels.")
        new_plan: list[int | Kernel] = []
        for was_taken, positions in parts:
            if was_taken:
                new_plan.append(Kernel(delegate))
                for pos in positions:
                    item = plan[pos]
                    assert isinstance(item, int)
                    owner[item] = delegate
            else:
                new_plan.extend(plan[pos] for pos in positions)
        plan, added = new_plan, added + kernels
        if kernels == 1 and len(plan) == 1:
            info(
                f"Explicitly applied {delegate.provider} delegate, and the model graph will be "
                "completely executed by the delegate."
            )
        elif kernels:
            info(
                f"Explicitly applied {delegate.provider} delegate, and the model graph will be "
                f"partially executed by the delegate w/ {kernels} delegate kernels."
            )
        else:
            info(
                f"Though {delegate.provider} delegate is explicitly applied, the model graph "
                "will not be executed by the delegate."
            )
    return Delegation(nodes, owner, len(plan) == 1 and isinstance(plan[0], Kernel))


@contextlib.contextmanager
def runtime_quiet(on: bool) -> Iterator[None]:
    """Keep the host runtime's own notices (fd 2) out of the log while `on`.

    A graph one delegate runs whole gets no default XNNPACK delegate on a phone
    (Interpreter::ApplyLazyDelegateProviders skips a fully delegated graph), but
    the host interpreter that measures it applies XNNPACK and says so.
    """
    if not on:
        yield
        return
    sys.stderr.flush()
    saved, sink = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(sink)


def echo_params(values: dict[str, Any], given: set[str]) -> None:
    """LOG_BENCHMARK_PARAM / LOG_TOOL_PARAM: the flags set (every one with --verbose)."""
    for name, (kind, _default, desc, _text) in FLAGS.items():
        if name == "help" or (name == "nnapi_accelerator_name" and not values["use_nnapi"]):
            continue  # NnapiDelegateProvider::LogParams stops after "Use NNAPI" when off
        if name in given or values["verbose"] or name in ("graph", "signature_to_run_for"):
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
        if name == "nnapi_accelerator_name":
            info(f"NNAPI accelerators available: [{','.join(nnapi_devices())}]")


def main(argv: list[str]) -> int:
    rss_start = maxrss_kb()
    LEDGER.tick()  # the interpreter's own start
    # The version from the package's metadata: `--help` (the harness asks it once per
    # run) answers without loading LiteRT, in milliseconds as a native tool does.
    try:
        litert_version = importlib.metadata.version("ai-edge-litert")
    except importlib.metadata.PackageNotFoundError:
        litert_version = "unknown"
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
    echo_params(values, given)
    # LiteRT and numpy are heavy; imported after the start RSS is read, so the memory
    # line's init figure includes them.
    import numpy as np
    from ai_edge_litert import interpreter as litert

    graph = values["graph"]
    if not graph:
        raise Failure("Please specify the name of your TF Lite input file with --graph")
    if not os.path.isfile(graph):
        raise Failure(f"Failed to mmap model {graph}")
    info(f"Loaded model {graph}")
    delegates = create_delegates(values, argv)
    resolver = litert.OpResolverType.AUTO
    if values["use_xnnpack"] is False:
        resolver = litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    threads = values["num_threads"]
    t_init = time.perf_counter()
    delegation: Delegation | None = None
    try:
        interp = litert.Interpreter(
            model_path=graph,
            num_threads=threads if threads > 0 else None,
            experimental_op_resolver_type=resolver,
        )
        if delegates:
            delegation = apply_delegates(delegates, graph_nodes(interp))
        with runtime_quiet(delegation is not None and delegation.full):
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        error(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise Failure(f"Failed to mmap model {graph}") from None
    scale = delegation.scale() if delegation else 1.0
    if delegation and delegation.share():
        share = math.floor(delegation.share() * 1000) / 10  # never "100%" for a part
        info(
            f"harness stand-in timing model: the delegated nodes ({share:g}% of "
            f"the work) ran on this host's CPU; every run is reported x{scale:.4g}, by factors "
            'invented for the simulated phone (docs/sim.md "Delegates"), not measured on one'
        )
    info(f"The input model file size (MB): {fmt(os.path.getsize(graph) / 1e6)}")
    init_us = int((time.perf_counter() - t_init) * 1e6)
    clock: SyntheticClock | None = None
    if mode:
        shape = tuple(int(d) for d in interp.get_input_details()[0]["shape"])
        key = f"{draw_name(graph)}|t{threads}|xnnpack={values['use_xnnpack']}"
        count_key = f"{key}|{delegation.label()}" if delegation else key
        nominal = nominal_us(graph, shape, threads) * scale
        clock = SyntheticClock(mode, graph, nominal, key, count_key)
        init_us = int(clock.trial_us * 3)  # drawn like everything else it prints
    info(f"Initialized session in {fmt(init_us / 1e3)}ms.")
    LEDGER.tick("init")
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
        LEDGER.phase = "warmup" if runs_key == "warmup_runs" else "timed"
        info(
            f"Running benchmark for at least {min_runs} iterations"
            f" and at least {fmt(min_secs)} seconds"
            f" but terminate if exceeding {fmt(max_secs)} seconds."
        )
        try:
            stat = run_phase(
                interp.invoke,
                min_runs,
                min_secs,
                max_secs,
                values["run_delay"],
                graph,
                clock,
                scale,
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
    device_event("benchmark_start", stdout=stdout_path())
    try:
        code = main(sys.argv[1:])
    except Failure as exc:
        for line in str(exc).splitlines():
            error(line)
        error("Benchmarking failed.")
        code = 1
    LEDGER.tick("end")
    sys.stdout.flush()
    sys.stderr.flush()
    device_event("benchmark_end", stdout=stdout_path(), exit_code=code)
    sys.exit(code)
