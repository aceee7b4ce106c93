"""The one check of a stored value against a type.

Readers of a run (`check`, `report`, `trend`, `--resume`) read meta.json's
sections by attribute: a device's `clusters`, a trial's `cooled`, the run's
`seed`. A string where an object belongs used to end in an AttributeError far
from the file (exit 70). `fields_checker` checks stored values against types
(the TrialRecord's annotations for a trials.jsonl line, the field types of
`harness.results.meta.RunMeta` and its records for meta.json, of
`harness.results.profiles.ProfileRecord` for profiles.jsonl) before anything
is built from them, naming the path
of the first value that breaks its type. Keys a type does not declare are not
checked (a newer harness may add some), and every key may be absent (an older
harness may not have written it); JSON numbers must be finite, and integers
fit in 64 bits (what a table's integer column holds).
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union

from harness.stored import Stored

INT64 = (-(2**63), 2**63 - 1)
_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def describe(tp: Any) -> str:
    """A type as a reader of the message says it: `an integer or null`, `a list`."""
    origin = typing.get_origin(tp)
    if tp is type(None):
        return "null"
    if origin in (Union, types.UnionType):
        return " or ".join(describe(arg) for arg in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (list, tuple, frozenset):
        return "a list"
    if origin in (dict, Mapping) or typing.is_typeddict(tp) or _is_record(tp):
        return "an object"
    return _WORDS.get(tp, getattr(tp, "__name__", str(tp)))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    for tp, word in ((int, "an integer"), (float, "a number"), (str, "a string")):
        if isinstance(value, tp):
            return word
    return "a list" if isinstance(value, list) else "an object"


# A checker takes a value and answers None (it fits) or (path below it, what is wrong):
# (".clusters[0].cpus", "is a string, not a list"). The path is built only on failure.
Problem = tuple[str, str]
Checker = Callable[[Any], "Problem | None"]


def fields_checker(hints: Mapping[str, object]) -> Callable[[Mapping[str, Any]], str | None]:
    """A check of an object's fields against `hints` (name -> type), built once: it answers
    None, or where the first value that breaks its type is and how (`devices['X'].clusters
    is a string, not a list`). Fields `hints` does not name are not checked."""
    check = _fields(dict(hints))

    def problem(data: Mapping[str, Any]) -> str | None:
        found = check(data)
        return None if found is None else f"{found[0].removeprefix('.')} {found[1]}"

    return problem


def _not(value: Any, tp: Any) -> Problem:
    shown = repr(value) if isinstance(value, (str, int, float, bool)) else None
    return (
        "",
        f"{shown} is not {describe(tp)}" if shown else f"is {_kind(value)}, not {describe(tp)}",
    )


def _finite(value: Any) -> Problem | None:
    if isinstance(value, float) and not math.isfinite(value):
        return ("", f"{value!r} is not finite")
    return None


@functools.cache
def _checker(tp: Any) -> Checker:
    """A function checking values against `tp`, built once per type (a trial line has 70)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return lambda _value: None
    if origin in (Union, types.UnionType):
        return _union(tp)
    if origin is Literal:
        allowed = typing.get_args(tp)
        return lambda value: None if value in allowed else _not(value, tp)
    if origin in (list, tuple, frozenset):
        return _list(tp)
    if origin in (dict, Mapping) or typing.is_typeddict(tp) or _is_record(tp):
        return _object(tp)
    return _scalar(tp)


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Stored)


def _scalar(tp: Any) -> Checker:
    if tp is type(None):
        return lambda value: None if value is None else ("", f"is {_kind(value)}, not null")
    if tp is float:

        def check_float(value: Any) -> Problem | None:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return _finite(value)
            return _not(value, tp)

        return check_float
    if tp is int:

        def check_int(value: Any) -> Problem | None:
            if not isinstance(value, int) or isinstance(value, bool):
                return _not(value, tp)
            if not INT64[0] <= value <= INT64[1]:  # what a table's integer column holds
                return ("", "is an integer outside the 64-bit range")
            return None

        return check_int
    return lambda value: None if isinstance(value, tp) else _finite(value) or _not(value, tp)


def _union(tp: Any) -> Checker:
    args = typing.get_args(tp)
    nullable = type(None) in args
    members = [(_checker(arg), describe(arg)) for arg in args if arg is not type(None)]

    def check(value: Any) -> Problem | None:
        if value is None and nullable:
            return None
        found = []
        for check_one, _word in members:
            problem = check_one(value)
            if problem is None:
                return None
            found.append(problem)
        # Of a container of the right kind, say what inside it is wrong.
        kind = _kind(value)
        for (_check, word), problem in zip(members, found, strict=True):
            if word == kind:
                return problem
        return _finite(value) or ("", f"is {kind}, not {describe(tp)}")

    return check


def _list(tp: Any) -> Checker:
    item = typing.get_args(tp)[0]  # list[X], frozenset[X], tuple[X, ...]
    check_item = _checker(item)

    def check(value: Any) -> Problem | None:
        if not isinstance(value, list):
            return ("", f"is {_kind(value)}, not a list")
        for i, v in enumerate(value):
            found = check_item(v)
            if found is not None:
                return (f"[{i}]{found[0]}", found[1])
        return None

    return check


def _object(tp: Any) -> Checker:
    if typing.get_origin(tp) in (dict, Mapping):  # keys are data (serials, labels): shown quoted
        check_item = _checker(typing.get_args(tp)[1])

        def check_dict(value: Any) -> Problem | None:
            if not isinstance(value, dict):
                return ("", f"is {_kind(value)}, not an object")
            for key, v in value.items():
                found = check_item(v)
                if found is not None:
                    return (f"[{key!r}]{found[0]}", found[1])
            return None

        return check_dict
    if _is_record(tp):
        return _fields(tp.field_types())
    return _fields(typing.get_type_hints(tp))


def _fields(hints: Mapping[str, object]) -> Checker:
    fields = {key: _checker(sub) for key, sub in hints.items()}

    def check_fields(value: Any) -> Problem | None:  # keys are names; others are not checked
        if not isinstance(value, dict):
            return ("", f"is {_kind(value)}, not an object")
        for key, v in value.items():
            check_one = fields.get(key)
            found = check_one(v) if check_one is not None else None
            if found is not None:
                return (f".{key}{found[0]}", found[1])
        return None

    return check_fields
