"""Playbook attribute names (NetScaler's words) mapped onto model fields, as comparable words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Final

from nsfix.model import LbVserver, Service, ServiceGroup
from nsfix.resources import BY_NAME, WILDCARD_PORT, nitro_value

_MODEL: Final = {"lbvserver": LbVserver, "service": Service, "servicegroup": ServiceGroup}
_SKIP: Final = {"partition", "services", "servicegroups", "members", "monitors", "address", "vip"}


def _aliases(resource: str) -> Mapping[str, str]:
    entry = BY_NAME.get(resource)
    return entry.fields if entry is not None else {}


def attribute_names(resource: str) -> frozenset[str]:
    """The attributes a playbook may test on `resource`."""
    model = _MODEL.get(resource)
    if model is None:
        return frozenset()
    names = {f.name for f in fields(model) if f.name not in _SKIP}
    names.update(_aliases(resource))
    return frozenset(names)


def attribute_word(resource: str, obj: Any, name: str) -> str | None:
    """The object's value as the word a playbook compares: YES/NO, upper-case text, `*` ports."""
    field_name = _aliases(resource).get(name, name)
    value = getattr(obj, field_name, None)
    if value is None:
        return None
    if isinstance(value, bool):
        return nitro_value(name, value)
    if name == "port" and value == WILDCARD_PORT:
        return "*"
    return str(value).upper()


def updatable(resource: str) -> frozenset[str]:
    """What a playbook's remediation may write on `resource` (nothing on an unknown type)."""
    entry = BY_NAME.get(resource)
    return entry.updatable if entry is not None else frozenset()
