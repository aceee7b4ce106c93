"""Tables for people: the catalogue with computed figures, converted models, one analysis.

Computed figures come from the cache only (`cached_model`), so listing the
catalogue never converts anything and never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.catalogue import Variant
from harness.convert.analysis import ModelAnalysis
from harness.convert.core import ConvertedModel, cached_model
from harness.texttable import Column, draw


@dataclass(frozen=True)
class VariantListing:
    """A catalogue variant and its cached model (None when not converted yet)."""

    variant: Variant
    model: ConvertedModel | None

    def to_dict(self) -> dict[str, Any]:
        """`Variant.to_dict()` plus `computed` (the `harness variants --json` contract)."""
        model = self.model
        computed = None
        if model is not None:
            computed = {
                "quant": model.quant,
                "macs_m": model.macs_m,
                "params_m": model.params_m,
                "macs": model.macs,
                "weight_params": model.weight_params,
                "bias_params": model.bias_params,
                "size_bytes": model.size_bytes,
                "matches_published": model.matches_published,
                "published_note": model.published_check.note,
                "path": str(model.path),
            }
        return {**self.variant.to_dict(), "computed": computed}


def variant_rows(
    variants: Sequence[Variant], *, quant: str = "fp32", cache_root: Path | None = None
) -> list[VariantListing]:
    """Each variant with its cached model's figures (from the cache only: no conversion)."""
    return [VariantListing(v, cached_model(v, quant, cache_root=cache_root)) for v in variants]


def _fmt(value: object, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def _match(model: ConvertedModel | None) -> str:
    """Whether a model's own figures match the published ones, in both tables' words."""
    return "-" if model is None else "yes" if model.matches_published else "MISMATCH"


def format_variant_table(rows: Sequence[VariantListing]) -> str:
    """Published figures, with the cached model's own beside them (`pub/calc`)."""
    columns = [
        Column("id"),
        Column("MACs(M) pub/calc", "right"),
        Column("params(M) pub/calc", "right"),
        Column("top1", "right"),
        Column("top5", "right"),
        Column("pixel1 ms", "right"),
        Column("match"),
    ]
    table = []
    for row in rows:
        pub, model = row.variant.published, row.model
        table.append(
            (
                row.variant.id,
                f"{pub.macs_m} / {_fmt(model.macs_m if model else None)}",
                f"{pub.params_m:.2f} / {_fmt(model.params_m if model else None, '.2f')}",
                f"{pub.top1:.1f}",
                f"{pub.top5:.1f}",
                _fmt(pub.pixel1_ms, ".1f"),
                _match(model),
            )
        )
    cached = sum(1 for row in rows if row.model is not None)
    lines = draw(columns, table)
    lines.append(f"{len(rows)} variants, {cached} with computed figures (converted, in the cache)")
    return "\n".join(lines) + "\n"


def format_models_table(models: Sequence[ConvertedModel]) -> str:
    """One line per converted model: size, MACs, params, match, cache hit, path."""
    columns = [
        Column("id"),
        Column("quant"),
        Column("MB", "right"),
        Column("MACs(M)", "right"),
        Column("params(M)", "right"),
        Column("match"),
        Column("path"),
    ]
    rows = [
        (
            m.variant.id,
            m.quant,
            f"{m.size_bytes / 1e6:.2f}",
            str(m.macs_m),
            f"{m.params_m:.2f}",
            _match(m),
            f"{m.path} ({'cached' if m.cached else 'new'})",
        )
        for m in models
    ]
    return "\n".join(draw(columns, rows)) + "\n"


def format_analysis(path: Path, analysis: ModelAnalysis) -> str:
    """`harness inspect` for people: cost, shapes and ops by type."""
    lines = [
        f"file           {path}",
        f"size           {analysis.size_bytes} bytes ({analysis.size_bytes / 1e6:.2f} MB)",
        f"input          {analysis.input_shape} {analysis.input_dtype}",
        f"output         {analysis.output_shape} {analysis.output_dtype}",
        f"MACs           {analysis.macs} ({analysis.macs // 1_000_000} M)",
        f"weight params  {analysis.weight_params} ({analysis.weight_params / 1e6:.2f} M)",
        f"bias params    {analysis.bias_params}",
        f"ops            {sum(analysis.ops.values())}",
    ]
    lines += [f"  {name:<24} {count}" for name, count in analysis.ops.items()]
    return "\n".join(lines) + "\n"
