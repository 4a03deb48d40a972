"""Plain JSON values from frozen records, and content digests over their canonical form."""

from __future__ import annotations

import collections.abc
import functools
import hashlib
import ipaddress
import json
import types
import typing
from collections.abc import Iterator
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
    """One spelling per content: sorted keys, no insignificant white space, UTF-8 text.

    The same text as `canonical_text(jsonable(value))`, but json's own encoder walks the
    lists, dicts and plain values (most of a plan or snapshot) and `_one_level` is called only
    for records, addresses and times: several times faster at 50,000 services, and no second
    copy of the whole value as JSON objects. A dict with keys other than text (which json would
    order and spell differently) goes the slow way.
    """
    if not _text_keys(value):
        return canonical_text(jsonable(value))
    return json.dumps(
        value,
        default=_one_level,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        check_circular=False,
    )


def _text_keys(value: Any) -> bool:
    """Whether every dict in the lists and dicts of `value` is keyed by text (records inside
    are checked when `_one_level` opens them)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str or (isinstance(item, _NESTED) and not _text_keys(item)):
                return False
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, _NESTED) and not _text_keys(item):
                return False
    return True


_NESTED = (dict, list, tuple)


def _one_level(value: Any) -> Any:
    """What `jsonable` makes of a value json cannot spell, one level deep: json's encoder
    comes back here for what is inside."""
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _field_names(kind)
    if names is not None:
        out = {}
        for name in names:
            item = getattr(value, name)
            if isinstance(item, _NESTED) and not _text_keys(item):
                item = jsonable(item)
            out[name] = item
        return out
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "items"):
        return {str(k): v if _text_keys(v) else jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return jsonable(value)
    if isinstance(value, _ADDRESSES):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{kind.__name__} is not JSON")


def canonical_text(plain: Any) -> str:
    """The canonical spelling of values that are JSON already (no second walk over them)."""
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    """The digest of `value`'s canonical text, hashed piece by piece: a snapshot of 50,000
    services is never one 30 MB string (and its bytes) at once."""
    hasher = hashlib.sha256()
    for piece in canonical_pieces(value):
        hasher.update(piece.encode("utf-8"))
    return "sha256:" + hasher.hexdigest()


def digest_text(text: str) -> str:
    hasher = hashlib.sha256()
    for start in range(0, len(text), _PIECE):
        hasher.update(text[start : start + _PIECE].encode("utf-8"))
    return "sha256:" + hasher.hexdigest()


_PIECE = 1 << 20
_ENTRIES = 2_000
"""Entries of a large mapping serialised at once: pieces of about a megabyte."""


def canonical_pieces(value: Any, depth: int = 2) -> Iterator[str]:
    """`canonical_json(value)` in pieces whose concatenation is exactly that text: mappings
    down to `depth` (a record opened like `jsonable` opens it) go a slice of sorted keys at a
    time."""
    if depth > 0 and not isinstance(value, dict) and _is_record(value):
        value = _one_level(value)
    if depth <= 0 or not isinstance(value, dict) or not value or not _text_keys(value):
        yield canonical_json(value)
        return
    keys = sorted(value)
    yield "{"
    for start in range(0, len(keys), _ENTRIES):
        if start:
            yield ","
        chunk = keys[start : start + _ENTRIES]
        if len(chunk) == 1 or depth > 1:
            for position, key in enumerate(chunk):
                yield ("," if position else "") + json.dumps(key, ensure_ascii=False) + ":"
                yield from canonical_pieces(value[key], depth - 1)
        else:
            yield canonical_json({key: value[key] for key in chunk})[1:-1]
    yield "}"


def _is_record(value: Any) -> bool:
    return type(value) in _FIELD_NAMES or (is_dataclass(value) and not isinstance(value, type))


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
