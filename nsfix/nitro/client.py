"""Session-aware NITRO client: login, logout, partitions and reads; writes go through writer()."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import count as count_from
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import requests

from nsfix import __version__
from nsfix.nitro.console import ManagedInstance
from nsfix.nitro.encoding import QueryValue, build_target
from nsfix.nitro.errors import (
    NitroAuthError,
    NitroError,
    NitroInstanceUnreachable,
    NitroProtocolError,
    NitroSessionExpired,
)
from nsfix.nitro.replies import LOGIN_CHALLENGED, Redactor, ReplyReader, expired, records_in
from nsfix.nitro.transport import Call, Reply, Transport
from nsfix.nitro.writer import NitroWriter
from nsfix.nitro.writes import describe_switch_partition

log = logging.getLogger("nsfix.nitro")

_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+")
_LOGIN_READ = Call("POST", "login", "/nitro/v1/config/login")


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


class NitroClient:
    """One NITRO session to one appliance; use it as a context manager.

    It reads; writes go only through the NitroWriter that writer() hands out.
    Not thread-safe: one client per thread (the session's current partition is shared state).

    With `via_console`, `url` and `credentials` are NetScaler Console's: the session is one
    Console session, and every request after the login names the managed instance in the
    header Console forwards by.
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
        max_time: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        via_console: ManagedInstance | None = None,
    ) -> None:
        self._redactor = Redactor()
        self._redactor.remember(credentials.password)
        self._sleep = sleep
        self._transport = Transport(
            url,
            verify=verify,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_attempts=max_attempts,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            retry_after_max=retry_after_max,
            user_agent=user_agent,
            max_time=max_time,
            http=http,
            # Looked up at each wait: the CLI tests swap _sleep on a built client.
            sleep=lambda seconds: self._sleep(seconds),
            clock=clock,
            redact=self._redactor.redact,
        )
        self.url = self._transport.url
        self.partition: str | None = None
        self._credentials = credentials
        self._session_timeout = session_timeout
        self._replies = ReplyReader(self.url, credentials.username, self._redactor.redact)
        self._token: str | None = None
        self._recovering = False
        self._relogins = 0
        self.via_console = via_console

    @property
    def where(self) -> str:
        """The appliance as messages name it: its URL, or the instance and Console on the way."""
        if self.via_console is None:
            return self.url
        return f"managed instance {self.via_console} (via NetScaler Console {self.url})"

    def __repr__(self) -> str:
        state = "open" if self._token else "closed"
        via = f" instance={self.via_console}" if self.via_console else ""
        return (
            f"<NitroClient {self.url}{via} user={self._credentials.username!r} "
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
                self._redactor.redact(str(error)),
                self._session_timeout,
            )
        finally:
            self.close()

    def close(self) -> None:
        """Release pooled connections of an HTTP session the client created itself."""
        self._transport.close()

    def login(self) -> None:
        """Open a session (in the default partition); a no-op while one is open."""
        if self._token is not None:
            return
        login: dict[str, Any] = {
            "username": self._credentials.username,
            "password": self._credentials.password,
        }
        if self.via_console is None:
            # Console's login object is documented with user and password only.
            login["timeout"] = self._session_timeout
        call = Call(
            "POST",
            "login",
            build_target("config", "login"),
            body={"login": login},
            authenticated=False,
            recover_session=False,
            resend_unknown=True,  # a duplicate login only leaves a session to age out
        )
        reply = self._transport.send(call, token=None)
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
        try:
            self._replies.check(call, reply)
        except NitroAuthError as exc:
            if self.via_console is None:
                raise
            # The operator must know whose login it was: the password is Console's here.
            exc.message = f"NetScaler Console {self.url}: {exc.message}"
            raise
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
        self._transport.drop_token_cookies()
        log.info("logged in to %s as %s", self.url, self._credentials.username)
        if self.via_console is not None and not self._recovering:
            self._reach_instance(self.via_console)

    def _reach_instance(self, instance: ManagedInstance) -> None:
        """Read nsversion through Console, so an instance it cannot reach fails here, clearly.

        What Console answers for an unknown or unreachable instance is not documented; any
        answer that is not the appliance's nsversion means the route does not work.
        """
        try:
            records = self._get_records("nsversion", build_target("config", "nsversion"))
            problem = None if records else "the reply holds no nsversion, so no appliance answered"
        except NitroAuthError:
            raise
        except NitroError as exc:
            problem, status, code = exc.message, exc.http_status, exc.errorcode
        else:
            status, code = None, None
        if problem is None:
            return
        try:
            self.logout(max_attempts=1)
        except NitroError as error:
            log.debug("could not log out of NetScaler Console: %s", error)
        raise NitroInstanceUnreachable(
            f"NetScaler Console {self.url} could not reach managed instance {instance}: {problem}",
            http_status=status,
            errorcode=code,
            method="GET",
            resource="nsversion",
        )

    def logout(self, *, max_attempts: int | None = None) -> None:
        """Close the session; a no-op when none is open. The session is forgotten even on error."""
        if self._token is None:
            return
        call = Call(
            "POST",
            "logout",
            build_target("config", "logout"),
            body={"logout": {}},
            recover_session=False,
            resend_unknown=True,
        )
        try:
            reply = self._transport.send(call, token=self._token, max_attempts=max_attempts)
            if not expired(reply):  # an expired session is already logged out
                self._replies.check(call, reply)
            log.info("logged out of %s", self.url)
        finally:
            self._forget_session()

    def switch_partition(self, name: str) -> None:
        """Make name the session's current partition ('default' returns to the default one)."""
        self.writer().send(describe_switch_partition(name))
        self.partition = None if name == "default" else name

    def stats(self) -> RequestStats:
        transport = self._transport
        return RequestStats(
            total=sum(transport.by_method.values()),
            by_method=dict(transport.by_method),
            by_resource=dict(transport.by_resource),
            retries=transport.retries,
            relogins=self._relogins,
        )

    def _login_token(self, reply: Reply) -> str | None:
        """The token a login reply carries, remembered for redaction before anything can show it."""
        token = reply.payload.get("sessionid") if reply.payload else None
        if (not isinstance(token, str) or not token) and reply.payload:
            # Console answers like a login resource: {"login": [{"sessionid": ...}]}.
            token = next(iter(records_in("login", reply.payload, _LOGIN_READ)), {}).get("sessionid")
        if not isinstance(token, str) or not token:
            token = unquote(reply.token_cookie) if reply.token_cookie else None
        if token is not None:
            self._redactor.remember(token)
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
        self._transport.drop_token_cookies()

    def _relogin(self, call: Call) -> None:
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

    def _request(self, call: Call) -> dict[str, Any]:
        """Send with retries, recover an expired session once, map errors; return the payload."""
        if call.authenticated and self._token is None:
            raise RuntimeError("not logged in: call login() or use the client in a with-block")
        if self.via_console is not None:
            call = replace(call, headers={**call.headers, **self.via_console.header})
        reply = self._transport.send(call, token=self._token)
        if call.recover_session and not self._recovering and expired(reply):
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
            reply = self._transport.send(call, token=self._token)
        return self._replies.check(call, reply)

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
        call = Call("GET", resource, target, resend_unknown=True)
        return records_in(resource, self._request(call), call)

    # ------------------------------------------------------------------ writes

    def writer(self) -> NitroWriter:
        """The only door for writes through this session; outside nsfix.nitro, the executor's."""
        return NitroWriter(self._request, self._replies)


__all__ = ["Credentials", "NitroClient", "RequestStats"]
