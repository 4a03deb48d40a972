"""The plan file, version 2: shared facts said once, a size that follows the changes, and a clear
refusal of plans this nsfix cannot read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from mocks.generate import generate
from nsfix.canonical import digest
from nsfix.model import build_snapshot
from nsfix.operations import make_plan, run_audit
from nsfix.planfile import (
    SCHEMA_VERSION,
    PlanFileError,
    plan_document,
    plan_file,
    read_plan_document,
)
from nsfix.planner import Plan, PlanOptions
from nsfix.shell import load_playbooks

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def planned(raw: dict[str, Any]) -> Plan:
    snapshot = build_snapshot(raw, url="https://127.0.0.1:9", collected_at=NOW)
    result = run_audit(snapshot, load_playbooks([]), (), None)
    return make_plan(snapshot, result, None, PlanOptions())


def sealed(document: dict[str, Any]) -> dict[str, Any]:
    body = {key: value for key, value in document.items() if key != "digest"}
    return {**body, "digest": digest(body)}


@pytest.fixture(scope="module")
def small() -> Plan:
    # 150 changes on an appliance of 2,000 services.
    return planned(generate(services=2000, servicegroups=0, bad_fraction=0.25))


def test_a_plan_file_grows_with_its_changes_not_with_the_appliance(small: Plan) -> None:
    # The same 150 changes on an appliance ten times the size.
    large = planned(generate(services=20000, servicegroups=0, bad_fraction=0.025))
    assert len(small.changes) == len(large.changes) == 150

    small_size = len(plan_file(small).text)
    large_size = len(plan_file(large).text)
    assert large_size < 1.1 * small_size, (small_size, large_size)


def test_shared_facts_are_said_once_and_read_back_whole(small: Plan) -> None:
    document = plan_document(small)
    body = document["plan"]

    assert list(body["rules"]) == ["DSR-PROXYPORT", "DSR-USIP"]
    for finding in body["findings"]:
        assert not {"title", "severity", "rationale", "reference", "remediation"} & set(finding)
    # Each backend's facts once; the steps follow from them and are not stored.
    assert all("items" not in task for task in body["server_tasks"])
    named = {snip["address"] for snip in body["snips"]}
    assert {g for task in body["server_tasks"] for g in task["gateways"]} == named
    # One packet path per kind (MAC, IPTUNNEL, TOS), naming the other virtual servers alike.
    assert len(body["paths"]) == 3
    assert read_plan_document(json.loads(json.dumps(document))) == small


def test_server_tasks_are_for_the_backends_the_changes_touch(small: Plan) -> None:
    touched = {c.object.name for c in small.changes}
    addresses = {task.address for task in small.server_tasks}
    # Each changed service has a backend of its own; the other backends of its virtual server
    # keep the source address they see today and need nothing new.
    assert len(addresses) == len(touched)
    assert all(task.items for task in small.server_tasks)


def test_a_plan_from_an_older_nsfix_is_refused_with_what_to_do(small: Plan) -> None:
    document = plan_document(small)
    older = sealed({**document, "schema_version": SCHEMA_VERSION - 1})
    with pytest.raises(PlanFileError) as caught:
        read_plan_document(older, "plan.json")
    message = str(caught.value)
    assert f"plan schema version {SCHEMA_VERSION - 1} is not supported" in message
    assert "made by an older nsfix" in message
    assert "Make a new plan (nsfix plan) and have it reviewed again" in message

    newer = sealed({**document, "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(PlanFileError, match="made by a newer nsfix"):
        read_plan_document(newer)


def test_a_finding_of_a_rule_the_file_does_not_hold_is_malformed(small: Plan) -> None:
    document = json.loads(json.dumps(plan_document(small)))
    del document["plan"]["rules"]["DSR-USIP"]
    with pytest.raises(PlanFileError, match=r"names rule 'DSR-USIP', which plan\.rules does not"):
        read_plan_document(sealed(document))


def test_a_gateway_the_file_does_not_name_as_a_snip_is_malformed(small: Plan) -> None:
    document = json.loads(json.dumps(plan_document(small)))
    document["plan"]["snips"] = []
    with pytest.raises(PlanFileError, match=r"server_tasks\[0\].gateways names 10\."):
        read_plan_document(sealed(document))
