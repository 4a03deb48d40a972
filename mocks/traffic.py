"""What the appliance was asked: request counters and a request log that never holds a secret."""

from __future__ import annotations

import copy
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, unquote_plus

from mocks.schema import DEFAULT_PARTITION

_SECRET_PARAM = re.compile(r"pass|token|secret|session|auth", re.IGNORECASE)


@dataclass
class RequestFacts:
    """What the log says about a request, filled in as the request is understood."""

    resource: str = ""
    partition: str = DEFAULT_PARTITION
    user: str = ""


def redact_query(query: str) -> str:
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


class Traffic:
    """Counters by method, resource and status, plus logins and writes; the request log."""

    def __init__(self) -> None:
        self._counters: dict[str, Any] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=100_000)
        self.reset()

    def reset(self) -> None:
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

    def count(self, counter: str) -> None:
        self._counters[counter] += 1

    def counters(self) -> dict[str, Any]:
        return copy.deepcopy(self._counters)

    def entries(self) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self._log]

    def record(self, method: str, path: str, query: str, status: int, facts: RequestFacts,
               fault: str | None = None) -> None:
        c = self._counters
        c["requests_total"] += 1
        c["requests_by_method"][method] = c["requests_by_method"].get(method, 0) + 1
        if facts.resource:
            by_res = c["requests_by_resource"]
            by_res[facts.resource] = by_res.get(facts.resource, 0) + 1
        c["requests_by_status"][str(status)] = c["requests_by_status"].get(str(status), 0) + 1
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": method,
            "path": path,
            "query": redact_query(query),
            "status": status,
            "resource": facts.resource,
            "partition": facts.partition,
            "user": facts.user,
        }
        if fault:
            entry["fault"] = fault
        self._log.append(entry)
