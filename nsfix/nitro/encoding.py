"""Spells NITRO requests: URL paths, query strings with names encoded as NITRO expects, bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

NITRO_PREFIX = "/nitro/v1"

Kind = Literal["config", "stat"]
QueryValue = str | int | bool

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_]+")


def check_identifier(value: str, what: str) -> str:
    """Return value if it is a NITRO identifier (resource type, attribute, action, query key).

    These travel unencoded in the URL, so anything else could change the meaning of the request.
    """
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"invalid NITRO {what}: {value!r}")
    return value


def encode_name(name: str) -> str:
    """Encode an object name for the path: percent-encoded twice, as every official client does.

    The appliance decodes the segment twice, so 'a b/c' travels as 'a%2520b%252Fc'.
    """
    if not isinstance(name, str) or name == "":
        raise ValueError(f"object name must be a non-empty string, got {name!r}")
    if name.strip(".") == "" and len(name) <= 2:
        # '.' and '..' would be removed as dot segments by URL normalisation (urllib3 does it),
        # silently turning a named request into one on the parent collection.
        return "%252E" * len(name)
    # quote() raises UnicodeEncodeError (a ValueError) for lone surrogates, which no appliance
    # name can contain.
    return quote(quote(name, safe=""), safe="")


def _text(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_pairs(pairs: Mapping[str, QueryValue]) -> str:
    """Encode args/filter as 'k:v,k2:v2': values encoded once, keys and separators literal."""
    if not pairs:
        raise ValueError("args/filter must not be empty")
    return ",".join(
        f"{check_identifier(key, 'query key')}:{quote(_text(value), safe='')}"
        for key, value in pairs.items()
    )


def encode_attrs(attrs: Iterable[str]) -> str:
    """Comma-join attribute names for attrs=."""
    names = [check_identifier(attr, "attribute name") for attr in attrs]
    if not names:
        raise ValueError("attrs must name at least one attribute")
    return ",".join(names)


def build_path(kind: Kind, resource: str, name: str | None = None) -> str:
    """Return /nitro/v1/<kind>/<resource>[/<name>]."""
    if kind not in ("config", "stat"):
        raise ValueError(f"invalid NITRO API kind: {kind!r}")
    path = f"{NITRO_PREFIX}/{kind}/{check_identifier(resource, 'resource type')}"
    if name is not None:
        path += "/" + encode_name(name)
    return path


def build_target(
    kind: Kind,
    resource: str,
    name: str | None = None,
    *,
    args: Mapping[str, QueryValue] | None = None,
    filter: Mapping[str, QueryValue] | None = None,
    attrs: Sequence[str] | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """Return path plus query string, e.g. /nitro/v1/config/service/a%2520b?attrs=usip.

    Empty args/filter are left out. extra holds plain query arguments (action=, pagesize=,
    count= ...); their values must be letters, digits or '_', which need no encoding.
    """
    query: list[str] = []
    if args:
        query.append("args=" + encode_pairs(args))
    if filter:
        query.append("filter=" + encode_pairs(filter))
    if attrs is not None:
        query.append("attrs=" + encode_attrs(attrs))
    for key, value in extra:
        check_identifier(key, "query key")
        if not _PLAIN_VALUE.fullmatch(value):
            raise ValueError(f"invalid value for query argument {key}: {value!r}")
        query.append(f"{key}={value}")
    path = build_path(kind, resource, name)
    return f"{path}?{'&'.join(query)}" if query else path


def body_text(body: dict[str, Any]) -> str:
    """The JSON body exactly as sent; a dry run prints the same text."""
    return json.dumps(body)
