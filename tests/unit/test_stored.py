"""harness.stored: typed records that read and write their JSON object exactly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from harness.stored import OPTIONAL, Stored


@dataclass(frozen=True)
class Inner(Stored):
    name: str
    sizes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outer(Stored):
    count: int
    inner: Inner
    by_key: Mapping[str, Inner] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()
    note: str | None = None
    label: str | None = field(default=None, metadata=OPTIONAL)


def test_a_record_read_writes_back_exactly_what_it_read() -> None:
    stored = {
        "count": 2,
        "inner": {"name": "a", "sizes": [1, 2], "later": True},  # a key of a newer writer
        "by_key": {"x": {"name": "x"}},  # `sizes` absent: an older writer
        "flags": ["a", "b"],
        "label": None,  # an optional key read with null stays, as null
        "extra_top": [1],
    }
    record = Outer.from_dict(stored)
    assert record.inner.sizes == (1, 2) and record.flags == frozenset({"a", "b"})
    assert record.by_key["x"].sizes == () and not record.by_key["x"].has("sizes")
    assert record.by_key["x"].stored("sizes") is None
    assert record.inner.extra == {"later": True} and record.extra == {"extra_top": [1]}
    assert not record.has("note")
    assert record.to_dict() == stored


def test_a_record_built_in_code_writes_every_field_but_unset_optional_keys() -> None:
    record = Outer(count=1, inner=Inner("a", (3,)), flags=frozenset({"b", "a"}))
    assert record.to_dict() == {
        "count": 1, "inner": {"name": "a", "sizes": [3]}, "by_key": {}, "flags": ["a", "b"],
        "note": None,
    }  # fmt: skip
    assert record.replace(label="x").to_dict()["label"] == "x"


def test_replace_adds_the_key_to_a_record_read_without_it() -> None:
    record = Outer.from_dict({"count": 1})
    assert record.to_dict() == {"count": 1}
    assert record.replace(note="n").to_dict() == {"count": 1, "note": "n"}


def test_a_required_field_read_without_its_key_is_empty_not_guessed() -> None:
    record = Outer.from_dict({})
    assert (record.count, record.inner.name, record.inner.sizes) == (0, "", ())
    assert record.to_dict() == {}


def test_field_types_are_the_stored_keys_only() -> None:
    assert list(Inner.field_types()) == ["name", "sizes"]
    with pytest.raises(TypeError):
        Inner.from_dict({"name": "a"}).replace(nope=1)
