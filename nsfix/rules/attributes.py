"""Playbook attribute names (NetScaler's words) mapped onto model fields, as comparable words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Final

from nsfix.model import WILDCARD_PORT, LbVserver, Service, ServiceGroup

# NITRO attribute name → model field, where they differ.
ALIASES: Final[Mapping[str, Mapping[str, str]]] = {
    "lbvserver": {"ipv46": "vip_text"},
    "service": {"ipaddress": "address_text"},
    "servicegroup": {"servicegroupname": "name", "servicegroupeffectivestate": "effective_state"},
}

_MODEL: Final = {"lbvserver": LbVserver, "service": Service, "servicegroup": ServiceGroup}
_SKIP: Final = {"partition", "services", "servicegroups", "members", "monitors", "address", "vip"}


def attribute_names(resource: str) -> frozenset[str]:
    """The attributes a playbook may test on `resource`."""
    model = _MODEL.get(resource)
    if model is None:
        return frozenset()
    names = {f.name for f in fields(model) if f.name not in _SKIP}
    names.update(ALIASES.get(resource, {}))
    return frozenset(names)


def attribute_word(resource: str, obj: Any, name: str) -> str | None:
    """The object's value as the word a playbook compares: YES/NO, upper-case text, `*` ports."""
    field_name = ALIASES.get(resource, {}).get(name, name)
    value = getattr(obj, field_name, None)
    if value is None:
        return None
    if isinstance(value, bool):
        return "YES" if value else "NO"
    if name == "port" and value == WILDCARD_PORT:
        return "*"
    return str(value).upper()


# What a remediation may write, per resource: attributes whose old value nsfix can restore
# exactly with one update. Anything else is guidance for a person.
UPDATABLE: Final[Mapping[str, frozenset[str]]] = {
    "service": frozenset({"usip", "useproxyport", "cip"}),
    "servicegroup": frozenset({"usip", "useproxyport", "cip"}),
}
