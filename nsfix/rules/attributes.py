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
        return nitro_value(name, value)
    if name == "port" and value == WILDCARD_PORT:
        return "*"
    return str(value).upper()


# What a remediation may write, per resource: attributes whose old value nsfix can restore
# exactly with one update. Anything else is guidance for a person.
UPDATABLE: Final[Mapping[str, frozenset[str]]] = {
    "service": frozenset({"usip", "useproxyport", "cip"}),
    "servicegroup": frozenset({"usip", "useproxyport", "cip"}),
}


# How NITRO spells the two values of each on/off attribute nsfix may write.
NITRO_FLAG_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "usip": ("YES", "NO"),
    "useproxyport": ("YES", "NO"),
    "cip": ("ENABLED", "DISABLED"),
    "sessionless": ("ENABLED", "DISABLED"),
    "healthmonitor": ("YES", "NO"),
}
_TRUE_WORDS: Final = frozenset({"YES", "ENABLED", "ON", "TRUE"})
_FALSE_WORDS: Final = frozenset({"NO", "DISABLED", "OFF", "FALSE"})


def is_flag(attribute: str) -> bool:
    return attribute in NITRO_FLAG_WORDS


def nitro_value(attribute: str, value: Any) -> str:
    """A value in the vocabulary NITRO expects for `attribute` (cip: ENABLED, usip: YES)."""
    words = NITRO_FLAG_WORDS.get(attribute)
    if words is None:
        return str(value)
    if isinstance(value, bool):
        return words[0] if value else words[1]
    text = str(value).strip().upper()
    if text in _TRUE_WORDS:
        return words[0]
    if text in _FALSE_WORDS:
        return words[1]
    return text


def same_value(attribute: str, left: Any, right: Any) -> bool:
    """Whether two spellings mean the same value (`YES` and `true`, `ENABLED` and `YES`)."""
    if left is None or right is None:
        return left is right
    return nitro_value(attribute, left) == nitro_value(attribute, right)
