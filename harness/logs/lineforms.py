"""The line forms `benchmark_model` has printed, one row each, and how a raw line is cleaned.

Every figure the parser reads comes from one row of `FORMS`: a regex over the
*normalised* message (see `normalise`), the field it fills, and the
TensorFlow / LiteRT releases that print it. Adding a wording is adding a row;
docs/results.md ("Line forms") lists the same table with its sources.

Normalising first is what makes pasted logs read like fresh ones: Markdown
and chat pastes are indented, quoted or wrap each line in backticks, logcat
dumps (adb's and Android Studio's) carry a prefix in one of several formats,
terminals leave colour codes and Windows leaves carriage returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The first line of the summary block of LiteRT's *CompiledModel* benchmark_model
# (`litert/tools/benchmark_litert_model.h`), a tool of the same name whose shared base
# prints the same `Running benchmark` and `count=` lines but no `Inference timings`.
COMPILED_MODEL_SUMMARY = "========== BENCHMARK RESULTS =========="

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?nan|[-+]?inf"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# One alternation of every prefix a log line may carry before the tool's own text.
_PREFIX = re.compile(
    r"""(?:
      # logcat -v threadtime: "05-31 10:31:13.022 21767 21767 I tflite  : "
      # (also with a year, and with uid/pid/tid columns)
      (?:\d{4}-)?\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+(?:\S+\s+)?\d+\s+\d+\s+[VDIWEF]\s+[^:]*?\s*:\s
    | # logcat -v time: "05-31 10:31:13.022 I/tflite  ( 1234): "
      (?:\d{4}-)?\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+[VDIWEF]/[^(:]*?\s*(?:\(\s*\d+\))?:\s
    | # Android Studio before Electric Eel:
      # "2021-05-26 10:35:38.971 13129-13129/org.example I/tflite: "
      \d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+-\d+/\S+\s+[VDIWEF]/[^:]*:\s
    | # Android Studio Electric Eel on: timestamp (date and time, or time), process and thread
      # ids (or the process's), tag, package, process name, level (" I "), each column optional
      # but the level: "2023-04-04 17:24:18.428 19036-19036 tflite  pid-19036  I  ",
      # "05:58:19.793 tflite  com.example.app  W  ", "10:55:20.865  I  " (compact view).
      (?:\d{4}-\d\d-\d\d\s+)?\d\d:\d\d:\d\d\.\d{3}\s+(?:\d+(?:-\d+)?\s+)?
        (?:\S+\s+){0,4}?[VDIWEFA](?:\s\s?|$)
    | # ... and without a timestamp, from the ids on: "18088-18088 tflite  org.example  I  "
      \d+-\d+\s+(?:\S+\s+){0,4}?[VDIWEFA](?:\s\s|$)
    | # logcat -v brief / process / tag: "I/tflite  ( 1234): ", "I( 1234) ", "I/tflite: "
      [VDIWEF]/[\w.-]+\s*(?:\(\s*\d+\))?:\s
    | [VDIWEF]\(\s*\d+\)\s
    | # glog: "2017-11-27 08:56:25.497476: I path/file.cc:324] ", "I0000 00:00:1658 8218 x.cc:78] "
      \d{4}-\d\d-\d\d\s\d\d:\d\d:\d\d\.\d+:\s[IWEF]\s\S+:\d+\]\s?
    | [IWEF]\d{4}\s\d\d:\d\d:[\d.]+\s+\d+\s\S+:\d+\]\s?
    )""",
    re.VERBOSE,
)
_SEVERITY = re.compile(r"(INFO|WARN|WARNING|ERROR|VERBOSE|FATAL|DEBUG): ?")
_PREFIX_START = frozenset("0123456789VDIWEF")
# A Markdown list item ("- ", "* ", "+ ", "1. ") or a bare line wrapped whole in one inline
# code span; never a code fence (```).
_MARKDOWN_CODE = re.compile(r"(?:[-*+]\s+|\d{1,3}[.)]\s+)?`(?!``)([^`]*)`$")
_CODE_START = frozenset("-*+`0123456789")


def normalise(raw: str) -> tuple[str, str | None]:
    """The tool's own message in a raw log line, and its severity tag (or None).

    Strips, in this order: carriage returns and ANSI colour, indentation and
    a Markdown quote marker, a Markdown list item's inline-code backticks, one
    logcat or glog prefix, an `INFO:`-style tag.
    Trailing spaces are kept out too; a message's inner spacing is kept (the
    op-profiler tables need it).
    """
    line = raw.rstrip("\r\n")
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    line = line.strip()
    if line[:1] == ">":  # a quoted paste in an issue thread
        line = line[1:].lstrip()
    if line[-1:] == "`" and line[:1] in _CODE_START:
        m = _MARKDOWN_CODE.match(line)
        if m:  # a Markdown list item (or line) of inline code: "- `INFO: count=...`"
            line = m.group(1).strip()
    if line[:1] in _PREFIX_START:
        m = _PREFIX.match(line)
        if m:
            line = line[m.end() :]
    if line[:1] in "IWEVDF":
        m = _SEVERITY.match(line)
        if m:
            return line[m.end() :].strip(), m.group(1)
    return line, None


@dataclass(frozen=True)
class LineForm:
    """One wording of one figure: what it fills and in which releases it appears."""

    name: str
    key: str  # words every line of this form contains: the cheap filter before the regex
    # (short and shared by several forms where it can be: each key is a pass over a block)
    pattern: re.Pattern[str]
    releases: str  # TensorFlow / LiteRT release range that prints it
    fills: str  # the ParsedOutput fields it sets


def _form(name: str, key: str, pattern: str, releases: str, fills: str) -> LineForm:
    return LineForm(name, key, re.compile(pattern), releases, fills)


# Statistics lines (Stat::OutputToStream, tensorflow/core/util/stats_calculator, later
# xla/tsl). Anchored at both ends: a line cut mid-figure does not match.
COUNT = re.compile(
    rf"^count=(?P<count>\d+)(?: first=(?P<first>{NUM}))?(?: curr=(?P<curr>{NUM}))?"
    rf"(?P<allsame>\(all same\))?"
    rf"(?: min=(?P<min>{NUM}) max=(?P<max>{NUM}) avg=(?P<avg>{NUM}) std=(?P<std>{NUM}))?"
    rf"(?: p5=(?P<p5>{NUM}) median=(?P<median>{NUM}) p95=(?P<p95>{NUM}))?$",
    re.IGNORECASE,
)
RUNNING = re.compile(r"^Running benchmark for (?P<atleast>at least )?(?P<n>\d+) iterations?")

FORMS: tuple[LineForm, ...] = (
    _form(
        "summary-2018",
        "timings in us",
        rf"Average inference timings in us: Warmup: (?P<warmup_avg_us>{NUM}), "
        rf"Init: (?P<init_us>{NUM}), no stats: (?P<inference_avg_us>{NUM})",
        "TF 1.10 (contrib/lite) to about 1.14; vendor ports of r2.1 kept it (NXP i.MX RT)",
        "warmup_avg_us, init_us, inference_avg_us; era 2018",
    ),
    _form(
        "summary-2019",
        "timings in us",
        rf"Average inference timings in us: Warmup: (?P<warmup_avg_us>{NUM}), "
        rf"Init: (?P<init_us>{NUM}), Inference: (?P<inference_avg_us>{NUM})",
        "about TF 1.15 - 2.1 (tools/benchmark README, benchmark APK README)",
        "warmup_avg_us, init_us, inference_avg_us; era 2019",
    ),
    _form(
        "summary-2020",
        "timings in us",
        rf"Inference timings in us: Init: (?P<init_us>{NUM}), "
        rf"First inference: (?P<first_us>{NUM}), Warmup \(avg\): (?P<warmup_avg_us>{NUM}), "
        rf"Inference \(avg\): (?P<inference_avg_us>{NUM})",
        "TF 2.2 - today, LiteRT",
        "init_us, first_us, warmup_avg_us, inference_avg_us; era 2020+",
    ),
    _form(
        "init-session",
        "Initialized session",
        rf"^Initialized session in (?P<init_ms>{NUM}) ?ms",
        "all releases (`Xms` in 1.x, `Xms.` from about 2.2)",
        "init_us when no summary line gives it (ms x 1000)",
    ),
    _form(
        "model-size",
        "model file size",
        rf"The input model file size \(MB\): (?P<model_size_mb>{NUM})",
        "about TF 2.2 - today",
        "model_size_mb",
    ),
    _form(
        "mem-rss-overall",
        "resident set size",
        rf"\[Overall\] - Memory usage: max resident set size = (?P<peak_mem_mb>{NUM}) MB",
        "about TF 2.0 - 2.1 (the process's max RSS over the run, not a delta)",
        "peak_mem_mb (the `[Init Phase]` twin is absolute RSS after init: not read)",
    ),
    _form(
        "mem-peak-2.2",
        "footprint",
        rf"Peak memory footprint \(MB\): init=(?P<mem_init_mb>{NUM}) "
        rf"overall=(?P<mem_overall_mb>{NUM})",
        "about TF 2.2 - 2.4 (seen in a v2.4.0 build); deltas from the start of the tool",
        "mem_init_mb, mem_overall_mb",
    ),
    _form(
        "mem-delta",
        "footprint",
        rf"Memory footprint delta from the start of the tool \(MB\): "
        rf"init=(?P<mem_init_mb>{NUM}) overall=(?P<mem_overall_mb>{NUM})",
        "about TF 2.5 - today, LiteRT",
        "mem_init_mb, mem_overall_mb",
    ),
    _form(
        "mem-peak-monitor",
        "footprint",
        rf"Overall peak memory footprint \(MB\) via periodic monitoring: "
        rf"(?P<peak_mem_mb>{NUM})",
        "about TF 2.5 - today, with --report_peak_memory_footprint",
        "peak_mem_mb",
    ),
    _form(
        "delegate-replacing",
        "with delegate (",
        r"Replacing (?P<nodes>\d+)(?: out of (?P<total>\d+))? node\(s\) with delegate "
        r"\((?P<name>[^)]*)\) node(?:, yielding (?P<partitions>\d+) partitions)?",
        "about TF 2.0 - today; `for the whole graph` by TF 2.11, then `N out of M ...`"
        " `for subgraph K` (2024-26 logs)",
        "delegated_nodes, total_nodes (per delegate)",
    ),
    _form(
        "delegate-nodes-of",
        "nodes delegated out of",
        r"^(?P<name>\S+) delegate: (?P<nodes>\d+) nodes delegated out of (?P<total>\d+) "
        r"nodes(?: with (?P<partitions>\d+) partitions)?",
        "about TF 2.2 - today (Hexagon, QNN and other delegates on GraphPartitionHelper)",
        "delegated_nodes, total_nodes (per delegate)",
    ),
    _form(
        "delegate-applied",
        "pplied",
        r"^Explicitly applied (?P<name>.+?) delegate, and the model graph will be "
        r"(?P<extent>completely|partially) executed (?:by|w/) the delegate"
        r"(?: w/ (?P<kernels>\d+) delegate kernels)?",
        "about TF 2.3 - today (benchmark_tflite_model.cc)",
        "delegate, delegation = full / partial",
    ),
    _form(
        "delegate-unused",
        "pplied",
        r"^Though (?P<name>.+?) delegate is explicitly applied, the model graph will not "
        r"be executed by the delegate",
        "about TF 2.3 - today",
        "delegate, delegation = none",
    ),
    _form(
        "delegate-applied-2.2",
        "pplied",
        r"^Applied (?P<name>.+?) delegate, and the model graph will be "
        r"(?P<extent>completely|partially) executed w/ the delegate"
        r"(?: w/ (?P<kernels>\d+) delegate kernels)?",
        "about TF 2.2 (before the `Explicitly applied` wording)",
        "delegate, delegation = full / partial",
    ),
    _form(
        "delegate-applied-old",
        "pplied",
        r"^Applied (?P<name>\S+) delegate\.?$",
        "label_image and TF 2.1-era tools; not seen from benchmark_model itself",
        "delegate",
    ),
)
FORMS_BY_NAME: dict[str, LineForm] = {form.name: form for form in FORMS}
