"""Switchable faults for the mock appliance: latency, failed writes, dead sessions, bad replies."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

FAULT_NAMES = (
    "latency",
    "fail_write",
    "expire_session_after",
    "reset_connection",
    "html_reply",
    "truncated_json",
    "unavailable",
    "flip_secondary",
    "late_write",
)


class FaultError(ValueError):
    """A fault specification that cannot be understood."""


@dataclass
class _Counted:
    """Fires on the k-th event counted from when it was armed (again every k events if repeat)."""

    k: int = 1
    repeat: bool = False
    seen: int = 0

    def tick(self) -> bool:
        self.seen += 1
        if self.seen < self.k:
            return False
        self.seen = 0
        return True


@dataclass
class FailWrite(_Counted):
    status: int = 599
    errorcode: int = 278
    message: str = "Invalid argument"


@dataclass
class ExpireSession(_Counted):
    """The session survives k more requests; the next one finds it dead."""

    def tick(self) -> bool:
        self.seen += 1
        if self.seen <= self.k:
            return False
        self.seen = 0
        return True


@dataclass
class ResetConnection(_Counted):
    after_write: bool = False


@dataclass
class HtmlReply(_Counted):
    status: int = 502
    after_write: bool = False
    """Count writes only, process the write, then answer with the HTML page (a proxy in front
    of the appliance timing out after the appliance committed)."""


@dataclass
class TruncatedJson(_Counted):
    writes_only: bool = False
    """Count writes only (the write is processed either way)."""


@dataclass
class LateWrite(_Counted):
    """The k-th write from now is committed `delay` seconds after it arrives, and its reply is
    held until `hold` seconds (a client with a shorter read timeout gives up before)."""

    delay: float = 1.0
    hold: float = 2.0


@dataclass
class FlipSecondary(_Counted):
    pass


@dataclass
class Unavailable:
    n: int = 1
    retry_after: int = 1
    status: int = 503


@dataclass(frozen=True)
class RequestFault:
    """What the HTTP layer must do to one request instead of (or after) answering it normally."""

    kind: str  # "unavailable" | "html_reply" | "reset_connection" | "truncated_json" | "late_write"
    status: int = 0
    retry_after: int = 0
    after_write: bool = False
    delay: float = 0.0
    hold: float = 0.0


_MAIN_PARAM = {
    "fail_write": "k",
    "expire_session_after": "k",
    "reset_connection": "k",
    "html_reply": "k",
    "truncated_json": "k",
    "flip_secondary": "k",
    "late_write": "k",
    "unavailable": "n",
}
_CLASSES: dict[str, type[Any]] = {
    "fail_write": FailWrite,
    "expire_session_after": ExpireSession,
    "reset_connection": ResetConnection,
    "html_reply": HtmlReply,
    "truncated_json": TruncatedJson,
    "flip_secondary": FlipSecondary,
    "late_write": LateWrite,
    "unavailable": Unavailable,
}


def _scalar(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text.strip()


def parse_fault_value(text: str) -> Any:
    """Parse the VALUE of a CLI `--fault NAME=VALUE`.

    Accepts a number (`2`, `0.25`), a JSON object (`{"k": 2, "status": 500}`), or a comma list
    whose bare first item is the main parameter (`2,status=500,repeat=true`).
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FaultError(f"fault value is not valid JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise FaultError("fault value must be a JSON object")
        return value
    if "," not in text and "=" not in text:
        return _scalar(text)
    spec: dict[str, Any] = {}
    for position, part in enumerate(p for p in text.split(",") if p.strip()):
        if "=" in part:
            key, _, raw = part.partition("=")
            spec[key.strip()] = _scalar(raw)
        elif position == 0:
            spec["_main"] = _scalar(part)
        else:
            raise FaultError(f"cannot understand fault parameter {part.strip()!r}")
    return spec


def parse_fault_arg(arg: str) -> tuple[str, Any]:
    """Split a CLI `NAME=VALUE` fault argument."""
    name, sep, value = arg.partition("=")
    if not sep:
        return name.strip(), True
    return name.strip(), parse_fault_value(value)


class Faults:
    """The faults currently armed on one appliance; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency = 0.0
        self._armed: dict[str, Any] = {}
        self.fired: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"Faults({self.snapshot()!r})"

    # --- configuration -------------------------------------------------------------------

    def set(self, name: str, value: Any) -> None:
        """Arm (or with None/False/0, disarm) one fault from a loose value: number, True or dict."""
        if name not in FAULT_NAMES:
            raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
        if name == "latency":
            seconds = value.get("seconds", 0) if isinstance(value, dict) else value
            try:
                latency = float(seconds or 0)
            except (TypeError, ValueError):
                raise FaultError("latency needs a number of seconds") from None
            if latency < 0:
                raise FaultError("latency cannot be negative")
            with self._lock:
                self._latency = latency
            return
        if value is None or value is False or value == 0:
            self.clear(name)
            return
        spec = self._build(name, value)
        with self._lock:
            self._armed[name] = spec

    def configure(self, **faults: Any) -> None:
        """Arm several faults at once, e.g. `configure(latency=0.1, fail_write=2)`."""
        for name, value in faults.items():
            self.set(name, value)

    def clear(self, name: str | None = None) -> None:
        """Disarm one fault, or all of them."""
        with self._lock:
            if name is None:
                self._armed.clear()
                self._latency = 0.0
            elif name == "latency":
                self._latency = 0.0
            else:
                self._armed.pop(name, None)

    def snapshot(self) -> dict[str, Any]:
        """The armed faults as plain data (for the control API and debugging)."""
        with self._lock:
            out: dict[str, Any] = {name: asdict(spec) for name, spec in self._armed.items()}
            if self._latency:
                out["latency"] = {"seconds": self._latency}
            return out

    def fail_write(self, k: int = 1, *, status: int = 599, errorcode: int = 278,
                   message: str = "Invalid argument", repeat: bool = False) -> None:
        """Fail the k-th write from now with this error; nothing is stored."""
        self.set("fail_write", {"k": k, "status": status, "errorcode": errorcode,
                                "message": message, "repeat": repeat})

    def expire_session_after(self, k: int, *, repeat: bool = False) -> None:
        """Let the session serve k more requests; the next one gets 401/444."""
        self.set("expire_session_after", {"k": k, "repeat": repeat})

    def reset_connection(self, k: int = 1, *, after_write: bool = False,
                         repeat: bool = False) -> None:
        """Close the socket without a reply on the k-th request (k-th write if after_write)."""
        self.set("reset_connection", {"k": k, "after_write": after_write, "repeat": repeat})

    def html_reply(self, k: int = 1, *, status: int = 502, after_write: bool = False,
                   repeat: bool = False) -> None:
        """Answer the k-th request with a proxy-style HTML error page (with after_write: the
        k-th write, processed first)."""
        self.set("html_reply", {"k": k, "status": status, "after_write": after_write,
                                "repeat": repeat})

    def truncated_json(self, k: int = 1, *, writes_only: bool = False,
                       repeat: bool = False) -> None:
        """Cut the k-th reply (k-th write's with writes_only) in half; the request is
        processed."""
        self.set("truncated_json", {"k": k, "writes_only": writes_only, "repeat": repeat})

    def late_write(self, k: int = 1, *, delay: float = 1.0, hold: float = 2.0) -> None:
        """Commit the k-th write `delay` s after it arrives; hold its reply until `hold` s."""
        self.set("late_write", {"k": k, "delay": delay, "hold": hold})

    def unavailable(self, n: int = 1, *, retry_after: int = 1) -> None:
        """Answer the next n requests with 503 and Retry-After."""
        self.set("unavailable", {"n": n, "retry_after": retry_after})

    def flip_secondary(self, k: int = 1) -> None:
        """Make the node Secondary right after the k-th successful write."""
        self.set("flip_secondary", {"k": k})

    def latency(self, seconds: float) -> None:
        """Delay every NITRO request by this many seconds."""
        self.set("latency", seconds)

    def _build(self, name: str, value: Any) -> Any:
        cls = _CLASSES[name]
        main = _MAIN_PARAM[name]
        if value is True:
            params: dict[str, Any] = {}
        elif isinstance(value, bool):
            raise FaultError(f"{name}: cannot understand {value!r}")
        elif isinstance(value, int | float):
            params = {main: int(value)}
        elif isinstance(value, dict):
            params = dict(value)
            if "_main" in params:
                params[main] = params.pop("_main")
        else:
            raise FaultError(f"{name}: expected a number, true or an object, got {value!r}")
        known = {f.name for f in fields(cls)} - {"seen"}
        unknown = set(params) - known
        if unknown:
            raise FaultError(f"{name}: unknown parameter(s) {', '.join(sorted(unknown))}")
        try:
            spec = cls(**params)
        except TypeError as exc:
            raise FaultError(f"{name}: {exc}") from None
        count = getattr(spec, main)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise FaultError(f"{name}: {main} must be a positive integer")
        return spec

    def fired_counts(self) -> dict[str, int]:
        """How many times each fault has fired since the counters were last reset."""
        with self._lock:
            return dict(self.fired)

    def reset_fired(self) -> None:
        with self._lock:
            self.fired.clear()

    # --- hooks used by the appliance and the HTTP layer ----------------------------------

    @property
    def current_latency(self) -> float:
        with self._lock:
            return self._latency

    def _fire(self, name: str) -> None:
        self.fired[name] = self.fired.get(name, 0) + 1
        spec = self._armed.get(name)
        if spec is not None and not getattr(spec, "repeat", False):
            del self._armed[name]

    def take_request_fault(self, is_write: bool) -> RequestFault | None:
        """Decide what, if anything, goes wrong with this NITRO request at the HTTP level."""
        with self._lock:
            found: RequestFault | None = None
            unavailable = self._armed.get("unavailable")
            if unavailable is not None:
                unavailable.n -= 1
                if unavailable.n <= 0:
                    del self._armed["unavailable"]
                self.fired["unavailable"] = self.fired.get("unavailable", 0) + 1
                found = RequestFault("unavailable", status=unavailable.status,
                                     retry_after=unavailable.retry_after)
            html = self._armed.get("html_reply")
            if (html is not None and (is_write or not html.after_write) and html.tick()
                    and found is None):
                self._fire("html_reply")
                found = RequestFault("html_reply", status=html.status,
                                     after_write=html.after_write)
            reset = self._armed.get("reset_connection")
            if (reset is not None and (is_write or not reset.after_write) and reset.tick()
                    and found is None):
                self._fire("reset_connection")
                found = RequestFault("reset_connection", after_write=reset.after_write)
            truncated = self._armed.get("truncated_json")
            if (truncated is not None and (is_write or not truncated.writes_only)
                    and truncated.tick() and found is None):
                self._fire("truncated_json")
                found = RequestFault("truncated_json")
            late = self._armed.get("late_write")
            if late is not None and is_write and late.tick() and found is None:
                self._fire("late_write")
                found = RequestFault("late_write", delay=late.delay, hold=late.hold)
            return found

    def take_write_failure(self) -> FailWrite | None:
        """Called once per write request; returns the failure to reply with, if it fires now."""
        with self._lock:
            spec = self._armed.get("fail_write")
            if spec is None or not spec.tick():
                return None
            self._fire("fail_write")
            return FailWrite(k=spec.k, status=spec.status, errorcode=spec.errorcode,
                             message=spec.message)

    def take_session_expiry(self) -> bool:
        """Called once per session-authenticated request; True means kill that session now."""
        with self._lock:
            spec = self._armed.get("expire_session_after")
            if spec is None or not spec.tick():
                return False
            self._fire("expire_session_after")
            return True

    def take_flip_secondary(self) -> bool:
        """Called after each successful write; True means the node turns Secondary now."""
        with self._lock:
            spec = self._armed.get("flip_secondary")
            if spec is None or not spec.tick():
                return False
            self._fire("flip_secondary")
            return True
