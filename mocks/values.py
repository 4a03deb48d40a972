"""NITRO values as the mock compares, copies and prints them; shared by every part of the mock."""

from __future__ import annotations

import copy
import ipaddress
import time
from collections.abc import Mapping
from typing import Any

Record = dict[str, Any]
Key = tuple[str, ...]


def norm(value: Any) -> str:
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
        return ",".join(norm(v) for v in value)
    return str(value)


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "enabled", "1")
    return bool(value)


def clone(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, list | dict) else value


def clone_record(rec: Mapping[str, Any]) -> Record:
    return {k: clone(v) for k, v in rec.items()}


def is_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def timestamp(epoch: float | None) -> str:
    """A time the way nsconfig and hanode statistics print it."""
    if epoch is None:
        return ""
    return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(epoch))
