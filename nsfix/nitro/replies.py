"""Reads NITRO replies: payloads, typed NitroErrors, bulk per-record results, secrets redacted."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from nsfix.nitro.errors import (
    NOT_ATTEMPTED,
    ItemResult,
    NitroAuthError,
    NitroBulkError,
    NitroError,
    NitroExists,
    NitroNotAuthorized,
    NitroNotFound,
    NitroProtocolError,
    NitroSessionExpired,
    NitroTransportError,
)
from nsfix.nitro.transport import RETRY_ANY_STATUS, RETRY_IDEMPOTENT_STATUS, Call, Reply

log = logging.getLogger("nsfix.nitro")

# "Session expired or killed" (444), "Not logged in or connection timed out" (1027),
# and the two "not logged in" codes (1026, 352).
SESSION_EXPIRED_CODES = frozenset({444, 1027, 1026, 352})
LOGIN_REFUSED_CODES = frozenset({354, 355})
LOGIN_CHALLENGED = 1034

_CODE_ERRORS: dict[int, type[NitroError]] = {
    258: NitroNotFound,
    273: NitroExists,
    354: NitroAuthError,
    355: NitroAuthError,
    2138: NitroNotAuthorized,
    1243: NitroBulkError,
    **dict.fromkeys(SESSION_EXPIRED_CODES, NitroSessionExpired),
}
_STATUS_ERRORS: dict[int, type[NitroError]] = {
    404: NitroNotFound,
    409: NitroExists,
    403: NitroNotAuthorized,
}
_EXCERPT_CHARS = 120


class Redactor:
    """The secrets of one session (password, tokens), to be cut out of any text shown."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def remember(self, secret: str) -> None:
        if secret:
            self._secrets.update({secret, quote(secret, safe=""), json.dumps(secret)[1:-1]})

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def expired(reply: Reply) -> bool:
    """True when the reply says the session is gone, for the whole request or any bulk record."""
    if reply.errorcode() in SESSION_EXPIRED_CODES:
        return True
    items = reply.payload.get("response") if reply.payload else None
    # PY SDK notes that bulk requests report the expiry per item, inside HTTP 200/207.
    return isinstance(items, list) and any(
        isinstance(item, dict) and item.get("errorcode") in SESSION_EXPIRED_CODES for item in items
    )


def records_in(resource: str, payload: Mapping[str, Any], call: Call) -> list[dict[str, Any]]:
    """The objects under the resource key: [] when absent, a lone object as a 1-element list."""
    value = payload.get(resource)
    if value is None:
        # Some types come back with different capitalisation (e.g. 'Interface').
        value = next((v for k, v in payload.items() if k.lower() == resource.lower()), None)
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    raise NitroProtocolError(
        f"key {resource!r} holds {type(value).__name__}, expected a list of objects",
        method=call.method,
        resource=call.resource,
    )


class ReplyReader:
    """Turns the replies of one appliance into payloads or typed errors fit to show a user."""

    def __init__(self, url: str, username: str, redact: Callable[[str], str]) -> None:
        self._url = url
        self._username = username
        self._redact = redact

    def check(self, call: Call, reply: Reply) -> dict[str, Any]:
        """Return the payload of a successful reply ({} for an empty body), or raise."""
        status = reply.status
        if 300 <= status < 400:
            location = self._redact(reply.headers.get("Location", "?"))[:_EXCERPT_CHARS]
            raise NitroProtocolError(
                f"the appliance redirected to {location}; use that address as the URL "
                "(redirects are not followed so the session token stays with the appliance)",
                http_status=status,
                method=call.method,
                resource=call.resource,
            )
        if status >= 400 or status < 200:
            if reply.errorcode() is not None:
                raise self._error(call, reply)
            if status in RETRY_ANY_STATUS | RETRY_IDEMPOTENT_STATUS:
                raise NitroTransportError(
                    f"HTTP {status} {reply.reason} from {self._url}",
                    http_status=status,
                    outcome_unknown=call.is_write and status in RETRY_IDEMPOTENT_STATUS,
                    method=call.method,
                    resource=call.resource,
                )
            if reply.problem is not None:
                raise self._protocol_error(call, reply)
            cls = NitroAuthError if call.resource == "login" else _STATUS_ERRORS.get(status)
            raise (cls or NitroError)(
                f"HTTP {status} {reply.reason} without a NITRO error body",
                http_status=status,
                method=call.method,
                resource=call.resource,
            )
        if reply.problem is not None:
            raise self._protocol_error(call, reply)
        payload = reply.payload or {}
        warning = reply.headers.get("X-NITRO-WARNING")
        if warning or status == 209:
            log.warning(
                "%s %s: NITRO warning: %s",
                call.method,
                call.resource,
                self._redact(warning or str(payload.get("message", "")))[:200],
            )
        code = payload.get("errorcode", 0)
        if not isinstance(code, int) or isinstance(code, bool):
            raise NitroProtocolError(
                f"errorcode is {code!r}, expected a number",
                http_status=status,
                method=call.method,
                resource=call.resource,
            )
        if status == 207:
            raise self._error(call, reply)
        if code != 0:
            severity = str(payload.get("severity", "")).upper()
            if severity == "WARNING" or status == 209:
                if not warning:
                    log.warning(
                        "%s %s: NITRO warning %d: %s",
                        call.method,
                        call.resource,
                        code,
                        self._redact(str(payload.get("message", "")))[:200],
                    )
                return payload
            raise self._error(call, reply)
        return payload

    def write_results(self, payload: Mapping[str, Any], records: int | None) -> list[ItemResult]:
        """One ItemResult per record of a write that check() accepted (all ok, or warnings)."""
        code = payload.get("errorcode", 0)
        message = str(payload.get("message", "Done"))
        severity = str(payload.get("severity", "NONE"))
        if records is None:
            return [ItemResult(0, code, self._redact(message), severity)]
        return [ItemResult(i, 0, "Done", "NONE") for i in range(records)]

    def _error(self, call: Call, reply: Reply) -> NitroError:
        payload = reply.payload or {}
        code = reply.errorcode()
        message = self._redact(str(payload.get("message") or "no message"))[:300]
        severity = payload.get("severity")
        details: dict[str, Any] = {
            "http_status": reply.status,
            "errorcode": code,
            "severity": severity if isinstance(severity, str) else None,
            "method": call.method,
            "resource": call.resource,
        }
        if call.resource == "login":
            if code in LOGIN_REFUSED_CODES or reply.status == 401:
                message = f"login refused for user {self._username!r}: {message}"
            return NitroAuthError(message, **details)
        if reply.status == 207 or code == 1243:
            return NitroBulkError(message, results=self._bulk_results(call, reply), **details)
        cls = _CODE_ERRORS.get(code) if code is not None else None
        cls = cls or _STATUS_ERRORS.get(reply.status) or NitroError
        return cls(message, **details)

    def _bulk_results(self, call: Call, reply: Reply) -> list[ItemResult]:
        items = reply.payload.get("response") if reply.payload else None
        expected = call.records
        if not isinstance(items, list) or (expected is not None and len(items) > expected):
            problem = "a bulk reply without a matching 'response' list"
            raise self._protocol_error(call, reply, problem)
        results: list[ItemResult] = []
        for index, item in enumerate(items):
            code = item.get("errorcode") if isinstance(item, dict) else None
            if not isinstance(code, int) or isinstance(code, bool):
                raise self._protocol_error(call, reply, f"bulk item {index} without an errorcode")
            results.append(
                ItemResult(
                    index,
                    code,
                    self._redact(str(item.get("message", "")))[:300],
                    str(item.get("severity", "")),
                )
            )
        for index in range(len(results), expected or 0):
            results.append(
                ItemResult(
                    index,
                    NOT_ATTEMPTED,
                    "not attempted: the appliance stopped at an earlier failure (onerror=exit)",
                    "NONE",
                )
            )
        return results

    def _protocol_error(
        self, call: Call, reply: Reply, problem: str | None = None
    ) -> NitroProtocolError:
        excerpt = self._redact(reply.head)[:_EXCERPT_CHARS]
        return NitroProtocolError(
            f"{problem or reply.problem}; it starts with {excerpt!r}",
            http_status=reply.status,
            method=call.method,
            resource=call.resource,
        )
