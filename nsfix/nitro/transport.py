"""Sends NITRO calls over HTTP: TLS, timeouts, retries that tell "never sent" from "maybe sent"."""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import os
import socket
import ssl
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlsplit

import requests
import tenacity
from urllib3.exceptions import ConnectTimeoutError, InsecureRequestWarning

from nsfix.nitro.encoding import body_text
from nsfix.nitro.errors import NitroError, NitroPlainHttp, NitroTransportError

log = logging.getLogger("nsfix.nitro")


def default_ca_bundle() -> str:
    """The CAs nsfix trusts unless told otherwise: the bundle requests ships (certifi)."""
    return str(requests.utils.DEFAULT_CA_BUNDLE_PATH)


RETRY_ANY_STATUS = frozenset({429, 503})
# A retry is not started with less time than this left of a request's max_time.
MIN_ATTEMPT_SECONDS = 1.0
RETRY_IDEMPOTENT_STATUS = frozenset({502, 504})
# SESSID: the session cookie of NetScaler Console (ADM), when nsfix goes through it.
_TOKEN_COOKIES = ("NITRO_AUTH_TOKEN", "sessionid", "SESSID")


@dataclass(frozen=True)
class Call:
    """One NITRO request and when it may be sent again; the session token is added per attempt."""

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
class Reply:
    """What came back for a call, before anyone decided whether it is a success."""

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

    def __init__(self, reply: Reply, retry_after: float | None) -> None:
        super().__init__(f"HTTP {reply.status}")
        self.reply = reply
        self.retry_after = retry_after


class _Fatal(Exception):
    """Carries a NitroError out of an attempt without retrying it."""

    def __init__(self, error: NitroError) -> None:
        super().__init__(type(error).__name__)
        self.error = error


class Transport:
    """HTTP to one appliance: each attempt, the retries around it, and a count of both.

    It knows nothing of sessions: the caller passes the token, and reads the Reply.
    """

    def __init__(
        self,
        url: str,
        *,
        verify: bool | str,
        connect_timeout: float,
        read_timeout: float,
        max_attempts: int,
        backoff_initial: float,
        backoff_max: float,
        retry_after_max: float,
        user_agent: str,
        max_time: float | None = None,
        http: requests.Session | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        redact: Callable[[str], str],
    ) -> None:
        self.url = _check_url(url)
        if isinstance(verify, str) and not os.path.exists(verify):
            raise ValueError(f"CA bundle not found: {verify}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if connect_timeout <= 0 or read_timeout <= 0 or (max_time is not None and max_time <= 0):
            raise ValueError("timeouts must be positive")
        # Given `True`, requests would trust REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE from the
        # environment instead: naming the default bundle leaves the choice of CA to the caller.
        self._verify = default_ca_bundle() if verify is True else verify
        log.info(
            "TLS to %s: %s",
            self.url,
            f"verified with {self._verify}" if self._verify else "NOT verified (insecure)",
        )
        self._timeout = (connect_timeout, read_timeout)
        # The most one request may take, retries and the pauses between them included.
        self._max_time = max_time
        self._max_attempts = max_attempts
        # Exponential growth plus up to one initial step of jitter, so clients that failed
        # together do not retry together; built from waits that exist since tenacity 8.2.
        self._backoff = tenacity.wait_exponential(
            multiplier=backoff_initial, max=backoff_max
        ) + tenacity.wait_random(0, backoff_initial)
        self._backoff_max = backoff_max
        self._retry_after_max = retry_after_max
        self._user_agent = user_agent
        self._owns_http = http is None
        self._http = http if http is not None else requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._redact = redact
        self.by_method: Counter[str] = Counter()
        self.by_resource: Counter[str] = Counter()
        self.retries = 0

    def close(self) -> None:
        """Release pooled connections of an HTTP session the transport created itself."""
        if self._owns_http:
            self._http.close()

    def drop_token_cookies(self) -> None:
        # requests keeps Set-Cookie values in the session jar; the token is sent explicitly,
        # and a stale copy must not ride along on later requests (or outlive the session).
        jar = self._http.cookies
        # The stubs type the jar as a mapping of names; iterating a CookieJar yields Cookies.
        for cookie in list(CookieJar.__iter__(jar)):
            if cookie.name in _TOKEN_COOKIES:
                jar.clear(cookie.domain, cookie.path, cookie.name)

    def send(self, call: Call, *, token: str | None, max_attempts: int | None = None) -> Reply:
        """The reply to call after the retries it allows; raises NitroTransportError without one."""
        attempts = max_attempts or self._max_attempts
        budget = _Budget(self._max_time, time.monotonic())
        retrying = tenacity.Retrying(
            stop=lambda state: self._stop(state, attempts, budget),
            wait=lambda state: budget.wait(state, self._wait),
            retry=tenacity.retry_if_exception(lambda exc: self._retryable(call, exc)),
            sleep=self._sleep,
            before_sleep=lambda state: self._before_sleep(call, state, attempts, budget),
            reraise=True,
        )
        try:
            return retrying(self._attempt, call, token, budget)
        except _RetryableStatus as exc:
            return exc.reply  # out of attempts: the reply is mapped like any other
        except _Fatal as exc:
            raise exc.error from None
        except (_NotSent, _MaybeSent) as exc:
            made = retrying.statistics.get("attempt_number", 1)
            what = "could not connect to" if isinstance(exc, _NotSent) else "no reply from"
            spent = f" in {budget.elapsed():.0f} s" if budget.elapsed() >= 1 else ""
            raise NitroTransportError(
                f"{what} {self.url} after {made} attempt(s){spent}: "
                f"{self._describe_cause(exc.cause)}",
                outcome_unknown=isinstance(exc, _MaybeSent) and call.is_write,
                method=call.method,
                resource=call.resource,
            ) from exc.cause

    def _retryable(self, call: Call, exc: BaseException) -> bool:
        if isinstance(exc, _NotSent | _RetryableStatus):
            return True
        return isinstance(exc, _MaybeSent) and call.resend_unknown

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self._retry_after_max)
        return min(float(self._backoff(state)), self._backoff_max)

    def _stop(self, state: tenacity.RetryCallState, attempts: int, budget: _Budget) -> bool:
        """Out of attempts, or out of time: a retry must fit in what is left of max_time."""
        if state.attempt_number >= attempts:
            return True
        if budget.max_time is None:
            return False
        wait = self._wait(state)
        budget.planned[state.attempt_number] = wait
        return budget.left() - wait < MIN_ATTEMPT_SECONDS

    def _before_sleep(
        self, call: Call, state: tenacity.RetryCallState, attempts: int, budget: _Budget
    ) -> None:
        """Every retry is said, with what it waits for and when nsfix gives up: the operator
        never stares at a silent terminal wondering whether anything happens."""
        self.retries += 1
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action else 0.0
        bound = (
            f"; giving up {budget.max_time:.0f} s after the first try"
            if budget.max_time is not None
            else ""
        )
        log.warning(
            "%s (%s %s); retrying %d/%d in %s%s",
            self._retry_reason(exc),
            call.method,
            call.resource,
            state.attempt_number + 1,
            attempts,
            _seconds(wait),
            bound,
        )

    def _retry_reason(self, exc: BaseException | None) -> str:
        if isinstance(exc, _MaybeSent):
            if isinstance(exc.cause, requests.exceptions.ReadTimeout):
                return f"no reply from {self.url} within {_seconds(self._timeout[1])}"
            return f"no reply from {self.url}: {self._describe_cause(exc.cause)}"
        if isinstance(exc, _NotSent):
            return f"could not connect to {self.url}: {self._describe_cause(exc.cause)}"
        if isinstance(exc, _RetryableStatus):
            return f"{self.url} answered HTTP {exc.reply.status} {exc.reply.reason}".rstrip()
        return f"{self.url}: {exc}"

    def _describe_cause(self, cause: BaseException) -> str:
        plain = _plain_cause(cause)
        if plain is not None:
            return plain
        # Redact before cutting: a cut through a secret would leave a piece no redaction finds.
        text = self._redact(str(cause))
        if len(text) > 200:
            text = text[:200] + "..."
        return f"{type(cause).__name__}: {text}"

    def _attempt(self, call: Call, token: str | None, budget: _Budget) -> Reply:
        self.by_method[call.method] += 1
        self.by_resource[call.resource] += 1
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        headers.update(call.headers)
        data = None
        if call.body is not None:
            headers["Content-Type"] = "application/json"
            data = body_text(call.body).encode()
        if call.authenticated and token is not None:
            headers["Cookie"] = f"NITRO_AUTH_TOKEN={token}"
        started = time.monotonic()
        try:
            with self._tls_warnings():
                response = self._http.request(
                    call.method,
                    self.url + call.target,
                    data=data,
                    headers=headers,
                    timeout=budget.timeouts(self._timeout),
                    verify=self._verify,
                    # A redirect would carry the token cookie to wherever Location points.
                    allow_redirects=False,
                )
                content = response.content
        except requests.exceptions.SSLError as exc:
            if _plain_http_answer(exc):
                raise _Fatal(
                    NitroPlainHttp(
                        f"{self.url} answered plain HTTP, not TLS: check the URL's scheme and port",
                        method=call.method,
                        resource=call.resource,
                    )
                ) from exc
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
        reply = _reply(response, content)
        if reply.status in RETRY_ANY_STATUS or (
            reply.status in RETRY_IDEMPOTENT_STATUS and call.idempotent
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


class _Budget:
    """The time one request may still take, over all its attempts, and the waits planned."""

    def __init__(self, max_time: float | None, started: float) -> None:
        self.max_time = max_time
        self.started = started
        self.planned: dict[int, float] = {}

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        return float("inf") if self.max_time is None else self.max_time - self.elapsed()

    def wait(
        self, state: tenacity.RetryCallState, compute: Callable[[tenacity.RetryCallState], float]
    ) -> float:
        """The pause before the next attempt: the one the stop decision counted, if it did."""
        planned = self.planned.pop(state.attempt_number, None)
        return compute(state) if planned is None else planned

    def timeouts(self, limits: tuple[float, float]) -> tuple[float, float]:
        """Connect and read timeouts of the next attempt: never past the request's end."""
        left = max(self.left(), MIN_ATTEMPT_SECONDS)
        return (min(limits[0], left), min(limits[1], left))


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 or value == int(value) else f"{value:.1f} s"


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


def _reply(response: requests.Response, content: bytes) -> Reply:
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
    return Reply(
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


def _never_sent(exc: requests.RequestException) -> bool:
    """True when requests failed before any byte of the request could reach the appliance."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    # urllib3 raises NewConnectionError (refused, unreachable, DNS), a subclass of
    # ConnectTimeoutError, only while opening the connection.
    return any(isinstance(current, ConnectTimeoutError) for current in _causes(exc))


# OpenSSL's words for a TLS record that is not one: what a plain HTTP reply looks like to it.
_NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"})


def _plain_http_answer(exc: BaseException) -> bool:
    """True when the TLS handshake failed because the server answered without TLS."""
    return any(
        isinstance(current, ssl.SSLError) and current.reason in _NOT_TLS_REASONS
        for current in _causes(exc)
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps, nearest first: requests wraps urllib3 wraps the socket error,
    through causes, contexts, a `reason` (MaxRetryError) and exceptions among the args."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nested in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(nested, BaseException):
                pending.append(nested)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))


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


def _plain_cause(cause: BaseException) -> str | None:
    """The root cause of a connection failure in words an operator acts on, when it is known.

    requests wraps urllib3 wraps the socket error; the chain is walked to find the real one.
    """
    for current in _causes(cause):
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
    return None
