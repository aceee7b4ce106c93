"""Proof of what ran a trial: from its log and the compute unit it asked for, a verdict.

A delegate that was asked for but took none or only part of the graph is the
commonest silent surprise in mobile latency figures: the model ran on the CPU,
or bounced between the CPU and the accelerator, and the figure passes for the
accelerator's. `prove(parsed, accelerator)` reads what the run's own log
printed (`DelegationEvidence`, gathered by the reader; no device is asked
anything) and says which delegate ran, how many of the graph's nodes it took,
in how many partitions, and a verdict:

- `applied`: the delegate took every node (for `cpu`: no accelerator delegate
  took any, XNNPACK applied by default or not);
- `partial`: it took some nodes; the rest ran on the CPU;
- `fallback`: it was asked for but not applied, took no node (`Though GPU
  delegate is explicitly applied, the model graph will not be executed by the
  delegate.`), or failed to apply and the model ran on the CPU regardless;
- `failed`: it failed to apply (or the run ended before it could) and the run
  ended without a result;
- `unknown`: the log stops before it says (cut during start-up, or no run).

Partitions are the delegate's own: the parts of the graph it runs, which the
logs state as `with K partitions` (a delegate's own count line), `w/ K delegate
kernels` (the tool), or one when the tool says `completely executed`. The
runtime's `Replacing ... yielding K partitions` counts every part, the CPU's
between too; it is `graph_partitions`, and gives the delegate's count only when
the delegate took every node.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harness.logs.accelerator import CPU, Accelerator, accelerator_for, parse_accelerator
from harness.logs.delegates import DelegateSeen, DelegationEvidence
from harness.logs.figures import ParsedOutput
from harness.logs.proof import DelegationProof, Verdict

_ENDED = frozenset({"failed", "crashed", "timeout"})  # a run that stopped without a result


@dataclass(frozen=True)
class _Judged:
    verdict: Verdict
    nodes: int | None
    total: int | None
    partitions: int | None
    graph_partitions: int | None
    reason: str


def prove(parsed: ParsedOutput, accelerator: Accelerator | str | None = None) -> DelegationProof:
    """The proof of what ran the log's (last) run, against `accelerator` (a spelling of
    `harness.logs.accelerator`; None: the unit the log's own flags asked for)."""
    evidence = parsed.evidence
    if accelerator is None:
        unit, inferred = infer_accelerator(evidence), True
    else:
        unit = (
            accelerator if isinstance(accelerator, Accelerator) else parse_accelerator(accelerator)
        )
        inferred = False
    if unit.delegate is None:
        seen, judged = _judge_cpu(evidence, parsed)
    else:
        seen = evidence.seen(unit.delegate)
        judged = _judge(seen, unit.delegate, evidence, parsed)
    name = None if seen is None else seen.name
    if unit.delegate is not None:
        name = unit.delegate if seen is None or unit.delegate == "EXTERNAL" else seen.name
    return DelegationProof(
        unit.spec, inferred, name, None if seen is None else seen.node, judged.nodes,
        judged.total, judged.partitions, judged.graph_partitions, judged.verdict, judged.reason,
    )  # fmt: skip


def infer_accelerator(evidence: DelegationEvidence) -> Accelerator:
    """The unit the log asked for: the first delegate asked for that took the graph (else
    the first asked for); with no flags echoed, the one the tool says it applied, else an
    accelerator delegate the runtime shows replacing nodes (or failing to); else the CPU."""
    names = [name for name in evidence.asked if name != "XNNPACK"]
    if not names:
        names = [s.name for s in evidence.delegates if s.applied and s.name != "XNNPACK"]
    if not names:  # a delegate that replaced nodes, even if it then failed to apply
        names = [
            s.name for s in evidence.delegates
            if s.name != "XNNPACK" and (s.counted or s.voided or s.failed)
        ]  # fmt: skip
    if not names:
        return CPU
    took = [n for n in names if _judge(evidence.seen(n), n, evidence, None).verdict in _TOOK]
    return accelerator_for(
        (took or names)[0], gpu_fp32=evidence.gpu_fp32, nnapi_name=evidence.nnapi_name,
        external_path=evidence.external_path,
    )  # fmt: skip


_TOOK = ("applied", "partial")


def delegation_warnings(parsed: ParsedOutput, proof: DelegationProof) -> list[str]:
    """One sentence per delegate asked for (or explicitly applied) that took no node or only
    part of the graph, or that the log never shows delegating."""
    evidence = parsed.evidence
    names = list(evidence.asked)
    names += [s.name for s in evidence.delegates if s.applied and s.name not in names]
    own = proof.delegate
    if own is not None and own not in ("XNNPACK", *names) and not proof.inferred:
        names.append(own)  # the unit's own delegate, asked for by the caller
    out: list[str] = []
    for name in names:
        judged = _judge(evidence.seen(name), name, evidence, parsed)
        if judged.verdict in ("partial", "fallback", "unknown"):
            out.append(judged.reason)
    return out


def _judge_cpu(
    evidence: DelegationEvidence, parsed: ParsedOutput
) -> tuple[DelegateSeen | None, _Judged]:
    """A CPU run: ok whatever XNNPACK took; not what was asked if an accelerator took nodes."""
    for seen in evidence.delegates:
        if seen.name != "XNNPACK":
            judged = _judge(seen, seen.name, evidence, parsed)
            if judged.verdict in _TOOK:
                reason = f"{_took(seen.name, judged)}, though the CPU was asked for"
                return seen, _replace(judged, "partial", reason)
    xnnpack = evidence.seen("XNNPACK")
    status = parsed.status
    if xnnpack is not None and xnnpack.failed and status in _ENDED:
        return xnnpack, _failed_to_apply(xnnpack, "XNNPACK", ended=True)
    if not evidence.graph_ready and status in _ENDED:
        return None, _Judged("failed", None, None, None, None, _never_set_up(parsed))
    if not evidence.graph_ready and status != "ok":
        return None, _Judged("unknown", None, None, None, None, _cut(parsed))
    if xnnpack is None or not (xnnpack.counted or xnnpack.applied):
        return None, _Judged("applied", None, None, None, None, "the CPU ran the graph")
    judged = _judge(xnnpack, "XNNPACK", evidence, parsed)
    return xnnpack, _replace(judged, "applied", f"the CPU ran the graph; {judged.reason}")


def _judge(
    seen: DelegateSeen | None,
    name: str,
    evidence: DelegationEvidence,
    parsed: ParsedOutput | None,
) -> _Judged:
    """One delegate against the log: what it took, and the verdict were it the one asked for.
    Without `parsed` (while inferring the unit) the run is taken as having gone on."""
    status = parsed.status if parsed is not None else "ok"
    ended = status in _ENDED
    if seen is not None and seen.failed:
        return _failed_to_apply(seen, name, ended=ended or not evidence.graph_ready)
    if seen is None or not (seen.counted or seen.applied or seen.invoke_failed):
        if ended and not evidence.graph_ready:
            reason = _never_set_up(parsed) if parsed is not None else "the run ended"
            return _Judged("failed", None, None, None, None, f"{name} delegate: {reason}")
        unseen = f"{name} delegate was asked for but the log shows no delegation to it"
        if evidence.graph_ready or status == "ok":
            return _Judged(
                "fallback", None, None, None, None, f"{unseen}: the model ran without it"
            )
        reason = f"{unseen} (it stops before the model was set up)"
        return _Judged("unknown", None, None, None, None, reason)
    nodes, total, partitions, graph_partitions = _counts(seen)
    if seen.invoke_failed and ended:
        reason = f"{name} delegate failed while running: {seen.invoke_failed}"
        return _Judged("failed", nodes, total, partitions, graph_partitions, reason)
    none = f"{name} delegate was asked for but took no node: the model ran without it"
    if seen.applied == "none" or nodes == 0:
        return _Judged("fallback", 0, total, 0, graph_partitions, none)
    if seen.applied == "full":
        total = total if total is not None else nodes
        partitions = partitions if partitions is not None else 1
        return _applied(name, _Judged("applied", nodes, total, partitions, graph_partitions, ""))
    if seen.applied == "partial" and partitions is None:
        partitions = seen.kernels
    judged = _Judged("partial", nodes, total, partitions, graph_partitions, "")
    if seen.applied == "partial" or _some(nodes, total, graph_partitions):
        rest = "the builtin CPU kernels" if name == "XNNPACK" else "the CPU"
        reason = f"{_took(name, judged, only=True)}; the rest ran on {rest}"
        return _replace(judged, "partial", reason)
    if nodes is not None and total is None and graph_partitions is None:
        reason = f"{name} delegate took {nodes} nodes; the log does not say of how many"
        return _replace(judged, "unknown", reason)
    if graph_partitions == 1 and total is None:
        total = nodes
    partitions = partitions if partitions is not None else graph_partitions
    return _applied(name, _Judged("applied", nodes, total, partitions, graph_partitions, ""))


def _applied(name: str, judged: _Judged) -> _Judged:
    return _replace(judged, "applied", _took(name, judged))


def _some(nodes: int | None, total: int | None, graph_partitions: int | None) -> bool:
    """Whether the counts show nodes left to the CPU."""
    if nodes is None:
        return False
    if total is not None:
        return nodes < total
    return graph_partitions is not None and graph_partitions > 1


def _counts(seen: DelegateSeen) -> tuple[int | None, int | None, int | None, int | None]:
    """(nodes, total, its partitions, all partitions), summed over its lines (one per
    subgraph). Its own partitions come from its own count lines; the runtime's
    `yielding K` counts the CPU's parts too, so it is the delegate's only when the
    delegate took every node."""
    lines = seen.counted
    nodes = sum(c.nodes for c in lines) if lines else None
    total = _sum(c.total for c in lines)
    graph = _sum(c.partitions for c in seen.replaced)
    if seen.claimed:
        partitions = _sum(c.partitions for c in seen.claimed)
    elif nodes is not None and total is not None and nodes in (0, total) and graph is not None:
        partitions = graph if nodes else 0
    else:
        partitions = None
    return nodes, total, partitions, graph


def _sum(values: Iterator[int | None]) -> int | None:
    """The sum, or None when there is nothing or a line does not say."""
    got = list(values)
    if not got or any(v is None for v in got):
        return None
    return sum(v for v in got if v is not None)


def _failed_to_apply(seen: DelegateSeen, name: str, *, ended: bool) -> _Judged:
    """A delegate whose application failed: nothing it printed before counts."""
    total = _sum(c.total for c in seen.voided)
    if ended:
        reason = f"{name} delegate failed to apply ({seen.failed}) and no result followed"
        return _Judged("failed", 0, total, 0, None, reason)
    reason = f"{name} delegate failed to apply ({seen.failed}): the model ran without it"
    return _Judged("fallback", 0, total, 0, None, reason)


def _took(name: str, judged: _Judged, *, only: bool = False) -> str:
    """`GPU delegate took all 65 nodes in 1 delegate kernels`, `... took only 3 of 5 nodes`."""
    nodes, total, partitions = judged.nodes, judged.total, judged.partitions
    if judged.verdict == "applied":
        share = f"all {total} nodes" if total is not None else "the whole graph"
    elif nodes is not None and total is not None:
        share = f"{nodes} of {total} nodes"
    elif nodes is not None:
        share = f"{nodes} nodes"
    else:
        share = "part of the graph"
    parts = f" in {partitions} delegate kernels" if partitions is not None else ""
    return f"{name} delegate took {'only ' if only else ''}{share}{parts}"


def _replace(judged: _Judged, verdict: Verdict, reason: str) -> _Judged:
    return _Judged(
        verdict, judged.nodes, judged.total, judged.partitions, judged.graph_partitions, reason
    )


def _never_set_up(parsed: ParsedOutput | None) -> str:
    why = parsed.error if parsed is not None and parsed.error else "no result"
    return f"the run ended before the model was set up ({why})"


def _cut(parsed: ParsedOutput) -> str:
    return f"the log stops before the model was set up ({parsed.error or 'no result'})"
