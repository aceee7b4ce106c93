"""What one run's log says about its delegates, gathered line by line into a frozen record.

The reader (harness.logs.parser) hands every delegate line of a run to a
`DelegateLog`; `DelegateLog.freeze` gives the `DelegationEvidence` that
`harness.logs.delegation.prove` judges. Nothing here decides anything: it keeps
what was printed, per delegate, in the words of the line forms of
`harness.logs.lineforms` (`delegate-*`) and the tool's parameter echo.

One rule is kept while gathering, because only the order of the lines shows
it: node counts printed before the delegate failed to apply (`Replacing ...`
then `Restored original execution plan after delegate application failure.`,
`Failed to apply GPU delegate.`, `Node number 65 (TfLiteGpuDelegateV2) failed to
prepare.`) are not delegation; they are kept apart as `voided`.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

# What the tool echoes when a delegate is asked for (tool_params.h LOG_TOOL_PARAM; older
# builds put a space before the colon), and the two echoes that refine the unit.
ASKED = re.compile(
    r"^(?:Use (?P<flag>gpu|nnapi|hexagon|xnnpack|coreml)\s?: \[(?:1|true)\]"
    r"|External delegate path\s?: \[(?P<ext>.+)\]"
    r"|NNAPI accelerator name\s?: \[(?P<nnapi>[^\]]+)\]"
    r"|Allow lower precision in gpu\s?: \[(?P<fp32>0|false)\])$",
    re.IGNORECASE,
)
# Replacement-node names (custom_name) and provider names, by the short name the tool logs.
_ALIASES = (
    ("gpu", "GPU"), ("ml_drift", "GPU"), ("nnapi", "NNAPI"), ("hexagon", "Hexagon"),
    ("xnnpack", "XNNPACK"), ("coreml", "Core ML"), ("dispatch", "NPU"),
)  # fmt: skip
BUILTIN = frozenset(short for _, short in _ALIASES) | {"EXTERNAL"}
# A delegate that failed to apply (benchmark_tflite_model.cc, subgraph.cc, LiteRT's dispatch
# delegate), failed while running, or whose library did not load (external_delegate.cc:
# the tool then runs without it); the tool's and the runtime's words.
FAILED = re.compile(
    r"Failed to apply (?P<apply>.+?) delegate"
    r"|Node number \d+ \((?P<node>[^)]*)\) failed to (?P<what>prepare|invoke)"
    r"|(?P<restored>Restored original execution plan after delegate application failure)"
    r"|(?P<dispatch>Failed to create a dispatch delegate kernel)"
    r"|(?P<unloaded>Unable to load external delegate from)"
)
_KEEP = 256  # count lines kept per delegate: every subgraph of a model, bounded for app logs


def short_name(name: str) -> str:
    """`TfLiteGpuDelegateV2` -> `GPU`; names of other (external) delegates stay as printed."""
    lower = name.lower().replace(" ", "")
    for key, short in _ALIASES:
        if key in lower:
            return short
    return name.strip()


def is_delegate_node(name: str) -> bool:
    """Whether a `Node number N (NAME)` names a delegate kernel rather than a builtin op."""
    return "delegate" in name.lower() or short_name(name) in BUILTIN


@dataclass(frozen=True)
class Count:
    """One count line: nodes taken, of how many, and the partitions it states."""

    nodes: int
    total: int | None  # the graph's (or subgraph's) nodes, when the line says
    partitions: int | None  # "yielding K partitions" (all parts) or "with K partitions" (its own)


@dataclass(frozen=True)
class DelegateSeen:
    """Everything one run printed about one delegate, by its short name."""

    name: str  # GPU, NNAPI, XNNPACK, Hexagon, NPU, EXTERNAL, or an external node's own name
    node: str | None = None  # the runtime's name for its kernels: TfLiteGpuDelegateV2
    replaced: tuple[Count, ...] = ()  # the runtime's `Replacing N out of M node(s) ...` lines
    claimed: tuple[Count, ...] = ()  # its own `NAME delegate: N nodes delegated out of M ...`
    applied: str | None = None  # the tool's word: full | partial | none | applied (no extent)
    kernels: int | None = None  # `... partially executed by the delegate w/ K delegate kernels`
    failed: str | None = None  # the line saying it failed to apply, if nothing came after it
    voided: tuple[Count, ...] = ()  # counts printed before that failure: not delegation
    invoke_failed: str | None = None  # `Node number N (NAME) failed to invoke.`

    @property
    def counted(self) -> tuple[Count, ...]:
        """Its count lines: its own when it prints them (they carry the total and its own
        partitions), else the runtime's; never both, which would count one delegation twice."""
        return self.claimed or self.replaced


@dataclass(frozen=True)
class DelegationEvidence:
    """What one run's log says about delegation, for `harness.logs.delegation.prove`."""

    asked: tuple[str, ...] = ()  # short names asked for on the command line, in echo order
    nnapi_name: str | None = None  # `NNAPI accelerator name: [qti-dsp]`
    gpu_fp32: bool = False  # `Allow lower precision in gpu: [0]`
    external_path: str | None = None  # `External delegate path: [PATH]`
    delegates: tuple[DelegateSeen, ...] = ()  # in the order the log first names them
    graph_ready: bool = False  # the log got past setting the model up (a session, a phase)

    def seen(self, name: str) -> DelegateSeen | None:
        """The delegate of that short name. `EXTERNAL` is the tool's name for a library's
        delegate, whose kernels carry the library's own name (`TfLiteQnnDelegate`): its
        record joins the tool's lines to the first delegate no builtin name fits."""
        own = next((seen for seen in self.delegates if seen.name == name), None)
        if name != "EXTERNAL":
            return own
        vendor = next((seen for seen in self.delegates if seen.name not in BUILTIN), None)
        if vendor is None or own is None:
            return own or vendor
        return DelegateSeen(
            "EXTERNAL", vendor.node or vendor.name, vendor.replaced, vendor.claimed,
            own.applied, own.kernels, own.failed or vendor.failed, vendor.voided + own.voided,
            vendor.invoke_failed or own.invoke_failed,
        )  # fmt: skip


@dataclass
class _Gathering:
    """One delegate's lines so far (mutable; frozen into a DelegateSeen)."""

    name: str
    node: str | None = None
    replaced: deque[Count] = field(default_factory=lambda: deque(maxlen=_KEEP))
    claimed: deque[Count] = field(default_factory=lambda: deque(maxlen=_KEEP))
    voided: deque[Count] = field(default_factory=lambda: deque(maxlen=_KEEP))
    applied: str | None = None
    kernels: int | None = None
    failed: str | None = None
    invoke_failed: str | None = None

    def freeze(self) -> DelegateSeen:
        return DelegateSeen(
            self.name, self.node, tuple(self.replaced), tuple(self.claimed), self.applied,
            self.kernels, self.failed, tuple(self.voided), self.invoke_failed,
        )  # fmt: skip


class DelegateLog:
    """Gathers one run's delegate lines in the order printed (see the module docstring)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.nnapi_name: str | None = None
        self.gpu_fp32 = False
        self.external_path: str | None = None
        self._seen: dict[str, _Gathering] = {}
        self._last: str | None = None  # the delegate of the latest Replacing line

    def _of(self, name: str) -> _Gathering:
        short = short_name(name)
        if short not in self._seen:
            self._seen[short] = _Gathering(short)
        return self._seen[short]

    def ask(self, match: re.Match[str]) -> None:
        """A parameter echo matched by ASKED."""
        if match.group("nnapi") is not None:
            self.nnapi_name = match.group("nnapi")
            return
        if match.group("fp32") is not None:
            self.gpu_fp32 = True
            return
        flag = match.group("flag")
        if flag is None:
            self.external_path = match.group("ext")
        name = short_name(flag) if flag else "EXTERNAL"
        if name not in self.asked:
            self.asked.append(name)

    def replaced(self, node: str, nodes: int, total: int | None, partitions: int | None) -> None:
        """The runtime's `Replacing N [out of M] node(s) with delegate (NODE) node ...`."""
        seen = self._of(node)
        seen.node = node.strip() or seen.node
        seen.replaced.append(Count(nodes, total, partitions))
        self._last = seen.name

    def claims(self, node: str, nodes: int, total: int, partitions: int | None) -> None:
        """A delegate's own `NODE delegate: N nodes delegated out of M nodes with K partitions`."""
        seen = self._of(node)
        seen.node = node.strip() or seen.node
        seen.claimed.append(Count(nodes, total, partitions))

    def applied(self, name: str, extent: str, kernels: int | None = None) -> None:
        """The tool's `Explicitly applied NAME delegate ...` (or `Though ...`) line."""
        seen = self._of(name)
        if extent == "applied" and seen.applied is not None:
            return  # the old bare wording adds nothing to a line that gave the extent
        seen.applied, seen.kernels = extent, kernels

    def failed(self, name: str | None, line: str) -> None:
        """A failure to apply: by name (`Failed to apply GPU delegate.`, `Node number 65
        (TfLiteGpuDelegateV2) failed to prepare.`) or not (`Restored original execution
        plan ...`: the delegate of the latest Replacing line, if any)."""
        target = short_name(name) if name else self._last
        if target is None:
            return
        seen = self._of(target)
        # The tool's EXTERNAL is the library's delegate: its kernels' counts go too.
        vendors = [g for g in self._seen.values() if g.name not in BUILTIN]
        for gathering in [seen, *vendors] if target == "EXTERNAL" else [seen]:
            gathering.voided.extend(gathering.replaced)
            gathering.voided.extend(gathering.claimed)
            gathering.replaced.clear()
            gathering.claimed.clear()
        seen.applied, seen.kernels = None, None
        seen.failed = line

    def failure(self, match: re.Match[str], line: str) -> None:
        """A line matched by FAILED."""
        if match.group("node") is not None:
            if not is_delegate_node(match.group("node")):
                return  # a builtin op that failed to prepare: not a delegate's failure
            if match.group("what") == "invoke":
                self.invoke_failed(match.group("node"), line)
            else:
                self.failed(match.group("node"), line)
        elif match.group("apply") is not None:
            self.failed(match.group("apply"), line)
        elif match.group("dispatch") is not None:
            self.failed("NPU", line)
        elif match.group("unloaded") is not None:
            self.failed("EXTERNAL", line)
        else:
            self.failed(None, line)

    def invoke_failed(self, name: str, line: str) -> None:
        """`Node number N (NAME) failed to invoke.`: applied, then failed while running."""
        self._of(name).invoke_failed = line

    def freeze(self, *, graph_ready: bool) -> DelegationEvidence:
        """The evidence so far; a failure stays only if no count or applied line came after."""
        delegates = []
        for gathering in self._seen.values():
            seen = gathering.freeze()
            if seen.failed and (seen.replaced or seen.claimed or seen.applied):
                seen = DelegateSeen(
                    seen.name, seen.node, seen.replaced, seen.claimed, seen.applied,
                    seen.kernels, None, seen.voided, seen.invoke_failed,
                )  # fmt: skip
            delegates.append(seen)
        return DelegationEvidence(
            tuple(self.asked), self.nnapi_name, self.gpu_fp32, self.external_path,
            tuple(delegates), graph_ready,
        )  # fmt: skip
