"""The mock NetScaler's state machine: NITRO requests in, NITRO responses out, no sockets."""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import ipaddress
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, unquote_plus

from mocks.faults import Faults
from mocks.schema import (
    AGGREGATES,
    BUILTIN_MONITORS,
    CHILD_REFERENCES,
    LOAD_ORDER,
    NSMODES,
    SCHEMAS,
    UNSET_ADDRESS,
    ResourceSchema,
    unmodeled_schema,
)

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

Record = dict[str, Any]
Key = tuple[str, ...]

DEFAULT_PARTITION = "default"
DONE: dict[str, Any] = {"errorcode": 0, "message": "Done", "severity": "NONE"}
NOT_PRIMARY_MESSAGE = (
    "You are connected to a secondary node; configuration changes made in this session will "
    "not be propagated to, or saved on, other nodes"
)
_SECRET_PARAM = re.compile(r"pass|token|secret|session|auth", re.IGNORECASE)
_WRITE_METHODS = ("POST", "PUT", "DELETE")
_SINGLETON_GLOBAL = ("nsversion", "nshostname")

# Attributes a GET computes instead of echoing what is stored.
COMPUTED: dict[str, frozenset[str]] = {
    "service": frozenset({"svrstate"}),
    "lbvserver": frozenset(
        {"curstate", "effectivestate", "health", "totalservices", "activeservices"}
    ),
    "servicegroup": frozenset({"servicegroupeffectivestate"}),
    "servicegroup_servicegroupmember_binding": frozenset({"svrstate"}),
    "lbvserver_service_binding": frozenset(
        {"ipv46", "port", "servicetype", "curstate", "dynamicweight"}
    ),
    "hanode": frozenset({"state"}),
    "nspartition": frozenset({"partitiontype"}),
    "nsconfig": frozenset(
        {"configchanged", "lastconfigchangedtime", "lastconfigsavetime", "currentsytemtime"}
    ),
    "nsmode": frozenset({"mode"}),
}

_MODE_ALIASES: dict[str, str] = {
    alias.lower(): attr for attr, aliases, _default in NSMODES for alias in aliases
}
_MODE_LABEL: dict[str, str] = {attr: aliases[0] for attr, aliases, _default in NSMODES}


class ScenarioError(ValueError):
    """A scenario that cannot be loaded (bad JSON, wrong top-level shape)."""


class NitroError(Exception):
    """An error the appliance answers with a NITRO error envelope."""

    def __init__(self, status: int, errorcode: int, message: str) -> None:
        super().__init__(f"HTTP {status}, errorcode {errorcode}: {message}")
        self.status = status
        self.errorcode = errorcode
        self.message = message

    def envelope(self) -> dict[str, Any]:
        return {"errorcode": self.errorcode, "message": self.message, "severity": "ERROR"}


def _no_such(attr: str, value: Any) -> NitroError:
    return NitroError(404, 258, f"No such resource [{attr}, {value}]")


def _exists() -> NitroError:
    return NitroError(409, 273, "Resource already exists")


def _bad_value(attr: str, value: Any) -> NitroError:
    return NitroError(400, 1097, f"Invalid argument value [{attr}, {value}]")


def _bad_arg(attr: str) -> NitroError:
    return NitroError(599, 278, f"Invalid argument [{attr}]")


def _missing(attr: str) -> NitroError:
    return NitroError(400, 1095, f"Required argument missing [{attr}]")


def _bad_object(name: str) -> NitroError:
    return NitroError(400, 1232, f"Invalid object name [{name}]")


def _bad_action(action: str) -> NitroError:
    return NitroError(400, 1240, f"Invalid nitro action or operation [{action}]")


def _bad_json() -> NitroError:
    return NitroError(400, 1233, "Invalid JSON input")


def _bad_method(method: str) -> NitroError:
    return NitroError(
        405, 1237, f"Invalid method name. It should be either post, put, get, stat or delete "
        f"[{method}]"
    )


def _not_logged_in() -> NitroError:
    return NitroError(401, 1026, "Not logged in")


def _session_dead() -> NitroError:
    return NitroError(401, 444, "Session expired or killed. Please login again")


def _bad_login() -> NitroError:
    return NitroError(401, 354, "Invalid username or password")


# --- small helpers -----------------------------------------------------------------------------


def _norm(value: Any) -> str:
    """Comparable text form of a NITRO value (NITRO mixes "80" and 80 freely)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, list):
        return ",".join(_norm(v) for v in value)
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "enabled", "1")
    return bool(value)


def _clone(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, list | dict) else value


def _clone_record(rec: Mapping[str, Any]) -> Record:
    return {k: _clone(v) for k, v in rec.items()}


_DefaultPlan = tuple[
    dict[str, Any], list[tuple[str, Any]], list[tuple[str, Callable[[Record], Any]]]
]
_DEFAULT_PLANS: dict[str, _DefaultPlan] = {}


def _default_plan(schema: ResourceSchema) -> _DefaultPlan:
    """Split a schema's defaults into plain constants, mutable constants and computed ones."""
    plan = _DEFAULT_PLANS.get(schema.name)
    if plan is None:
        constants: dict[str, Any] = {}
        mutables: list[tuple[str, Any]] = []
        dynamic: list[tuple[str, Callable[[Record], Any]]] = []
        for attr, default in schema.defaults.items():
            if callable(default):
                dynamic.append((attr, default))
            elif isinstance(default, list | dict):
                mutables.append((attr, default))
            else:
                constants[attr] = default
        plan = _DEFAULT_PLANS[schema.name] = (constants, mutables, dynamic)
    return plan


def _is_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _timestamp(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(epoch))


def split_target(target: str) -> tuple[str, str]:
    """Split a request target into raw path and raw query string."""
    path, _, query = target.partition("?")
    return path, query


def decode_name(segment: str) -> str:
    """Decode a name path segment the way every official client encodes it (twice).

    Normal path decoding first (no `+` to space), then `unquote_plus` once more.
    """
    return unquote_plus(unquote(segment))


def parse_query(query: str) -> dict[str, str]:
    """Raw query parameters (values still percent-encoded); the last one wins."""
    out: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out[unquote_plus(name).lower()] = value
    return out


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


def _redact_query(query: str) -> str:
    """The query string as logged: values of anything that smells like a secret are masked."""
    if not query:
        return ""
    parts = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        if _SECRET_PARAM.search(unquote_plus(name)):
            parts.append(f"{name}{sep}***")
            continue
        if unquote_plus(name).lower() in ("args", "filter"):
            decoded = value if ":" in value else unquote_plus(value)
            pairs = []
            for item in decoded.split(","):
                key, colon, val = item.partition(":")
                if _SECRET_PARAM.search(unquote(key)):
                    val = "***"
                pairs.append(f"{key}{colon}{val}")
            value = ",".join(pairs)
        parts.append(f"{name}{sep}{value}")
    return "&".join(parts)


def _token_from_headers(headers: Mapping[str, str]) -> str | None:
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


def load_scenario(source: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """Read a scenario (path to JSON, or an already-parsed mapping) into a fresh dict."""
    if isinstance(source, Mapping):
        # Shallow is enough: records are copied one by one when loaded, and the mock never
        # mutates nested values in place.
        data: Any = dict(source)
        origin = "scenario"
    else:
        path = Path(source)
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{origin}: cannot read scenario: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(
                f"{origin}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{origin}: the top level must be a JSON object keyed by resource type, "
            f"not {type(data).__name__}"
        )
    return data


def _records(type_name: str, value: Any) -> list[Record]:
    if isinstance(value, dict):
        return [dict(value)]
    if not isinstance(value, list):
        raise ScenarioError(f"{type_name}: expected a list of records, got {type(value).__name__}")
    out = []
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise ScenarioError(f"{type_name}[{position}]: every record must be a JSON object")
        out.append(dict(item))
    return out


# --- state -------------------------------------------------------------------------------------


class Table:
    """Rows of one resource type in one partition, indexed for bindings and references."""

    def __init__(self, schema: ResourceSchema) -> None:
        self.schema = schema
        self.rows: dict[Key, Record] = {}
        self.by_parent: dict[str, dict[Key, None]] = {}
        self.refs: dict[str, dict[str, dict[Key, None]]] = {
            attr: {}
            for refs in CHILD_REFERENCES.values()
            for binding, attr in refs
            if binding == schema.name
        }

    def key_of(self, rec: Mapping[str, Any]) -> Key:
        return tuple(_norm(rec.get(k)) for k in self.schema.keys)

    def insert(self, rec: Record, key: Key | None = None) -> Key:
        key = self.key_of(rec) if key is None else key
        self.rows[key] = rec
        if self.schema.is_binding:
            self.by_parent.setdefault(key[0], {})[key] = None
        for attr, index in self.refs.items():
            index.setdefault(_norm(rec.get(attr)), {})[key] = None
        return key

    def insert_lenient(self, rec: Record) -> Key:
        """Insert at load time; a duplicate key keeps both records (the first wins lookups)."""
        key = self.key_of(rec)
        if key in self.rows:
            n = 1
            while (*key, f"#dup{n}") in self.rows:
                n += 1
            key = (*key, f"#dup{n}")
        return self.insert(rec, key)

    def remove(self, key: Key) -> Record | None:
        rec = self.rows.pop(key, None)
        if rec is None:
            return None
        if self.schema.is_binding:
            bucket = self.by_parent.get(key[0])
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del self.by_parent[key[0]]
        for attr, index in self.refs.items():
            ref_bucket = index.get(_norm(rec.get(attr)))
            if ref_bucket is not None:
                ref_bucket.pop(key, None)
                if not ref_bucket:
                    del index[_norm(rec.get(attr))]
        return rec

    def children(self, parent: str) -> list[Key]:
        return list(self.by_parent.get(parent, ()))

    def referring(self, attr: str, value: str) -> list[Key]:
        return list(self.refs.get(attr, {}).get(value, ()))


class Partition:
    """One admin partition's configuration: its tables, modes, nsconfig and saved copy."""

    def __init__(self, name: str, partitionid: int) -> None:
        self.name = name
        self.partitionid = partitionid
        self.tables: dict[str, Table] = {}
        self.nsmode: Record = {}
        self.nsconfig: Record = {}
        self.changed = False
        self.last_changed: float | None = None
        self.last_saved: float | None = None
        self.saved: dict[str, Any] = {}
        self.server_by_ip: dict[str, str] = {}
        self.labels: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Partition({self.name!r}, tables={sorted(self.tables)})"


class _Session:
    __slots__ = ("last_used", "partition", "timeout", "token", "user")

    def __init__(self, token: str, user: str, timeout: float) -> None:
        self.token = token
        self.user = user
        self.timeout = timeout
        self.last_used = time.monotonic()
        self.partition = DEFAULT_PARTITION

    def __repr__(self) -> str:
        # The token is a secret: never part of a repr.
        return f"_Session(user={self.user!r}, partition={self.partition!r})"


@dataclass
class _Ctx:
    session: _Session | None
    part: Partition
    user: str
    idempotent: bool = False
    skip_invalid: bool = False


@dataclass
class _Done:
    undo: Callable[[], None] | None = None
    changed: bool = True


@dataclass
class _Meta:
    resource: str = ""
    partition: str = DEFAULT_PARTITION
    user: str = ""
    write: bool = False


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


# --- the appliance -----------------------------------------------------------------------------


class Appliance:
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
        self._users: dict[str, str] = {str(k): str(v) for k, v in users.items()}
        self._session_timeout = float(mock.get("session_timeout", 1800))
        self._sessions: dict[str, _Session] = {}
        self._boot = time.time()
        self._global: dict[str, Table] = {
            "hanode": Table(SCHEMAS["hanode"]),
            "nspartition": Table(SCHEMAS["nspartition"]),
        }
        self._singletons: dict[str, Record] = {
            "nsversion": {}, "nshostname": {},
        }
        self._extra: dict[str, ResourceSchema] = {}
        self._partitions: dict[str, Partition] = {
            DEFAULT_PARTITION: Partition(DEFAULT_PARTITION, 0)
        }
        self._counters: dict[str, Any] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=100_000)
        self.reset_counters()

        self._load_global(data, partitions)
        self._load_partition(self._partitions[DEFAULT_PARTITION], data)
        for name, content in partitions.items():
            self._load_partition(self._partitions[str(name)], dict(content))
        if "hostname" in mock:
            self._singletons["nshostname"]["hostname"] = str(mock["hostname"])
        node0 = self._global["hanode"].rows[("0",)]
        node0.setdefault("ipaddress", self._partitions[DEFAULT_PARTITION].nsconfig.get("ipaddress"))
        node0.setdefault("name", self._singletons["nshostname"].get("hostname"))
        self._ha_state = self._initial_ha_state(mock.get("ha_state"))
        for part in self._partitions.values():
            part.saved = self._export(part, part.name == DEFAULT_PARTITION, deep=False)
            part.last_saved = self._boot

    @classmethod
    def from_scenario(cls, source: Mapping[str, Any] | str | Path) -> Appliance:
        """Build an appliance from a scenario file path or an already-parsed scenario dict."""
        return cls(load_scenario(source))

    def __repr__(self) -> str:
        return (
            f"Appliance(partitions={list(self._partitions)}, ha_state={self._ha_state!r}, "
            f"sessions={len(self._sessions)})"
        )

    # --- loading ---------------------------------------------------------------------------

    def _load_global(self, data: dict[str, Any], partitions: dict[str, Any]) -> None:
        for name in _SINGLETON_GLOBAL:
            rec: Record = {}
            if name in data:
                for item in _records(name, data.pop(name)):
                    rec.update(item)
            self._fill_defaults(None, SCHEMAS[name], rec)
            self._singletons[name] = rec
        hanode = self._global["hanode"]
        for item in _records("hanode", data.pop("hanode", [])):
            self._fill_defaults(None, SCHEMAS["hanode"], item)
            hanode.insert_lenient(item)
        if ("0",) not in hanode.rows:
            node: Record = {"id": 0}
            self._fill_defaults(None, SCHEMAS["hanode"], node)
            hanode.rows = {("0",): node, **hanode.rows}
        table = self._global["nspartition"]
        for item in _records("nspartition", data.pop("nspartition", [])):
            self._fill_defaults(None, SCHEMAS["nspartition"], item)
            table.insert_lenient(item)
        for name in partitions:
            if str(name) != DEFAULT_PARTITION and (str(name),) not in table.rows:
                rec = {"partitionname": str(name)}
                self._fill_defaults(None, SCHEMAS["nspartition"], rec)
                table.insert(rec)
        next_id = 1 + max(
            (int(r["partitionid"]) for r in table.rows.values()
             if str(r.get("partitionid", "")).isdigit()),
            default=0,
        )
        for rec in table.rows.values():
            if "partitionid" not in rec:
                rec["partitionid"] = next_id
                next_id += 1
            name = str(rec.get("partitionname", ""))
            if name and name != DEFAULT_PARTITION and name not in self._partitions:
                pid = rec["partitionid"]
                self._partitions[name] = Partition(name, int(pid) if _norm(pid).isdigit() else 0)

    def _initial_ha_state(self, configured: Any) -> str:
        if isinstance(configured, str) and configured:
            return self._canonical_ha(configured)
        node0 = self._global["hanode"].rows.get(("0",), {})
        given = node0.get("state")
        if isinstance(given, str) and given.lower() in ("primary", "secondary"):
            return given.capitalize()
        return "Primary"

    @staticmethod
    def _canonical_ha(state: str) -> str:
        lowered = state.strip().lower()
        if lowered not in ("primary", "secondary"):
            raise ScenarioError(f"ha_state must be Primary or Secondary, not {state!r}")
        return lowered.capitalize()

    def _load_partition(self, part: Partition, data: dict[str, Any]) -> None:
        for name in (*_SINGLETON_GLOBAL, "hanode", "nspartition"):
            data.pop(name, None)  # appliance-wide: only meaningful at the top level
        mode: Record = {}
        for item in _records("nsmode", data.pop("nsmode", [])):
            mode.update(item)
        part.nsmode = self._load_nsmode(mode)
        nsconfig: Record = {}
        for item in _records("nsconfig", data.pop("nsconfig", [])):
            nsconfig.update(item)
        if "configchanged" in nsconfig:
            part.changed = _truthy(nsconfig["configchanged"])
            if part.changed:
                part.last_changed = time.time()
        # Times given by the scenario are shown as given until the first change or save.
        for attr, label in (("lastconfigchangedtime", "changed"), ("lastconfigsavetime", "saved")):
            if isinstance(nsconfig.get(attr), str) and nsconfig[attr]:
                part.labels[label] = nsconfig[attr]
        for computed in COMPUTED["nsconfig"]:
            nsconfig.pop(computed, None)
        self._fill_defaults(part, SCHEMAS["nsconfig"], nsconfig)
        part.nsconfig = nsconfig
        for type_name in LOAD_ORDER:
            schema = SCHEMAS[type_name]
            if schema.singleton or schema.appliance_wide or type_name not in data:
                continue
            table = self._table(part, schema)
            for rec in _records(type_name, data.pop(type_name)):
                self._prepare_loaded(part, schema, rec)
                key = table.insert_lenient(rec)
                if type_name == "server" and len(key) == 1:
                    ip = _norm(rec.get("ipaddress"))
                    if ip:
                        part.server_by_ip.setdefault(ip, key[0])
        for type_name, value in data.items():
            if type_name.startswith("_"):
                continue  # metadata such as "_comment"
            records = _records(type_name, value)
            first = next((next(iter(r)) for r in records if r), "name")
            extra = self._extra.get(type_name.lower())
            if extra is None:
                extra = unmodeled_schema(type_name.lower(), first)
                self._extra[extra.name] = extra
            table = self._table(part, extra)
            for rec in records:
                table.insert_lenient(rec)

    @staticmethod
    def _load_nsmode(given: Record) -> Record:
        rec: Record = {attr: default for attr, _aliases, default in NSMODES}
        modes = given.pop("mode", None)
        if isinstance(modes, str):
            modes = modes.replace(",", " ").split()
        if isinstance(modes, list):
            enabled = {_MODE_ALIASES.get(str(m).lower()) for m in modes}
            for attr in rec:
                rec[attr] = attr in enabled
        for attr, value in given.items():
            if attr in rec and isinstance(value, str) and value.lower() in (
                "true", "false", "yes", "no", "on", "off", "enabled", "disabled"
            ):
                rec[attr] = _truthy(value)
            else:
                rec[attr] = value
        return rec

    def _prepare_loaded(self, part: Partition, schema: ResourceSchema, rec: Record) -> None:
        if schema.name == "service" and "ipaddress" not in rec and "ip" in rec:
            rec["ipaddress"] = rec.pop("ip")
        if schema.name == "servicegroup_servicegroupmember_binding" and "ip" not in rec:
            server = self._table(part, SCHEMAS["server"]).rows.get((_norm(rec.get("servername")),))
            if server is not None and "ipaddress" in server:
                rec["ip"] = server["ipaddress"]
        self._fill_defaults(part, schema, rec)

    def _fill_defaults(self, part: Partition | None, schema: ResourceSchema, rec: Record) -> None:
        constants, mutables, dynamic = _default_plan(schema)
        # Dict merges run in C: given attributes keep their order, defaults follow.
        merged = {**rec, **constants, **rec}
        rec.clear()
        rec.update(merged)
        for attr, value in mutables:
            if attr not in rec:
                rec[attr] = copy.deepcopy(value)
        for attr, make in dynamic:
            if attr not in rec:
                value = make(rec)
                if value is not None:
                    rec[attr] = value
        if part is not None and schema.name in ("service", "servicegroup") and "usip" not in rec:
            # A service created without -usip inherits the global USIP mode (CTX109858).
            rec["usip"] = "YES" if _truthy(part.nsmode.get("usip")) else "NO"

    # --- lookups ---------------------------------------------------------------------------

    def _schema(self, type_name: str) -> ResourceSchema:
        schema = SCHEMAS.get(type_name) or self._extra.get(type_name)
        if schema is None:
            raise _bad_object(type_name)
        return schema

    def _table(self, part: Partition, schema: ResourceSchema) -> Table:
        if schema.appliance_wide:
            return self._global[schema.name]
        table = part.tables.get(schema.name)
        if table is None:
            table = part.tables[schema.name] = Table(schema)
        return table

    def _tbl(self, part: Partition, type_name: str) -> Table:
        return self._table(part, SCHEMAS[type_name])

    def _find_keys(self, part: Partition, schema: ResourceSchema, name: str,
                   args: Mapping[str, str]) -> list[Key]:
        table = self._table(part, schema)
        if len(schema.keys) == 1 or not schema.modeled:
            single: Key = (_norm(name),)
            return [single] if single in table.rows else []
        # Multi-key objects (nsip: ipaddress + td) are addressed by the first key plus args.
        extra = {k: _norm(args[k]) for k in schema.keys[1:] if k in args}
        found: list[Key] = []
        for key in table.rows:
            if key[0] != name:
                continue
            if all(key[schema.keys.index(k)] == v for k, v in extra.items()):
                found.append(key)
        return found

    # --- computed attributes ---------------------------------------------------------------

    @staticmethod
    def _service_state(rec: Mapping[str, Any]) -> str:
        if rec.get("state") == "DISABLED":
            return "OUT OF SERVICE"
        given = rec.get("svrstate")
        return given if isinstance(given, str) and given else "UP"

    def _member_state(self, part: Partition, rec: Mapping[str, Any]) -> str:
        group = self._tbl(part, "servicegroup").rows.get((_norm(rec.get("servicegroupname")),))
        if rec.get("state") == "DISABLED" or (group is not None
                                              and group.get("state") == "DISABLED"):
            return "OUT OF SERVICE"
        given = rec.get("svrstate")
        return given if isinstance(given, str) and given else "UP"

    def _group_counts(self, part: Partition, group_name: str) -> tuple[int, int]:
        members = self._tbl(part, "servicegroup_servicegroupmember_binding")
        total = up = 0
        for key in members.children(group_name):
            total += 1
            if self._member_state(part, members.rows[key]) == "UP":
                up += 1
        return total, up

    def _group_state(self, part: Partition, rec: Mapping[str, Any]) -> str:
        if rec.get("state") == "DISABLED":
            return "OUT OF SERVICE"
        total, up = self._group_counts(part, _norm(rec.get("servicegroupname")))
        if total and up == total:
            return "UP"
        return "PARTIAL-UP" if up else "DOWN"

    def _vserver_counts(self, part: Partition, name: str) -> tuple[int, int]:
        services = self._tbl(part, "service")
        svc_bindings = self._tbl(part, "lbvserver_service_binding")
        total = up = 0
        for key in svc_bindings.children(name):
            total += 1
            svc = services.rows.get((key[1],))
            if svc is not None and self._service_state(svc) == "UP":
                up += 1
        groups = self._tbl(part, "servicegroup")
        for key in self._tbl(part, "lbvserver_servicegroup_binding").children(name):
            group = groups.rows.get((key[1],))
            if group is None or group.get("state") == "DISABLED":
                total += 1
                continue
            g_total, g_up = self._group_counts(part, key[1])
            total += g_total
            up += g_up
        return total, up

    def _computed(self, part: Partition, schema: ResourceSchema, rec: Record) -> Record:
        name = schema.name
        if name == "service":
            return {"svrstate": self._service_state(rec)}
        if name == "lbvserver":
            total, up = self._vserver_counts(part, _norm(rec.get("name")))
            state = "UP" if up else "DOWN"
            if rec.get("state") == "DISABLED":
                state = "OUT OF SERVICE"
            return {
                "curstate": state,
                "effectivestate": state,
                "health": str(up * 100 // total) if total else "0",
                "totalservices": str(total),
                "activeservices": str(up),
            }
        if name == "servicegroup":
            return {"servicegroupeffectivestate": self._group_state(part, rec)}
        if name == "servicegroup_servicegroupmember_binding":
            return {"svrstate": self._member_state(part, rec)}
        if name == "lbvserver_service_binding":
            svc = self._tbl(part, "service").rows.get((_norm(rec.get("servicename")),))
            if svc is None:
                return {}
            return {
                "ipv46": svc.get("ipaddress"),
                "port": svc.get("port"),
                "servicetype": svc.get("servicetype"),
                "curstate": self._service_state(svc),
                "dynamicweight": "0",
            }
        if name == "hanode":
            if _norm(rec.get("id")) == "0":
                return {"state": self._ha_state}
            stored = _norm(rec.get("state")).lower()
            if stored and stored not in {"primary", "secondary"}:
                # A peer the scenario marks as down (UNKNOWN) stays down whatever this node is.
                return {"state": rec.get("state")}
            return {"state": "Secondary" if self._ha_state == "Primary" else "Primary"}
        if name == "nspartition":
            if rec.get("partitionname") == part.name:
                return {"partitiontype": "Current Partition"}
            return {}
        return {}

    def _render(self, part: Partition, schema: ResourceSchema, rec: Record) -> Record:
        out = dict(rec)
        if schema.name in COMPUTED:
            out.update(self._computed(part, schema, rec))
        return out

    def _render_nsconfig(self, part: Partition) -> Record:
        out = dict(part.nsconfig)
        out["configchanged"] = part.changed
        out["lastconfigchangedtime"] = part.labels.get("changed") or _timestamp(part.last_changed)
        out["lastconfigsavetime"] = part.labels.get("saved") or _timestamp(part.last_saved)
        out["currentsytemtime"] = _timestamp(time.time())
        if self._global["hanode"].rows.keys() - {("0",)}:
            out["systemtype"] = "HA"
        return out

    @staticmethod
    def _render_nsmode(part: Partition) -> Record:
        out = {k: _clone(v) for k, v in part.nsmode.items()}
        out["mode"] = [_MODE_LABEL[attr] for attr in _MODE_LABEL if part.nsmode.get(attr) is True]
        return out

    def _render_singleton(self, part: Partition, type_name: str) -> Record:
        if type_name == "nsconfig":
            return self._render_nsconfig(part)
        if type_name == "nsmode":
            return self._render_nsmode(part)
        return {k: _clone(v) for k, v in self._singletons[type_name].items()}

    def _project_all(self, part: Partition, schema: ResourceSchema, rows: list[Record],
                     wanted: list[str] | None) -> list[Record]:
        if wanted is None:
            return [self._render(part, schema, rec) for rec in rows]
        computed = COMPUTED.get(schema.name, frozenset())
        render = any(a in computed for a in wanted)
        fields = list(dict.fromkeys((*schema.keys, *wanted)))
        out = []
        for rec in rows:
            src = self._render(part, schema, rec) if render else rec
            out.append({a: src[a] for a in fields if a in src})
        return out

    # --- exporting -------------------------------------------------------------------------

    def _export(self, part: Partition, include_global: bool, deep: bool = True) -> dict[str, Any]:
        """The partition in scenario shape. `deep=False` (internal saved copies) shares nested
        values, which is safe because the mock only ever replaces values, never mutates them."""
        clone: Callable[[Mapping[str, Any]], Record] = _clone_record if deep else dict
        out: dict[str, Any] = {}
        if include_global:
            for name in _SINGLETON_GLOBAL:
                out[name] = _clone_record(self._singletons[name])
            out["hanode"] = [
                _clone_record(self._render(part, SCHEMAS["hanode"], r))
                for r in self._global["hanode"].rows.values()
            ]
            out["nspartition"] = [
                _clone_record(r) for r in self._global["nspartition"].rows.values()
            ]
        out["nsmode"] = self._render_nsmode(part)
        out["nsconfig"] = self._render_nsconfig(part)
        for type_name in LOAD_ORDER:
            schema = SCHEMAS[type_name]
            if schema.singleton or schema.appliance_wide:
                continue
            table = part.tables.get(type_name)
            out[type_name] = [clone(r) for r in table.rows.values()] if table else []
        for type_name, table in part.tables.items():
            if type_name not in SCHEMAS:
                out[type_name] = [clone(r) for r in table.rows.values()]
        return out

    # --- Python control API ----------------------------------------------------------------

    def config(self, partition: str = DEFAULT_PARTITION) -> dict[str, Any]:
        """A deep copy of the running configuration of one partition, in scenario shape."""
        with self._lock:
            return self._export(self._partition(partition), partition == DEFAULT_PARTITION)

    def saved_config(self, partition: str = DEFAULT_PARTITION) -> dict[str, Any]:
        """A deep copy of the last saved configuration of one partition."""
        with self._lock:
            saved = self._partition(partition).saved
            return {
                name: [_clone_record(r) for r in value] if isinstance(value, list)
                else _clone_record(value)
                for name, value in saved.items()
            }

    def _partition(self, name: str) -> Partition:
        try:
            return self._partitions[name]
        except KeyError:
            raise KeyError(f"no partition {name!r}") from None

    @property
    def partitions(self) -> list[str]:
        with self._lock:
            return list(self._partitions)

    @property
    def ha_state(self) -> str:
        with self._lock:
            return self._ha_state

    def set_ha_state(self, state: str) -> None:
        """Make this node Primary or Secondary."""
        with self._lock:
            try:
                self._ha_state = self._canonical_ha(state)
            except ScenarioError as exc:
                raise ValueError(str(exc)) from None

    def config_changed(self, partition: str = DEFAULT_PARTITION) -> bool:
        """Whether the partition has unsaved changes (what nsconfig.configchanged reports)."""
        with self._lock:
            return self._partition(partition).changed

    def kill_sessions(self) -> int:
        """Kill every session (as `kill system session -all` would); returns how many."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count

    def set_attribute(self, resource: str, name: str | None, attrs: Mapping[str, Any],
                      partition: str = DEFAULT_PARTITION) -> None:
        """Change an object out of band (someone at the CLI), without validation.

        `name` addresses the object like the URL would (ignored for singletons). Changing only
        read-only attributes such as `svrstate` does not count as a configuration change.
        """
        with self._lock:
            part = self._partition(partition)
            schema = SCHEMAS.get(resource) or self._extra.get(resource)
            if schema is None:
                raise KeyError(f"unknown resource type {resource!r}")
            if schema.singleton:
                if resource == "nsmode":
                    target = part.nsmode
                elif resource == "nsconfig":
                    target = part.nsconfig
                else:
                    target = self._singletons[resource]
            else:
                if name is None:
                    raise KeyError(f"{resource}: a name is required")
                keys = self._find_keys(part, schema, name, {})
                if not keys:
                    raise KeyError(f"{resource} {name!r} not found in partition {partition!r}")
                target = self._table(part, schema).rows[keys[0]]
            if any(a in schema.keys for a in attrs):
                raise KeyError(f"{resource}: key attributes cannot be changed out of band")
            for attr, value in attrs.items():
                target[attr] = _clone(value)
            if any(a not in schema.readonly for a in attrs):
                self._touch(part)

    @property
    def counters(self) -> dict[str, Any]:
        """Request counters: totals by method, resource and status, writes, logins, sessions."""
        with self._lock:
            out = copy.deepcopy(self._counters)
            now = time.monotonic()
            out["active_sessions"] = sum(
                1 for s in self._sessions.values() if now - s.last_used <= s.timeout
            )
            out["faults_fired"] = self.faults.fired_counts()
            return out

    @property
    def request_log(self) -> list[dict[str, Any]]:
        """One entry per NITRO request; never carries a password or a session token."""
        with self._lock:
            return [dict(entry) for entry in self._log]

    def reset_counters(self) -> None:
        with self._lock:
            self._counters = {
                "requests_total": 0,
                "requests_by_method": {},
                "requests_by_resource": {},
                "requests_by_status": {},
                "writes": 0,
                "logins": 0,
                "login_failures": 0,
                "logouts": 0,
            }
            self._log.clear()
            self.faults.reset_fired()

    # --- request handling ------------------------------------------------------------------

    @staticmethod
    def is_write_request(method: str, target: str) -> bool:
        """Whether a request would change configuration (what fault counters call a write)."""
        if method.upper() not in _WRITE_METHODS:
            return False
        path, query = split_target(target)
        segments = path.split("/")
        if len(segments) < 5 or segments[1:4] != ["nitro", "v1", "config"]:
            return False
        type_name = unquote(segments[4]).lower()
        if type_name in ("login", "logout"):
            return False
        action = unquote_plus(parse_query(query).get("action", "")).lower()
        return not (type_name == "nspartition" and action == "switch")

    def record_fault(self, request: NitroRequest, status: int, kind: str) -> None:
        """Account for a request the HTTP layer answered itself (fault injection)."""
        path, query = split_target(request.target)
        segments = path.split("/")
        resource = unquote(segments[4]).lower() if len(segments) > 4 else ""
        with self._lock:
            meta = _Meta(resource=resource)
            self._account(request.method.upper(), path, query, status, meta, fault=kind)

    def handle(self, request: NitroRequest) -> NitroResponse:
        """Answer one NITRO request."""
        path, query = split_target(request.target)
        if any(not k.islower() for k in request.headers):
            request = NitroRequest(request.method, request.target,
                                   {k.lower(): v for k, v in request.headers.items()},
                                   request.body)
        with self._lock:
            status, payload, headers, meta = self._process(request, path, query)
            self._account(request.method.upper(), path, query, status, meta)
        # Payloads are freshly built dicts of immutable values: serialising outside the lock
        # keeps big GETs from blocking everyone else.
        body = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else b""
        return NitroResponse(status, body, headers)

    def _account(self, method: str, path: str, query: str, status: int, meta: _Meta,
                 fault: str | None = None) -> None:
        c = self._counters
        c["requests_total"] += 1
        c["requests_by_method"][method] = c["requests_by_method"].get(method, 0) + 1
        if meta.resource:
            by_res = c["requests_by_resource"]
            by_res[meta.resource] = by_res.get(meta.resource, 0) + 1
        c["requests_by_status"][str(status)] = c["requests_by_status"].get(str(status), 0) + 1
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": method,
            "path": path,
            "query": _redact_query(query),
            "status": status,
            "resource": meta.resource,
            "partition": meta.partition,
            "user": meta.user,
        }
        if fault:
            entry["fault"] = fault
        self._log.append(entry)

    def _process(self, request: NitroRequest, path: str,
                 query_raw: str) -> tuple[int, Any, list[tuple[str, str]], _Meta]:
        meta = _Meta()
        try:
            if not path.startswith("/nitro/v1/"):
                raise NitroError(404, 1232, "Invalid object name")
            segments = path[len("/nitro/v1/"):].split("/")
            api = segments[0].lower()
            if api not in ("config", "stat") or len(segments) < 2 or not segments[1]:
                raise NitroError(404, 1232, "Invalid object name")
            if len(segments) > 3 and any(segments[3:]):
                raise NitroError(404, 1232, "Invalid object name")
            type_name = unquote(segments[1]).lower()
            name = decode_name(segments[2]) if len(segments) > 2 and segments[2] else None
            meta.resource = type_name
            query = parse_query(query_raw)
            method = request.method.upper()
            payload, body_error = self._parse_body(request)

            if api == "config" and type_name == "login":
                if method != "POST":
                    raise _bad_method(method)
                if body_error is not None:
                    raise body_error
                return self._login(payload or {}, meta)

            ctx = self._authenticate(request, payload, meta)
            ctx.idempotent = unquote_plus(query.get("idempotent", "")).lower() == "yes"
            ctx.skip_invalid = unquote_plus(query.get("skipinvalidarg", "")).lower() == "yes"
            if api == "config" and type_name == "logout":
                return self._logout(ctx)
            if method == "GET":
                return 200, self._get(ctx, api, type_name, name, query), [], meta
            if api != "config" or method not in _WRITE_METHODS:
                raise _bad_method(method)
            if body_error is not None:
                raise body_error
            payload = payload or {}
            given_params = payload.get("params")
            params: dict[str, Any] = given_params if isinstance(given_params, dict) else {}
            action = (
                unquote_plus(query.get("action", "")) or str(params.get("action", ""))
            ).lower()
            if type_name == "nspartition" and action == "switch" and method == "POST":
                self._switch(ctx, payload.get("nspartition"))
                meta.partition = ctx.part.name
                return 200, dict(DONE), [], meta

            meta.write = True
            self._counters["writes"] += 1
            if self._ha_state == "Secondary":
                raise NitroError(599, 1028, NOT_PRIMARY_MESSAGE)
            failure = self.faults.take_write_failure()
            if failure is not None:
                raise NitroError(failure.status, failure.errorcode, failure.message)
            onerror = (
                request.headers.get("x-nitro-onerror")
                or str(params.get("onerror", ""))
                or unquote_plus(query.get("onerror", ""))
                or "exit"
            ).lower()
            status, body = self._write(ctx, method, type_name, name, query, payload, action,
                                       onerror)
            if status < 300 and self.faults.take_flip_secondary():
                self._ha_state = "Secondary"
            return status, body, [], meta
        except NitroError as exc:
            return exc.status, exc.envelope(), [], meta

    @staticmethod
    def _parse_body(request: NitroRequest) -> tuple[dict[str, Any] | None, NitroError | None]:
        raw = request.body
        if not raw or not raw.strip():
            return None, None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, _bad_json()
        ctype = request.headers.get("content-type", "").lower()
        if "x-www-form-urlencoded" in ctype or text.lstrip().startswith("object="):
            objects = parse_qs(text, keep_blank_values=True).get("object")
            if not objects:
                return None, _bad_json()
            text = objects[0]
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None, _bad_json()
        if not isinstance(data, dict):
            return None, NitroError(400, 1234, "Invalid JSON data type")
        return data, None

    # --- sessions --------------------------------------------------------------------------

    def _check_password(self, user: str | None, password: str | None) -> bool:
        if user is None or password is None:
            return False
        expected = self._users.get(user)
        if expected is None:
            # Compare anyway so an unknown user costs the same as a wrong password.
            hmac.compare_digest(password.encode(), password.encode())
            return False
        return hmac.compare_digest(expected.encode(), password.encode())

    def _login(self, payload: dict[str, Any],
               meta: _Meta) -> tuple[int, Any, list[tuple[str, str]], _Meta]:
        login = payload.get("login")
        if not isinstance(login, dict):
            raise _bad_json()
        user = login.get("username")
        password = login.get("password")
        if not isinstance(user, str) or not isinstance(password, str) or not self._check_password(
            user, password
        ):
            self._counters["login_failures"] += 1
            raise _bad_login()
        timeout = self._session_timeout
        given = login.get("timeout")
        if given is not None:
            try:
                if float(given) > 0:
                    timeout = float(given)
            except (TypeError, ValueError):
                raise _bad_value("timeout", given) from None
        token = secrets.token_urlsafe(32)
        self._sessions[token] = _Session(token, user, timeout)
        self._counters["logins"] += 1
        meta.user = user
        body = dict(DONE)
        body["sessionid"] = token
        return 201, body, [("Set-Cookie", f"NITRO_AUTH_TOKEN={token}; path=/nitro/v1")], meta

    def _logout(self, ctx: _Ctx) -> tuple[int, Any, list[tuple[str, str]], _Meta]:
        if ctx.session is not None:
            self._sessions.pop(ctx.session.token, None)
            self._counters["logouts"] += 1
        return 200, dict(DONE), [], _Meta(resource="logout", partition=ctx.part.name,
                                          user=ctx.user)

    def _authenticate(self, request: NitroRequest, payload: dict[str, Any] | None,
                      meta: _Meta) -> _Ctx:
        headers = request.headers
        token = _token_from_headers(headers)
        if token is None and payload is not None and isinstance(payload.get("sessionid"), str):
            token = payload["sessionid"]
        default = self._partitions[DEFAULT_PARTITION]
        if token:
            session = self._sessions.get(token)
            if session is None:
                raise _session_dead()
            now = time.monotonic()
            if now - session.last_used > session.timeout or self.faults.take_session_expiry():
                del self._sessions[token]
                raise _session_dead()
            session.last_used = now
            part = self._partitions.get(session.partition, default)
            meta.user, meta.partition = session.user, part.name
            return _Ctx(session, part, session.user)
        user = headers.get("x-nitro-user")
        password = headers.get("x-nitro-pass")
        auth = headers.get("authorization", "")
        if user is None and password is None and auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _bad_login() from None
            user, _, password = decoded.partition(":")
        if user is not None or password is not None:
            if not self._check_password(user, password):
                self._counters["login_failures"] += 1
                raise _bad_login()
            meta.user = user or ""
            return _Ctx(None, default, user or "")
        raise _not_logged_in()

    def _switch(self, ctx: _Ctx, obj: Any) -> None:
        if ctx.session is None:
            # Switching is session state; a per-request login has nothing to switch.
            raise _not_logged_in()
        if not isinstance(obj, dict):
            raise _missing("partitionname")
        name = obj.get("partitionname")
        if not isinstance(name, str) or not name:
            raise _missing("partitionname")
        part = self._partitions.get(name)
        if part is None:
            raise _no_such("partitionname", name)
        ctx.session.partition = name
        ctx.part = part

    # --- reads -----------------------------------------------------------------------------

    def _get(self, ctx: _Ctx, api: str, type_name: str, name: str | None,
             query: Mapping[str, str]) -> dict[str, Any]:
        if api == "stat":
            return self._stat(ctx, type_name, name)
        if type_name == "nsrunningconfig":
            out = dict(DONE)
            out["nsrunningconfig"] = {"response": self._running_config(ctx.part)}
            return out
        if type_name in AGGREGATES:
            return self._get_aggregate(ctx, type_name, name, query)
        schema = self._schema(type_name)
        attrs_raw = unquote_plus(query.get("attrs", ""))
        wanted: list[str] | None = [a.strip() for a in attrs_raw.split(",") if a.strip()] or None
        if wanted is None and unquote_plus(query.get("view", "")).lower() == "summary":
            wanted = list(schema.summary or schema.required or schema.keys)
        if schema.singleton:
            rec = self._render_singleton(ctx.part, type_name)
            if wanted is not None:
                rec = {k: rec[k] for k in wanted if k in rec}
            out = dict(DONE)
            out[type_name] = rec
            return out

        table = self._table(ctx.part, schema)
        args = parse_pairs(query.get("args"))
        conditions = self._conditions(schema, args, parse_pairs(query.get("filter")))
        keys: Iterable[Key]
        if schema.is_binding:
            if name is None:
                if unquote_plus(query.get("bulkbindings", "")).lower() != "yes":
                    raise _missing(schema.path_key)
                keys = table.rows.keys()
            else:
                self._require_parent(ctx.part, schema, name)
                keys = table.children(_norm(name))
        elif name is not None:
            keys = self._find_keys(ctx.part, schema, name, args)
            if not keys:
                raise _no_such(schema.path_key, name)
        else:
            keys = table.rows.keys()

        rows = table.rows
        computed = COMPUTED.get(schema.name, frozenset())
        matched: list[Record] = []
        for key in keys:
            rec = rows[key]
            if conditions and not self._matches(ctx.part, schema, rec, conditions, computed):
                continue
            matched.append(rec)

        out = dict(DONE)
        if unquote_plus(query.get("count", "")).lower() == "yes":
            out[type_name] = [{"__count": len(matched)}]
            return out
        matched = self._page(matched, query)
        if matched:
            out[type_name] = self._project_all(ctx.part, schema, matched, wanted)
        return out

    def _conditions(self, schema: ResourceSchema, args: Mapping[str, str],
                    filters: Mapping[str, str]) -> list[tuple[str, str | re.Pattern[str]]]:
        known = (schema.writable | schema.readonly | schema.add_only | schema.update_only
                 | frozenset(schema.keys) | frozenset(schema.defaults))
        out: list[tuple[str, str | re.Pattern[str]]] = []
        for attr, value in args.items():
            # args also carries qualifiers that are not attributes (`all:true`): ignore those.
            if schema.modeled and attr not in known:
                continue
            out.append((attr, value))
        for attr, value in filters.items():
            if len(value) >= 2 and value.startswith("/") and value.endswith("/"):
                try:
                    out.append((attr, re.compile(value[1:-1])))
                except re.error:
                    raise _bad_value("filter", value) from None
            else:
                out.append((attr, value))
        return out

    def _matches(self, part: Partition, schema: ResourceSchema, rec: Record,
                 conditions: list[tuple[str, str | re.Pattern[str]]],
                 computed: frozenset[str]) -> bool:
        rendered: Record | None = None
        for attr, want in conditions:
            if attr in computed:
                if rendered is None:
                    rendered = self._render(part, schema, rec)
                value = rendered.get(attr)
            else:
                value = rec.get(attr)
            if value is None:
                return False
            text = _norm(value)
            if isinstance(want, re.Pattern):
                if want.search(text) is None:
                    return False
            elif text != want:
                return False
        return True

    @staticmethod
    def _page(rows: list[Record], query: Mapping[str, str]) -> list[Record]:
        try:
            size = int(unquote_plus(query.get("pagesize", "0")) or 0)
            page = int(unquote_plus(query.get("pageno", "1")) or 1)
        except ValueError:
            raise _bad_value("pagesize", query.get("pagesize")) from None
        if size <= 0:
            return rows
        start = (max(page, 1) - 1) * size
        return rows[start:start + size]

    def _require_parent(self, part: Partition, schema: ResourceSchema, parent: str) -> None:
        if schema.binding_parent_type is None:
            return
        parent_schema = SCHEMAS[schema.binding_parent_type]
        if (_norm(parent),) not in self._table(part, parent_schema).rows:
            raise _no_such(parent_schema.keys[0], parent)

    def _get_aggregate(self, ctx: _Ctx, type_name: str, name: str | None,
                       query: Mapping[str, str]) -> dict[str, Any]:
        parent_type = type_name[: -len("_binding")]
        parent_schema = SCHEMAS[parent_type]
        parent_attr = parent_schema.keys[0]
        if name is None:
            if unquote_plus(query.get("bulkbindings", "")).lower() != "yes":
                raise _missing(parent_attr)
            parents = [key[0] for key in self._table(ctx.part, parent_schema).rows]
        else:
            if (_norm(name),) not in self._table(ctx.part, parent_schema).rows:
                raise _no_such(parent_attr, name)
            parents = [_norm(name)]
        items = []
        for parent in parents:
            item: Record = {parent_attr: parent}
            for binding_type in AGGREGATES[type_name]:
                schema = SCHEMAS[binding_type]
                table = self._table(ctx.part, schema)
                children = table.children(parent)
                if children:
                    item[binding_type] = [
                        self._render(ctx.part, schema, table.rows[k]) for k in children
                    ]
            items.append(item)
        out = dict(DONE)
        if items:
            out[type_name] = items
        return out

    def _stat(self, ctx: _Ctx, type_name: str, name: str | None) -> dict[str, Any]:
        out = dict(DONE)
        part = ctx.part
        if type_name == "hanode":
            peers = len(self._global["hanode"].rows.keys() - {("0",)})
            node0 = self._global["hanode"].rows.get(("0",), {})
            master = self._ha_state.upper()
            if node0.get("hastatus") == "STAYSECONDARY" and master == "SECONDARY":
                master = "STAYSECONDARY"
            out["hanode"] = {
                "hacurstatus": "YES" if peers else "NO",
                "hacurstate": "DISABLED" if node0.get("hastatus") == "DISABLED" else "UP",
                "hacurmasterstate": master,
                "transtime": _timestamp(self._boot),
                "hatotpktrx": "0",
                "hatotpkttx": "0",
                "hapktrxrate": 0,
                "hapkttxrate": 0,
                "haerrproptimeout": "0",
                "haerrsyncfailure": "0",
            }
            return out
        if type_name not in ("lbvserver", "service", "servicegroup"):
            raise _bad_object(type_name)
        schema = SCHEMAS[type_name]
        table = self._table(part, schema)
        if name is not None:
            keys = self._find_keys(part, schema, name, {})
            if not keys:
                raise _no_such(schema.keys[0], name)
        else:
            keys = list(table.rows)
        stats = []
        for key in keys:
            rec = table.rows[key]
            full = self._render(part, schema, rec)
            if type_name == "lbvserver":
                total, up = int(full["totalservices"]), int(full["activeservices"])
                stats.append({
                    "name": rec.get("name"), "primaryipaddress": rec.get("ipv46"),
                    "primaryport": rec.get("port"), "type": rec.get("servicetype"),
                    "state": full["curstate"], "vslbhealth": full["health"], "actsvcs": str(up),
                    "inactsvcs": str(total - up), "tothits": "0", "hitsrate": 0,
                    "totalrequests": "0", "requestsrate": 0, "establishedconn": "0",
                    "curclntconnections": "0", "cursrvrconnections": "0",
                })
            elif type_name == "service":
                stats.append({
                    "name": rec.get("name"), "primaryipaddress": rec.get("ipaddress"),
                    "primaryport": rec.get("port"), "servicetype": rec.get("servicetype"),
                    "state": full["svrstate"], "throughput": "0", "totalrequests": "0",
                    "requestsrate": 0, "curclntconnections": "0", "cursrvrconnections": "0",
                })
            else:
                stats.append({
                    "servicegroupname": rec.get("servicegroupname"),
                    "servicetype": rec.get("servicetype"),
                    "state": full["servicegroupeffectivestate"],
                })
        if stats:
            out[type_name] = stats
        return out

    # --- writes ----------------------------------------------------------------------------

    def _touch(self, part: Partition) -> None:
        part.changed = True
        part.last_changed = time.time()
        part.labels.pop("changed", None)

    def _write(self, ctx: _Ctx, method: str, type_name: str, name: str | None,
               query: Mapping[str, str], payload: dict[str, Any], action: str,
               onerror: str) -> tuple[int, Any]:
        schema = self._schema(type_name)
        args = parse_pairs(query.get("args"))
        if method == "DELETE":
            self._delete(ctx, schema, name, dict(args))
            return 200, dict(DONE)

        op: Callable[[_Ctx, ResourceSchema, Record], _Done]
        if method == "PUT" or (method == "POST" and action == "update"):
            op = self._bind if schema.is_binding else self._update
            ok_status = 200
        elif method == "POST" and not action:
            op = self._bind if schema.is_binding else self._add
            ok_status = 201
        elif method == "POST":
            if action not in schema.actions:
                raise _bad_action(action)
            op = self._action_op(action)
            ok_status = 200
        else:
            raise _bad_method(method)

        obj = payload.get(type_name)
        if obj is None:
            if action or schema.singleton:
                obj = {}
            else:
                raise _bad_json()
        if isinstance(obj, list):
            return self._bulk(ctx, schema, obj, op, onerror, ok_status)
        if not isinstance(obj, dict):
            raise NitroError(400, 1234, "Invalid JSON data type")
        if name is not None and schema.path_key not in obj and not schema.singleton:
            obj = {schema.path_key: name, **obj}
        done = op(ctx, schema, obj)
        return (ok_status if done.changed else 200), dict(DONE)

    def _bulk(self, ctx: _Ctx, schema: ResourceSchema, items: list[Any],
              op: Callable[[_Ctx, ResourceSchema, Record], _Done], onerror: str,
              ok_status: int) -> tuple[int, Any]:
        results: list[dict[str, Any]] = []
        undos: list[Callable[[], None]] = []
        successes = 0
        failed = False
        before = (ctx.part.changed, ctx.part.last_changed)
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise NitroError(400, 1234, "Invalid JSON data type")
                done = op(ctx, schema, item)
            except NitroError as exc:
                failed = True
                results.append(exc.envelope())
                if onerror == "continue":
                    continue
                if onerror == "rollback":
                    for undo in reversed(undos):
                        undo()
                    if len(undos) == successes:
                        ctx.part.changed, ctx.part.last_changed = before
                break
            successes += 1
            results.append(dict(DONE))
            if done.undo is not None:
                undos.append(done.undo)
        if not failed:
            return ok_status, dict(DONE)
        return 207, {
            "errorcode": 1243,
            "message": "Bulk operation failed",
            "severity": "ERROR",
            "response": results,
        }

    def _action_op(self, action: str) -> Callable[[_Ctx, ResourceSchema, Record], _Done]:
        if action == "enable":
            return lambda ctx, schema, item: self._set_state(ctx, schema, item, "ENABLED")
        if action == "disable":
            return lambda ctx, schema, item: self._set_state(ctx, schema, item, "DISABLED")
        table: dict[str, Callable[[_Ctx, ResourceSchema, Record], _Done]] = {
            "unset": self._unset,
            "rename": self._rename,
            "save": self._save,
            "rm": self._rm_item,
            "unbind": self._unbind_item,
        }
        if action not in table:
            raise _bad_action(action)
        return table[action]

    # validation

    def _validate(self, schema: ResourceSchema, item: Mapping[str, Any], op: str,
                  skip_invalid: bool = False) -> Record:
        allowed = schema.allowed_for(op)
        if skip_invalid:
            item = {k: v for k, v in item.items() if k in allowed}
        for attr in item:
            if attr not in allowed:
                raise _bad_arg(attr)
        if op == "add":
            for attr in schema.required:
                if item.get(attr) in (None, ""):
                    raise _missing(attr)
        clean: Record = {}
        for attr, value in item.items():
            if value is None:
                continue
            clean[attr] = self._check_value(schema, attr, value)
        return clean

    @staticmethod
    def _check_value(schema: ResourceSchema, attr: str, value: Any) -> Any:
        if attr in schema.enums:
            canonical = schema.canonical_enum(attr, value)
            if canonical is None:
                raise _bad_value(attr, _norm(value))
            return canonical
        if attr in schema.ip_attrs:
            if attr == "ipv46" and value == "*":
                return value
            if not _is_ip(value):
                raise _bad_value(attr, _norm(value))
            return value
        for ranges, as_int in ((schema.int_attrs, True), (schema.num_attrs, False)):
            if attr not in ranges:
                continue
            if value == "*" and attr.endswith("port"):
                number = 65535
            elif isinstance(value, bool):
                raise _bad_value(attr, _norm(value))
            elif isinstance(value, int):
                number = value
            elif isinstance(value, float) and value.is_integer():
                number = int(value)
            elif isinstance(value, str) and value.strip().isdigit():
                number = int(value.strip())
            else:
                raise _bad_value(attr, _norm(value))
            low, high = ranges[attr]
            if not low <= number <= high:
                raise _bad_value(attr, number)
            return number if as_int else str(number)
        return value

    def _lookup(self, ctx: _Ctx, schema: ResourceSchema, item: Mapping[str, Any]) -> Key:
        """The key of the existing object an update-style body names (404 if absent)."""
        table = self._table(ctx.part, schema)
        parts = []
        for attr in schema.keys:
            value = item.get(attr)
            if value is None:
                if attr == "td":
                    value = "0"
                else:
                    raise _missing(attr)
            parts.append(_norm(value))
        key = tuple(parts)
        if key not in table.rows:
            raise _no_such(schema.keys[0], item.get(schema.keys[0]))
        return key

    # add

    def _add(self, ctx: _Ctx, schema: ResourceSchema, item: Record) -> _Done:
        if schema.singleton:
            raise _bad_action("add")
        table = self._table(ctx.part, schema)
        if not schema.modeled:
            key = table.key_of(item)
            if key in table.rows:
                if ctx.idempotent and table.rows[key] == item:
                    return _Done(changed=False)
                raise _exists()
            table.insert(dict(item), key)
            self._touch(ctx.part)
            return _Done(undo=lambda: self._undo_add(ctx.part, table, key))
        clean = self._validate(schema, item, "add", ctx.skip_invalid)
        created_server: Key | None = None
        if schema.name == "service":
            created_server = self._service_address(ctx.part, clean)
        elif schema.name == "server" and "ipaddress" not in clean and "domain" not in clean:
            raise _missing("IPAddress")
        elif schema.name == "nsip":
            clean.setdefault("td", "0")
        elif schema.name == "nspartition" and clean["partitionname"] == DEFAULT_PARTITION:
            raise _exists()
        key = table.key_of(clean)
        if key in table.rows:
            existing = table.rows[key]
            if ctx.idempotent and all(_norm(existing.get(a)) == _norm(v)
                                      for a, v in clean.items()):
                return _Done(changed=False)
            raise _exists()
        if schema.name == "service" and created_server is not None:
            self._create_server(ctx.part, created_server[0])
        rec = dict(clean)
        self._fill_defaults(ctx.part, schema, rec)
        table.insert(rec, key)
        if schema.name == "server":
            ip = _norm(rec.get("ipaddress"))
            if ip:
                ctx.part.server_by_ip.setdefault(ip, key[0])
        if schema.name == "nspartition":
            existing_ids = [int(_norm(r.get("partitionid"))) for r in table.rows.values()
                            if _norm(r.get("partitionid")).isdigit()]
            rec["partitionid"] = max(existing_ids, default=0) + 1
            self._partitions[key[0]] = Partition(key[0], rec["partitionid"])
        self._touch(ctx.part)
        part = ctx.part

        def undo() -> None:
            self._undo_add(part, table, key)
            if created_server is not None:
                self._remove_server(part, created_server)

        return _Done(undo=undo)

    def _undo_add(self, part: Partition, table: Table, key: Key) -> None:
        rec = table.remove(key)
        if rec is None:
            return
        if table.schema.name == "nspartition":
            self._partitions.pop(key[0], None)
        if table.schema.name == "server":
            ip = _norm(rec.get("ipaddress"))
            if part.server_by_ip.get(ip) == key[0]:
                del part.server_by_ip[ip]

    def _service_address(self, part: Partition, clean: Record) -> Key | None:
        """Turn an add-service body's `ip` / `servername` into stored ipaddress + servername.

        Returns the key of a server object that must be auto-created (as the appliance does).
        """
        ip = clean.pop("ip", None)
        servername = clean.get("servername")
        if ip is None and servername is None:
            raise _missing("serverName")
        if ip is not None and servername is not None and servername != ip:
            raise NitroError(599, 1092, "Arguments cannot both be specified [serverName, IP]")
        servers = self._tbl(part, "server")
        if ip is None:
            server = servers.rows.get((_norm(servername),))
            if server is not None:
                clean["ipaddress"] = server.get("ipaddress", UNSET_ADDRESS)
                return None
            if not _is_ip(servername):
                raise _no_such("serverName", servername)
            ip = servername
        clean["ipaddress"] = ip
        existing = part.server_by_ip.get(_norm(ip))
        if existing is not None:
            clean["servername"] = existing
            return None
        clean["servername"] = ip
        if (_norm(ip),) in servers.rows:
            return None
        return (_norm(ip),)

    def _create_server(self, part: Partition, name: str) -> None:
        rec: Record = {"name": name, "ipaddress": name}
        self._fill_defaults(part, SCHEMAS["server"], rec)
        self._tbl(part, "server").insert(rec)
        part.server_by_ip.setdefault(name, name)

    def _remove_server(self, part: Partition, key: Key) -> None:
        self._undo_add(part, self._tbl(part, "server"), key)

    # update / unset / enable / disable / rename / save

    def _update(self, ctx: _Ctx, schema: ResourceSchema, item: Record) -> _Done:
        if not schema.modeled:
            table = self._table(ctx.part, schema)
            key = table.key_of(item)
            if key not in table.rows:
                raise _no_such(schema.keys[0], item.get(schema.keys[0]))
            table.rows[key].update(_clone_record(item))
            self._touch(ctx.part)
            return _Done()
        if schema.name in ("nsmode", "nsversion"):
            raise _bad_action("update")
        clean = self._validate(schema, item, "update", ctx.skip_invalid)
        if schema.singleton:
            target = ctx.part.nsconfig if schema.name == "nsconfig" else self._singletons[
                schema.name]
            for attr, value in clean.items():
                if attr not in schema.immutable:
                    target[attr] = value
            self._touch(ctx.part)
            return _Done()
        key = self._lookup(ctx, schema, clean)
        rec = self._table(ctx.part, schema).rows[key]
        for attr, value in clean.items():
            if attr in schema.keys or attr in schema.immutable:
                continue  # the appliance silently keeps immutable values
            if attr in schema.update_only and attr != "ipaddress":
                continue  # member/monitor-level settings: accepted, not modelled
            if schema.name == "server" and attr == "ipaddress":
                old = _norm(rec.get("ipaddress"))
                if ctx.part.server_by_ip.get(old) == key[0]:
                    del ctx.part.server_by_ip[old]
                ctx.part.server_by_ip.setdefault(_norm(value), key[0])
            rec[attr] = value
        self._touch(ctx.part)
        return _Done()

    def _default_for(self, part: Partition, schema: ResourceSchema, attr: str,
                     rec: Record) -> Any:
        if attr == "usip" and schema.name in ("service", "servicegroup"):
            return "YES" if _truthy(part.nsmode.get("usip")) else "NO"
        default = schema.defaults.get(attr)
        return default(rec) if callable(default) else _clone(default)

    def _unset(self, ctx: _Ctx, schema: ResourceSchema, item: Record) -> _Done:
        if schema.singleton:
            if schema.name != "nsconfig":
                raise _bad_action("unset")
            target = ctx.part.nsconfig
            for attr in item:
                if attr not in schema.writable:
                    raise _bad_arg(attr)
            for attr in item:
                value = self._default_for(ctx.part, schema, attr, target)
                if value is None:
                    target.pop(attr, None)
                else:
                    target[attr] = value
            self._touch(ctx.part)
            return _Done()
        table = self._table(ctx.part, schema)
        if not schema.modeled:
            key = table.key_of(item)
            if key not in table.rows:
                raise _no_such(schema.keys[0], item.get(schema.keys[0]))
            for attr in item:
                if attr not in schema.keys:
                    table.rows[key].pop(attr, None)
            self._touch(ctx.part)
            return _Done()
        names = [a for a in item if a not in schema.keys]
        for attr in names:
            if attr not in schema.writable and attr not in schema.update_only:
                raise _bad_arg(attr)
        key = self._lookup(ctx, schema, item)
        rec = table.rows[key]
        for attr in names:
            if attr in schema.immutable:
                continue
            value = self._default_for(ctx.part, schema, attr, rec)
            if value is None:
                rec.pop(attr, None)
            else:
                rec[attr] = value
        self._touch(ctx.part)
        return _Done()

    def _set_state(self, ctx: _Ctx, schema: ResourceSchema, item: Record, state: str) -> _Done:
        if schema.name == "nsmode":
            return self._set_modes(ctx, item, state == "ENABLED")
        table = self._table(ctx.part, schema)
        if not schema.modeled:
            key = table.key_of(item)
            if key not in table.rows:
                raise _no_such(schema.keys[0], item.get(schema.keys[0]))
            table.rows[key]["state"] = state
            self._touch(ctx.part)
            return _Done()
        allowed = frozenset(schema.keys) | schema.action_only
        if schema.name == "servicegroup":
            allowed |= {"servername", "port"}
        for attr in item:
            if attr not in allowed:
                raise _bad_arg(attr)
        if schema.name == "servicegroup" and ("servername" in item or "port" in item):
            return self._set_member_state(ctx, item, state)
        key = self._lookup(ctx, schema, item)
        rec = table.rows[key]
        rec["state"] = state
        if state == "ENABLED" and rec.get("svrstate") == "OUT OF SERVICE":
            del rec["svrstate"]
        self._touch(ctx.part)
        return _Done()

    def _set_member_state(self, ctx: _Ctx, item: Record, state: str) -> _Done:
        group = item.get("servicegroupname")
        if group is None:
            raise _missing("servicegroupname")
        self._require_parent(ctx.part, SCHEMAS["servicegroup_servicegroupmember_binding"],
                             str(group))
        members = self._tbl(ctx.part, "servicegroup_servicegroupmember_binding")
        found = False
        for key in members.children(_norm(group)):
            rec = members.rows[key]
            if "servername" in item and _norm(rec.get("servername")) != _norm(item["servername"]):
                continue
            if "port" in item and _norm(rec.get("port")) != _norm(item["port"]):
                continue
            rec["state"] = state
            found = True
        if not found:
            raise _no_such("servername", item.get("servername"))
        self._touch(ctx.part)
        return _Done()

    def _set_modes(self, ctx: _Ctx, item: Record, enable: bool) -> _Done:
        for attr in item:
            if attr != "mode":
                raise _bad_arg(attr)
        modes = item.get("mode")
        if isinstance(modes, str):
            modes = modes.replace(",", " ").split()
        if not isinstance(modes, list) or not modes:
            raise _missing("mode")
        attrs: list[str] = []
        for mode in modes:
            found = _MODE_ALIASES.get(str(mode).lower())
            if found is None:
                raise _bad_value("mode", mode)
            attrs.append(found)
        for attr in attrs:
            ctx.part.nsmode[attr] = enable
        self._touch(ctx.part)
        return _Done()

    def _rename(self, ctx: _Ctx, schema: ResourceSchema, item: Record) -> _Done:
        key_attr = schema.keys[0]
        for attr in item:
            if attr not in (key_attr, "newname"):
                raise _bad_arg(attr)
        old, new = item.get(key_attr), item.get("newname")
        if old in (None, ""):
            raise _missing(key_attr)
        if new in (None, ""):
            raise _missing("newname")
        part = ctx.part
        table = self._table(part, schema)
        old_n, new_n = _norm(old), _norm(new)
        if (old_n,) not in table.rows:
            raise _no_such(key_attr, old)
        if (new_n,) in table.rows:
            raise _exists()
        rec = table.remove((old_n,))
        assert rec is not None
        rec[key_attr] = new
        table.insert(rec)
        for binding in SCHEMAS.values():
            if binding.binding_parent_type != schema.name:
                continue
            btable = self._table(part, binding)
            for bkey in btable.children(old_n):
                brec = btable.remove(bkey)
                assert brec is not None
                assert binding.binding_parent is not None
                brec[binding.binding_parent] = new
                btable.insert(brec)
        for binding_type, attr in CHILD_REFERENCES.get(schema.name, ()):
            btable = self._tbl(part, binding_type)
            for bkey in btable.referring(attr, old_n):
                brec = btable.remove(bkey)
                assert brec is not None
                brec[attr] = new
                btable.insert(brec)
        if schema.name == "server":
            for svc in self._tbl(part, "service").rows.values():
                if _norm(svc.get("servername")) == old_n:
                    svc["servername"] = new
            members = self._tbl(part, "servicegroup_servicegroupmember_binding")
            for mkey in [k for k, r in members.rows.items() if _norm(r.get("servername")) == old_n]:
                mrec = members.remove(mkey)
                assert mrec is not None
                mrec["servername"] = new
                members.insert(mrec)
            for ip, name in list(part.server_by_ip.items()):
                if name == old_n:
                    part.server_by_ip[ip] = new_n
        self._touch(part)
        return _Done()

    def _save(self, ctx: _Ctx, schema: ResourceSchema, item: Record) -> _Done:
        for attr in item:
            if attr not in ("all",):
                raise _bad_arg(attr)
        targets = list(self._partitions.values()) if _truthy(item.get("all")) else [ctx.part]
        now = time.time()
        for part in targets:
            part.saved = self._export(part, part.name == DEFAULT_PARTITION, deep=False)
            part.changed = False
            part.last_saved = now
            part.labels.pop("saved", None)
        return _Done(changed=False)

    # delete / bind / unbind

    def _rm_item(self, ctx: _Ctx, schema: ResourceSchema, item: Record) -> _Done:
        args = {k: _norm(v) for k, v in item.items()}
        if schema.is_binding:
            return self._unbind_item(ctx, schema, item)
        name = args.pop(schema.path_key, None)
        return self._delete(ctx, schema, name, args)

    def _delete(self, ctx: _Ctx, schema: ResourceSchema, name: str | None,
                args: dict[str, str]) -> _Done:
        if schema.is_binding:
            return self._unbind(ctx, schema, name, args)
        if schema.singleton:
            raise _bad_action("delete")
        if name is None:
            from_args = args.pop(schema.path_key, None)
            if from_args is None:
                raise _missing(schema.path_key)
            name = from_args
        part = ctx.part
        keys = self._find_keys(part, schema, name, args)
        if not keys:
            raise _no_such(schema.path_key, name)
        if schema.name == "nspartition" and name == DEFAULT_PARTITION:
            raise _bad_action("delete")
        if schema.name == "hanode" and _norm(name) == "0":
            raise _bad_value("id", name)
        table = self._table(part, schema)
        for key in keys:
            rec = table.remove(key)
            if rec is not None:
                self._cascade(part, schema, key, rec)
        self._touch(part)
        return _Done()

    def _cascade(self, part: Partition, schema: ResourceSchema, key: Key, rec: Record) -> None:
        for binding in SCHEMAS.values():
            if binding.binding_parent_type == schema.name:
                btable = self._table(part, binding)
                for bkey in btable.children(key[0]):
                    btable.remove(bkey)
        for binding_type, attr in CHILD_REFERENCES.get(schema.name, ()):
            btable = self._tbl(part, binding_type)
            for bkey in btable.referring(attr, key[0]):
                btable.remove(bkey)
        if schema.name == "server":
            ip = _norm(rec.get("ipaddress"))
            if part.server_by_ip.get(ip) == key[0]:
                del part.server_by_ip[ip]
        if schema.name == "nspartition":
            self._partitions.pop(key[0], None)
            for session in self._sessions.values():
                if session.partition == key[0]:
                    session.partition = DEFAULT_PARTITION

    def _bind(self, ctx: _Ctx, schema: ResourceSchema, item: Record) -> _Done:
        if not schema.modeled or schema.binding_parent is None:
            return self._add(ctx, schema, item)
        clean = self._validate(schema, item, "add", ctx.skip_invalid)
        part = ctx.part
        parent = clean[schema.binding_parent]
        self._require_parent(part, schema, str(parent))
        created_server: str | None = None
        if schema.name == "lbvserver_service_binding":
            if (_norm(clean["servicename"]),) not in self._tbl(part, "service").rows:
                raise _no_such("servicename", clean["servicename"])
        elif schema.name == "lbvserver_servicegroup_binding":
            if (_norm(clean["servicegroupname"]),) not in self._tbl(part, "servicegroup").rows:
                raise _no_such("servicegroupname", clean["servicegroupname"])
        elif schema.name in ("service_lbmonitor_binding", "servicegroup_lbmonitor_binding"):
            monitor = _norm(clean["monitor_name"])
            if (monitor,) not in self._tbl(part, "lbmonitor").rows and \
                    monitor.lower() not in BUILTIN_MONITORS:
                raise _no_such("monitorName", clean["monitor_name"])
        elif schema.name == "servicegroup_servicegroupmember_binding":
            created_server = self._member_address(part, clean)
        table = self._table(part, schema)
        key = table.key_of(clean)
        if key in table.rows:
            raise _exists()
        if created_server is not None:
            self._create_server(part, created_server)
        rec = dict(clean)
        self._fill_defaults(part, schema, rec)
        table.insert(rec, key)
        self._touch(part)

        def undo() -> None:
            table.remove(key)
            if created_server is not None:
                self._remove_server(part, (created_server,))

        return _Done(undo=undo)

    def _member_address(self, part: Partition, clean: Record) -> str | None:
        ip, servername = clean.get("ip"), clean.get("servername")
        if ip is None and servername is None:
            raise _missing("IP")
        if ip is not None and servername is not None and _norm(servername) != _norm(ip):
            raise NitroError(599, 1092, "Arguments cannot both be specified [serverName, IP]")
        servers = self._tbl(part, "server")
        if ip is None:
            server = servers.rows.get((_norm(servername),))
            if server is not None:
                clean["ip"] = server.get("ipaddress", UNSET_ADDRESS)
                return None
            if not _is_ip(servername):
                raise _no_such("serverName", servername)
            ip = clean["ip"] = servername
        existing = part.server_by_ip.get(_norm(ip))
        if existing is not None:
            clean["servername"] = existing
            return None
        clean["servername"] = ip
        return None if (_norm(ip),) in servers.rows else _norm(ip)

    def _unbind_item(self, ctx: _Ctx, schema: ResourceSchema, item: Record) -> _Done:
        if schema.binding_parent is None:
            raise _bad_action("unbind")
        args = {k: _norm(v) for k, v in item.items()}
        parent = args.pop(schema.binding_parent, None)
        return self._unbind(ctx, schema, parent, args)

    def _unbind(self, ctx: _Ctx, schema: ResourceSchema, parent: str | None,
                args: dict[str, str]) -> _Done:
        assert schema.binding_parent is not None
        if parent is None:
            parent = args.pop(schema.binding_parent, None)
            if parent is None:
                raise _missing(schema.binding_parent)
        args.pop(schema.binding_parent, None)
        if not args:
            raise _missing(schema.keys[1])
        self._require_parent(ctx.part, schema, parent)
        table = self._table(ctx.part, schema)
        matches = [
            key for key in table.children(_norm(parent))
            if all(_norm(table.rows[key].get(a)) == v for a, v in args.items())
        ]
        if not matches:
            attr, value = next(iter(args.items()))
            raise _no_such(attr, value)
        for key in matches:
            table.remove(key)
        self._touch(ctx.part)
        return _Done()

    # --- running config as CLI text (nice to have) ----------------------------------------

    def _running_config(self, part: Partition) -> str:
        def q(value: Any) -> str:
            text = _norm(value)
            return f'"{text}"' if not text or any(c in text for c in ' "\'') else text

        def port(value: Any) -> str:
            return "*" if _norm(value) == "65535" else _norm(value)

        def extras(schema: ResourceSchema, rec: Record, skip: Iterable[str]) -> str:
            out = []
            for attr, value in rec.items():
                if attr in skip or attr in schema.readonly or attr in schema.keys:
                    continue
                default = schema.defaults.get(attr)
                if callable(default):
                    default = default(rec)
                if default is not None and _norm(default) == _norm(value):
                    continue
                out.append(f"-{attr} {q(value)}")
            return (" " + " ".join(out)) if out else ""

        lines = []
        host = self._singletons["nshostname"].get("hostname")
        if part.name == DEFAULT_PARTITION and host:
            lines.append(f"set ns hostName {q(host)}")
        cfg = part.nsconfig
        lines.append(f"set ns config -IPAddress {cfg.get('ipaddress')} -netmask "
                     f"{cfg.get('netmask')}")
        enabled = [_MODE_LABEL[a] for a in _MODE_LABEL if part.nsmode.get(a) is True]
        if enabled:
            lines.append("enable ns mode " + " ".join(enabled))
        t = part.tables
        for rec in getattr(t.get("nsip"), "rows", {}).values():
            lines.append(f"add ns ip {rec.get('ipaddress')} {rec.get('netmask')} -type "
                         f"{rec.get('type')}")
        for rec in getattr(t.get("server"), "rows", {}).values():
            address = rec.get("ipaddress") or rec.get("domain")
            lines.append(f"add server {q(rec.get('name'))} {q(address)}"
                         + extras(SCHEMAS["server"], rec, ("ipaddress", "domain")))
        for rec in getattr(t.get("lbmonitor"), "rows", {}).values():
            lines.append(f"add lb monitor {q(rec.get('monitorname'))} {rec.get('type')}"
                         + extras(SCHEMAS["lbmonitor"], rec, ("type", "password")))
        for rec in getattr(t.get("service"), "rows", {}).values():
            lines.append(
                f"add service {q(rec.get('name'))} {q(rec.get('servername'))} "
                f"{rec.get('servicetype')} {port(rec.get('port'))}"
                + extras(SCHEMAS["service"], rec, ("servername", "servicetype", "port",
                                                   "ipaddress", "svrstate"))
            )
        for rec in getattr(t.get("servicegroup"), "rows", {}).values():
            lines.append(f"add serviceGroup {q(rec.get('servicegroupname'))} "
                         f"{rec.get('servicetype')}"
                         + extras(SCHEMAS["servicegroup"], rec, ("servicetype",)))
        for rec in getattr(t.get("lbvserver"), "rows", {}).values():
            lines.append(
                f"add lb vserver {q(rec.get('name'))} {rec.get('servicetype')} "
                f"{rec.get('ipv46')} {port(rec.get('port'))}"
                + extras(SCHEMAS["lbvserver"], rec, ("servicetype", "ipv46", "port"))
            )
        for rec in getattr(t.get("lbvserver_service_binding"), "rows", {}).values():
            lines.append(f"bind lb vserver {q(rec.get('name'))} {q(rec.get('servicename'))}")
        for rec in getattr(t.get("lbvserver_servicegroup_binding"), "rows", {}).values():
            lines.append(f"bind lb vserver {q(rec.get('name'))} "
                         f"{q(rec.get('servicegroupname'))}")
        for rec in getattr(t.get("servicegroup_servicegroupmember_binding"), "rows", {}).values():
            lines.append(f"bind serviceGroup {q(rec.get('servicegroupname'))} "
                         f"{q(rec.get('servername'))} {port(rec.get('port'))}")
        for rec in getattr(t.get("service_lbmonitor_binding"), "rows", {}).values():
            lines.append(f"bind service {q(rec.get('name'))} -monitorName "
                         f"{q(rec.get('monitor_name'))}")
        for rec in getattr(t.get("servicegroup_lbmonitor_binding"), "rows", {}).values():
            lines.append(f"bind serviceGroup {q(rec.get('servicegroupname'))} -monitorName "
                         f"{q(rec.get('monitor_name'))}")
        return "\n".join(lines) + "\n"
