"""What inventory asks for, and what it does when the appliance refuses part of it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from nsfix.inventory import collect
from nsfix.nitro import NitroNotAuthorized, NitroProtocolError, NitroTransportError
from nsfix.resources import INVENTORY

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads((ROOT / "mocks/scenarios/seed-incident.json").read_text())


class Reader:
    """Answers inventory's reads from a scenario; some resources fail as configured."""

    def __init__(self, failures: Mapping[str, Exception]) -> None:
        self.failures = failures
        self.partition: str | None = None
        self.asked: list[str] = []

    def _answer(self, resource: str) -> Any:
        self.asked.append(resource)
        if resource in self.failures:
            raise self.failures[resource]
        return SEED.get(resource, [])

    def get(self, resource: str, name: str | None = None, **_: Any) -> list[dict[str, Any]]:
        return list(self._answer(resource))

    def get_all(self, resource: str, **_: Any) -> list[dict[str, Any]]:
        answer = self._answer(resource)
        return [answer] if isinstance(answer, dict) else list(answer)

    def get_singleton(self, resource: str, *, attrs: Sequence[str] | None = None) -> dict[str, Any]:
        answer = self._answer(resource)
        return dict(answer) if isinstance(answer, dict) else {}

    def switch_partition(self, name: str) -> None:
        self.partition = name


def refused(resource: str) -> NitroNotAuthorized:
    return NitroNotAuthorized(
        "Not authorized to execute this command [show ha node]",
        http_status=403,
        errorcode=2138,
        resource=resource,
    )


def test_each_resource_type_is_read_once() -> None:
    reader = Reader({})
    collect(reader, url="https://ns")
    assert sorted(reader.asked) == sorted(r.name for r in INVENTORY)


def test_a_refused_fact_read_becomes_a_defect_and_the_audit_goes_on() -> None:
    snapshot = collect(Reader({"hanode": refused("hanode")}), url="https://ns")
    assert snapshot.appliance.ha_role == "Unknown"
    [defect] = [d for d in snapshot.defects if d.resource == "hanode"]
    assert "Not authorized" in defect.value
    assert "could not be read" in defect.problem
    assert "vs_app_dsr" in snapshot.vservers


def test_a_refused_essential_read_stops_the_inventory() -> None:
    with pytest.raises(NitroNotAuthorized):
        collect(Reader({"service": refused("service")}), url="https://ns")


def test_a_broken_connection_is_never_turned_into_a_defect() -> None:
    with pytest.raises(NitroTransportError):
        collect(Reader({"hanode": NitroTransportError("reset")}), url="https://ns")


def malformed(resource: str) -> NitroProtocolError:
    return NitroProtocolError(
        f"key {resource!r} holds bool, expected a list of objects", resource=resource
    )


@pytest.mark.parametrize("resource", ["nspartition", "service"])
def test_a_reply_that_holds_no_records_stops_the_inventory_with_a_clear_error(
    resource: str,
) -> None:
    # What the client makes of {"nspartition": true} live: a reply no reader can trust, like a
    # proxy's web page, is one clear error (offline, the same records become data defects).
    with pytest.raises(NitroProtocolError, match="holds bool"):
        collect(Reader({resource: malformed(resource)}), url="https://ns")
