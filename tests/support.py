"""What the CLI-level test folders share: a captured run, and scenarios with a known password."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "mocks" / "scenarios"


@dataclass
class Run:
    """One nsfix invocation: its exit code and what it printed."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def with_user(data: dict[str, Any], user: str, password: str) -> dict[str, Any]:
    # A password that is not the user name, so "no secret in any output" can fail.
    data.setdefault("_mock", {})["users"] = {user: password}
    return data


def load_scenario(name: str, user: str, password: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCENARIOS / f"{name}.json").read_text())
    return with_user(data, user, password)


def shuffled(raw: dict[str, Any], seed: int) -> dict[str, Any]:
    """The same NITRO records with every list in another order (admin partitions included):
    what an appliance that lists its records differently would return."""
    rng = random.Random(seed)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, list):
            items = list(value)
            rng.shuffle(items)
            out[key] = items
        elif key == "_partitions" and isinstance(value, dict):
            out[key] = {name: shuffled(part, rng.randrange(2**32)) for name, part in value.items()}
        else:
            out[key] = value
    return out


def service_record(name: str, address: str = "10.20.0.21", **extra: Any) -> dict[str, Any]:
    """A NITRO `service` record of a DSR backend as the incident had it: ANY/*, usip NO."""
    record = {
        "name": name,
        "ipaddress": address,
        "port": 65535,
        "servicetype": "ANY",
        "usip": "NO",
        "useproxyport": "YES",
        "state": "ENABLED",
        "svrstate": "UP",
    }
    record.update(extra)
    return record
