"""What inventory asks for, and what it does when the appliance refuses part of it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from nsfix.inventory import PAGE_SIZE, collect, configured_page_size
from nsfix.inventory import snapshot_from_document as offline
from nsfix.model import Snapshot
from nsfix.nitro import NitroNotAuthorized, NitroProtocolError, NitroTransportError
from nsfix.resources import BY_NAME, INVENTORY_READS
from nsfix.settings import SettingsError

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads((ROOT / "mocks/scenarios/seed-incident.json").read_text())


AGGREGATES = {r.name: r.parts for r in INVENTORY_READS if r.aggregate}


def aggregate(records: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """What an appliance answers to `<parent>_binding?bulkbindings=yes`: one item per parent
    with a list per binding type (the full records: an aggregate takes no `attrs`)."""
    items: dict[str, dict[str, Any]] = {}
    for part in AGGREGATES[name]:
        assert part.binding is not None
        key = part.binding.parent_key
        for record in records.get(part.name, []):
            item = items.setdefault(record[key], {key: record[key]})
            item.setdefault(part.name, []).append({**record, "curstate": "UP"})
    return list(items.values())


class Reader:
    """Answers inventory's reads from a scenario; some resources fail as configured."""

    def __init__(
        self, failures: Mapping[str, Exception], records: Mapping[str, Any] = SEED
    ) -> None:
        self.failures = failures
        self.records = records
        self.partition: str | None = None
        self.asked: list[str] = []

    def _answer(self, resource: str) -> Any:
        self.asked.append(resource)
        if resource in self.failures:
            raise self.failures[resource]
        if resource in AGGREGATES:
            return aggregate(self.records, resource)
        return self.records.get(resource, [])

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


def same_objects(left: Snapshot, right: Snapshot) -> None:
    for part in ("vservers", "services", "servicegroups", "servers", "monitors", "csvservers"):
        assert getattr(left, part) == getattr(right, part), part
    assert left.defects == right.defects


def test_one_request_per_read_and_aggregates_give_the_records_of_each_binding_type() -> None:
    reader = Reader({})
    snapshot = collect(reader, url="https://ns")
    # No content switching here: none of its reads is sent.
    assert reader.asked == [r.name for r in INVENTORY_READS if r.only_if is None]
    assert "lbvserver_binding" in reader.asked
    assert "lbvserver_service_binding" not in reader.asked
    assert snapshot.vservers["vs_app_dsr"].services
    same_objects(snapshot, offline(SEED, source="seed", partition=None))


def test_content_switching_is_read_when_there_is_some() -> None:
    with_cs = json.loads((ROOT / "mocks/scenarios/topology.json").read_text())
    reader = Reader({}, with_cs)
    snapshot = collect(reader, url="https://ns")
    assert snapshot.csvservers
    assert {"csvserver", "csvserver_binding"} <= set(reader.asked)
    policies_bound = bool(with_cs.get("csvserver_cspolicy_binding"))
    assert ("cspolicy" in reader.asked) is policies_bound
    same_objects(snapshot, offline(with_cs, source="topology", partition=None))


def test_cs_policies_are_not_read_when_no_policy_is_bound() -> None:
    records = {
        **SEED,
        "csvserver": [{"name": "cs_web", "ipv46": "10.0.0.80", "port": 80, "td": "0"}],
        "csvserver_lbvserver_binding": [{"name": "cs_web", "lbvserver": "vs_app_dsr"}],
    }
    reader = Reader({}, records)
    snapshot = collect(reader, url="https://ns")
    assert snapshot.csvservers["cs_web"].targets == ("vs_app_dsr",)
    assert "csvserver_binding" in reader.asked
    assert "cspolicy" not in reader.asked
    assert "csaction" not in reader.asked


def test_odd_items_of_an_aggregate_reply_become_defects() -> None:
    class Odd(Reader):
        def _answer(self, resource: str) -> Any:
            answer = super()._answer(resource)
            return [*answer, "junk"] if resource == "servicegroup_binding" else answer

    snapshot = collect(Odd({}), url="https://ns")
    [defect] = [d for d in snapshot.defects if d.problem == "not a record"]
    assert defect.resource == "servicegroup_servicegroupmember_binding"


def test_the_page_size_is_large_and_can_be_set() -> None:
    assert configured_page_size({}) == PAGE_SIZE >= 60_000  # 50,000 services: one page each
    assert configured_page_size({"NSFIX_PAGE_SIZE": "5000"}) == 5000
    for wrong in ("0", "-1", "lots", "1e5"):
        with pytest.raises(SettingsError, match="NSFIX_PAGE_SIZE"):
            configured_page_size({"NSFIX_PAGE_SIZE": wrong})


def test_every_binding_type_read_through_an_aggregate_names_its_parent() -> None:
    for parts in AGGREGATES.values():
        for part in parts:
            assert part.binding is not None
            assert part.read is not None
            assert part.binding.parent_key in part.read.attrs
            assert f"{part.binding.parent}_binding" == part.read.via
            assert part.binding.parent in BY_NAME


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


def test_the_records_read_stay_on_the_snapshot_only_when_asked_for() -> None:
    plain = collect(Reader({}), url="https://ns")
    assert "raw" not in plain.extra  # audit and plan do not hold every object twice
    kept = collect(Reader({}), url="https://ns", keep_raw=True)
    assert kept.extra["raw"]["service"]
    assert kept.extra["raw"]["lbvserver_service_binding"]
    same_objects(plain, kept)


def test_a_document_handed_over_is_emptied_of_what_was_parsed() -> None:
    document = json.loads(json.dumps(SEED))
    consumed = offline(document, source="seed", partition=None, consume=True)
    assert "service" not in document
    assert "lbvserver_service_binding" not in document
    assert "nsversion" in document  # the small facts are left where they were
    same_objects(consumed, offline(SEED, source="seed", partition=None))
    assert SEED["service"]  # without consume the caller's records are left alone
