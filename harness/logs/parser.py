"""Parse the classic TFLite `benchmark_model` output of every era into one record.

What it must get right (see ../shared/reference/benchmark_model.md 1.2-1.5):
- Each line is normalised first (`lineforms.normalise`: indentation, logcat and
  glog prefixes, `INFO:`-style tags, carriage returns, colour codes), then
  matched against one table of line forms (`lineforms.FORMS`), so a pasted or
  logcat log reads like a fresh one.
- stdout and stderr are merged: old builds print everything unprefixed on
  stderr, new ones print `INFO:` lines on stdout and `ERROR:` lines on stderr.
- The latency is the REGULAR phase's `count=` line, the one after the second
  `Running benchmark for ...` line; the first is the warm-up. `count=1` and
  `(all same)` lines carry only `curr=`, so then avg = min = max = curr.
- `Timings (microseconds): count=...` belongs to the op profiler (a sum of
  per-op times) and is never taken as latency.
- Failures are data, not exceptions: `Benchmarking failed`, a missing model,
  a crash by signal (exit code 128+N from a shell, or -N from Python) and
  truncated output each give a status and an error message.
- Absent figures are said out loud (`parse_warnings`), and so is a delegate
  that was asked for but took none or only part of the graph.
- A file is read in blocks in constant memory, looking only at lines that
  hold a keyword (harness.logs.scan); a saved session of several runs gives
  the figures of the last one. `parse_lines` reads every line instead and
  must agree with it (the corpus tests check that).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from harness.errors import ParseError
from harness.inputs import LOG_BYTES, open_binary, parse_int
from harness.logs.absent import absent_figures
from harness.logs.accelerator import Accelerator
from harness.logs.delegates import ASKED, FAILED, DelegateLog
from harness.logs.delegation import delegation_warnings, prove
from harness.logs.figures import Era, ParsedOutput, PhaseStats
from harness.logs.lineforms import COMPILED_MODEL_SUMMARY, COUNT, FORMS, RUNNING, normalise
from harness.logs.optable import OpTableReader
from harness.logs.scan import (
    KEYWORDS,
    blocks,
    keyword_line_starts,
    last_messages,
    line_at,
    start_lines,
    tagged_after,
)
from harness.logs.verdict import (
    NEVER_STARTED,
    TIMEOUT_EXIT_CODE,
    Evidence,
    guess_era,
    signal_from_exit_code,
    verdict,
)
from harness.results.schema import Figures
from harness.results.validate import figure_problems
from harness.vocab import STAND_IN_MARK

__all__ = [
    "STAND_IN_MARK",
    "TIMEOUT_EXIT_CODE",
    "Era",
    "LogReader",
    "ParsedOutput",
    "PhaseStats",
    "merge_streams",
    "parse",
    "parse_files",
    "parse_lines",
    "signal_from_exit_code",
]


# Messages after which no result will come (benchmark_main.cc, benchmark_tflite_model.cc,
# interpreter_builder.cc, the shell); matched anywhere on the line. Capitalised as printed
# or not, so that scan.KEYWORDS finds every line this can match.
_FATAL = re.compile(
    r"Benchmarking failed|[Ff]ailed to mmap model|[Ff]ailed to load model|[Cc]ould not open|"
    r"[Ff]ailed to allocate tensors|[Ff]ailed to invoke|[Ff]ailed to construct interpreter|"
    r"[Ff]ailed to initialize|[Aa]borted|[Ss]egmentation fault|terminate called"
)
# Of those, the ones that mean failure even when figures were printed before them.
_HARD_FATAL = re.compile(r"Benchmarking failed|[Aa]borted|[Ss]egmentation fault|terminate called")
# One search per line finds the lines worth a closer look (the block reader finds them
# with str.find instead, see scan.py).
_KEYS = re.compile("|".join(re.escape(key) for key in KEYWORDS))
_SUMMARY_ERA = {"summary-2018": "2018", "summary-2019": "2019", "summary-2020": "2020+"}
# What only a run's start-up and measuring print (the parameter echo, delegation, the session,
# the phases): after a run's summary line, one of these is the next run's, though no STARTING!
# line says so (a paste of each run's figure lines, a logcat capture of the APK).
_BEGINS = (
    "count=", "Running benchmark", "Initialized session", "Use ", "External delegate path",
    "Replacing ", "Explicitly applied", "Though ", "Applied ",
)  # fmt: skip
_ASK_WORDS = ("Use ", "External delegate path")
# The echoes that refine a unit asked for: its provider prints them just after its `Use gpu:
# [1]` / `Use NNAPI: [1]` line, so they are looked for in the lines after it rather than with
# two more keywords (each a pass over every block).
_REFINES = ("NNAPI accelerator name", "Allow lower precision in gpu")
_REFINE_LINES = 8
_FIGURE_NAMES = frozenset(f.name for f in dataclasses.fields(Figures))
_KEEP_PROBLEMS = 8  # error lines kept per run: enough for a message, bounded for huge logs


class _Run:
    """What one benchmark_model invocation printed so far (reset at each STARTING!)."""

    def __init__(self, binary_id: str | None = None) -> None:
        self.out = ParsedOutput(binary_id=binary_id)
        self.init_ms: float | None = None
        self.summary: dict[str, float] = {}  # figures of the summary lines, by Figures field
        self.errors: list[str] = []
        self.fatal: list[str] = []
        self.hard: list[str] = []
        self.running: list[bool] = []  # one per "Running benchmark" line: was it "at least"?
        self.phases: list[PhaseStats | None] = []  # per Running line (None until its count=)
        self.loose: list[PhaseStats] = []  # count= lines before any Running line (grep'd logs)
        self.saw_start = self.saw_prefix = self.in_profile = False
        self.compiled_model = False  # LiteRT's CompiledModel tool's summary block was seen
        self.ended = False  # its summary line was printed: what begins a run now is another's
        self.after = 0  # runs before it found by their summary, not by a STARTING! line
        self.never_started: str | None = None  # the shell's or linker's word, from the tail
        self.tail: deque[str] = deque(maxlen=3)
        self.ops = OpTableReader()
        self.delegation = DelegateLog()

    @property
    def measured(self) -> bool:
        """Whether the model was set up: a session, a phase or a summary figure was printed."""
        return bool(self.init_ms is not None or self.running or self.loose or self.summary)


class LogReader:
    """Feeds lines of one log, in order, into the figures of its last run (constant memory)."""

    def __init__(self) -> None:
        self.run = _Run()
        self.invocations = 0
        self._one_stream = True  # runs are told apart by their summaries only in a first stream
        self._refine_left = 0  # lines still to look at for a _REFINES echo
        self._last_message = ""
        self._started_at: int | None = None  # where in the current block the last run began
        self._offset = 0  # start of the STARTING! line being read, within its block

    def feed_block(self, text: str) -> None:
        """Read a block of whole lines, looking only at the lines that can matter.

        Gives the same figures as `feed` on every line (the corpus tests check
        it). Runs that start and end inside the block are only counted: the
        figures are the last run's. Within the run that may be last, the lines
        read are the ones holding a keyword (`scan.KEYWORDS`) and the rows of
        an op table; the tail and the tag flag are taken from the block itself.
        """
        self._started_at = None
        starts = start_lines(text)
        first = starts[0] if starts else len(text)
        self._refine_lines(text, 0, first)  # a window may go on from the block before
        done = self._table_rows(text, 0, first)  # a table may go on from the block before
        if starts:
            if self.invocations == 0:  # lines before the log's first start may be a run
                done = self._read(text, done, first)
            skipped = starts[:-1]  # runs that begin and end in this block: only counted
            if skipped:
                self._offset = skipped[0]
                self._start()
                self.invocations += len(skipped) - 1
            done = max(done, starts[-1])
        self._read(text, done, len(text))
        lo = self._started_at if self._started_at is not None else 0
        self.run.tail.extend(last_messages(text, lo))
        if not self.run.saw_prefix and tagged_after(text, lo):
            self.run.saw_prefix = True
        last = last_messages(text, 0, 1)
        if last:
            self._last_message = last[0]

    def _read(self, text: str, lo: int, hi: int) -> int:
        """Feed the keyword lines of `text[lo:hi]` and the op-table rows after them."""
        done = lo
        for start in keyword_line_starts(text, lo, hi):
            if start < done:
                continue  # already read as part of an op table
            line, done = line_at(text, start)
            if "STARTING!" in line:
                before = last_messages(text, 0, 1, hi=start)
                if before:
                    self._last_message = before[0]
            self._offset = start
            self.feed(line, every_line=False)
            self._refine_lines(text, done, hi)
            done = self._table_rows(text, done, hi)
        return done

    def _refine_lines(self, text: str, at: int, hi: int) -> None:
        """Look at the lines of `text` from `at` (up to `hi`) that an open window of
        `_REFINES` still covers, as `feed` does line by line."""
        while self._refine_left and at < hi:
            line, at = line_at(text, at)
            self._refine(normalise(line)[0])

    def _refine(self, text: str) -> None:
        """One line of a window opened by a `Use gpu` / `Use NNAPI` echo."""
        self._refine_left -= 1
        if text.startswith(_REFINES):
            m = ASKED.match(text)
            if m:
                self.run.delegation.ask(m)

    def _table_rows(self, text: str, at: int, hi: int) -> int:
        """Feed lines from `at` (up to `hi`) while the op-table reader is in a table."""
        while self.run.ops.active and at < hi:
            line, at = line_at(text, at)
            self.feed(line, every_line=False)
        return at

    def end_stream(self) -> None:
        """The stream read so far ends; the next (stderr after stdout) holds the other half of
        the same runs' lines, in its own order, so a summary there starts no new run."""
        self._one_stream = False

    def feed(self, raw: str, *, every_line: bool = True) -> None:
        """Read one raw line (with or without its line ending). `every_line`: the caller
        feeds every line of the log (`feed_block` feeds the ones that matter and keeps the
        tail and the refining window itself)."""
        text, severity = normalise(raw)
        if self._refine_left and every_line:  # feed_block looks at the window itself
            self._refine(text)
        if self.run.ended and self._one_stream and text.startswith(_BEGINS):
            self._next_run()
        run = self.run
        run.ops.feed(text)
        if severity is not None:
            run.saw_prefix = True
        if not text:
            return
        if text == "STARTING!":
            self._start()
            return
        if not run.saw_start and run.out.binary_id is None and text.startswith(STAND_IN_MARK):
            run.out.binary_id = text
        self._last_message = text
        if every_line:
            run.tail.append(text)
        if severity in ("ERROR", "FATAL"):
            _keep(run.errors, text)
        if text[:6] == "count=":
            self._count(text)
            return
        if text[:17] == "Running benchmark":
            m = RUNNING.match(text)
            if m:
                run.running.append(m.group("atleast") is not None)
                run.phases.append(None)
                return
        if text[:1] in "=O" and ("Profiling Info" in text or text[:5] == "====="):
            if text == COMPILED_MODEL_SUMMARY:
                run.compiled_model = True
                return
            run.in_profile = True
        if severity == "FATAL":
            _keep(run.fatal, text)
            _keep(run.hard, text)
        if _KEYS.search(text) is None:
            return
        if severity != "FATAL" and _FATAL.search(text):
            _keep(run.fatal, text)
            if _HARD_FATAL.search(text):
                _keep(run.hard, text)
        if "ailed" in text or "Restored" in text:
            m = FAILED.search(text)
            if m:
                run.delegation.failure(m, text)
        self._forms(text)

    def _start(self) -> None:
        """A STARTING! line: a new invocation; the stand-in's identity line stays with it.

        Lines before the first STARTING! may hold a whole earlier run whose own
        STARTING! was cut off a paste; that counts as a run too. Any later STARTING!
        begins afresh, as the block reader does (it skips what lies between two
        starts): nothing of the lines before it, nor their count, joins its run.
        """
        run = self.run
        first = self.invocations == 0
        earlier = run.saw_start or bool(run.running or run.loose)
        self.invocations += 1 + int(earlier and first)
        if earlier or not first:
            mark = self._last_message.startswith(STAND_IN_MARK)
            self.run = _Run(self._last_message if mark else None)
            self._started_at = self._offset
        self.run.saw_start = True
        self._refine_left = 0

    def _next_run(self) -> None:
        """A line that begins a run after the current one's summary: the next run, whose
        STARTING! line the log lacks. Counted with the run (`after`), not in `invocations`,
        which the block reader counts from STARTING! lines alone."""
        after = self.run.after + 1
        self.run = _Run()
        self.run.after = after
        self._started_at = self._offset

    def _count(self, text: str) -> None:
        run = self.run
        m = COUNT.match(text)
        if m is None:
            return
        try:
            stats = PhaseStats.from_match(m)
        except ValueError:  # a count of more digits than any run has: not a figure
            return
        if run.phases and run.phases[-1] is None:
            run.phases[-1] = stats
        elif not run.phases and not run.in_profile:
            run.loose.append(stats)

    def _forms(self, text: str) -> None:
        run, out = self.run, self.run.out
        if any(word in text for word in _ASK_WORDS):
            m = ASKED.match(text)
            if m:
                run.delegation.ask(m)
                if m.group("flag") and m.group("flag").lower() in ("gpu", "nnapi"):
                    self._refine_left = _REFINE_LINES
                return
        for form in FORMS:
            if form.key not in text:
                continue
            m = form.pattern.search(text)
            if m is None:
                continue
            values = m.groupdict()
            if form.name.startswith("delegate-"):
                self._delegate(form.name, values)
                return
            if form.name in _SUMMARY_ERA:
                out.era = _SUMMARY_ERA[form.name]
                run.ended = True
            for name, value in values.items():
                if value is None:
                    continue
                if name == "init_ms":
                    run.init_ms = float(value)
                elif name in _FIGURE_NAMES:
                    run.summary[name] = float(value)
            return

    def _delegate(self, form: str, values: dict[str, str | None]) -> None:
        try:
            self._delegation(form, values)
        except ValueError:  # a node count of more digits than any graph has: not a figure
            return

    def _delegation(self, form: str, values: dict[str, str | None]) -> None:
        delegation = self.run.delegation
        name = values["name"] or ""
        total, parts = _number(values.get("total")), _number(values.get("partitions"))
        if form == "delegate-replacing":
            delegation.replaced(name, parse_int(values["nodes"] or "0"), total, parts)
        elif form == "delegate-nodes-of":
            delegation.claims(name, parse_int(values["nodes"] or "0"), total or 0, parts)
        elif form in ("delegate-applied", "delegate-applied-2.2"):
            extent = "full" if values["extent"] == "completely" else "partial"
            delegation.applied(name, extent, _number(values.get("kernels")))
        elif form == "delegate-unused":
            delegation.applied(name, "none")
        elif form == "delegate-applied-old":
            delegation.applied(name, "applied")

    def result(
        self, exit_code: int | None = None, accelerator: Accelerator | str | None = None
    ) -> ParsedOutput:
        """The figures, status, delegation proof (against `accelerator`, else the unit the
        log's flags asked for) and warnings of the last run read."""
        self._check_start()
        run = self.run
        out = run.out
        out.invocations = max(1, self.invocations) + run.after
        phases = run.phases
        # Warm-up is the first phase, the regular runs the second (benchmark_model.cc Run()).
        if phases:
            out.warmup = phases[0]
            out.regular = phases[1] if len(phases) >= 2 else None
        elif run.loose:
            out.warmup = run.loose[0] if len(run.loose) >= 2 else None
            out.regular = run.loose[1] if len(run.loose) >= 2 else run.loose[0]
        figures = Figures.from_flat(run.summary)  # what the summary lines said
        replace = dataclasses.replace
        if out.regular is not None:
            reg = out.regular
            figures = replace(
                figures, count=reg.count, avg_us=reg.avg, min_us=reg.min, max_us=reg.max,
                std_us=reg.std, p5_us=reg.p5, median_us=reg.median, p95_us=reg.p95,
            )  # fmt: skip
        elif figures.inference_avg_us is not None and figures.inference_avg_us > 0:
            # Only the summary survived (logcat).
            figures = replace(figures, avg_us=figures.inference_avg_us)
        if figures.first_us is None and out.warmup is not None:
            figures = replace(figures, first_us=out.warmup.first)
        if figures.init_us is None and run.init_ms is not None:
            figures = replace(figures, init_us=run.init_ms * 1000.0)
        out.figures, dropped = _drop_untrusted(figures)
        if out.era is None:
            out.era = guess_era(run.saw_prefix, out, run.running)
        out.ops = run.ops.ops
        evidence = Evidence(
            run.fatal, run.hard, run.errors, run.running, run.saw_start, list(run.tail),
            unusable=dropped.get("avg_us"), never_started=run.never_started,
            compiled_model=run.compiled_model,
        )  # fmt: skip
        out.status, out.error = verdict(out, exit_code, evidence)
        out.evidence = run.delegation.freeze(graph_ready=run.measured)
        proof = out.delegation = prove(out, accelerator)
        warnings = absent_figures(
            out.status, out.era, out.figures, compiled_model=run.compiled_model
        )
        warnings += delegation_warnings(out, proof)
        warnings += [f"{why}: left out" for why in dropped.values()]
        if out.invocations > 1:
            warnings.append(
                f"the log holds {out.invocations} benchmark_model runs; figures are the last one's"
            )
        out.figures = dataclasses.replace(
            out.figures, delegate=proof.delegate, delegated_nodes=proof.delegated_nodes,
            total_nodes=proof.total_nodes, parse_warnings=tuple(warnings),
        )  # fmt: skip
        return out

    def _check_start(self) -> None:
        """A log whose last lines say the binary never started (`not executable`, `CANNOT
        LINK EXECUTABLE`, ...): that is its last run's end. After a run that printed
        figures, it is one more run: the one that failed to start."""
        line = None
        for message in reversed(self.run.tail):  # the last such line, with no run's line after
            if NEVER_STARTED.search(message):
                line = message
                break
            if _KEYS.search(message) and not _HARD_FATAL.search(message):
                return  # a run's line came after it (the shell's `Aborted` is no run's)
        if line is None:
            return
        if self.run.saw_start or self.run.measured:
            after = self.run.after
            self.run = _Run()
            self.run.after = after
            self.invocations = max(1, self.invocations) + 1
            self.run.tail.append(line)
        self.run.never_started = line


def _drop_untrusted(figures: Figures) -> tuple[Figures, dict[str, str]]:
    """The figures without those no stored record may hold (`inf`, `1e308`, negative) and
    the mean of a phase that timed no run (`count=0`); and what was dropped, with why."""
    flat = figures.to_flat()
    dropped = figure_problems(flat)
    count = figures.count
    if count is not None and count < 1 and figures.avg_us is not None:
        dropped["avg_us"] = f"avg_us of count={count} (no timed run)"
    flat.update(dict.fromkeys(dropped))
    return Figures.from_flat(flat), dropped


def _number(value: str | None) -> int | None:
    """A count a line may or may not give (ValueError past the digit bound)."""
    return parse_int(value) if value else None


def _keep(lines: list[str], text: str) -> None:
    lines.append(text)
    if len(lines) > _KEEP_PROBLEMS:
        del lines[0]


def parse_lines(
    lines: Iterable[str],
    exit_code: int | None = None,
    *,
    accelerator: Accelerator | str | None = None,
) -> ParsedOutput:
    """Parse a benchmark_model output given as lines (any iterable, read once)."""
    reader = LogReader()
    for line in lines:
        reader.feed(line)
    return reader.result(exit_code, accelerator)


def merge_streams(stdout: str, stderr: str) -> str:
    """stdout then stderr as one text (what `2>&1` would give, up to interleaving)."""
    if not stderr:
        return stdout
    if stdout and not stdout.endswith("\n"):
        stdout += "\n"
    return stdout + stderr


def parse(
    stdout: str,
    stderr: str = "",
    exit_code: int | None = None,
    *,
    accelerator: Accelerator | str | None = None,
) -> ParsedOutput:
    """Parse one benchmark_model process's output (stdout then stderr); never raises but
    for an `accelerator` that is no unit's spelling (OptionError). Its delegation is
    proved against `accelerator`, else against the unit the log's own flags asked for."""
    reader = LogReader()
    for text in (stdout, stderr):
        if text:
            # Universal newlines, as a file opened as text reads them: \r\n and \r end lines.
            reader.feed_block(text.replace("\r\n", "\n").replace("\r", "\n"))
            reader.end_stream()
    return reader.result(exit_code, accelerator)


def parse_files(
    stdout_path: Path,
    stderr_path: Path | None = None,
    *,
    exit_code: int | None = None,
    accelerator: Accelerator | str | None = None,
) -> ParsedOutput:
    """`parse` on saved files, read in blocks (bounded memory); ParseError if unreadable.

    Each must be a regular file of at most `inputs.LOG_BYTES` (else InputFileError):
    a FIFO or /dev/zero would never end. Both are checked before either is read.
    """
    paths = [Path(stdout_path)] + ([Path(stderr_path)] if stderr_path is not None else [])
    reader = LogReader()
    with contextlib.ExitStack() as stack:
        handles = [_open_log(stack, path) for path in paths]
        for path, raw in zip(paths, handles, strict=True):
            # Device output is not guaranteed UTF-8; a stray byte must not lose the figures.
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=None)
            read = False
            try:
                for block in blocks(text):
                    reader.feed_block(block)
                    read = True
            except OSError as exc:
                raise ParseError(f"cannot read {path}: {exc.strerror or exc}") from None
            if read:
                reader.end_stream()
    return reader.result(exit_code, accelerator)


def _open_log(stack: contextlib.ExitStack, path: Path) -> IO[bytes]:
    try:
        return stack.enter_context(open_binary(path, limit=LOG_BYTES, what="a log"))
    except OSError as exc:
        raise ParseError(f"cannot read {path}: {exc.strerror or exc}") from None
