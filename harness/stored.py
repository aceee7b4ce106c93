"""Frozen records that read and write their stored JSON object exactly.

meta.json and the device records in it are read back by `check`, `report`,
`trend` and `--resume`, and written again by a resume. Readers want typed
records, not dicts read with `.get`; a resume must write back what it read,
byte for byte. So a `Stored` record converts each value by its field's
annotation (a record, or any type with `from_dict` / `to_dict`, by its own
methods; a JSON list to a tuple, an object to a mapping), remembers which
keys it was read with (a key an older harness did not write stays absent when
written back) and keeps the keys it does not know in `extra` (a newer
harness's additions survive a resume).

A record built in code (not read) writes every field, except the optional
keys (`OPTIONAL`), which are written only when they differ from their default.
`from_dict` converts, it does not check: a reader of a file a person may have
edited (meta.json, profiles.jsonl) checks the values first, against the same
annotations (`harness.results.shapes.fields_checker`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union

S = TypeVar("S", bound="Stored")

_OPTIONAL = "stored_optional"
_OWN = ("extra", "stored_keys")  # the base's bookkeeping, not stored keys


# `field(default=..., metadata=OPTIONAL)`: a key written only when its value is not the default.
OPTIONAL: Mapping[str, bool] = {_OPTIONAL: True}


@dataclass(frozen=True)
class Stored:
    """Base of records stored as JSON objects (see the module docstring)."""

    # Keys this version does not know, as read (written back unchanged).
    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True, repr=False)
    # The keys the record was read with; None for a record built in code.
    stored_keys: frozenset[str] | None = field(
        default=None, kw_only=True, repr=False, compare=False
    )

    @classmethod
    def field_types(cls) -> dict[str, object]:
        """Stored key -> its type, in field order (what the checker of stored values reads)."""
        return dict(_field_types(cls))

    @classmethod
    def from_dict(cls: type[S], data: Mapping[str, Any]) -> S:
        """The record of a stored (and checked) object; an absent key gets the field's
        default, or an empty value of its type, and stays absent when written back."""
        kinds = _field_types(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in _OWN:
                continue
            if f.name in data:
                values[f.name] = _from_json(kinds[f.name], data[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                values[f.name] = _blank(kinds[f.name])
        extra = {k: v for k, v in data.items() if k not in kinds}
        keys = frozenset(k for k in data if k in kinds)
        return cls(**values, extra=extra, stored_keys=keys)

    def to_dict(self) -> dict[str, Any]:
        """The stored object: the keys it was read with, or (built in code) every field
        but optional keys without a value; then the unknown keys it was read with."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in _OWN:
                continue
            value = getattr(self, f.name)
            if self.stored_keys is not None:
                if f.name not in self.stored_keys:
                    continue
            elif f.metadata.get(_OPTIONAL) and value == _default(f):
                continue
            out[f.name] = to_json(value)
        out.update((k, to_json(v)) for k, v in self.extra.items() if k not in out)
        return out

    def has(self, name: str) -> bool:
        """Whether the record holds key `name` (it was read with it, or built in code)."""
        return self.stored_keys is None or name in self.stored_keys

    def stored(self, name: str) -> Any:
        """The value of key `name` as stored: None when the record was read without it."""
        return getattr(self, name) if self.has(name) else None

    def replace(self: S, **changes: Any) -> S:
        """A copy with `changes`; a read record then holds (and writes) those keys too."""
        keys = None if self.stored_keys is None else self.stored_keys | frozenset(changes)
        return dataclasses.replace(self, **changes, stored_keys=keys)


def to_json(value: Any) -> Any:
    """A stored value as plain JSON: records as objects, tuples as lists, sets sorted."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):  # a record, or a type like one
        return to_dict()
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value


_TYPES: dict[type[Stored], Mapping[str, Any]] = {}  # a record type -> its stored keys' types


def _field_types(cls: type[Stored]) -> Mapping[str, Any]:
    found = _TYPES.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name not in _OWN}
        _TYPES[cls] = found
    return found


def _from_json(tp: Any, value: Any) -> Any:
    """`value` (checked against `tp`) as the field holds it."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _from_json(args[0], value) if len(args) == 1 else value
    if isinstance(tp, type) and hasattr(tp, "from_dict"):  # a record, or a type like one
        return tp.from_dict(value)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return tuple(_from_json(item, v) for v in value)
    if origin is frozenset:
        return frozenset(value)
    if origin in (dict, Mapping):
        item = typing.get_args(tp)[1]
        return {k: _from_json(item, v) for k, v in value.items()}
    if typing.is_typeddict(tp):
        return dict(value)
    return value


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _blank(tp: Any) -> Any:
    """The value of a required field its record was stored without: empty, never a guess."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType) and type(None) in typing.get_args(tp):
        return None
    if isinstance(tp, type) and issubclass(tp, Stored):
        return tp.from_dict({})
    if origin is Literal:
        raise TypeError(f"no empty value of {tp}: give the field a default")
    empty: dict[Any, Any] = {
        str: "", int: 0, float: 0.0, bool: False, tuple: (), frozenset: frozenset(),
        dict: {}, Mapping: {},
    }  # fmt: skip
    return empty[origin or tp]
