"""Builds NITRO writes as WriteRequests: pure descriptions that need no client and send nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nsfix.nitro.encoding import QueryValue, body_text, build_target, check_identifier

# Actions whose repetition leaves the appliance as one execution would; only these are
# repeated after a re-login or a gateway error. rename is not: the old name is gone after it.
SAFE_ACTIONS = frozenset({"save", "enable", "disable", "unset", "switch"})
ONERROR_MODES = ("exit", "continue", "rollback")


@dataclass(frozen=True)
class WriteRequest:
    """One write exactly as it is sent; build it with the describe_*() functions of this module.

    A dry run prints render(); a real run passes the same object to NitroWriter.send(),
    so what was shown is what is sent. It never holds the session token.
    """

    op: str  # add, update, update_bulk, delete, bind, unbind, action, unset
    method: str
    resource: str
    target: str  # path and query, e.g. /nitro/v1/config/service?action=enable
    body: dict[str, Any] | None
    headers: Mapping[str, str]
    idempotent: bool  # repeating it leaves the appliance as one execution would
    records: int | None = None  # bulk writes: how many records the body carries

    def render(self) -> str:
        lines = [f"{self.method} {self.target}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body is not None:
            lines.append(body_text(self.body))
        return "\n".join(lines)


def describe_add(resource: str, record: Mapping[str, Any]) -> WriteRequest:
    """POST /config/<resource>: create one object."""
    return _write("add", "POST", resource, {resource: dict(record)}, idempotent=False)


def describe_update(resource: str, record: Mapping[str, Any]) -> WriteRequest:
    """PUT /config/<resource> with the key attributes inside the record."""
    return _write("update", "PUT", resource, {resource: dict(record)}, idempotent=True)


def describe_update_bulk(
    resource: str,
    records: Sequence[Mapping[str, Any]],
    *,
    onerror: str = "continue",
) -> WriteRequest:
    """PUT several records in one request; the reply reports one result per record, in order.

    With onerror='exit' the appliance stops at the first failing record.
    """
    if onerror not in ONERROR_MODES:
        raise ValueError(f"onerror must be one of {', '.join(ONERROR_MODES)}")
    if not records:
        raise ValueError("update_bulk needs at least one record")
    return _write(
        "update_bulk",
        "PUT",
        resource,
        {resource: [dict(record) for record in records]},
        idempotent=True,
        headers={"X-NITRO-ONERROR": onerror},
        records=len(records),
    )


def describe_delete(
    resource: str, name: str, *, args: Mapping[str, QueryValue] | None = None
) -> WriteRequest:
    """DELETE /config/<resource>/<name>[?args=...]."""
    target = build_target("config", resource, name, args=args)
    return WriteRequest("delete", "DELETE", resource, target, None, {}, idempotent=True)


def describe_bind(binding: str, record: Mapping[str, Any]) -> WriteRequest:
    """PUT /config/<binding>: add a binding (the parent's key is in the record)."""
    return _write("bind", "PUT", binding, {binding: dict(record)}, idempotent=False)


def describe_unbind(binding: str, parent: str, args: Mapping[str, QueryValue]) -> WriteRequest:
    """DELETE /config/<binding>/<parent>?args=...: remove one binding of parent."""
    if not args:
        # Without args the request would name no binding in particular.
        raise ValueError("unbind needs args naming the bound object")
    target = build_target("config", binding, parent, args=args)
    return WriteRequest("unbind", "DELETE", binding, target, None, {}, idempotent=True)


def describe_action(resource: str, action: str, record: Mapping[str, Any]) -> WriteRequest:
    """POST /config/<resource>?action=<action> (enable, disable, rename, unset ...)."""
    check_identifier(action, "action")
    return _write(
        "action",
        "POST",
        resource,
        {resource: dict(record)},
        idempotent=action.lower() in SAFE_ACTIONS,
        extra=[("action", action)],
    )


def describe_unset(
    resource: str, key: Mapping[str, Any], attributes: Sequence[str]
) -> WriteRequest:
    """Return attributes of the object named by key to their defaults."""
    if isinstance(attributes, str) or not attributes:
        raise ValueError("unset needs a list of attribute names")
    names = [check_identifier(attr, "attribute name") for attr in attributes]
    clash = sorted(set(names) & set(key))
    if clash:
        raise ValueError(f"cannot unset key attributes: {', '.join(clash)}")
    record = {**key, **dict.fromkeys(names, True)}
    return replace(describe_action(resource, "unset", record), op="unset")


def describe_save_config() -> WriteRequest:
    """Save the running configuration of the current partition."""
    return describe_action("nsconfig", "save", {})


def describe_switch_partition(name: str) -> WriteRequest:
    """Make name the session's current partition ('default' returns to the default one)."""
    if not name:
        raise ValueError("partition name must not be empty")
    return describe_action("nspartition", "Switch", {"partitionname": name})


def _write(
    op: str,
    method: str,
    resource: str,
    body: dict[str, Any],
    *,
    idempotent: bool,
    headers: Mapping[str, str] | None = None,
    extra: Sequence[tuple[str, str]] = (),
    records: int | None = None,
) -> WriteRequest:
    target = build_target("config", resource, extra=extra)
    return WriteRequest(
        op, method, resource, target, body, dict(headers or {}), idempotent, records
    )
