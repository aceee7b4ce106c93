"""The benchmark_model argv for one trial, using only flags the binary accepts.

benchmark_model's defaults make the run count time-driven (`min_secs=1`,
`warmup_min_secs=0.5`), so a trial asks for fixed counts with
`--num_runs=N --min_secs=0 --warmup_runs=W --warmup_min_secs=0`. Older binaries
lack some of these flags and refuse unknown ones, so each flag is passed only
when the binary itself listed it (`BinaryInfo.flags`); what could not be
passed is reported back as a note, never guessed around.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.bench.units import COMPILED_MODEL_URL, compiled_model_flag, unit_flags
from harness.errors import BinaryError
from harness.logs.accelerator import parse_accelerator

# Flags without which a trial would not measure what was asked.
_REQUIRED = ("graph", "num_runs")


@dataclass(frozen=True)
class BenchCommand:
    """The argv (binary first) and what had to be left out, for the record."""

    argv: list[str]
    notes: list[str] = field(default_factory=list)


def normalize_flags(flags: Iterable[str]) -> frozenset[str]:
    """Flag names without dashes or values: `--num_runs=50` -> `num_runs`."""
    return frozenset(f.strip().lstrip("-").split("=", 1)[0] for f in flags if f.strip().strip("-"))


def build_command(
    binary: str,
    flags: Iterable[str],
    *,
    graph: str,
    threads: int,
    runs: int,
    warmup: int,
    xnnpack: str = "default",
    op_profile: bool = False,
    accelerator: str = "cpu",
    release: str | None = None,
) -> BenchCommand:
    """Build `binary --graph=... --num_threads=... ...` for one trial.

    `xnnpack` is "on", "off" or "default" (flag not passed). Raises BinaryError
    when the binary cannot do what the trial asks (no `--num_runs`, no
    `--use_xnnpack` for an explicit setting, no op profiling when requested, no
    flag of the compute unit `accelerator`). `release` is the binary's first line,
    named in that refusal.
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    known = normalize_flags(flags)
    notes: list[str] = []
    if not known:
        # The binary listed nothing for --help: pass only the flags every era
        # of the classic tool has, rather than guess at newer ones.
        known = frozenset({*_REQUIRED, "num_threads"})
        notes.append("binary listed no flags; passing only --graph, --num_threads, --num_runs")
    for name in _REQUIRED:
        if name not in known:
            raise BinaryError(
                f"benchmark binary does not accept --{name}",
                path=binary,
                hint="is this TFLite's classic benchmark_model?",
            )
    argv = [binary, f"--graph={graph}"]
    if "num_threads" in known:
        argv.append(f"--num_threads={threads}")
    elif threads != 1:
        # Binaries without the flag ran single-threaded (the 2018 default).
        raise BinaryError(
            f"benchmark binary has no --num_threads, cannot run {threads} threads", path=binary
        )
    else:
        notes.append("binary has no --num_threads; it runs one thread by default")
    argv.append(f"--num_runs={runs}")
    if "min_secs" in known:
        argv.append("--min_secs=0")
    else:
        notes.append("binary has no --min_secs; run count is num_runs as given")
    if "warmup_runs" in known:
        argv.append(f"--warmup_runs={warmup}")
    else:
        notes.append(f"binary has no --warmup_runs; warm-up count is its own default, not {warmup}")
    if "warmup_min_secs" in known:
        argv.append("--warmup_min_secs=0")
    elif "warmup_runs" in known:
        notes.append("binary has no --warmup_min_secs; warm-up may run longer than asked")
    if xnnpack in ("on", "off"):
        if "use_xnnpack" not in known:
            raise BinaryError(
                f"benchmark binary has no --use_xnnpack, cannot run with xnnpack={xnnpack}",
                path=binary,
                hint="use --xnnpack default with this binary",
            )
        argv.append(f"--use_xnnpack={'true' if xnnpack == 'on' else 'false'}")
    elif xnnpack != "default":
        raise ValueError(f"xnnpack must be on, off or default, got {xnnpack!r}")
    unit = parse_accelerator(accelerator)
    _check_tool(binary, known, unit.unit, accelerator)
    for name, value in unit_flags(unit):
        if name not in known:
            which = f"this release ({release})" if release else "this benchmark binary"
            raise BinaryError(
                f"{which} has no --{name}: cannot run --accelerator {accelerator}",
                path=binary,
                hint=_OTHER_TOOL.get(unit.unit)
                or f"leave that unit out, or use a benchmark_model release that lists --{name} "
                "in its --help",
            )
        argv.append(f"--{name}={value}")
    if op_profile:
        if "enable_op_profiling" not in known:
            raise BinaryError("benchmark binary has no --enable_op_profiling", path=binary)
        argv.append("--enable_op_profiling=true")
    return BenchCommand(argv=argv, notes=notes)


# Units only another tool than TFLite's interpreter benchmark_model can run: where it is.
_OTHER_TOOL = {
    "npu": f"LiteRT's NPU path is its CompiledModel benchmark_model ({COMPILED_MODEL_URL}): "
    "measure --accelerator npu alone with --benchmark-binary PATH to it",
}


def _check_tool(binary: str, known: frozenset[str], unit: str, accelerator: str) -> None:
    """LiteRT's CompiledModel benchmark_model measures the NPU, which the interpreter's
    tool cannot reach; every other unit is measured with the interpreter's, as the
    published column was, so the CompiledModel tool is refused for it."""
    marker = compiled_model_flag(known)
    if marker is None or unit == "npu":
        return
    raise BinaryError(
        f"is LiteRT's CompiledModel benchmark_model (its --help lists --{marker}), which "
        "the harness runs for --accelerator npu alone: --accelerator "
        f"{accelerator} is measured with the TFLite interpreter's benchmark_model, as the "
        "published column was (the CompiledModel API would be another measurement)",
        path=binary,
        hint="run `harness fetch-binary` and pass the file it prints with "
        "--benchmark-binary PATH, or measure only --accelerator npu with this one",
    )
