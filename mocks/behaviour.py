"""The scenario's `_mock` settings: login users, HA state, hostname, and the behaviour switches."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mocks.scenario import ScenarioError

# Where /work/shared/reference/nitro-api.md leaves a behaviour UNCONFIRMED, the mock can take
# either side; nsfix is tested against both. Each switch: its values (the default first) and the
# reference line it stands on. mocks/scenarios/README.md documents each one (a test checks).
SWITCHES: dict[str, tuple[tuple[Any, ...], str]] = {
    "basic_auth": (
        (False, True),
        "§2 / §3 errorcode table: 1244 'Basic authentication disabled' exists, HTTP UNCONFIRMED",
    ),
    "not_logged_in_errorcode": (
        (444, 1026),
        "§7.4.2 'unknown/expired token → 401 with 444'; §3 '352 / 1026 … UNCONFIRMED'",
    ),
    "session_token": (
        ("nitro", "urlsafe"),
        "§2 'token format: UNCONFIRMED (SDKs encode/decode it, so it may contain URL-reserved "
        "characters)'",
    ),
    "attrs_keys": (
        (False, True),
        "§1 'attrs=a,b … return only those attributes'; whether keys are added is not stated",
    ),
    "attrs_unknown": (
        ("omit", "error"),
        "§1 'attrs=a,b … return only those attributes'; an unknown name is not covered",
    ),
}

# The other `_mock` keys: settings of the scenario, not choices between appliance behaviours.
SETTINGS = ("users", "ha_state", "hostname", "session_timeout")


@dataclass(frozen=True)
class Behaviour:
    """How this appliance answers where appliances (or the reference) differ."""

    basic_auth: bool = False
    not_logged_in_errorcode: int = 444
    session_token: str = "nitro"
    attrs_keys: bool = False
    attrs_unknown: str = "omit"

    @classmethod
    def from_settings(cls, mock: Mapping[str, Any]) -> Behaviour:
        """Read the switches of a scenario's `_mock`; refuse unknown keys and values."""
        unknown = sorted(set(mock) - set(SWITCHES) - set(SETTINGS))
        if unknown:
            known = ", ".join(sorted((*SWITCHES, *SETTINGS)))
            raise ScenarioError(f"_mock: unknown setting(s) {', '.join(unknown)}; known: {known}")
        chosen: dict[str, Any] = {}
        for name, (values, _) in SWITCHES.items():
            if name not in mock:
                continue
            value = mock[name]
            # 1 == True in Python: compare types too, so `basic_auth: 1` is refused.
            if not any(type(value) is type(v) and value == v for v in values):
                allowed = " or ".join(json.dumps(v) for v in values)
                raise ScenarioError(
                    f"_mock.{name}: expected {allowed}, got {json.dumps(value, default=str)}")
            chosen[name] = value
        return cls(**chosen)
