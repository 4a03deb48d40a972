"""NITRO requests and responses as the appliance reads and writes them: URLs, queries, bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, unquote_plus

from mocks.envelopes import NitroError, bad_json, bad_json_type, bad_object, bad_path


@dataclass
class NitroRequest:
    """One HTTP request as the appliance sees it (header names lower-case)."""

    method: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class NitroResponse:
    """What the appliance answers; the HTTP layer adds the standard headers."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def split_target(target: str) -> tuple[str, str]:
    """Split a request target into raw path and raw query string."""
    path, _, query = target.partition("?")
    return path, query


def decode_name(segment: str) -> str:
    """Decode a name path segment the way every official client encodes it (twice).

    Normal path decoding first (no `+` to space), then `unquote_plus` once more.
    """
    return unquote_plus(unquote(segment))


def parse_path(path: str) -> tuple[str, str, str | None]:
    """`/nitro/v1/<api>/<type>[/<name>]` into api (config or stat), type and name.

    The type is "" for `/nitro/v1/config/` itself, where legacy clients (Java SDK, nsnitro) POST
    and PUT with the type named only in the body.
    """
    if not path.startswith("/nitro/v1/"):
        raise bad_path()
    segments = path[len("/nitro/v1/"):].split("/")
    api = segments[0].lower()
    if api not in ("config", "stat"):
        raise bad_path()
    if len(segments) < 2 or not segments[1]:
        if api != "config" or any(segments[2:]):
            raise bad_path()
        return api, "", None
    if len(segments) > 3 and any(segments[3:]):
        raise bad_path()
    type_name = unquote(segments[1]).lower()
    name = decode_name(segments[2]) if len(segments) > 2 and segments[2] else None
    return api, type_name, name


def parse_query(query: str) -> dict[str, str]:
    """Raw query parameters (values still percent-encoded); the last one wins."""
    out: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out[unquote_plus(name).lower()] = value
    return out


def query_flag(query: Mapping[str, str], name: str) -> str:
    """A query parameter's value, decoded and lower-cased ("" when absent)."""
    return unquote_plus(query.get(name, "")).lower()


def parse_pairs(raw: str | None) -> dict[str, str]:
    """Parse an `args=` / `filter=` value: `k:v,k2:v2`, each value percent-encoded once.

    When the whole parameter arrives percent-encoded (no literal `:`), decode it once first.
    """
    if not raw:
        return {}
    if ":" in raw:
        out: dict[str, str] = {}
        for item in raw.split(","):
            if not item:
                continue
            key, _, value = item.partition(":")
            out[unquote(key).strip()] = unquote(value)
        return out
    decoded = unquote_plus(raw)
    out = {}
    for item in decoded.split(","):
        if not item:
            continue
        key, _, value = item.partition(":")
        out[key.strip()] = value
    return out


def parse_body(request: NitroRequest) -> tuple[dict[str, Any] | None, NitroError | None]:
    """The JSON object a request carries (also as a form's `object=`), or the error it earns.

    The error is returned rather than raised: whether it matters depends on the request.
    Any content type is read as JSON (application/json, the SDKs' vnd.com.citrix.netscaler.*
    types); a form body is `object=<JSON>`, but the Java SDK also PUTs raw JSON under the form
    content type, so a body that opens like JSON is JSON whatever the header says.
    """
    raw = request.body
    if not raw or not raw.strip():
        return None, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, bad_json()
    ctype = request.headers.get("content-type", "").lower()
    opening = text.lstrip()[:1]
    if opening not in ("{", "[") and (
            "x-www-form-urlencoded" in ctype or text.lstrip().startswith("object=")):
        objects = parse_qs(text, keep_blank_values=True).get("object")
        if not objects:
            return None, bad_json()
        text = objects[0]
    try:
        data = loads(text)
    except json.JSONDecodeError:
        return None, bad_json()
    if not isinstance(data, dict):
        return None, bad_json_type()
    return data, None


def loads(text: str) -> Any:
    """JSON as NITRO reads it: trailing commas before `}` or `]` are allowed.

    The Java SDK builds its bodies by hand and always leaves them in bulk and unset requests
    (`"params":{"action":"unset",}`, `"service":[{…},{…},]`); appliances take them.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        relaxed = _without_trailing_commas(text)
        if relaxed == text:
            raise
        return json.loads(relaxed)


def _without_trailing_commas(text: str) -> str:
    out: list[str] = []
    in_string = escaped = False
    for position, char in enumerate(text):
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == ",":
            ahead = position + 1
            while ahead < len(text) and text[ahead] in " \t\r\n":
                ahead += 1
            if ahead < len(text) and text[ahead] in "}]":
                continue
        out.append(char)
    return "".join(out)


# Keys of a request body that are not the resource: the session and the query-like params.
BODY_EXTRAS = ("sessionid", "params")


def type_in_body(payload: Mapping[str, Any] | None) -> str:
    """The resource type a body names (for requests to `/nitro/v1/config/` itself)."""
    names = [k for k in (payload or {}) if k not in BODY_EXTRAS]
    if len(names) != 1:
        raise bad_object(",".join(names))
    return names[0].lower()
