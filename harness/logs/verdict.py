"""A run's status and error message from its figures, its last lines and its exit code.

Failures are data, not exceptions: `Benchmarking failed`, a missing model,
a crash by signal (exit code 128+N from a shell, or -N from Python), a
timeout and truncated output each give a status and a message that says why.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from harness.logs.figures import Era, ParsedOutput

# What a log of LiteRT's CompiledModel benchmark_model is, wherever the parser says so.
COMPILED_MODEL_LOG = (
    "LiteRT's CompiledModel benchmark_model printed this log (its BENCHMARK RESULTS block): "
    "another tool than the TFLite interpreter's benchmark_model, whose summary the harness "
    "does not read"
)
TIMEOUT_EXIT_CODE = 124  # what `timeout(1)` (toybox and coreutils) exits with
# What the shell, toybox's taskset or bionic's linker says when the binary cannot start: mksh
# (Android's /system/bin/sh) `inaccessible or not found`, `can't execute: Permission denied`,
# `not executable: 64-bit ELF file`; toybox `taskset: exec PATH: No such file or directory`;
# the linker `CANNOT LINK EXECUTABLE "PATH": library "x.so" not found`; bash and glibc's
# `cannot execute binary file: Exec format error`.
NEVER_STARTED = re.compile(
    r"not executable: |can't execute: |inaccessible or not found$|CANNOT LINK EXECUTABLE"
    r"|cannot execute binary file|Exec format error"
    r"|^(?:\S+: )+(?:exec )?\S+: (?:No such file or directory|Permission denied)$"
)


def signal_from_exit_code(exit_code: int | None) -> int | None:
    """The signal that killed the process, from a Python (-N) or shell (128+N) exit code."""
    if exit_code is None:
        return None
    if exit_code < 0:
        return -exit_code
    if 128 < exit_code < 128 + 65:
        return exit_code - 128
    return None


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def guess_era(saw_prefix: bool, out: ParsedOutput, running: list[bool]) -> Era | None:
    """The era from secondary signs when the summary line is missing (failed or cut short)."""
    if saw_prefix or (out.regular is not None and out.regular.p5 is not None):
        return "2020+"
    if running and not any(running):
        return "2018"  # "Running benchmark for N iterations" predates "at least"
    return None


@dataclass(frozen=True)
class Evidence:
    """What a run's log said about how it ended, beyond its figures."""

    fatal: list[str]  # lines after which no result comes
    hard: list[str]  # of those, the ones that mean failure even after results
    errors: list[str]  # ERROR: / FATAL: lines
    running: list[bool]  # one per "Running benchmark" line
    saw_start: bool
    tail: list[str]  # the last messages, for an error text
    unusable: str | None = None  # why the log's latency cannot be a result (inf, count=0)
    never_started: str | None = None  # the line saying the binary could not start
    compiled_model: bool = False  # LiteRT's CompiledModel tool printed it (its summary block)


def _tail(run: Evidence) -> str:
    return " | ".join(run.tail) if run.tail else "no output"


def verdict(out: ParsedOutput, exit_code: int | None, run: Evidence) -> tuple[str, str | None]:
    """Status and error message, in order of precedence."""
    fatal, hard, errors = run.fatal, run.hard, run.errors
    has_latency = out.figures.avg_us is not None and out.figures.avg_us > 0
    signum = signal_from_exit_code(exit_code)
    if run.never_started is not None:  # before any signal: the linker aborts (exit 134)
        return "failed", f"benchmark_model never started: {run.never_started}"
    if signum is not None:
        return "crashed", f"killed by {signal_name(signum)} (exit code {exit_code}); {_tail(run)}"
    if exit_code == TIMEOUT_EXIT_CODE:
        return "timeout", f"timed out (exit code {exit_code}); {_tail(run)}"
    if hard or (fatal and not has_latency):
        # The specific cause first; "Benchmarking failed." only when nothing says more.
        causes = [e for e in (errors or fatal) if "Benchmarking failed" not in e] or fatal
        return "failed", "; ".join(dict.fromkeys(causes[-3:]))
    if run.unusable and not has_latency:
        return "parse_error", f"the log's latency cannot be a result: {run.unusable}"
    if has_latency and exit_code not in (None, 0):
        return "failed", f"exit code {exit_code} after printing results; {_tail(run)}"
    if has_latency:
        return "ok", None
    if exit_code not in (None, 0):
        detail = "; ".join(errors[-3:]) if errors else _tail(run)
        return "failed", f"exit code {exit_code} without a result; {detail}"
    if run.running or run.saw_start or out.warmup is not None:
        phase = (
            "the regular runs"
            if len(run.running) >= 2
            else "the warm-up"
            if run.running
            else "start-up"
        )
        return "parse_error", f"truncated output: stopped during {phase}; {_tail(run)}"
    if run.compiled_model:
        return "parse_error", f"{COMPILED_MODEL_LOG}, and no count= line; {_tail(run)}"
    return "parse_error", f"no benchmark_model output recognised; {_tail(run)}"
