"""Session-aware NITRO REST client over requests: the only code in nsfix that speaks HTTP."""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import os
import re
import socket
import ssl
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from http.cookiejar import CookieJar
from itertools import count as count_from
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests
import tenacity
from urllib3.exceptions import ConnectTimeoutError, InsecureRequestWarning, MaxRetryError

from nsfix import __version__
from nsfix.nitro.encoding import QueryValue, build_target, check_identifier
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

log = logging.getLogger("nsfix.nitro")

# "Session expired or killed" (444), "Not logged in or connection timed out" (1027),
# and the two "not logged in" codes (1026, 352).
SESSION_EXPIRED_CODES = frozenset({444, 1027, 1026, 352})
LOGIN_REFUSED_CODES = frozenset({354, 355})
LOGIN_CHALLENGED = 1034
# Actions whose repetition leaves the appliance as one execution would; only these are
# repeated after a re-login or a gateway error. rename is not: the old name is gone after it.
SAFE_ACTIONS = frozenset({"save", "enable", "disable", "unset", "switch"})
ONERROR_MODES = ("exit", "continue", "rollback")

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
_RETRY_ANY_STATUS = frozenset({429, 503})
_RETRY_IDEMPOTENT_STATUS = frozenset({502, 504})
_TOKEN_COOKIES = ("NITRO_AUTH_TOKEN", "sessionid")
_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+")
_EXCERPT_CHARS = 120


@dataclass(frozen=True)
class Credentials:
    """A NITRO user; the password stays out of repr() and str()."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class RequestStats:
    """Snapshot of the HTTP requests sent so far (every attempt, login and logout included)."""

    total: int
    by_method: dict[str, int]
    by_resource: dict[str, int]
    retries: int
    relogins: int


@dataclass(frozen=True)
class WriteRequest:
    """One write exactly as the client sends it; build with NitroClient.describe_*().

    A dry run prints render(); a real run passes the same object to NitroClient.execute(),
    so what was shown is what is sent. It never holds the session token.
    """

    op: str  # add, update, update_bulk, delete, bind, unbind, action, unset
    method: str
    resource: str
    target: str  # path and query, e.g. /nitro/v1/config/service?action=enable
    body: dict[str, Any] | None
    headers: Mapping[str, str]
    idempotent: bool  # repeating it leaves the appliance as one execution would
    records: int | None = None  # bulk writes: how many records the body carries

    def render(self) -> str:
        lines = [f"{self.method} {self.target}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body is not None:
            lines.append(_json_text(self.body))
        return "\n".join(lines)


@dataclass(frozen=True)
class _Call:
    method: str
    resource: str
    target: str
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool = True  # may be repeated after a re-login or a 502/504
    resend_unknown: bool = False  # may be repeated when it may already have been received
    is_write: bool = False
    authenticated: bool = True
    recover_session: bool = True  # log in again on expiry (not for login/logout themselves)
    records: int | None = None


@dataclass(frozen=True)
class _Reply:
    status: int
    reason: str
    headers: Mapping[str, str]
    payload: dict[str, Any] | None  # None: empty body
    problem: str | None  # why the body is not a NITRO JSON object, if it is not
    head: str  # start of the body, whitespace collapsed; redact before showing it
    token_cookie: str | None

    def errorcode(self) -> int | None:
        code = self.payload.get("errorcode") if self.payload else None
        return code if isinstance(code, int) and not isinstance(code, bool) else None


class _NotSent(Exception):
    """The request never left: connection refused, DNS failure, connect timeout."""

    def __init__(self, cause: requests.RequestException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


class _MaybeSent(Exception):
    """The request may have reached the appliance but no reply came (read timeout, reset)."""

    def __init__(self, cause: requests.RequestException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


class _RetryableStatus(Exception):
    """A 429/502/503/504 reply worth another attempt."""

    def __init__(self, reply: _Reply, retry_after: float | None) -> None:
        super().__init__(f"HTTP {reply.status}")
        self.reply = reply
        self.retry_after = retry_after


class _Fatal(Exception):
    """Carries a NitroError out of an attempt without retrying it."""

    def __init__(self, error: NitroError) -> None:
        super().__init__(type(error).__name__)
        self.error = error


def _json_text(body: dict[str, Any]) -> str:
    """The body as sent; WriteRequest.render() shows the same text."""
    return json.dumps(body)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when requests failed before any byte of the request could reach the appliance."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        # urllib3 raises NewConnectionError (refused, unreachable, DNS), a subclass of
        # ConnectTimeoutError, only while opening the connection.
        if isinstance(current, ConnectTimeoutError):
            return True
        if isinstance(current, MaxRetryError) and current.reason is not None:
            pending.append(current.reason)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


def _parse_retry_after(value: str | None, now: Callable[[], float]) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


def _records(resource: str, payload: Mapping[str, Any], call: _Call) -> list[dict[str, Any]]:
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


class NitroClient:
    """One NITRO session to one appliance; use it as a context manager.

    Not thread-safe: one client per thread (the session's current partition is shared state).
    """

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        verify: bool | str = True,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 4,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        session_timeout: int = 900,
        user_agent: str = f"nsfix/{__version__}",
        http: requests.Session | None = None,
        retry_after_max: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = self._check_url(url)
        if isinstance(verify, str) and not os.path.exists(verify):
            raise ValueError(f"CA bundle not found: {verify}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.partition: str | None = None
        self._credentials = credentials
        self._verify = verify
        self._timeout = (connect_timeout, read_timeout)
        self._max_attempts = max_attempts
        # Exponential growth plus up to one initial step of jitter, so clients that failed
        # together do not retry together; built from waits that exist since tenacity 8.2.
        self._backoff = tenacity.wait_exponential(
            multiplier=backoff_initial, max=backoff_max
        ) + tenacity.wait_random(0, backoff_initial)
        self._backoff_max = backoff_max
        self._retry_after_max = retry_after_max
        self._session_timeout = session_timeout
        self._user_agent = user_agent
        self._owns_http = http is None
        self._http = http if http is not None else requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._token: str | None = None
        self._secrets: set[str] = set()
        self._remember_secret(credentials.password)
        self._recovering = False
        self._by_method: Counter[str] = Counter()
        self._by_resource: Counter[str] = Counter()
        self._retries = 0
        self._relogins = 0

    @staticmethod
    def _check_url(url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"NITRO URL must be http(s)://host[:port], got {parts.scheme}://...")
        if parts.username is not None or parts.password is not None:
            # Never echo the URL here: it holds a password.
            raise ValueError("NITRO URL must not carry credentials; pass Credentials instead")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError("NITRO URL must be the appliance root, e.g. https://10.0.0.1")
        return f"{parts.scheme}://{parts.netloc}"

    def __repr__(self) -> str:
        state = "open" if self._token else "closed"
        return (
            f"<NitroClient {self.url} user={self._credentials.username!r} "
            f"partition={self.partition!r} session={state}>"
        )

    # ----------------------------------------------------------------- session

    def __enter__(self) -> NitroClient:
        self.login()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # On Ctrl-C the operator wants out now: one attempt, no backoff.
        interrupted = exc is not None and not isinstance(exc, Exception)
        try:
            self.logout(max_attempts=1 if interrupted else None)
        except Exception as error:
            log.warning(
                "logout from %s failed: %s; the session ends on the appliance after %d s idle",
                self.url,
                self._redact(str(error)),
                self._session_timeout,
            )
        finally:
            self.close()

    def close(self) -> None:
        """Release pooled connections of an HTTP session the client created itself."""
        if self._owns_http:
            self._http.close()

    def login(self) -> None:
        """Open a session (in the default partition); a no-op while one is open."""
        if self._token is not None:
            return
        call = _Call(
            "POST",
            "login",
            build_target("config", "login"),
            body={
                "login": {
                    "username": self._credentials.username,
                    "password": self._credentials.password,
                    "timeout": self._session_timeout,
                }
            },
            authenticated=False,
            recover_session=False,
            resend_unknown=True,  # a duplicate login only leaves a session to age out
        )
        reply = self._send(call)
        token = self._login_token(reply)
        if reply.errorcode() == LOGIN_CHALLENGED and reply.status < 300:
            self._abandon(token)
            raise NitroAuthError(
                f"login of user {self._credentials.username!r} was challenged (errorcode 1034): "
                "the account needs a second factor, which nsfix does not support; "
                "use an account with password-only NITRO access",
                errorcode=LOGIN_CHALLENGED,
                http_status=reply.status,
                method="POST",
                resource="login",
            )
        self._check(call, reply)
        if token is None or not _TOKEN_SHAPE.fullmatch(token) or ";" in token:
            problem = "no session token" if token is None else "a token unfit for a cookie"
            raise NitroProtocolError(
                f"login succeeded but the reply carries {problem} "
                "(expected 'sessionid' in the body or a NITRO_AUTH_TOKEN cookie)",
                http_status=reply.status,
                method="POST",
                resource="login",
            )
        self._token = token
        self.partition = None
        self._drop_token_cookies()
        log.info("logged in to %s as %s", self.url, self._credentials.username)

    def logout(self, *, max_attempts: int | None = None) -> None:
        """Close the session; a no-op when none is open. The session is forgotten even on error."""
        if self._token is None:
            return
        call = _Call(
            "POST",
            "logout",
            build_target("config", "logout"),
            body={"logout": {}},
            recover_session=False,
            resend_unknown=True,
        )
        try:
            reply = self._send(call, max_attempts=max_attempts)
            if not self._expired(reply):  # an expired session is already logged out
                self._check(call, reply)
            log.info("logged out of %s", self.url)
        finally:
            self._forget_session()

    def switch_partition(self, name: str) -> None:
        """Make name the session's current partition ('default' returns to the default one)."""
        self.execute(self.describe_switch_partition(name))
        self.partition = None if name == "default" else name

    def stats(self) -> RequestStats:
        return RequestStats(
            total=sum(self._by_method.values()),
            by_method=dict(self._by_method),
            by_resource=dict(self._by_resource),
            retries=self._retries,
            relogins=self._relogins,
        )

    def _login_token(self, reply: _Reply) -> str | None:
        """The token a login reply carries, remembered for redaction before anything can show it."""
        token = reply.payload.get("sessionid") if reply.payload else None
        if not isinstance(token, str) or not token:
            token = unquote(reply.token_cookie) if reply.token_cookie else None
        if token is not None:
            self._remember_secret(token)
        return token

    def _abandon(self, token: str | None) -> None:
        """Log out a half-open (challenged) session so it does not hold a session slot."""
        if token is None or not _TOKEN_SHAPE.fullmatch(token) or ";" in token:
            return
        self._token = token
        try:
            self.logout(max_attempts=1)
        except NitroError as error:
            log.debug("could not log out the challenged session: %s", error)

    def _forget_session(self) -> None:
        self._token = None
        self.partition = None
        self._drop_token_cookies()

    def _drop_token_cookies(self) -> None:
        # requests keeps Set-Cookie values in the session jar; the token is sent explicitly,
        # and a stale copy must not ride along on later requests (or outlive the session).
        jar = self._http.cookies
        # The stubs type the jar as a mapping of names; iterating a CookieJar yields Cookies.
        for cookie in list(CookieJar.__iter__(jar)):
            if cookie.name in _TOKEN_COOKIES:
                jar.clear(cookie.domain, cookie.path, cookie.name)

    def _relogin(self, call: _Call) -> None:
        partition = self.partition
        log.warning(
            "NITRO session expired during %s %s; logging in again", call.method, call.resource
        )
        self._forget_session()
        self._recovering = True
        try:
            self.login()
            self._relogins += 1
            if partition is not None:
                self.switch_partition(partition)
        finally:
            self._recovering = False

    # ------------------------------------------------------------------- reads

    def get(
        self,
        resource: str,
        name: str | None = None,
        *,
        attrs: Sequence[str] | None = None,
        filter: Mapping[str, QueryValue] | None = None,
        args: Mapping[str, QueryValue] | None = None,
    ) -> list[dict[str, Any]]:
        """GET /config/<resource>[/<name>]; [] when nothing matches.

        A named GET of a missing object raises NitroNotFound.
        """
        target = build_target("config", resource, name, args=args, filter=filter, attrs=attrs)
        return self._get_records(resource, target)

    def get_all(
        self,
        resource: str,
        *,
        attrs: Sequence[str] | None = None,
        filter: Mapping[str, QueryValue] | None = None,
        bulkbindings: bool = False,
        page_size: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every object of a type; bulkbindings=True reads a binding type for all parents at once.

        With page_size, pages 1, 2, ... are read until one is shorter than page_size, so a
        table smaller than a page costs exactly one request.
        """
        extra = [("bulkbindings", "yes")] if bulkbindings else []
        if page_size is None:
            target = build_target("config", resource, filter=filter, attrs=attrs, extra=extra)
            return self._get_records(resource, target)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        records: list[dict[str, Any]] = []
        previous: list[dict[str, Any]] | None = None
        for pageno in count_from(1):
            paging = [("pagesize", str(page_size)), ("pageno", str(pageno))]
            target = build_target(
                "config", resource, filter=filter, attrs=attrs, extra=extra + paging
            )
            page = self._get_records(resource, target)
            if len(page) > page_size:
                if pageno == 1:
                    log.warning("the appliance ignored pagesize for %s; took all at once", resource)
                    return page
                raise NitroProtocolError(
                    f"page {pageno} has {len(page)} objects, more than pagesize {page_size}",
                    method="GET",
                    resource=resource,
                )
            if page and page == previous:
                # Otherwise a server that ignores pageno would keep us here forever.
                raise NitroProtocolError(
                    f"page {pageno} repeats page {pageno - 1}: the appliance ignores pageno",
                    method="GET",
                    resource=resource,
                )
            records.extend(page)
            if len(page) < page_size:
                break
            previous = page
        return records

    def get_singleton(self, resource: str, *, attrs: Sequence[str] | None = None) -> dict[str, Any]:
        """Read a one-of-a-kind resource (nsversion, nsconfig, nsmode ...)."""
        target = build_target("config", resource, attrs=attrs)
        records = self._get_records(resource, target)
        if len(records) != 1:
            raise NitroProtocolError(
                f"expected one {resource} object, got {len(records)}",
                method="GET",
                resource=resource,
            )
        return records[0]

    def count(
        self,
        resource: str,
        *,
        filter: Mapping[str, QueryValue] | None = None,
    ) -> int:
        target = build_target("config", resource, filter=filter, extra=[("count", "yes")])
        records = self._get_records(resource, target)
        if not records:
            return 0
        value = records[0].get("__count")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
        raise NitroProtocolError(
            f"count reply has __count={value!r}, expected a number",
            method="GET",
            resource=resource,
        )

    def get_stat(self, resource: str, name: str | None = None) -> list[dict[str, Any]]:
        """GET /nitro/v1/stat/<resource>[/<name>]."""
        return self._get_records(resource, build_target("stat", resource, name))

    def _get_records(self, resource: str, target: str) -> list[dict[str, Any]]:
        call = _Call("GET", resource, target, resend_unknown=True)
        return _records(resource, self._request(call), call)

    # ------------------------------------------------------------------ writes

    def add(self, resource: str, record: Mapping[str, Any]) -> None:
        """POST /config/<resource>: create one object."""
        self.execute(self.describe_add(resource, record))

    def update(self, resource: str, record: Mapping[str, Any]) -> None:
        """PUT /config/<resource> with the key attributes inside the record."""
        self.execute(self.describe_update(resource, record))

    def update_bulk(
        self,
        resource: str,
        records: Sequence[Mapping[str, Any]],
        *,
        onerror: str = "continue",
    ) -> list[ItemResult]:
        """PUT several records in one request; one ItemResult per record, in order.

        A partial failure (HTTP 207) is returned, not raised: check ItemResult.ok. With
        onerror='exit' the records after the failing one come back with errorcode
        NOT_ATTEMPTED (-1). Errors of the whole request (auth, transport, 4xx) still raise.
        """
        if not records:
            return []
        try:
            return self.execute(self.describe_update_bulk(resource, records, onerror=onerror))
        except NitroBulkError as error:
            return error.results

    def delete(
        self, resource: str, name: str, *, args: Mapping[str, QueryValue] | None = None
    ) -> None:
        self.execute(self.describe_delete(resource, name, args=args))

    def bind(self, binding: str, record: Mapping[str, Any]) -> None:
        """PUT /config/<binding>: add a binding (the parent's key is in the record)."""
        self.execute(self.describe_bind(binding, record))

    def unbind(self, binding: str, parent: str, args: Mapping[str, QueryValue]) -> None:
        """DELETE /config/<binding>/<parent>?args=...: remove one binding of parent."""
        self.execute(self.describe_unbind(binding, parent, args))

    def action(self, resource: str, action: str, record: Mapping[str, Any]) -> None:
        """POST /config/<resource>?action=<action> (enable, disable, rename, unset ...)."""
        self.execute(self.describe_action(resource, action, record))

    def unset(self, resource: str, key: Mapping[str, Any], attributes: Sequence[str]) -> None:
        """Return attributes of the object named by key to their defaults."""
        self.execute(self.describe_unset(resource, key, attributes))

    def save_config(self) -> None:
        """Save the running configuration of the current partition."""
        self.execute(self.describe_save_config())

    def execute(self, write: WriteRequest) -> list[ItemResult]:
        """Send a described write; return one ItemResult per record (all ok, or warnings).

        Raises the mapped NitroError on failure; a partial bulk failure raises NitroBulkError.
        """
        call = _Call(
            write.method,
            write.resource,
            write.target,
            body=write.body,
            headers=write.headers,
            idempotent=write.idempotent,
            is_write=True,
            records=write.records,
        )
        payload = self._request(call)
        code = payload.get("errorcode", 0)
        message = str(payload.get("message", "Done"))
        severity = str(payload.get("severity", "NONE"))
        if write.records is None:
            return [ItemResult(0, code, self._redact(message), severity)]
        return [ItemResult(i, 0, "Done", "NONE") for i in range(write.records)]

    # ------------------------------------------------------- described writes

    def describe_add(self, resource: str, record: Mapping[str, Any]) -> WriteRequest:
        return self._write("add", "POST", resource, {resource: dict(record)}, idempotent=False)

    def describe_update(self, resource: str, record: Mapping[str, Any]) -> WriteRequest:
        return self._write("update", "PUT", resource, {resource: dict(record)}, idempotent=True)

    def describe_update_bulk(
        self,
        resource: str,
        records: Sequence[Mapping[str, Any]],
        *,
        onerror: str = "continue",
    ) -> WriteRequest:
        if onerror not in ONERROR_MODES:
            raise ValueError(f"onerror must be one of {', '.join(ONERROR_MODES)}")
        if not records:
            raise ValueError("update_bulk needs at least one record")
        return self._write(
            "update_bulk",
            "PUT",
            resource,
            {resource: [dict(record) for record in records]},
            idempotent=True,
            headers={"X-NITRO-ONERROR": onerror},
            records=len(records),
        )

    def describe_delete(
        self, resource: str, name: str, *, args: Mapping[str, QueryValue] | None = None
    ) -> WriteRequest:
        target = build_target("config", resource, name, args=args)
        return WriteRequest("delete", "DELETE", resource, target, None, {}, idempotent=True)

    def describe_bind(self, binding: str, record: Mapping[str, Any]) -> WriteRequest:
        return self._write("bind", "PUT", binding, {binding: dict(record)}, idempotent=False)

    def describe_unbind(
        self, binding: str, parent: str, args: Mapping[str, QueryValue]
    ) -> WriteRequest:
        if not args:
            # Without args the request would name no binding in particular.
            raise ValueError("unbind needs args naming the bound object")
        target = build_target("config", binding, parent, args=args)
        return WriteRequest("unbind", "DELETE", binding, target, None, {}, idempotent=True)

    def describe_action(
        self, resource: str, action: str, record: Mapping[str, Any]
    ) -> WriteRequest:
        check_identifier(action, "action")
        return self._write(
            "action",
            "POST",
            resource,
            {resource: dict(record)},
            idempotent=action.lower() in SAFE_ACTIONS,
            extra=[("action", action)],
        )

    def describe_unset(
        self, resource: str, key: Mapping[str, Any], attributes: Sequence[str]
    ) -> WriteRequest:
        if isinstance(attributes, str) or not attributes:
            raise ValueError("unset needs a list of attribute names")
        names = [check_identifier(attr, "attribute name") for attr in attributes]
        clash = sorted(set(names) & set(key))
        if clash:
            raise ValueError(f"cannot unset key attributes: {', '.join(clash)}")
        record = {**key, **dict.fromkeys(names, True)}
        return replace(self.describe_action(resource, "unset", record), op="unset")

    def describe_save_config(self) -> WriteRequest:
        return self.describe_action("nsconfig", "save", {})

    def describe_switch_partition(self, name: str) -> WriteRequest:
        if not name:
            raise ValueError("partition name must not be empty")
        return self.describe_action("nspartition", "Switch", {"partitionname": name})

    @staticmethod
    def _write(
        op: str,
        method: str,
        resource: str,
        body: dict[str, Any],
        *,
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
        extra: Sequence[tuple[str, str]] = (),
        records: int | None = None,
    ) -> WriteRequest:
        target = build_target("config", resource, extra=extra)
        return WriteRequest(
            op, method, resource, target, body, dict(headers or {}), idempotent, records
        )

    # -------------------------------------------------------------- transport

    def _request(self, call: _Call) -> dict[str, Any]:
        """Send with retries, recover an expired session once, map errors; return the payload."""
        if call.authenticated and self._token is None:
            raise RuntimeError("not logged in: call login() or use the client in a with-block")
        reply = self._send(call)
        if call.recover_session and not self._recovering and self._expired(reply):
            self._relogin(call)
            if not call.idempotent:
                raise NitroSessionExpired(
                    "the session had expired, so the appliance did not apply this request; "
                    "logged in again but did not repeat it because it is not idempotent",
                    errorcode=reply.errorcode(),
                    http_status=reply.status,
                    method=call.method,
                    resource=call.resource,
                )
            reply = self._send(call)
        return self._check(call, reply)

    def _expired(self, reply: _Reply) -> bool:
        if reply.errorcode() in SESSION_EXPIRED_CODES:
            return True
        items = reply.payload.get("response") if reply.payload else None
        # PY SDK notes that bulk requests report the expiry per item, inside HTTP 200/207.
        return isinstance(items, list) and any(
            isinstance(item, dict) and item.get("errorcode") in SESSION_EXPIRED_CODES
            for item in items
        )

    def _send(self, call: _Call, *, max_attempts: int | None = None) -> _Reply:
        attempts = max_attempts or self._max_attempts
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception(lambda exc: self._retryable(call, exc)),
            sleep=self._sleep,
            before_sleep=lambda state: self._before_sleep(call, state, attempts),
            reraise=True,
        )
        try:
            return retrying(self._attempt, call)
        except _RetryableStatus as exc:
            return exc.reply  # out of attempts: the reply is mapped like any other
        except _Fatal as exc:
            raise exc.error from None
        except (_NotSent, _MaybeSent) as exc:
            made = retrying.statistics.get("attempt_number", 1)
            what = "could not connect to" if isinstance(exc, _NotSent) else "no reply from"
            raise NitroTransportError(
                f"{what} {self.url} after {made} attempt(s): {self._describe_cause(exc.cause)}",
                outcome_unknown=isinstance(exc, _MaybeSent) and call.is_write,
                method=call.method,
                resource=call.resource,
            ) from exc.cause

    def _retryable(self, call: _Call, exc: BaseException) -> bool:
        if isinstance(exc, _NotSent | _RetryableStatus):
            return True
        return isinstance(exc, _MaybeSent) and call.resend_unknown

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self._retry_after_max)
        return min(float(self._backoff(state)), self._backoff_max)

    def _before_sleep(self, call: _Call, state: tenacity.RetryCallState, attempts: int) -> None:
        self._retries += 1
        exc = state.outcome.exception() if state.outcome is not None else None
        log.info(
            "%s %s: %s; attempt %d of %d in %.1f s",
            call.method,
            call.resource,
            exc,
            state.attempt_number + 1,
            attempts,
            state.next_action.sleep if state.next_action else 0.0,
        )

    def _describe_cause(self, cause: BaseException) -> str:
        plain = _plain_cause(cause)
        if plain is not None:
            return plain
        # Redact before cutting: a cut through a secret would leave a piece no redaction finds.
        text = self._redact(str(cause))
        if len(text) > 200:
            text = text[:200] + "..."
        return f"{type(cause).__name__}: {text}"

    def _attempt(self, call: _Call) -> _Reply:
        self._by_method[call.method] += 1
        self._by_resource[call.resource] += 1
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        headers.update(call.headers)
        data = None
        if call.body is not None:
            headers["Content-Type"] = "application/json"
            data = _json_text(call.body).encode()
        if call.authenticated and self._token is not None:
            headers["Cookie"] = f"NITRO_AUTH_TOKEN={self._token}"
        started = time.monotonic()
        try:
            with self._tls_warnings():
                response = self._http.request(
                    call.method,
                    self.url + call.target,
                    data=data,
                    headers=headers,
                    timeout=self._timeout,
                    verify=self._verify,
                    # A redirect would carry the token cookie to wherever Location points.
                    allow_redirects=False,
                )
                content = response.content
        except requests.exceptions.SSLError as exc:
            raise _Fatal(
                NitroTransportError(
                    f"TLS with {self.url} failed (certificate not trusted? pass a CA bundle): "
                    f"{self._describe_cause(exc)}",
                    method=call.method,
                    resource=call.resource,
                )
            ) from exc
        except requests.RequestException as exc:
            if _never_sent(exc):
                raise _NotSent(exc) from exc
            raise _MaybeSent(exc) from exc
        log.debug(
            "%s %s -> %d in %.3f s",
            call.method,
            call.target,
            response.status_code,
            time.monotonic() - started,
        )
        reply = self._reply(response, content)
        if reply.status in _RETRY_ANY_STATUS or (
            reply.status in _RETRY_IDEMPOTENT_STATUS and call.idempotent
        ):
            retry_after = _parse_retry_after(response.headers.get("Retry-After"), self._clock)
            raise _RetryableStatus(reply, retry_after)
        return reply

    def _tls_warnings(self) -> contextlib.AbstractContextManager[object]:
        if self._verify is False:
            # The caller asked for no verification and the shell already warned once;
            # silence urllib3's per-request warning, and only around our own requests.
            return warnings.catch_warnings(action="ignore", category=InsecureRequestWarning)
        return contextlib.nullcontext()

    def _reply(self, response: requests.Response, content: bytes) -> _Reply:
        payload: dict[str, Any] | None = None
        problem: str | None = None
        if content.strip():
            try:
                parsed = json.loads(content)
            except ValueError:
                kind = "HTML" if content.lstrip()[:1] == b"<" else "not JSON"
                problem = f"the reply is {kind} or truncated JSON"
            else:
                if isinstance(parsed, dict):
                    payload = parsed
                else:
                    problem = f"the reply is a JSON {type(parsed).__name__}, not an object"
        return _Reply(
            status=response.status_code,
            reason=response.reason or "",
            headers=response.headers,
            payload=payload,
            problem=problem,
            # Far more than an excerpt shows, so redaction never meets a secret cut in half.
            head=" ".join(content[:4096].decode("utf-8", "replace").split()),
            token_cookie=next(
                (c.value for c in response.cookies if c.name == "NITRO_AUTH_TOKEN" and c.value),
                None,
            ),
        )

    # ---------------------------------------------------------- error mapping

    def _check(self, call: _Call, reply: _Reply) -> dict[str, Any]:
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
            if status in _RETRY_ANY_STATUS | _RETRY_IDEMPOTENT_STATUS:
                raise NitroTransportError(
                    f"HTTP {status} {reply.reason} from {self.url}",
                    http_status=status,
                    outcome_unknown=call.is_write and status in _RETRY_IDEMPOTENT_STATUS,
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

    def _error(self, call: _Call, reply: _Reply) -> NitroError:
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
                message = f"login refused for user {self._credentials.username!r}: {message}"
            return NitroAuthError(message, **details)
        if reply.status == 207 or code == 1243:
            return NitroBulkError(message, results=self._bulk_results(call, reply), **details)
        cls = _CODE_ERRORS.get(code) if code is not None else None
        cls = cls or _STATUS_ERRORS.get(reply.status) or NitroError
        return cls(message, **details)

    def _bulk_results(self, call: _Call, reply: _Reply) -> list[ItemResult]:
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
        self, call: _Call, reply: _Reply, problem: str | None = None
    ) -> NitroProtocolError:
        excerpt = self._redact(reply.head)[:_EXCERPT_CHARS]
        return NitroProtocolError(
            f"{problem or reply.problem}; it starts with {excerpt!r}",
            http_status=reply.status,
            method=call.method,
            resource=call.resource,
        )

    # ---------------------------------------------------------------- secrets

    def _remember_secret(self, secret: str) -> None:
        if secret:
            self._secrets.update({secret, quote(secret, safe=""), json.dumps(secret)[1:-1]})

    def _redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


__all__ = [
    "ONERROR_MODES",
    "SAFE_ACTIONS",
    "SESSION_EXPIRED_CODES",
    "Credentials",
    "NitroClient",
    "RequestStats",
    "WriteRequest",
]


def _plain_cause(cause: BaseException) -> str | None:
    """The root cause of a connection failure in words an operator acts on, when it is known.

    requests wraps urllib3 wraps the socket error; the chain is walked to find the real one.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [cause]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            detail = getattr(current, "verify_message", None) or current
            return f"TLS certificate not trusted ({detail}); give the CA with --ca-bundle"
        if isinstance(current, ssl.SSLError):
            return f"TLS handshake failed ({current.reason or current})"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused (nothing listens on that address and port)"
        if isinstance(current, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(current, ConnectionResetError):
            return "connection reset by the peer"
        if isinstance(current, TimeoutError | socket.timeout):
            return "timed out"
        for nested in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(nested, BaseException):
                pending.append(nested)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return None
