"""The benchmark_model flags that put a trial on a compute unit (`--accelerator`).

The spellings of the units live in `harness.logs.accelerator`, beside the log
reader that proves what ran; this module turns one into the classic tool's
delegate-provider flags (LiteRT `tflite/tools/delegates/*_provider.cc`, and
`use_npu` of LiteRT's own benchmark). Every flag named here must be in the
binary's `--help` listing, or the unit is refused before anything is pushed
(`harness.bench.command`): a release without `--use_hexagon` cannot be asked
for Hexagon, and passing the flag anyway would only draw an "unconsumed flag"
warning and a CPU figure.
"""

from __future__ import annotations

from harness.logs.accelerator import Accelerator

# LiteRT also ships a `benchmark_model` built from `litert/tools/benchmark_litert_model`
# (storage.googleapis.com/litert/binaries/..., the one LiteRT's own docs now name): it
# runs models through the CompiledModel API, not the TFLite interpreter that measured
# the published column, with other accelerator flags and another summary; its
# `--use_npu` is LiteRT's NPU path. Of the two tools' --help listings only its own
# has these (LiteRT sources, 2025-2026).
COMPILED_MODEL_FLAGS = frozenset({"dispatch_library_path", "compiler_plugin_library_path"})
COMPILED_MODEL_URL = "storage.googleapis.com/litert/binaries/VERSION/android_arm64/benchmark_model"


def compiled_model_flag(flags: frozenset[str]) -> str | None:
    """The flag that shows a --help listing is LiteRT's CompiledModel tool's, if one does."""
    found = flags & COMPILED_MODEL_FLAGS
    return min(found) if found else None


def unit_flags(unit: Accelerator) -> list[tuple[str, str]]:
    """(flag name, value) pairs that select `unit`; none for the CPU (XNNPACK as
    `--xnnpack` says)."""
    if unit.unit == "gpu":
        # fp16 is the GPU delegate's default; `gpu-fp32` turns it off explicitly.
        fp32 = [("gpu_precision_loss_allowed", "false")] if unit.spec == "gpu-fp32" else []
        return [("use_gpu", "true"), *fp32]
    if unit.unit == "nnapi":
        named = [("nnapi_accelerator_name", unit.nnapi_name)] if unit.nnapi_name else []
        return [("use_nnapi", "true"), *named]
    if unit.unit == "hexagon":
        return [("use_hexagon", "true")]
    if unit.unit == "npu":
        return [("use_npu", "true")]
    if unit.unit == "external":
        if unit.path is None:
            raise ValueError("external needs a library path (external:PATH)")
        options = external_options(unit.options)
        return [
            ("external_delegate_path", unit.path),
            *([("external_delegate_options", options)] if options else []),
        ]
    return []


def external_options(query: str | None) -> str | None:
    """`key=value&key2=value2` (as given after `?`) in the tool's own form,
    `key:value;key2:value2` (external_delegate_provider.cc splits on `;`, then `:`)."""
    if not query:
        return None
    pairs = [p.partition("=") for p in query.split("&") if p]
    return ";".join(f"{k}:{v}" if sep else k for k, sep, v in pairs) or None
