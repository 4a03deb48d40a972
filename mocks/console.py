"""Mock NetScaler Console (ADM): its own login, and NITRO requests forwarded to managed instances.

Console forwards a request unchanged to the managed instance named by an
`_MPS_API_PROXY_MANAGED_INSTANCE_{IP,NAME,ID}` header, after a login to Console itself, and keeps
the sessions with the instances itself (docs/console.md has the facts and their sources). Here
each managed instance is a mock appliance reached over its own HTTP server, exactly as any
client reaches it; this module imports nothing from the appliance's internals.

What Console answers when it does not know the instance, or cannot reach it, is not documented;
the answers below are this mock's own (named constants), chosen to be what a gateway says.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from mocks.appliance import Appliance
from mocks.scenario import load_scenario
from mocks.server import MockServer, check_loopback

SCENARIOS: Final = Path(__file__).resolve().parent / "scenarios"

INSTANCE_HEADERS: Final = {
    "ip": "_MPS_API_PROXY_MANAGED_INSTANCE_IP",
    "name": "_MPS_API_PROXY_MANAGED_INSTANCE_NAME",
    "id": "_MPS_API_PROXY_MANAGED_INSTANCE_ID",
}
USERNAME_HEADER: Final = "_MPS_API_PROXY_MANAGED_INSTANCE_USERNAME"
PASSWORD_HEADER: Final = "_MPS_API_PROXY_MANAGED_INSTANCE_PASSWORD"
LOGIN_PATHS: Final = frozenset({"/nitro/v1/config/login", "/nitro/v2/config/login"})
LOGOUT_PATHS: Final = frozenset({"/nitro/v1/config/logout", "/nitro/v2/config/logout"})
# Not documented for Console: NITRO's own codes where they fit, the mock's own otherwise.
BAD_LOGIN: Final = (401, 354, "Invalid username or password")
NO_SESSION: Final = (401, 444, "Invalid session: log in to NetScaler Console")
UNKNOWN_INSTANCE: Final = (404, 3001, "Managed instance not found")
UNREACHABLE_INSTANCE: Final = (503, 3002, "Managed instance is not reachable")
NO_ANSWER: Final = (504, 3003, "Managed instance did not answer in time")
NOT_PROXIED: Final = (400, 3004, "This mock Console answers login, logout and proxied requests")
PROFILE_REFUSED: Final = (502, 3005, "Managed instance refused the login of its instance profile")
# Request headers Console passes on to the instance; the rest (Cookie, the proxy headers) stay.
_FORWARDED: Final = ("content-type", "accept", "user-agent", "x-nitro-onerror")
_RETURNED: Final = ("Content-Type", "X-NITRO-WARNING", "Retry-After")
_EXPIRED_CODES: Final = frozenset({444, 1027})


@dataclass(frozen=True)
class Instance:
    """One managed instance: how Console names it, where its NITRO listens, the profile it uses."""

    name: str
    ip: str
    id: str
    url: str
    username: str
    password: str = field(repr=False)

    def key(self, kind: str) -> str:
        return {"ip": self.ip, "name": self.name, "id": self.id}[kind]


@dataclass
class _Forwarded:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class Console:
    """Console's state: its users, their sessions, the instances, its own instance sessions."""

    def __init__(
        self,
        instances: Sequence[Instance],
        users: Mapping[str, str],
        *,
        session_timeout: float = 1800.0,
        upstream_timeout: float = 10.0,
    ) -> None:
        self.instances = list(instances)
        self.users = dict(users)
        self.session_timeout = session_timeout
        self.upstream_timeout = upstream_timeout
        self._sessions: dict[str, float] = {}  # token -> last use (monotonic)
        # (instance url, user, password) -> Console's session cookie for that instance login
        self._upstream: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()
        self.issued: list[str] = []
        """Every session token Console handed out, for tests that look for leaks."""
        self.log: list[dict[str, Any]] = []
        """One entry per request: method, path, which instance header, the answer's status."""

    def find(self, kind: str, value: str) -> Instance | None:
        return next((i for i in self.instances if i.key(kind) == value), None)

    def login(self, username: str, password: str) -> str | None:
        if not username or self.users.get(username) != password:
            return None
        token = "##" + secrets.token_hex(24).upper()
        with self._lock:
            self._sessions[token] = time.monotonic()
            self.issued.append(token)
        return token

    def valid(self, token: str | None) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._sessions.get(token or "")
            if last is None or now - last > self.session_timeout:
                self._sessions.pop(token or "", None)
                return False
            self._sessions[token or ""] = now
            return True

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def kill_sessions(self) -> int:
        """End every client session (as an administrator or a timeout would)."""
        with self._lock:
            killed = len(self._sessions)
            self._sessions.clear()
        return killed

    @property
    def active_sessions(self) -> int:
        with self._lock:
            return len(self._sessions)

    def forward(
        self,
        instance: Instance,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        credentials: tuple[str, str] | None,
    ) -> _Forwarded:
        """Send the request on to the instance in Console's own session with it.

        Raises ConnectionError when the instance cannot be reached, TimeoutError when it took
        the request but gave no answer, PermissionError when it refused Console's login.
        """
        username, password = credentials or (instance.username, instance.password)
        passed = {k: v for k, v in headers.items() if k.lower() in _FORWARDED}
        for attempt in range(2):
            token = self._instance_token(instance, username, password, fresh=attempt > 0)
            answer = self._send(instance, method, target, {**passed, "Cookie": token}, body)
            if attempt == 0 and _errorcode(answer.body) in _EXPIRED_CODES:
                continue  # Console's session with the instance aged out: log in again, once
            return answer
        return answer

    def _instance_token(
        self, instance: Instance, username: str, password: str, *, fresh: bool
    ) -> str:
        key = (instance.url, username, password)
        with self._lock:
            token = None if fresh else self._upstream.get(key)
        if token is not None:
            return token
        login = json.dumps({"login": {"username": username, "password": password}}).encode()
        answer = self._send(
            instance,
            "POST",
            "/nitro/v1/config/login",
            {"Content-Type": "application/json"},
            login,
        )
        session = _json(answer.body).get("sessionid")
        if not isinstance(session, str) or not session:
            raise PermissionError(f"login as {username!r} answered HTTP {answer.status}")
        cookie = f"NITRO_AUTH_TOKEN={session}"
        with self._lock:
            self._upstream[key] = cookie
        return cookie

    def _send(
        self, instance: Instance, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> _Forwarded:
        parts = urlsplit(instance.url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.upstream_timeout
        )
        try:
            try:
                connection.connect()
            except OSError as exc:
                raise ConnectionError(str(exc)) from exc
            try:
                connection.request(method, target, body=body or None, headers=dict(headers))
                response = connection.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise TimeoutError(str(exc)) from exc
            kept = [(k, v) for k, v in response.getheaders() if k in _RETURNED]
            return _Forwarded(response.status, response.reason, kept, content)
        finally:
            connection.close()


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _errorcode(body: bytes) -> object:
    return _json(body).get("errorcode")


def _login_object(body: bytes, content_type: str) -> dict[str, Any]:
    """The login object of a JSON body, or of a legacy form body `object={...}`."""
    text = body.decode("utf-8", "replace")
    if "x-www-form-urlencoded" in content_type:
        text = (parse_qs(text).get("object") or ["{}"])[0]
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    login = value.get("login") if isinstance(value, dict) else None
    return login if isinstance(login, dict) else {}


def _token(headers: Mapping[str, str]) -> str | None:
    """Console's session from `Cookie: NITRO_AUTH_TOKEN=` (the Ansible collection) or `SESSID=`."""
    for header in ("Cookie", "Set-Cookie"):
        for part in headers.get(header, "").split(";"):
            name, _, value = part.strip().partition("=")
            if name in ("NITRO_AUTH_TOKEN", "SESSID") and value:
                return value
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], console: Console) -> None:
        self.console = console
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _answer(
        self,
        status: int,
        payload: Mapping[str, Any] | bytes,
        *,
        reason: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status, reason)
        sent = {name.lower() for name, _ in headers}
        for name, value in headers:
            self.send_header(name, value)
        if "content-type" not in sent:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, answer: tuple[int, int, str], detail: str = "") -> None:
        status, code, message = answer
        text = f"{message}: {detail}" if detail else message
        self._answer(status, {"errorcode": code, "message": text, "severity": "ERROR"})

    def _handle(self) -> None:
        console = self.server.console
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        path = urlsplit(self.path).path.rstrip("/")
        named = next(
            ((kind, self.headers[h]) for kind, h in INSTANCE_HEADERS.items() if self.headers[h]),
            None,
        )
        entry: dict[str, Any] = {"method": self.command, "path": path, "instance": named}
        console.log.append(entry)
        token = _token(headers)
        if self.command == "POST" and path in LOGIN_PATHS:
            login = _login_object(body, headers.get("Content-Type", ""))
            issued = console.login(str(login.get("username", "")), str(login.get("password", "")))
            entry["status"] = 200 if issued else 401
            if issued is None:
                self._error(BAD_LOGIN)
                return
            self._answer(
                200,
                {"errorcode": 0, "message": "Done", "severity": "NONE",
                 "login": [{"sessionid": issued}]},
                headers=[("Set-Cookie", f"SESSID={issued}; path=/; HttpOnly")],
            )
            return
        if not console.valid(token):
            entry["status"] = NO_SESSION[0]
            self._error(NO_SESSION)
            return
        if self.command == "POST" and path in LOGOUT_PATHS:
            console.logout(token)
            entry["status"] = 200
            self._answer(200, {"errorcode": 0, "message": "Done", "severity": "NONE"})
            return
        if named is None:
            entry["status"] = NOT_PROXIED[0]
            self._error(NOT_PROXIED)
            return
        kind, value = named
        instance = console.find(kind, value.strip())
        if instance is None:
            entry["status"] = UNKNOWN_INSTANCE[0]
            self._error(UNKNOWN_INSTANCE, f"no managed instance has {kind} {value!r}")
            return
        user, password = self.headers[USERNAME_HEADER], self.headers[PASSWORD_HEADER]
        try:
            answer = console.forward(
                instance,
                self.command,
                self.path,
                headers,
                body,
                (user, password) if user and password else None,
            )
        except PermissionError:
            entry["status"] = PROFILE_REFUSED[0]
            self._error(PROFILE_REFUSED, f"{instance.name} ({instance.ip})")
            return
        except ConnectionError:
            entry["status"] = UNREACHABLE_INSTANCE[0]
            self._error(UNREACHABLE_INSTANCE, f"{instance.name} ({instance.ip})")
            return
        except TimeoutError:
            entry["status"] = NO_ANSWER[0]
            self._error(NO_ANSWER, f"{instance.name} ({instance.ip})")
            return
        entry["status"] = answer.status
        self._answer(answer.status, answer.body, reason=answer.reason, headers=answer.headers)


class ConsoleServer:
    """Serve a mock Console on loopback: `start()`, `url`, `stop()`."""

    def __init__(self, console: Console, host: str = "127.0.0.1", port: int = 0) -> None:
        self.console = console
        self._server = _Server((check_loopback(host), port), console)
        self._thread: threading.Thread | None = None

    def start(self) -> ConsoleServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mock-console", daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def closed_port_url() -> str:
    """A loopback URL where nothing listens: an instance Console cannot reach."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class RunningConsole:
    """A mock Console being served, with the mock appliances behind it (by instance name)."""

    url: str
    console: Console
    server: ConsoleServer
    appliances: dict[str, MockServer]

    def stop(self) -> None:
        self.server.stop()
        for appliance in self.appliances.values():
            appliance.stop()


def start_console(
    instances: Sequence[Mapping[str, Any]],
    users: Mapping[str, str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    base: Path | None = None,
) -> RunningConsole:
    """Start a mock appliance per instance (none for one marked `unreachable`) and a Console.

    Each instance is `{"name", "ip", "id"}` plus a `scenario` (a mapping, or a file: relative
    to `base`, or a name in mocks/scenarios), or `generate` (as `python -m mocks --generate`),
    or `"unreachable": true`. Console logs in to an instance with its scenario's first user
    unless the instance gives `username` and `password`.
    """
    started: dict[str, MockServer] = {}
    members: list[Instance] = []
    try:
        for spec in instances:
            name, ip, ident = str(spec["name"]), str(spec["ip"]), str(spec.get("id", spec["name"]))
            if spec.get("unreachable"):
                url, user, password = closed_port_url(), "nsroot", "nsroot"
            else:
                data = _scenario(spec, base)
                users_of = (data.get("_mock") or {}).get("users") or {"nsroot": "nsroot"}
                user, password = (str(v) for v in next(iter(users_of.items())))
                appliance = Appliance(data)
                served = MockServer(appliance, host=host).start()
                started[name] = served
                url = served.url
            members.append(
                Instance(
                    name,
                    ip,
                    ident,
                    url,
                    str(spec.get("username", user)),
                    str(spec.get("password", password)),
                )
            )
        console = Console(members, users)
        server = ConsoleServer(console, host=host, port=port).start()
    except BaseException:
        for running in started.values():
            running.stop()
        raise
    return RunningConsole(server.url, console, server, started)


def _scenario(spec: Mapping[str, Any], base: Path | None) -> dict[str, Any]:
    scenario = spec.get("scenario")
    if isinstance(scenario, Mapping):
        return load_scenario(scenario)
    if isinstance(scenario, str):
        path = Path(scenario)
        if not path.is_absolute() and base is not None and (base / path).exists():
            path = base / path
        elif not path.exists():
            path = SCENARIOS / (scenario if scenario.endswith(".json") else f"{scenario}.json")
        return load_scenario(path)
    if isinstance(spec.get("generate"), str):
        from mocks.__main__ import parse_generate
        from mocks.generate import generate

        return load_scenario(generate(**parse_generate(spec["generate"])))
    return {}


def load_console_file(path: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A Console file: `{"users": {user: password}, "instances": [...]}` (see start_console)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read Console file {path}: {exc}") from None
    users = data.get("users") if isinstance(data, dict) else None
    instances = data.get("instances") if isinstance(data, dict) else None
    if not isinstance(users, dict) or not users or not isinstance(instances, list):
        raise ValueError(f"{path}: expected {{\"users\": {{...}}, \"instances\": [...]}}")
    for index, item in enumerate(instances):
        if not isinstance(item, dict) or not {"name", "ip"} <= item.keys():
            raise ValueError(f"{path}: instance {index} needs at least a name and an ip")
    return instances, {str(k): str(v) for k, v in users.items()}


__all__ = [
    "Console",
    "ConsoleServer",
    "Instance",
    "RunningConsole",
    "closed_port_url",
    "load_console_file",
    "start_console",
]
