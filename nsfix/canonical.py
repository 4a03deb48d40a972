"""Plain JSON values from frozen records, and content digests over their canonical form."""

from __future__ import annotations

import collections.abc
import functools
import hashlib
import ipaddress
import json
import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

_ADDRESSES = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
)


_PLAIN = (str, int, float, bool, type(None))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


def jsonable(value: Any) -> Any:
    """Frozen records → JSON values: addresses and networks as text, times in ISO 8601."""
    # Plain values first: they are most of a large plan or snapshot (millions of calls).
    if isinstance(value, _PLAIN) and not isinstance(value, Enum):
        return value
    kind = type(value)
    if kind in _FIELD_NAMES or (is_dataclass(value) and not isinstance(value, type)):
        return {name: jsonable(getattr(value, name)) for name in _field_names(kind)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, _ADDRESSES):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def canonical_json(value: Any) -> str:
    """One spelling per content: sorted keys, no insignificant white space, UTF-8 text."""
    return canonical_text(jsonable(value))


def canonical_text(plain: Any) -> str:
    """The canonical spelling of values that are JSON already (no second walk over them)."""
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    return digest_text(canonical_json(value))


def digest_text(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class DecodeError(ValueError):
    """JSON data does not have the shape of the record it should become."""


@functools.cache
def _type_hints(kind: type) -> dict[str, Any]:
    # Resolving a record's annotations costs more than decoding it: a plan or journal of
    # thousands of changes asks for the same few classes over and over.
    return typing.get_type_hints(kind)


def from_jsonable(kind: Any, data: Any, where: str = "$") -> Any:
    """The inverse of `jsonable` for the frozen records nsfix writes (plans, journals)."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return from_jsonable(option, data, where)
            except DecodeError as exc:
                errors.append(str(exc))
        raise DecodeError(errors[0] if errors else f"{where}: unexpected null")
    if is_dataclass(kind) and isinstance(kind, type):
        if not isinstance(data, dict):
            raise DecodeError(f"{where}: expected an object")
        hints = _type_hints(kind)
        values = {}
        for f in fields(kind):
            if f.name in data:
                values[f.name] = from_jsonable(hints[f.name], data[f.name], f"{where}.{f.name}")
            elif f.default is MISSING and f.default_factory is MISSING:
                raise DecodeError(f"{where}: missing field {f.name!r}")
        return kind(**values)
    if origin in (tuple, list):
        args = typing.get_args(kind)
        if not isinstance(data, list):
            raise DecodeError(f"{where}: expected a list")
        item = args[0] if args else Any
        return tuple(from_jsonable(item, v, f"{where}[{i}]") for i, v in enumerate(data))
    if origin in (dict, collections.abc.Mapping):
        args = typing.get_args(kind)
        if not isinstance(data, dict):
            raise DecodeError(f"{where}: expected an object")
        value_kind = args[1] if len(args) == 2 else Any
        return {str(k): from_jsonable(value_kind, v, f"{where}.{k}") for k, v in data.items()}
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(data)
        except ValueError:
            raise DecodeError(f"{where}: {data!r} is not a valid {kind.__name__}") from None
    if kind is datetime or kind is date:
        if not isinstance(data, str):
            raise DecodeError(f"{where}: expected an ISO 8601 time")
        try:
            return kind.fromisoformat(data)
        except ValueError:
            raise DecodeError(f"{where}: {data!r} is not an ISO 8601 time") from None
    if kind is bool:
        if not isinstance(data, bool):
            raise DecodeError(f"{where}: expected true or false")
        return data
    if kind is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise DecodeError(f"{where}: expected a whole number")
        return data
    if kind is str:
        if not isinstance(data, str):
            raise DecodeError(f"{where}: expected text")
        return data
    raise DecodeError(f"{where}: cannot decode {kind!r}")
