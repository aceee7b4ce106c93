"""The MobileNet variant families and their published figures.

The figures are package data (`variants.json`), copied from the tables in
tensorflow/models (`research/slim/nets/mobilenet/README.md` for V2, with its
Pixel-1 latency column, and `research/slim/nets/mobilenet_v1.md` for V1).
"""

from __future__ import annotations

import difflib
import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from harness.errors import HarnessError, UnknownVariantError

FAMILIES = ("v1", "v2")
DEFAULT_SELECTION = "v2:*"


@dataclass(frozen=True)
class Published:
    """Figures as published by Google for one variant (None where not published)."""

    macs_m: int
    params_m: float
    top1: float
    top5: float
    pixel1_ms: float | None


@dataclass(frozen=True)
class Variant:
    """One MobileNet variant: a family, a depth multiplier and an input resolution."""

    id: str
    family: str
    depth_multiplier: float
    resolution: int
    published: Published
    checkpoint_url: str | None = None

    @property
    def short(self) -> str:
        """The short form used in selections, e.g. ``v2:1.0_224``."""
        return f"{self.family}:{self.depth_multiplier!r}_{self.resolution}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the `harness variants --json` contract)."""
        return asdict(self)


@lru_cache(maxsize=1)
def all_variants() -> tuple[Variant, ...]:
    """Every known variant, V2 first, in the order of the published tables."""
    raw = json.loads(resources.files(__package__).joinpath("variants.json").read_text("utf-8"))
    return tuple(
        Variant(
            id=v["id"],
            family=v["family"],
            depth_multiplier=float(v["depth_multiplier"]),
            resolution=int(v["resolution"]),
            published=Published(**v["published"]),
            checkpoint_url=v.get("checkpoint_url"),
        )
        for v in raw["variants"]
    )


def get(variant_id: str) -> Variant:
    """The variant with this exact id (or short form), or UnknownVariantError."""
    matches = select(variant_id)
    if len(matches) != 1:
        raise UnknownVariantError(variant_id, _suggest(variant_id))
    return matches[0]


def _expand_short(term: str) -> str:
    """``v2:1.0_*`` -> ``mobilenet_v2_1.0_*``; full ids and globs pass through."""
    if ":" in term:
        family, rest = term.split(":", 1)
        family = family.strip().lower()
        if family not in FAMILIES:
            raise UnknownVariantError(term, [f"{f}:{rest}" for f in FAMILIES])
        return f"mobilenet_{family}_{rest or '*'}"
    return term


def _suggest(term: str) -> list[str]:
    ids = [v.id for v in all_variants()]
    return difflib.get_close_matches(
        _expand_short(term) if ":" in term else term, ids, n=3, cutoff=0.6
    )


def select(
    selection: str | Sequence[str] = DEFAULT_SELECTION,
    *,
    family: str | None = None,
    depth_multipliers: Iterable[float] | None = None,
    resolutions: Iterable[int] | None = None,
) -> list[Variant]:
    """Resolve a user's selection to variants, in catalogue order.

    `selection` is ``all``, a comma list of ids, globs (``mobilenet_v2_0.5_*``)
    or short forms (``v2:1.0_*``). Each term must match something, so a typo is
    an error with suggestions rather than a silently smaller run.
    """
    terms = (
        [t.strip() for t in selection.split(",")] if isinstance(selection, str) else list(selection)
    )
    terms = [t for t in terms if t]
    if not terms:  # `--variants ''` is a slip, not a request for all 38 variants
        shown = selection if isinstance(selection, str) else ",".join(selection)
        raise HarnessError(
            f"the variant selection {shown!r} names no variant",
            hint="give ids, globs or short forms (v2:1.0_*), or all",
        )
    variants = all_variants()
    chosen: set[str] = set()
    for term in terms:
        if term.lower() == "all":
            chosen.update(v.id for v in variants)
            continue
        pattern = _expand_short(term)
        hits = [v.id for v in variants if fnmatch.fnmatchcase(v.id, pattern)]
        if not hits:
            raise UnknownVariantError(term, _suggest(term))
        chosen.update(hits)
    result = [v for v in variants if v.id in chosen]
    if family is not None:
        if family not in FAMILIES:
            raise UnknownVariantError(f"family {family}", list(FAMILIES))
        result = [v for v in result if v.family == family]
    if depth_multipliers is not None:
        wanted = {round(float(d), 3) for d in depth_multipliers}
        result = [v for v in result if round(v.depth_multiplier, 3) in wanted]
    if resolutions is not None:
        wanted_res = {int(r) for r in resolutions}
        result = [v for v in result if v.resolution in wanted_res]
    return result
