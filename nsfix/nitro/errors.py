"""Typed errors of the NITRO client, carrying NITRO's errorcode, message and severity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nsfix.errors import NsfixError

# Per-item marker for bulk entries the appliance never reached (onerror=exit stopped earlier).
NOT_ATTEMPTED = -1


@dataclass(frozen=True)
class ItemResult:
    """Outcome of one record of a bulk request, in the order the records were sent."""

    index: int
    errorcode: int
    message: str
    severity: str

    @property
    def ok(self) -> bool:
        # A warning means the appliance applied the record and had something to say about it.
        return self.errorcode == 0 or self.severity.upper() == "WARNING"

    @property
    def attempted(self) -> bool:
        return self.errorcode != NOT_ATTEMPTED


class NitroError(NsfixError):
    """Base of every error the client raises; str() is one line and never holds a secret."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        errorcode: int | None = None,
        severity: str | None = None,
        method: str | None = None,
        resource: str | None = None,
    ) -> None:
        self.message = " ".join(message.split())
        self.http_status = http_status
        self.errorcode = errorcode
        self.severity = severity
        self.method = method
        self.resource = resource
        super().__init__(self.message)

    def __str__(self) -> str:
        where = " ".join(part for part in (self.method, self.resource) if part)
        codes = []
        if self.errorcode is not None:
            codes.append(f"errorcode {self.errorcode}")
        if self.http_status is not None:
            codes.append(f"HTTP {self.http_status}")
        text = self.message
        if codes:
            text = f"{text} ({', '.join(codes)})"
        return f"{where}: {text}" if where else text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors defeat Exception's default pickling (used by process pools).
        return (_restore, (type(self), self.message, dict(self.__dict__)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, http_status={self.http_status!r}, "
            f"errorcode={self.errorcode!r}, severity={self.severity!r}, "
            f"method={self.method!r}, resource={self.resource!r})"
        )


class NitroNotFound(NitroError):
    """The object does not exist (errorcode 258, usually HTTP 404)."""


class NitroExists(NitroError):
    """The object already exists (errorcode 273, usually HTTP 409)."""


class NitroAuthError(NitroError):
    """The appliance refused the login (354/355, HTTP 401 on login, or an unsupported challenge)."""


class NitroSessionExpired(NitroError):
    """The session expired or was killed (444, 1027, 1026, 352) and could not be recovered."""


class NitroNotAuthorized(NitroError):
    """The user may not run this command (errorcode 2138 / HTTP 403)."""


class NitroBulkError(NitroError):
    """A bulk request failed in part (errorcode 1243 / HTTP 207); .results: one entry per record."""

    def __init__(
        self,
        message: str,
        *,
        results: list[ItemResult],
        http_status: int | None = None,
        errorcode: int | None = None,
        severity: str | None = None,
        method: str | None = None,
        resource: str | None = None,
    ) -> None:
        super().__init__(
            message,
            http_status=http_status,
            errorcode=errorcode,
            severity=severity,
            method=method,
            resource=resource,
        )
        self.results = results


class NitroProtocolError(NitroError):
    """The reply is not what NITRO sends: not JSON, truncated, an HTML page, or the wrong shape."""


class NitroTransportError(NitroError):
    """No usable reply after the allowed attempts (refused, reset, timed out, gateway errors).

    outcome_unknown is True when a write may have reached the appliance and been applied:
    the caller must read the object back instead of sending the write again.
    """

    def __init__(
        self,
        message: str,
        *,
        outcome_unknown: bool = False,
        http_status: int | None = None,
        errorcode: int | None = None,
        severity: str | None = None,
        method: str | None = None,
        resource: str | None = None,
    ) -> None:
        super().__init__(
            message,
            http_status=http_status,
            errorcode=errorcode,
            severity=severity,
            method=method,
            resource=resource,
        )
        self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        text = super().__str__()
        if self.outcome_unknown:
            text += " [outcome unknown: the write may have been applied; read it back]"
        return text


class NitroPlainHttp(NitroTransportError):
    """TLS was spoken to a server that answered in plain HTTP: the URL's scheme (or port) is
    wrong, not the certificates."""


def _restore(cls: type[NitroError], message: str, state: dict[str, Any]) -> NitroError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class NitroInstanceUnreachable(NitroTransportError):
    """NetScaler Console did not forward to the managed instance: unknown to it, unreachable,
    or not answering like an appliance. Nothing reached the appliance through this route."""
