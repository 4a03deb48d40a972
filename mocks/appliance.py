"""The mock NetScaler: NITRO requests in, NITRO responses out (no sockets), and its control API."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from mocks import reads
from mocks.behaviour import Behaviour
from mocks.envelopes import DONE, NitroError, bad_method, bad_path, not_primary
from mocks.faults import Faults
from mocks.messages import (
    NitroRequest,
    NitroResponse,
    parse_body,
    parse_path,
    parse_query,
    query_flag,
    split_target,
    type_in_body,
)
from mocks.scenario import ScenarioError, build_store, canonical_ha_state, export, load_scenario
from mocks.schema import DEFAULT_PARTITION, SCHEMAS
from mocks.sessions import Sessions
from mocks.store import Partition
from mocks.traffic import RequestFacts, Traffic
from mocks.values import clone, clone_record
from mocks.writes import Writes

# Behaviour decisions where the NITRO documentation is silent (see
# /work/shared/reference/nitro-api.md for the facts this mock follows):
# - Standalone HA: `hanode` lists node 0 with state "Primary" (the CLI shows a standalone box
#   as Master State Primary; the NITRO enum is Primary/Secondary/UNKNOWN); `stat/hanode` says
#   hacurstatus NO ("not configured for HA"), hacurstate UP, hacurmasterstate PRIMARY.
# - Writes on a Secondary are refused: HTTP 599 errorcode 1028 (NSERR_NOT_PRIMARY, its
#   documented text). A real secondary may accept them locally; refusing is the safe model.
#   Login, logout, reads and nspartition Switch (session state) still work.
# - Unknown resource type: HTTP 400 errorcode 1232 "Invalid object name [x]" (NITRO parse error).
# - Unknown or read-only attribute in a write: HTTP 599 errorcode 278 "Invalid argument [x]"
#   (a device answered exactly that for an unknown attribute, puppetlabs-netscaler PR #117).
#   `skipinvalidarg=yes` drops such attributes instead (the name's evident meaning; unconfirmed).
# - Invalid IP address: 400/1097 like any bad value (NSERR_INVALIDIP 1110 exists, but no device
#   evidence says NITRO uses it for service addresses).
# - Binding GET without a parent name needs `bulkbindings=yes`, otherwise 400/1095.
# - Aggregate `<parent>_binding` lists only the binding types that have entries.
# - `pagesize`/`pageno` on an aggregate count parents: a page is `pagesize` parents, each with
#   all its bindings (NITRO does not say; the same paging as any other collection). An
#   aggregate ignores `attrs`: its binding records come whole.
# - GET nspartition lists admin partitions only (partitionid >= 1); "default" is implicit but
#   can be switched to. partitiontype says "Current Partition" for the session's partition.
# - Switch without a session (per-request X-NITRO-USER auth): 401/1026, nothing to switch.
# - 258 is always HTTP 404, also for writes naming a missing object.
# - Bulk with X-NITRO-ONERROR rollback: earlier adds/binds are undone, sets are not; the 207
#   body lists the earlier items as Done and ends at the failing one (as with exit).
# - Idle timeout: the `timeout` given at login (any positive number of seconds), else
#   `_mock.session_timeout` (1800). `expire_session_after` counts token-authenticated requests.
# - Adding a service or member by IP creates a server object named after the IP unless a server
#   with that IP exists (then its name is used), as the appliance does.
# - `POST`/`PUT` to `/nitro/v1/config/` itself (the Java SDK's and nsnitro's form) take the type
#   from the one body key besides `sessionid` and `params`; none or several: 400/1232.
# - Where the reference leaves a behaviour UNCONFIRMED the scenario chooses (`_mock` switches in
#   mocks/behaviour.py, documented in mocks/scenarios/README.md).

_WRITE_METHODS = ("POST", "PUT", "DELETE")

_Answer = tuple[int, Any, list[tuple[str, str]], RequestFacts]


class Appliance(Writes):
    """A stateful NetScaler as far as NITRO can tell; thread-safe behind one lock."""

    def __init__(self, scenario: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.RLock()
        self.faults = Faults()
        data = load_scenario(scenario) if scenario is not None else {}
        mock = data.pop("_mock", None) or {}
        if not isinstance(mock, dict):
            raise ScenarioError("_mock: expected an object of settings")
        partitions = data.pop("_partitions", None) or {}
        if not isinstance(partitions, dict) or not all(
            isinstance(v, dict) for v in partitions.values()
        ):
            raise ScenarioError("_partitions: expected an object of partition name -> resources")
        users = mock.get("users") or {"nsroot": "nsroot"}
        if not isinstance(users, dict):
            raise ScenarioError("_mock.users: expected an object of username -> password")
        session_timeout = float(mock.get("session_timeout", 1800))
        self.behaviour = Behaviour.from_settings(mock)
        self._traffic = Traffic()
        self._store = build_store(data, partitions, mock)
        self._sessions = Sessions({str(k): str(v) for k, v in users.items()}, session_timeout,
                                  self._store, self.faults, self._traffic, self.behaviour)

    @classmethod
    def from_scenario(cls, source: Mapping[str, Any] | str | Path) -> Appliance:
        """Build an appliance from a scenario file path or an already-parsed scenario dict."""
        return cls(load_scenario(source))

    def __repr__(self) -> str:
        return (
            f"Appliance(partitions={list(self._store.partitions)}, "
            f"ha_state={self._store.ha_state!r}, sessions={len(self._sessions)})"
        )

    # --- Python control API --------------------------------------------------------------------

    def config(self, partition: str = DEFAULT_PARTITION) -> dict[str, Any]:
        """A deep copy of the running configuration of one partition, in scenario shape."""
        with self._lock:
            return export(self._store.scope(self._partition(partition)))

    def saved_config(self, partition: str = DEFAULT_PARTITION) -> dict[str, Any]:
        """A deep copy of the last saved configuration of one partition."""
        with self._lock:
            saved = self._partition(partition).saved
            return {
                name: [clone_record(r) for r in value] if isinstance(value, list)
                else clone_record(value)
                for name, value in saved.items()
            }

    def _partition(self, name: str) -> Partition:
        try:
            return self._store.partitions[name]
        except KeyError:
            raise KeyError(f"no partition {name!r}") from None

    @property
    def partitions(self) -> list[str]:
        with self._lock:
            return list(self._store.partitions)

    @property
    def ha_state(self) -> str:
        with self._lock:
            return self._store.ha_state

    def set_ha_state(self, state: str) -> None:
        """Make this node Primary or Secondary."""
        with self._lock:
            try:
                self._store.ha_state = canonical_ha_state(state)
            except ScenarioError as exc:
                raise ValueError(str(exc)) from None

    def config_changed(self, partition: str = DEFAULT_PARTITION) -> bool:
        """Whether the partition has unsaved changes (what nsconfig.configchanged reports)."""
        with self._lock:
            return self._partition(partition).changed

    def kill_sessions(self) -> int:
        """Kill every session (as `kill system session -all` would); returns how many."""
        with self._lock:
            return self._sessions.kill_all()

    def set_attribute(self, resource: str, name: str | None, attrs: Mapping[str, Any],
                      partition: str = DEFAULT_PARTITION) -> None:
        """Change an object out of band (someone at the CLI), without validation.

        `name` addresses the object like the URL would (ignored for singletons). Changing only
        read-only attributes such as `svrstate` does not count as a configuration change.
        """
        with self._lock:
            scope = self._store.scope(self._partition(partition))
            schema = SCHEMAS.get(resource) or self._store.unmodeled.get(resource)
            if schema is None:
                raise KeyError(f"unknown resource type {resource!r}")
            if schema.singleton:
                target = scope.singleton(schema)
            else:
                if name is None:
                    raise KeyError(f"{resource}: a name is required")
                keys = scope.find_keys(schema, name, {})
                if not keys:
                    raise KeyError(f"{resource} {name!r} not found in partition {partition!r}")
                target = scope.table(schema).rows[keys[0]]
            if any(a in schema.keys for a in attrs):
                raise KeyError(f"{resource}: key attributes cannot be changed out of band")
            for attr, value in attrs.items():
                target[attr] = clone(value)
            if any(a not in schema.readonly for a in attrs):
                scope.touch()

    @property
    def counters(self) -> dict[str, Any]:
        """Request counters: totals by method, resource and status, writes, logins, sessions."""
        with self._lock:
            out = self._traffic.counters()
            out["active_sessions"] = self._sessions.active()
            out["faults_fired"] = self.faults.fired_counts()
            return out

    @property
    def request_log(self) -> list[dict[str, Any]]:
        """One entry per NITRO request; never carries a password or a session token."""
        with self._lock:
            return self._traffic.entries()

    def reset_counters(self) -> None:
        with self._lock:
            self._traffic.reset()
            self.faults.reset_fired()

    # --- request handling ----------------------------------------------------------------------

    @staticmethod
    def is_write_request(method: str, target: str, body: bytes = b"",
                         headers: Mapping[str, str] | None = None) -> bool:
        """Whether a request would change configuration (what fault counters call a write).

        Give the body (and headers) too: a request to `/nitro/v1/config/` names its type there.
        """
        if method.upper() not in _WRITE_METHODS:
            return False
        path, query = split_target(target)
        segments = path.split("/")
        if len(segments) < 5 or segments[1:4] != ["nitro", "v1", "config"]:
            return False
        type_name = unquote(segments[4]).lower()
        action = query_flag(parse_query(query), "action")
        if not type_name:
            lowered = {k.lower(): v for k, v in (headers or {}).items()}
            payload, _ = parse_body(NitroRequest(method, target, lowered, body))
            try:
                type_name = type_in_body(payload)
            except NitroError:
                return True
            params = payload.get("params") if payload else None
            if isinstance(params, dict):
                action = str(params.get("action", "")).lower()
        if type_name in ("login", "logout"):
            return False
        schema = SCHEMAS.get(type_name)
        return schema is None or action not in schema.session_actions

    def record_fault(self, request: NitroRequest, status: int, kind: str) -> None:
        """Account for a request the HTTP layer answered itself (fault injection)."""
        path, query = split_target(request.target)
        segments = path.split("/")
        resource = unquote(segments[4]).lower() if len(segments) > 4 else ""
        with self._lock:
            self._traffic.record(request.method.upper(), path, query, status,
                                 RequestFacts(resource=resource), fault=kind)

    def handle(self, request: NitroRequest) -> NitroResponse:
        """Answer one NITRO request."""
        path, query = split_target(request.target)
        if any(not k.islower() for k in request.headers):
            request = NitroRequest(request.method, request.target,
                                   {k.lower(): v for k, v in request.headers.items()},
                                   request.body)
        with self._lock:
            status, payload, headers, facts = self._route(request, path, query)
            self._traffic.record(request.method.upper(), path, query, status, facts)
        # Payloads are freshly built dicts of immutable values: serialising outside the lock
        # keeps big GETs from blocking everyone else.
        body = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else b""
        return NitroResponse(status, body, headers)

    def handle_later(self, request: NitroRequest, delay: float) -> threading.Timer:
        """Accept a request now and carry it out `delay` seconds later, as the session that sent
        it, even if that session has logged out in between (a write the appliance had already
        taken when its client gave up waiting)."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            admit = self._sessions.accepted(headers)

        def run() -> None:
            with self._lock:
                undo = admit()
                try:
                    self.handle(request)
                finally:
                    undo()

        timer = threading.Timer(delay, run)
        timer.daemon = True
        timer.start()
        return timer

    def _route(self, request: NitroRequest, path: str, query_raw: str) -> _Answer:
        """Login, logout, reads, session actions and writes, in the order NITRO checks them."""
        facts = RequestFacts()
        try:
            api, type_name, name = parse_path(path)
            facts.resource = type_name
            query = parse_query(query_raw)
            method = request.method.upper()
            payload, body_error = parse_body(request)
            if not type_name:
                # `/nitro/v1/config/` itself: the legacy clients' form, type in the body.
                if method not in ("POST", "PUT"):
                    raise bad_path()
                if body_error is not None:
                    raise body_error
                type_name = type_in_body(payload)
                facts.resource = type_name
                assert payload is not None
                payload = {(type_name if k.lower() == type_name else k): v
                           for k, v in payload.items()}

            if api == "config" and type_name == "login":
                if method != "POST":
                    raise bad_method(method)
                if body_error is not None:
                    raise body_error
                session = self._sessions.login(payload or {})
                facts.user = session.user
                body = dict(DONE)
                body["sessionid"] = session.token
                # URL-encoded in the cookie (the Python SDKs unquote it), raw in the body.
                cookie = f"NITRO_AUTH_TOKEN={quote(session.token, safe='')}; path=/nitro/v1"
                return 201, body, [("Set-Cookie", cookie)], facts

            caller = self._sessions.authenticate(request.headers, payload)
            facts.user, facts.partition = caller.user, caller.scope.partition.name
            caller.idempotent = query_flag(query, "idempotent") == "yes"
            caller.skip_invalid = query_flag(query, "skipinvalidarg") == "yes"
            if api == "config" and type_name == "logout":
                self._sessions.logout(caller)
                return 200, dict(DONE), [], facts
            if method == "GET":
                return 200, reads.get(caller.scope, api, type_name, name, query,
                                           self.behaviour), [], facts
            if api != "config" or method not in _WRITE_METHODS:
                raise bad_method(method)
            if body_error is not None:
                raise body_error
            payload = payload or {}
            given_params = payload.get("params")
            params: dict[str, Any] = given_params if isinstance(given_params, dict) else {}
            action = query_flag(query, "action") or str(params.get("action", "")).lower()
            schema = SCHEMAS.get(type_name)
            if method == "POST" and schema is not None and action in schema.session_actions:
                self._sessions.switch(caller, payload.get(type_name))
                facts.partition = caller.scope.partition.name
                return 200, dict(DONE), [], facts

            self._traffic.count("writes")
            if self._store.ha_state == "Secondary":
                raise not_primary()
            failure = self.faults.take_write_failure()
            if failure is not None:
                raise NitroError(failure.status, failure.errorcode, failure.message)
            onerror = (
                request.headers.get("x-nitro-onerror")
                or str(params.get("onerror", ""))
                or query_flag(query, "onerror")
                or "exit"
            ).lower()
            status, body = self._write(caller, method, type_name, name, query, payload, action,
                                       onerror)
            if status < 300 and self.faults.take_flip_secondary():
                self._store.ha_state = "Secondary"
            return status, body, [], facts
        except NitroError as exc:
            return exc.status, exc.envelope(), [], facts
