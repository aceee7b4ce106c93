"""The compute units a trial may ask for, spelled once: `cpu`, `gpu`, `nnapi:NAME`, ...

A trial's log is judged against the unit it asked for (`harness.logs.delegation`),
so the names and the delegate each one expects live here, beside the log reader,
where both the run and `harness parse` find them. Each unit names the delegate
that must take the graph, by the short name `benchmark_model` gives its provider
(`Explicitly applied GPU delegate ...`): `cpu` expects none (XNNPACK, applied by
default or with `--use_xnnpack`, is the CPU), `gpu` and `gpu-fp32` the GPU
delegate, `nnapi` and `nnapi:NAME` NNAPI, `hexagon` Hexagon, `npu` LiteRT's
dispatch delegate (its kernels are named `DispatchDelegate`, LiteRT
`litert/runtime/dispatch/dispatch_delegate.cc`), `external:PATH` whatever the
library at PATH registers (the tool calls it `EXTERNAL`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import OptionError

# unit -> the short name of the delegate it expects (None: no delegate, the CPU itself)
UNIT_DELEGATES: dict[str, str | None] = {
    "cpu": None, "gpu": "GPU", "nnapi": "NNAPI", "hexagon": "Hexagon", "npu": "NPU",
    "external": "EXTERNAL",
}  # fmt: skip
SPELLINGS = "cpu, gpu, gpu-fp32, nnapi, nnapi:NAME, hexagon, npu, external:PATH"
_NNAPI_NAME = re.compile(r"[A-Za-z0-9][\w.-]{0,63}")  # qti-dsp, google-edgetpu, nnapi-reference


@dataclass(frozen=True)
class Accelerator:
    """One compute unit as asked for: its spelling, its unit and the delegate it expects."""

    spec: str  # the canonical spelling: `gpu-fp32`, `nnapi:qti-dsp`, `external:/x/libqnn.so`
    unit: str  # cpu | gpu | nnapi | hexagon | npu | external
    nnapi_name: str | None = None  # nnapi:NAME (`--nnapi_accelerator_name`)
    path: str | None = None  # external:PATH, without its `?key=value` options
    options: str | None = None  # external:PATH?OPTIONS, as given (`--external_delegate_options`)

    @property
    def delegate(self) -> str | None:
        """The short name of the delegate this unit needs, None for the CPU."""
        return UNIT_DELEGATES[self.unit]

    def __str__(self) -> str:
        return self.spec


CPU = Accelerator("cpu", "cpu")


def parse_accelerator(text: str, *, option: str = "--accelerator") -> Accelerator:
    """`gpu` -> Accelerator; OptionError (exit 2) naming `option` for anything else.

    `external` without a path is accepted too: reading a log needs no path (the
    delegate names itself there), and a log's own flags may not echo one.
    """
    spec = text.strip()
    if spec in ("cpu", "gpu", "nnapi", "hexagon", "npu", "external"):
        return Accelerator(spec, spec)
    if spec == "gpu-fp32":
        return Accelerator(spec, "gpu")
    if spec.startswith("nnapi:"):
        name = spec[len("nnapi:") :]
        if _NNAPI_NAME.fullmatch(name):
            return Accelerator(spec, "nnapi", nnapi_name=name)
        raise OptionError(
            f"{option}: {spec!r} names no NNAPI accelerator (nnapi:NAME, e.g. nnapi:qti-dsp)",
            option=option,
        )
    if spec.startswith("external:"):
        path, _, options = spec[len("external:") :].partition("?")
        if path and "\n" not in spec:
            return Accelerator(spec, "external", path=path, options=options or None)
        raise OptionError(
            f"{option}: {spec!r} needs the delegate library's path (external:PATH)",
            option=option,
        )
    raise OptionError(f"{option}: unknown compute unit {spec!r}; one of {SPELLINGS}", option=option)


def accelerator_for(
    delegate: str | None,
    *,
    gpu_fp32: bool = False,
    nnapi_name: str | None = None,
    external_path: str | None = None,
) -> Accelerator:
    """The unit whose delegate is `delegate` (a short name), as a log's flags describe it."""
    if delegate == "GPU":
        return Accelerator("gpu-fp32" if gpu_fp32 else "gpu", "gpu")
    if delegate == "NNAPI":
        if nnapi_name and _NNAPI_NAME.fullmatch(nnapi_name):
            return Accelerator(f"nnapi:{nnapi_name}", "nnapi", nnapi_name=nnapi_name)
        return Accelerator("nnapi", "nnapi")
    if delegate in ("Hexagon", "NPU"):
        return Accelerator(delegate.lower(), delegate.lower())
    if delegate is None or delegate == "XNNPACK":
        return CPU
    if external_path and "\n" not in external_path:
        return Accelerator(f"external:{external_path}", "external", path=external_path)
    return Accelerator("external", "external")
