"""Who is asking: users, login sessions and their partitions, and per-request authentication."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from mocks.behaviour import Behaviour
from mocks.envelopes import (
    bad_json,
    bad_login,
    bad_value,
    basic_auth_disabled,
    missing,
    no_such,
    not_logged_in,
    session_dead,
)
from mocks.faults import Faults
from mocks.schema import DEFAULT_PARTITION
from mocks.store import Partition, Scope, Store
from mocks.traffic import Traffic


class Session:
    __slots__ = ("last_used", "partition", "timeout", "token", "user")

    def __init__(self, token: str, user: str, timeout: float, partition: Partition) -> None:
        self.token = token
        self.user = user
        self.timeout = timeout
        self.last_used = time.monotonic()
        self.partition = partition

    def __repr__(self) -> str:
        # The token is a secret: never part of a repr.
        return f"Session(user={self.user!r}, partition={self.partition.name!r})"


@dataclass
class Caller:
    """An authenticated request: its session (None for per-request credentials), its scope
    and the query flags that change how writes behave."""

    session: Session | None
    scope: Scope
    user: str
    idempotent: bool = False
    skip_invalid: bool = False


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    cookie = headers.get("cookie")
    if cookie:
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            if name in ("NITRO_AUTH_TOKEN", "sessionid") and value:
                return unquote(value.strip().strip('"'))
    # Go and Python SDKs send the token in a *request* header named Set-Cookie.
    set_cookie = headers.get("set-cookie")
    if set_cookie:
        first = set_cookie.split(";", 1)[0].strip()
        name, _, value = first.partition("=")
        if name == "NITRO_AUTH_TOKEN" and value:
            return unquote(value.strip().strip('"'))
    return None


def new_token(style: str) -> str:
    """A fresh session token: by default shaped like an appliance's, `##` and 64 hex digits.

    `#` is reserved in URLs, so a client that carries the token URL-encoded
    (`Cookie: sessionid=%23%23…`, as the Java SDK does) is exercised; "urlsafe" gives the
    mock's former tokens, which need no encoding.
    """
    if style == "urlsafe":
        return secrets.token_urlsafe(32)
    return "##" + secrets.token_hex(32).upper()


class Sessions:
    """The login table and the live sessions."""

    def __init__(self, users: Mapping[str, str], timeout: float, store: Store, faults: Faults,
                 traffic: Traffic, behaviour: Behaviour | None = None) -> None:
        self._behaviour = behaviour or Behaviour()
        self._users = dict(users)
        self._timeout = timeout
        self._store = store
        self._faults = faults
        self._traffic = traffic
        self._live: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._live)

    def active(self) -> int:
        """Sessions not idle for longer than their timeout."""
        now = time.monotonic()
        return sum(1 for s in self._live.values() if now - s.last_used <= s.timeout)

    def kill_all(self) -> int:
        count = len(self._live)
        self._live.clear()
        return count

    def _check_password(self, user: str | None, password: str | None) -> bool:
        if user is None or password is None:
            return False
        expected = self._users.get(user)
        if expected is None:
            # Compare anyway so an unknown user costs the same as a wrong password.
            hmac.compare_digest(password.encode(), password.encode())
            return False
        return hmac.compare_digest(expected.encode(), password.encode())

    def login(self, payload: Mapping[str, Any]) -> Session:
        login = payload.get("login")
        if not isinstance(login, dict):
            raise bad_json()
        user = login.get("username")
        password = login.get("password")
        if not isinstance(user, str) or not isinstance(password, str) or not self._check_password(
            user, password
        ):
            self._traffic.count("login_failures")
            raise bad_login()
        timeout = self._timeout
        given = login.get("timeout")
        if given is not None:
            try:
                if float(given) > 0:
                    timeout = float(given)
            except (TypeError, ValueError):
                raise bad_value("timeout", given) from None
        token = new_token(self._behaviour.session_token)
        session = self._live[token] = Session(
            token, user, timeout, self._store.partitions[DEFAULT_PARTITION]
        )
        self._traffic.count("logins")
        return session

    def accepted(self, headers: Mapping[str, str]) -> Callable[[], Callable[[], None]]:
        """For a request the appliance accepts now and carries out later: a function that
        re-admits its session (if it has logged out since) and returns how to undo that."""
        token = token_from_headers(headers)
        session = self._live.get(token) if token else None

        def admit() -> Callable[[], None]:
            if session is None or session.token in self._live:
                return lambda: None
            self._live[session.token] = session
            token = session.token

            def undo() -> None:
                self._live.pop(token, None)

            return undo

        return admit

    def logout(self, caller: Caller) -> None:
        if caller.session is not None:
            self._live.pop(caller.session.token, None)
            self._traffic.count("logouts")

    def authenticate(self, headers: Mapping[str, str], payload: Mapping[str, Any] | None) -> Caller:
        """A session token (cookie or body), else per-request credentials; 401 otherwise."""
        token = token_from_headers(headers)
        if token is None and payload is not None and isinstance(payload.get("sessionid"), str):
            token = payload["sessionid"]
        default = self._store.partitions[DEFAULT_PARTITION]
        if token:
            session = self._live.get(token)
            if session is None:
                raise session_dead()
            now = time.monotonic()
            if now - session.last_used > session.timeout or self._faults.take_session_expiry():
                del self._live[token]
                raise session_dead()
            session.last_used = now
            if self._store.partitions.get(session.partition.name) is not session.partition:
                # Its partition was deleted (a re-created one of that name is another).
                session.partition = default
            return Caller(session, self._store.scope(session.partition), session.user)
        user = headers.get("x-nitro-user")
        password = headers.get("x-nitro-pass")
        auth = headers.get("authorization", "")
        if user is None and password is None and auth.lower().startswith("basic "):
            if not self._behaviour.basic_auth:
                self._traffic.count("login_failures")
                raise basic_auth_disabled()
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise bad_login() from None
            user, _, password = decoded.partition(":")
        if user is not None or password is not None:
            if not self._check_password(user, password):
                self._traffic.count("login_failures")
                raise bad_login()
            return Caller(None, self._store.scope(default), user or "")
        if self._behaviour.not_logged_in_errorcode == 444:
            raise session_dead()
        raise not_logged_in()

    def switch(self, caller: Caller, obj: Any) -> None:
        """nspartition switch: the session works in another partition from now on."""
        if caller.session is None:
            # Switching is session state; a per-request login has nothing to switch.
            raise not_logged_in()
        if not isinstance(obj, dict):
            raise missing("partitionname")
        name = obj.get("partitionname")
        if not isinstance(name, str) or not name:
            raise missing("partitionname")
        part = self._store.partitions.get(name)
        if part is None:
            raise no_such("partitionname", name)
        caller.session.partition = part
        caller.scope = self._store.scope(part)
