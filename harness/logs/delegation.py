"""What a benchmark_model log says about delegation: which delegate took how much of the graph.

A delegate that was asked for but took none or only part of the graph is the
commonest silent surprise in mobile latency figures (the model ran on the CPU,
or bounced between CPU and accelerator), so it becomes a parse warning.
Line forms: `harness.logs.lineforms` (`delegate-*` rows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# What the tool echoes when a delegate is asked for (tool_params.h LOG_TOOL_PARAM; older
# builds put a space before the colon).
ASKED = re.compile(
    r"^(?:Use (?P<flag>gpu|nnapi|hexagon|xnnpack|coreml)\s?: \[(?:1|true)\]"
    r"|External delegate path\s?: \[(?P<ext>.+)\])$",
    re.IGNORECASE,
)
# Replacement-node names (custom_name) by the short name benchmark_tflite_model.cc logs.
_ALIASES = (("gpu", "GPU"), ("nnapi", "NNAPI"), ("hexagon", "Hexagon"),
            ("xnnpack", "XNNPACK"), ("coreml", "Core ML"))  # fmt: skip


def short_name(name: str) -> str:
    """`TfLiteGpuDelegateV2` -> `GPU`; names of other (external) delegates stay as printed."""
    lower = name.lower().replace(" ", "")
    for key, short in _ALIASES:
        if key in lower:
            return short
    return name.strip()


@dataclass
class Delegation:
    """Delegation facts gathered while reading one run."""

    asked: list[str] = field(default_factory=list)  # short names asked for on the command line
    # Per delegate named by an "Explicitly applied" / "Though ... explicitly applied" line:
    # ("full" | "partial" | "none", "w/ N delegate kernels"), in the order printed.
    applied_to: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    # (nodes, total) per delegate: from the runtime's "Replacing ..." lines, and from the
    # delegate's own "N nodes delegated out of M" lines. Both may report one delegation.
    nodes: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    claimed: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)

    def ask(self, match: re.Match[str]) -> None:
        flag = match.group("flag")
        name = short_name(flag) if flag else "EXTERNAL"
        if name not in self.asked:
            self.asked.append(name)

    def replaced(self, name: str, nodes: int, total: int | None) -> None:
        self.nodes.setdefault(short_name(name), []).append((nodes, total))

    def claims(self, name: str, nodes: int, total: int) -> None:
        self.claimed.setdefault(short_name(name), []).append((nodes, total))

    def applied(self, name: str, extent: str, kernels: int | None = None) -> None:
        self.applied_to[short_name(name)] = (extent, kernels)

    @property
    def explicit(self) -> str | None:
        """The delegate that ran the model: the first applied one that took any node."""
        for name, (extent, _) in self.applied_to.items():
            if extent != "none":
                return name
        return next(iter(self.applied_to), None)

    def _lines_of(self, name: str) -> list[tuple[int, int | None]]:
        """A delegate's (nodes, total) lines: its own count when it prints one (with the
        total), else the runtime's Replacing lines; never both, which would count twice."""
        for source in (self.claimed, self.nodes):
            if name in source:
                return source[name]
        if name == "EXTERNAL":  # an external delegate's node carries its own name
            builtin = {short for _, short in _ALIASES}
            for source in (self.claimed, self.nodes):
                for other, lines in source.items():
                    if other not in builtin:
                        return lines
        return []

    def figures(self) -> tuple[str | None, int | None, int | None]:
        """(delegate, delegated_nodes, total_nodes) as a careful reader states them.

        The delegate is the one applied explicitly, else the one that replaced
        nodes (often XNNPACK, applied by default). Nodes are summed over its
        `Replacing` lines (one per subgraph); a graph "completely executed" by
        the delegate has as many nodes in total as it took.
        """
        name = self.explicit or (self.asked[0] if self.asked else None)
        if name is None and (self.claimed or self.nodes):
            name = next(iter(self.claimed or self.nodes))
        if name is None:
            return None, None, None
        lines = self._lines_of(name)
        extent = self.applied_to.get(name, (None, None))[0]
        if extent == "none":
            return name, 0, _total(lines)
        if not lines:
            return name, None, None
        delegated = sum(n for n, _ in lines)
        total = _total(lines)
        if total is None and extent == "full":
            total = delegated
        return name, delegated, total

    def warnings(self) -> list[str]:
        """Say so when a delegate that was asked for took none or only part of the graph."""
        out: list[str] = []
        for name, (extent, kernels) in self.applied_to.items():
            if extent == "none":
                out.append(
                    f"{name} delegate was asked for but took no node: the model ran without it"
                )
            elif extent == "partial":
                out.append(self._partial(name, kernels))
        for name in self.asked:
            if name in self.applied_to:
                continue
            lines = self._lines_of(name)
            if not lines:
                out.append(f"{name} delegate was asked for but the log shows no delegation to it")
                continue
            delegated, total = sum(n for n, _ in lines), _total(lines)
            if delegated == 0:
                out.append(
                    f"{name} delegate was asked for but took no node: the model ran without it"
                )
            elif total is not None and delegated < total:
                out.append(self._partial(name, None))
        return out

    def _partial(self, name: str, kernels: int | None) -> str:
        lines = self._lines_of(name)
        total = _total(lines)
        if lines and total is not None:
            share = f"{sum(n for n, _ in lines)} of {total} nodes"
        else:
            share = "part of the graph"
        in_kernels = f" in {kernels} delegate kernels" if kernels is not None else ""
        return f"{name} delegate took only {share}{in_kernels}; the rest ran on the CPU"


def _total(lines: list[tuple[int, int | None]]) -> int | None:
    """The graph's node count over a delegate's lines, or None when a line does not say."""
    totals = [t for _, t in lines if t is not None]
    return sum(totals) if lines and len(totals) == len(lines) else None
