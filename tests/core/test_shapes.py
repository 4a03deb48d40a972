"""The closed list of operation shapes: every write the planner makes fits it, no edit does."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nsfix.findings import ObjectRef
from nsfix.model import build_snapshot
from nsfix.planfile import PlanFileError, plan_document, read_plan_document, snapshot_digest
from nsfix.planner import Change, Operation, Plan, PlanOptions, Verb, plan
from nsfix.planner_records import Precondition
from nsfix.resources import resource
from nsfix.rules.engine import evaluate, parse_playbook
from nsfix.shapes import SHAPES, shape_problem, unplanned
from tests.core.test_planner import NOW, PLAYBOOK, TODAY, appliances, shared_group_raw

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.stem for p in (ROOT / "mocks/scenarios").glob("*.json"))
SITE_PLAYBOOK = parse_playbook(
    (ROOT / "docs/examples/custom-playbook.yaml").read_text(), "custom-playbook.yaml"
)
OPTIONS = [PlanOptions(m, c) for m in (False, True) for c in (False, True)]


def planned(raw: dict[str, Any], options: PlanOptions, *, site: bool = False) -> Plan:
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    books = [PLAYBOOK, SITE_PLAYBOOK] if site else [PLAYBOOK]
    return plan(
        snap,
        evaluate(snap, books, today=TODAY),
        snapshot_digest=snapshot_digest(snap),
        created_at=NOW,
        options=options,
    )


def assert_planned_shapes(the_plan: Plan) -> None:
    assert unplanned(the_plan.changes, "default") == []
    # And the sealed file with them is read back as it was written.
    document = json.loads(json.dumps(plan_document(the_plan)))
    assert read_plan_document(document) == the_plan


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=appliances(), bind_monitor=st.booleans(), dedicated_copies=st.booleans())
def test_every_change_the_planner_makes_is_a_planned_shape(
    raw: dict[str, Any], bind_monitor: bool, dedicated_copies: bool
) -> None:
    the_plan = planned(raw, PlanOptions(bind_monitor, dedicated_copies))
    for change in the_plan.changes:
        event(f"{change.operation.verb} {change.operation.resource}")
    assert_planned_shapes(the_plan)


@pytest.mark.parametrize("site", [False, True], ids=["shipped", "with-site-playbook"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("name", SCENARIOS)
def test_the_plans_of_every_scenario_are_planned_shapes(
    name: str, options: PlanOptions, site: bool
) -> None:
    raw = json.loads((ROOT / "mocks/scenarios" / f"{name}.json").read_text())
    assert_planned_shapes(planned(raw, options, site=site))


def test_the_list_covers_every_kind_of_write_the_planner_makes() -> None:
    # The mixed scenario, and with a shared group too, with the opt-ins make updates, monitor
    # bindings and both kinds of dedicated copy: every shape in the list is one the planner uses.
    mixed = json.loads((ROOT / "mocks/scenarios/mixed.json").read_text())
    made = set()
    for raw, options in ((r, o) for r in (mixed, shared_group_raw()) for o in OPTIONS):
        the_plan = planned(raw, options, site=True)
        assert_planned_shapes(the_plan)
        made |= {(c.operation.resource, c.operation.verb) for c in the_plan.changes}
    assert made == set(SHAPES)
    # An update writes only what the resource table lets a remediation write.
    for name in ("service", "servicegroup"):
        shape = SHAPES[name, Verb.UPDATE]
        assert shape.record.optional == resource(name).updatable
        assert shape.key == resource(name).key


def update(**fields: Any) -> Change:
    """A planned update of service svc_a, with `fields` replaced."""
    change = Change(
        id="c1",
        object=ObjectRef("service", "svc_a", "default"),
        operation=Operation(Verb.UPDATE, "service", {"name": "svc_a", "usip": "YES"}),
        inverse=Operation(Verb.UPDATE, "service", {"name": "svc_a", "usip": "NO"}),
        before={"usip": "NO"},
        after={"usip": "YES"},
        precondition=Precondition.ATTRIBUTES,
        fixes=("DSR-USIP service/svc_a",),
        vservers=("vs",),
        risk="r",
        canary=True,
    )
    return replace(change, **fields)


def bind(**fields: Any) -> Change:
    record = {"name": "vs", "servicename": "svc_a_dsr", "weight": 1}
    change = Change(
        id="c1",
        object=ObjectRef("lbvserver_service_binding", "vs", "default"),
        operation=Operation(Verb.BIND, "lbvserver_service_binding", record),
        inverse=Operation(Verb.UNBIND, "lbvserver_service_binding", record),
        before={},
        after={"servicename": "svc_a_dsr"},
        precondition=Precondition.ABSENT,
        fixes=(),
        vservers=("vs",),
        risk="r",
        group="copy:svc_a",
    )
    return replace(change, **fields)


def test_the_reference_changes_are_planned_shapes() -> None:
    assert shape_problem(update(), "default") is None
    assert shape_problem(bind(), "default") is None


EDITED: dict[str, tuple[Change, str]] = {
    "delete of an lbvserver": (
        update(
            object=ObjectRef("lbvserver", "vs", "default"),
            operation=Operation(Verb.DELETE, "lbvserver", {"name": "vs"}),
            inverse=Operation(Verb.ADD, "lbvserver", {"name": "vs"}),
            before={},
            after={},
            precondition=Precondition.PRESENT,
        ),
        "delete of lbvserver is no write nsfix's planner makes",
    ),
    "delete of a service": (
        update(
            operation=Operation(Verb.DELETE, "service", {"name": "svc_a"}),
            inverse=Operation(Verb.ADD, "service", {"name": "svc_a"}),
            precondition=Precondition.PRESENT,
        ),
        "delete of service is no write",
    ),
    "an attribute outside the list": (
        update(
            operation=Operation(Verb.UPDATE, "service", {"name": "svc_a", "usip": "YES", "td": 2}),
            inverse=Operation(Verb.UPDATE, "service", {"name": "svc_a", "usip": "NO", "td": 0}),
        ),
        "update of service writes td",
    ),
    "a value outside the attribute's words": (
        update(
            operation=Operation(Verb.UPDATE, "service", {"name": "svc_a", "usip": "MAYBE"}),
            after={"usip": "MAYBE"},
        ),
        "usip takes YES or NO",
    ),
    "an inverse that does not restore": (
        update(inverse=Operation(Verb.UPDATE, "service", {"name": "svc_a", "usip": "YES"})),
        "does not restore the values before it",
    ),
    "an inverse of another object": (
        update(inverse=Operation(Verb.UPDATE, "service", {"name": "svc_b", "usip": "NO"})),
        "does not restore",
    ),
    "an inverse of another verb": (
        bind(inverse=Operation(Verb.BIND, "lbvserver_service_binding", {"name": "vs"})),
        "does not undo",
    ),
    "a before that does not match the record": (
        update(before={"usip": "NO", "cip": "ENABLED"}),
        "do not name exactly the attributes it writes",
    ),
    "a nested value": (
        bind(
            operation=Operation(
                Verb.BIND, "lbvserver_service_binding", {"name": "vs", "servicename": ["x"]}
            )
        ),
        "has a list for servicename",
    ),
    "a binding without what it binds": (
        bind(operation=Operation(Verb.BIND, "lbvserver_service_binding", {"name": "vs"})),
        "lacks servicename",
    ),
    "an unbind of a monitor": (
        bind(
            object=ObjectRef("service_lbmonitor_binding", "svc_a", "default"),
            operation=Operation(
                Verb.UNBIND, "service_lbmonitor_binding", {"name": "svc_a", "monitor_name": "m"}
            ),
        ),
        "unbind of service_lbmonitor_binding is no write",
    ),
    "another precondition": (
        update(precondition=Precondition.ABSENT),
        "must have precondition attributes",
    ),
    "another object than it writes": (
        update(object=ObjectRef("service", "svc_b", "default")),
        "it names service/svc_b",
    ),
    "another partition": (
        update(object=ObjectRef("service", "svc_a", "other")),
        "in partition other",
    ),
    "an unknown resource": (
        update(operation=Operation(Verb.UPDATE, "nsmode", {"name": "x", "usip": "YES"})),
        "update of nsmode is no write",
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITED))
def test_an_edited_change_is_no_planned_shape(edit: str) -> None:
    change, why = EDITED[edit]
    problem = shape_problem(change, "default")
    assert problem is not None
    assert why in problem


def test_changes_out_of_their_planned_order_are_refused() -> None:
    second = update(id="c2", canary=False)
    assert unplanned([update(), second], "default") == []
    assert unplanned([second, update()], "default") == [
        "the changes are not numbered c1..c2 in order: c2, c1"
    ]


def test_reading_a_plan_refuses_an_unplanned_write_sealed_again() -> None:
    raw = json.loads((ROOT / "mocks/scenarios/seed-incident.json").read_text())
    the_plan = planned(raw, PlanOptions())
    deletion = replace(EDITED["delete of an lbvserver"][0], id="c2", canary=False)
    edited = replace(the_plan, changes=(the_plan.changes[0], deletion))
    document = json.loads(json.dumps(plan_document(edited)))
    with pytest.raises(PlanFileError, match="c2: delete of lbvserver is no write") as caught:
        read_plan_document(document, "plan.json")
    assert "Make a new plan" in str(caught.value)
