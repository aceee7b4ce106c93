"""Parse the classic TFLite `benchmark_model` output of every era into one record.

What it must get right (see ../shared/reference/benchmark_model.md 1.2-1.5):
- stdout and stderr are merged: old builds print everything unprefixed on
  stderr, new ones print `INFO:` lines on stdout and `ERROR:` lines on stderr;
  logcat and glog line prefixes are stripped too.
- The latency is the REGULAR phase's `count=` line, the one after the second
  `Running benchmark for ...` line; the first is the warm-up. `count=1` and
  `(all same)` lines carry only `curr=`, so then avg = min = max = curr.
- `Timings (microseconds): count=...` belongs to the op profiler (a sum of
  per-op times) and is never taken as latency.
- The summary line names the era: 2018 `Average inference timings in us:
  Warmup: .., Init: .., no stats: ..`, 2019 `..., Inference: ..`, 2020+
  `Inference timings in us: Init: .., First inference: .., Warmup (avg): ..,
  Inference (avg): ..`. Doubles may be printed in scientific notation.
- Failures are data, not exceptions: `Benchmarking failed`, a missing model,
  a crash by signal (exit code 128+N from a shell, or -N from Python) and
  truncated output each give a status and an error message.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.bench.optable import parse_op_tables
from harness.errors import ParseError

Era = str  # "2018" | "2019" | "2020+"
STATUSES = ("ok", "failed", "crashed", "timeout", "parse_error")
STAND_IN_MARK = "harness benchmark_model stand-in"
TIMEOUT_EXIT_CODE = 124  # what `timeout(1)` (toybox and coreutils) exits with

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?nan|[-+]?inf"
_PREFIXES = [
    # logcat -v threadtime: "05-31 10:31:13.022 21767 21767 I tflite  : msg"
    re.compile(r"^\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF]\s+[^:]*?\s*:\s?"),
    # Android Studio logcat: "2023-04-04 17:24:18.428 19036-19036 tflite  pid-19036  I  msg"
    re.compile(r"^\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+-\d+\s+\S+\s+\S+\s+[VDIWEF]\s\s?"),
    # logcat -v brief: "I/tflite  ( 1234): msg"
    re.compile(r"^[VDIWEF]/[\w.-]+\s*(?:\(\s*\d+\))?:\s?"),
    # glog (TensorFlow's own tools): "2017-11-27 08:56:25.497476: I path/file.cc:324] msg"
    re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\]\s?"),
]
_SEVERITY = re.compile(r"^(?P<sev>INFO|WARN|WARNING|ERROR|VERBOSE|FATAL|DEBUG): ?")
_RUNNING = re.compile(r"Running benchmark for (?P<atleast>at least )?(?P<n>\d+) iterations?")
_COUNT = re.compile(
    rf"(?P<prefix>Timings \(microseconds\): |Memory \(bytes\): )?count=(?P<count>\d+)"
    rf"(?: first=(?P<first>{_NUM}))?(?: curr=(?P<curr>{_NUM}))?(?P<allsame>\(all same\))?"
    rf"(?: min=(?P<min>{_NUM}) max=(?P<max>{_NUM}) avg=(?P<avg>{_NUM}) std=(?P<std>{_NUM}))?"
    rf"(?: p5=(?P<p5>{_NUM}) median=(?P<median>{_NUM}) p95=(?P<p95>{_NUM}))?\s*$",
    re.IGNORECASE,
)  # anchored at the end: a line cut mid-figure does not match (truncated output)
_NEW_SUMMARY = re.compile(
    rf"Inference timings in us: Init: (?P<init>{_NUM}), First inference: (?P<first>{_NUM}), "
    rf"Warmup \(avg\): (?P<warmup>{_NUM}), Inference \(avg\): (?P<inference>{_NUM})"
)
_OLD_SUMMARY = re.compile(
    rf"Average inference timings in us: Warmup: (?P<warmup>{_NUM}), Init: (?P<init>{_NUM}), "
    rf"(?P<label>no stats|Inference): (?P<inference>{_NUM})"
)
_MEM = re.compile(
    rf"Memory footprint delta from the start of the tool \(MB\):.*?init=(?P<init>{_NUM})"
    rf".*?overall=(?P<overall>{_NUM})"
)
_PEAK = re.compile(
    rf"Overall peak memory footprint \(MB\) via periodic monitoring: (?P<peak>{_NUM})"
)
_OLD_MEM = re.compile(rf"max resident set size = (?P<peak>{_NUM}) MB")
# Messages after which no result will come (benchmark_main.cc, benchmark_tflite_model.cc,
# interpreter_builder.cc); matched anywhere on the line.
_FATAL = re.compile(
    r"Benchmarking failed|Failed to mmap model|Failed to load model|Could not open|"
    r"Failed to allocate tensors|Failed to invoke|Failed to construct interpreter|"
    r"Failed to initialize|Aborted|Segmentation fault",
    re.IGNORECASE,
)
# Of those, the ones that mean failure even when figures were printed before them.
_HARD_FATAL = re.compile(r"Benchmarking failed|Aborted|Segmentation fault", re.IGNORECASE)


@dataclass(frozen=True)
class PhaseStats:
    """One `count=` line: the statistics of a warm-up or regular phase (microseconds)."""

    count: int
    first: float | None
    curr: float | None
    min: float | None
    max: float | None
    avg: float | None
    std: float | None
    p5: float | None = None
    median: float | None = None
    p95: float | None = None
    all_same: bool = False

    @classmethod
    def from_match(cls, m: re.Match[str]) -> PhaseStats:
        def num(name: str) -> float | None:
            value = m.group(name)
            return None if value is None else float(value)

        count = int(m.group("count"))
        curr = num("curr")
        stats = cls(
            count=count,
            first=num("first"),
            curr=curr,
            min=num("min"),
            max=num("max"),
            avg=num("avg"),
            std=num("std"),
            p5=num("p5"),
            median=num("median"),
            p95=num("p95"),
            all_same=m.group("allsame") is not None,
        )
        if stats.avg is None and curr is not None and (count == 1 or stats.all_same):
            # count=1 or "(all same)": every run took `curr`, so the spread is zero.
            return cls(
                count=count,
                first=stats.first if stats.first is not None else curr,
                curr=curr,
                min=curr,
                max=curr,
                avg=curr,
                std=0.0,
                p5=stats.p5,
                median=stats.median,
                p95=stats.p95,
                all_same=stats.all_same,
            )
        return stats


@dataclass
class ParsedOutput:
    """Everything one benchmark_model process printed, reduced to figures and a status."""

    status: str = "parse_error"
    count: int | None = None
    avg_us: float | None = None
    min_us: float | None = None
    max_us: float | None = None
    std_us: float | None = None
    p5_us: float | None = None
    median_us: float | None = None
    p95_us: float | None = None
    init_us: float | None = None
    first_us: float | None = None
    warmup_avg_us: float | None = None
    inference_avg_us: float | None = None
    mem_init_mb: float | None = None
    mem_overall_mb: float | None = None
    peak_mem_mb: float | None = None
    ops: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    era: Era | None = None
    binary_id: str | None = None
    warmup: PhaseStats | None = None
    regular: PhaseStats | None = None
    invocations: int = 1  # STARTING! lines seen; a log of several runs is read from its last

    def to_dict(self) -> dict[str, Any]:
        """The `bench` contract of docs/design.md (JSON-ready)."""
        keys = (
            "status", "count", "avg_us", "min_us", "max_us", "std_us", "p5_us", "median_us",
            "p95_us", "init_us", "first_us", "warmup_avg_us", "inference_avg_us", "mem_init_mb",
            "mem_overall_mb", "peak_mem_mb", "ops", "error", "era", "binary_id",
        )  # fmt: skip
        out = {key: getattr(self, key) for key in keys}
        out["ops"] = [dict(op) for op in self.ops]
        return out


def _clean(line: str) -> tuple[str, str | None]:
    """The message of one log line without logcat/glog/severity prefixes, and its severity."""
    line = line.rstrip("\r")
    for prefix in _PREFIXES:
        line = prefix.sub("", line, count=1)
    severity = _SEVERITY.match(line)
    if severity:
        return line[severity.end() :], severity.group("sev")
    return line, None


def signal_from_exit_code(exit_code: int | None) -> int | None:
    """The signal that killed the process, from a Python (-N) or shell (128+N) exit code."""
    if exit_code is None:
        return None
    if exit_code < 0:
        return -exit_code
    if 128 < exit_code < 128 + 65:
        return exit_code - 128
    return None


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def merge_streams(stdout: str, stderr: str) -> str:
    """stdout then stderr as one text (what `2>&1` would give, up to interleaving)."""
    if not stderr:
        return stdout
    if stdout and not stdout.endswith("\n"):
        stdout += "\n"
    return stdout + stderr


def parse(stdout: str, stderr: str = "", exit_code: int | None = None) -> ParsedOutput:
    """Parse one benchmark_model process's output; never raises for bad output."""
    raw_lines = merge_streams(stdout, stderr).split("\n")
    out = ParsedOutput()
    raw_lines, out.invocations = _last_invocation(raw_lines)
    messages: list[str] = []
    errors: list[str] = []
    fatal: list[str] = []
    hard: list[str] = []
    running: list[bool] = []  # one per "Running benchmark" line: was it "at least"?
    phases: list[PhaseStats | None] = []  # stats per Running line (None until its count= line)
    loose: list[PhaseStats] = []  # count= lines seen before any Running line (grep'd logs)
    saw_start = saw_prefix = False

    for raw in raw_lines:
        text, severity = _clean(raw)
        messages.append(text)
        saw_prefix = saw_prefix or severity is not None
        stripped = text.strip()
        if not stripped:
            continue
        if out.binary_id is None and not saw_start and stripped.startswith(STAND_IN_MARK):
            out.binary_id = stripped
        if stripped == "STARTING!":
            saw_start = True
            continue
        if severity in ("ERROR", "FATAL"):
            errors.append(stripped)
        if _FATAL.search(stripped) or severity == "FATAL":
            fatal.append(stripped)
            if _HARD_FATAL.search(stripped) or severity == "FATAL":
                hard.append(stripped)
        m_run = _RUNNING.search(stripped)
        if m_run:
            running.append(m_run.group("atleast") is not None)
            phases.append(None)
            continue
        m_count = _COUNT.search(stripped)
        if m_count and m_count.group("prefix") is None and m_count.start() == 0:
            stats = PhaseStats.from_match(m_count)
            if phases and phases[-1] is None:
                phases[-1] = stats
            elif not phases:
                loose.append(stats)
            continue
        _read_summary(stripped, out)

    # Warm-up is the first phase, the regular runs the second (benchmark_model.cc Run()).
    if phases:
        out.warmup = phases[0]
        out.regular = phases[1] if len(phases) >= 2 else None
    elif loose:
        out.warmup = loose[0] if len(loose) >= 2 else None
        out.regular = loose[1] if len(loose) >= 2 else loose[0]
    if out.regular is not None:
        reg = out.regular
        out.count = reg.count
        out.avg_us, out.min_us, out.max_us, out.std_us = reg.avg, reg.min, reg.max, reg.std
        out.p5_us, out.median_us, out.p95_us = reg.p5, reg.median, reg.p95
    elif out.inference_avg_us is not None and out.inference_avg_us > 0:
        out.avg_us = out.inference_avg_us  # only the summary survived (e.g. a logcat grep)
    if out.first_us is None and out.warmup is not None:
        out.first_us = out.warmup.first
    if out.era is None:
        out.era = _guess_era(saw_prefix, out, running)
    out.ops = parse_op_tables(messages)
    out.status, out.error = _verdict(
        out, exit_code, (fatal, hard, errors), running, saw_start, messages
    )
    return out


def _read_summary(line: str, out: ParsedOutput) -> None:
    """Fill `out` from a summary or memory line (any era); other lines change nothing."""
    if m := _NEW_SUMMARY.search(line):
        out.era = "2020+"
        out.init_us = float(m.group("init"))
        out.first_us = float(m.group("first"))
        out.warmup_avg_us = float(m.group("warmup"))
        out.inference_avg_us = float(m.group("inference"))
    elif m := _OLD_SUMMARY.search(line):
        out.era = "2018" if m.group("label") == "no stats" else "2019"
        out.init_us = float(m.group("init"))
        out.warmup_avg_us = float(m.group("warmup"))
        out.inference_avg_us = float(m.group("inference"))
    elif m := _MEM.search(line):
        out.mem_init_mb = float(m.group("init"))
        out.mem_overall_mb = float(m.group("overall"))
    elif m := _PEAK.search(line) or _OLD_MEM.search(line):
        out.peak_mem_mb = float(m.group("peak"))


def _last_invocation(lines: list[str]) -> tuple[list[str], int]:
    """The lines of the last benchmark_model run in a log that holds several, and how many.

    A saved terminal session often holds several runs one after the other;
    mixing their phases would pair one run's warm-up with another's regular
    runs. The stand-in's identity line just before STARTING! stays with it.
    """
    starts = [i for i, line in enumerate(lines) if _clean(line)[0].strip() == "STARTING!"]
    if len(starts) < 2:
        return lines, max(1, len(starts))
    first = starts[-1]
    if first > 0 and _clean(lines[first - 1])[0].strip().startswith(STAND_IN_MARK):
        first -= 1
    return lines[first:], len(starts)


def _guess_era(saw_prefix: bool, out: ParsedOutput, running: list[bool]) -> Era | None:
    """The era from secondary signs when the summary line is missing (failed or cut short)."""
    if saw_prefix or (out.regular is not None and out.regular.p5 is not None):
        return "2020+"
    if running and not any(running):
        return "2018"  # "Running benchmark for N iterations" predates "at least"
    return None


def _tail(messages: list[str], n: int = 3) -> str:
    lines = [m.strip() for m in messages if m.strip()]
    return " | ".join(lines[-n:]) if lines else "no output"


def _verdict(
    out: ParsedOutput,
    exit_code: int | None,
    problems: tuple[list[str], list[str], list[str]],
    running: list[bool],
    saw_start: bool,
    messages: list[str],
) -> tuple[str, str | None]:
    """Status and error message, in order of precedence.

    `problems` is (fatal-looking lines, lines fatal even after results, ERROR lines).
    """
    fatal, hard, errors = problems
    has_latency = out.avg_us is not None and out.avg_us > 0
    signum = signal_from_exit_code(exit_code)
    if signum is not None:
        return (
            "crashed",
            f"killed by {_signal_name(signum)} (exit code {exit_code}); {_tail(messages)}",
        )
    if exit_code == TIMEOUT_EXIT_CODE:
        return "timeout", f"timed out (exit code {exit_code}); {_tail(messages)}"
    if hard or (fatal and not has_latency):
        # The specific cause first; "Benchmarking failed." only when nothing says more.
        causes = [e for e in (errors or fatal) if "Benchmarking failed" not in e] or fatal
        return "failed", "; ".join(dict.fromkeys(causes[-3:]))
    if has_latency and exit_code not in (None, 0):
        return "failed", f"exit code {exit_code} after printing results; {_tail(messages)}"
    if has_latency:
        return "ok", None
    if exit_code not in (None, 0):
        detail = "; ".join(errors[-3:]) if errors else _tail(messages)
        return "failed", f"exit code {exit_code} without a result; {detail}"
    if running or saw_start or out.warmup is not None:
        phase = (
            "the regular runs" if len(running) >= 2 else "the warm-up" if running else "start-up"
        )
        return "parse_error", f"truncated output: stopped during {phase}; {_tail(messages)}"
    return "parse_error", f"no benchmark_model output recognised; {_tail(messages)}"


def _read_text(path: Path) -> str:
    try:
        # Device output is not guaranteed UTF-8; a stray byte must not lose the figures.
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise ParseError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse_files(
    stdout_path: Path, stderr_path: Path | None = None, *, exit_code: int | None = None
) -> ParsedOutput:
    """`parse` on saved files (what `harness parse` reads); ParseError if one is unreadable."""
    stdout = _read_text(Path(stdout_path))
    stderr = _read_text(Path(stderr_path)) if stderr_path is not None else ""
    return parse(stdout, stderr, exit_code)
