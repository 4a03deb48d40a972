"""NetScaler Console (ADM) as the way to an appliance: the managed instance and its header.

Console forwards a NITRO request unchanged to one of its managed instances when the request
carries one of the `_MPS_API_PROXY_MANAGED_INSTANCE_*` headers, after a login to Console itself
(docs/console.md has the facts and their sources).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

INSTANCE_HEADERS: Final = {
    "ip": "_MPS_API_PROXY_MANAGED_INSTANCE_IP",
    "name": "_MPS_API_PROXY_MANAGED_INSTANCE_NAME",
    "id": "_MPS_API_PROXY_MANAGED_INSTANCE_ID",
}


class RouteError(ValueError):
    """A Console route that cannot be used: no instance to name, or a value unfit for a header."""


@dataclass(frozen=True)
class ManagedInstance:
    """The managed instance Console forwards to, named the way Console knows it."""

    kind: str  # "ip", "name" or "id"
    value: str

    def __post_init__(self) -> None:
        if self.kind not in INSTANCE_HEADERS:
            raise RouteError(f"a managed instance is named by ip, name or id, not {self.kind!r}")
        text = self.value
        # The value travels as an HTTP header: a line break would smuggle in another header.
        if not text or text != text.strip() or not text.isprintable() or not text.isascii():
            raise RouteError(f"managed instance {self.kind} {text!r} is not a usable header value")
        if self.kind == "ip":
            try:
                ipaddress.ip_address(text)
            except ValueError:
                raise RouteError(f"managed instance IP {text!r} is not an IP address") from None

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"

    @property
    def header(self) -> dict[str, str]:
        return {INSTANCE_HEADERS[self.kind]: self.value}


@dataclass(frozen=True)
class ConsoleRoute:
    """Reach an appliance through NetScaler Console at `url`, as managed instance `instance`."""

    url: str
    instance: ManagedInstance

    def __str__(self) -> str:
        return f"NetScaler Console {self.url} (managed instance {self.instance})"

    def to_record(self) -> dict[str, Any]:
        """The route as a journal or a watchdog's orders keep it (no credential in it)."""
        return {"console": self.url, "instance": {self.instance.kind: self.instance.value}}

    @classmethod
    def from_record(cls, record: object) -> ConsoleRoute | None:
        """The route a journal recorded; None for an appliance reached directly."""
        if record is None:
            return None
        if not isinstance(record, Mapping):
            raise RouteError("the recorded Console route is not an object")
        url = record.get("console")
        instance = record.get("instance")
        if not isinstance(url, str) or not isinstance(instance, Mapping) or len(instance) != 1:
            raise RouteError("the recorded Console route lacks its Console URL or its instance")
        ((kind, value),) = instance.items()
        return cls(url, ManagedInstance(str(kind), str(value)))


def choose_instance(
    appliance_url: str, *, name: str | None = None, instance_id: str | None = None
) -> ManagedInstance:
    """The instance named by --instance-name or --instance-id, else by the host of the URL."""
    if name is not None and instance_id is not None:
        raise RouteError("give --instance-name or --instance-id, not both")
    if name is not None:
        return ManagedInstance("name", name)
    if instance_id is not None:
        return ManagedInstance("id", instance_id)
    host = urlsplit(appliance_url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise RouteError(
            f"NetScaler Console knows its instances by IP, name or id, and {host!r} is a host "
            "name: give the appliance's IP address as the URL, or --instance-name/--instance-id"
        ) from None
    return ManagedInstance("ip", host)


__all__ = ["INSTANCE_HEADERS", "ConsoleRoute", "ManagedInstance", "RouteError", "choose_instance"]
