"""Dataclasses to JSON and back, by their type hints — the journal's encoding (readable with the
``sqlite3`` shell, unlike pickles, and safe to load)."""

from __future__ import annotations

import json
import types
import typing
from dataclasses import fields, is_dataclass
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from quantum_trader.bus.messages import to_jsonable

T = TypeVar("T")


def dumps(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), separators=(",", ":"), allow_nan=False)


def loads(cls: type[T], text: str) -> T:
    value: T = decode(cls, json.loads(text))
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(tp: Any, data: Any) -> Any:  # noqa: PLR0911 - one branch per kind of type
    """Rebuild ``tp`` from :func:`to_jsonable` output."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return decode(inner[0], data)
    if is_dataclass(tp) and isinstance(tp, type):
        hints = _hints(tp)
        values = {f.name: decode(hints[f.name], data[f.name]) for f in fields(tp) if f.name in data}
        return tp(**values)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in data)
        return tuple(decode(a, v) for a, v in zip(args, data, strict=True))
    if origin in (list, set, frozenset):
        return origin(decode(args[0], v) for v in data)
    if origin is dict:
        return {decode(args[0], k): decode(args[1], v) for k, v in data.items()}
    if tp is float:
        return float("nan") if data is None else float(data)
    if tp is int:
        return int(data)
    return data
