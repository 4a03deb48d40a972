"""The canary: a change on live traffic when there is one, chosen by a fixed rule, said plainly."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nsfix.canonical import digest
from nsfix.model import ServiceGroup, Snapshot, build_snapshot
from nsfix.planfile import plan_document, read_plan_document, snapshot_digest
from nsfix.planner import CanaryChoice, Change, Plan, PlanOptions, plan
from nsfix.planner_changes import NAMED_AT_MOST
from tests.core.test_planner import NOW, SNIP_NET, appliances, audit
from tests.support import shuffled

NO_CANARY = "no change can be a meaningful canary: "


def vserver(name: str, number: int, **fields: str) -> dict[str, Any]:
    """A MAC-mode (DSR) virtual server, enabled and UP unless `fields` say otherwise."""
    return {
        "name": name,
        "ipv46": f"198.51.100.{number}",
        "port": 65535,
        "servicetype": "ANY",
        "m": "MAC",
        "state": "ENABLED",
        "curstate": "UP",
        **fields,
    }


def service(name: str, number: int, **fields: str) -> dict[str, Any]:
    """A service with usip NO (so the plan changes it), enabled and UP unless told otherwise."""
    return {
        "name": name,
        "ipaddress": f"{SNIP_NET}.{10 + number}",
        "port": 65535,
        "servicetype": "ANY",
        "usip": "NO",
        "useproxyport": "NO",
        "state": "ENABLED",
        "svrstate": "UP",
        **fields,
    }


def appliance(
    vservers: Sequence[dict[str, Any]],
    services: Sequence[dict[str, Any]],
    bindings: Sequence[tuple[str, str]],
    **more: list[dict[str, Any]],
) -> dict[str, Any]:
    """NITRO records of one partition: `bindings` are (virtual server, service) pairs."""
    return {
        "nsip": [{"ipaddress": f"{SNIP_NET}.1", "netmask": "255.255.255.0", "type": "SNIP"}],
        "nsmode": {"usip": False, "mbf": True},
        "hanode": [{"id": "0", "state": "Primary"}],
        "lbvserver": list(vservers),
        "service": list(services),
        "lbvserver_service_binding": [{"name": v, "servicename": s} for v, s in bindings],
        **more,
    }


def planned(raw: dict[str, Any], **options: bool) -> tuple[Snapshot, Plan]:
    snap = build_snapshot(raw, url="https://ns", collected_at=NOW)
    the_plan = plan(
        snap,
        audit(snap),
        snapshot_digest=snapshot_digest(snap),
        created_at=NOW,
        options=PlanOptions(**options),
    )
    return snap, the_plan


def names(the_plan: Plan) -> list[str]:
    return [c.object.name for c in the_plan.changes]


def reason_of(the_plan: Plan) -> str:
    assert the_plan.canary is not None
    return the_plan.canary.reason


# --- the user's view: which change goes first, and what the plan says about it ---------------


@pytest.mark.parametrize(
    ("vs_a", "svc_a", "why"),
    [
        ({"state": "DISABLED", "curstate": "OUT OF SERVICE"}, {}, "vs_a disabled"),
        ({"curstate": "DOWN"}, {}, "vs_a DOWN"),
        ({}, {"svrstate": "DOWN"}, "service/svc_a (DOWN)"),
        ({}, {"state": "DISABLED", "svrstate": "OUT OF SERVICE"}, "service/svc_a (disabled)"),
    ],
)
def test_a_live_backend_is_the_canary_even_when_another_comes_first_by_name(
    vs_a: dict[str, str], svc_a: dict[str, str], why: str
) -> None:
    raw = appliance(
        [vserver("vs_a", 1, **vs_a), vserver("vs_b", 2)],
        [service("svc_a", 1, **svc_a), service("svc_b", 2)],
        [("vs_a", "svc_a"), ("vs_b", "svc_b")],
    )
    _, the_plan = planned(raw)
    assert names(the_plan) == ["svc_b", "svc_a"]
    assert [(c.id, c.canary) for c in the_plan.changes] == [("c1", True), ("c2", False)]
    assert the_plan.canary is not None
    assert the_plan.canary.change == "c1"
    assert the_plan.canary.code is CanaryChoice.LIVE
    assert reason_of(the_plan).startswith(
        "service/svc_b is an enabled service that is UP behind vs_b (enabled, UP): its write "
        "changes live traffic"
    )
    # With only the dead one, the plan says plainly that no change is a meaningful canary.
    alone = appliance(
        [vserver("vs_a", 1, **vs_a)], [service("svc_a", 1, **svc_a)], [("vs_a", "svc_a")]
    )
    _, dead = planned(alone)
    assert dead.canary is not None
    assert dead.canary.code is CanaryChoice.NO_LIVE_CANDIDATE
    assert reason_of(dead).startswith(NO_CANARY)
    assert why in reason_of(dead)
    assert [(c.id, c.canary) for c in dead.changes] == [("c1", True)]


def test_when_everything_is_down_the_plan_names_each_reason_and_c1_still_goes_alone() -> None:
    raw = appliance(
        [
            vserver("vs_off", 1, state="DISABLED", curstate="OUT OF SERVICE"),
            vserver("vs_down", 2, curstate="DOWN"),
            vserver("vs_up", 3),
        ],
        [
            service("svc_behind_off", 1),
            service("svc_behind_down", 2),
            service("svc_dead", 3, svrstate="DOWN"),
            service("svc_out", 4, state="DISABLED", svrstate="OUT OF SERVICE"),
        ],
        [
            ("vs_off", "svc_behind_off"),
            ("vs_down", "svc_behind_down"),
            ("vs_up", "svc_dead"),
            ("vs_up", "svc_out"),
        ],
    )
    _, the_plan = planned(raw)
    assert the_plan.canary is not None
    assert the_plan.canary.code is CanaryChoice.NO_LIVE_CANDIDATE
    assert reason_of(the_plan) == (
        f"{NO_CANARY}backends not UP: service/svc_dead (DOWN), service/svc_out (disabled); "
        "behind no enabled DSR virtual server that is UP: service/svc_behind_down "
        "(vs_down DOWN), service/svc_behind_off (vs_off disabled). The first change, "
        f"{the_plan.changes[0].object}, still goes alone and is read back, but that proves "
        "nothing on live traffic"
    )
    assert sum(c.canary for c in the_plan.changes) == 1
    assert the_plan.changes[0].canary


def test_a_long_list_of_dead_backends_is_cut_short() -> None:
    count = NAMED_AT_MOST + 3
    raw = appliance(
        [vserver("vs", 1, state="DISABLED", curstate="OUT OF SERVICE")],
        [service(f"svc_{i}", i) for i in range(count)],
        [("vs", f"svc_{i}") for i in range(count)],
    )
    reason = reason_of(planned(raw)[1])
    assert reason.count("vs disabled") == NAMED_AT_MOST
    assert " and 3 more." in reason


def group_records(name: str, members_up: Sequence[bool], **fields: str) -> dict[str, Any]:
    """A service group with usip NO and one member per entry of `members_up`."""
    group = {
        "servicegroupname": name,
        "servicetype": "ANY",
        "usip": "NO",
        "useproxyport": "NO",
        "state": "ENABLED",
        "servicegroupeffectivestate": "UP",
        **fields,
    }
    members = [
        {
            "servicegroupname": name,
            "ip": f"{SNIP_NET}.{100 + i}",
            "port": 65535,
            "state": "ENABLED",
            "svrstate": "UP" if up else "DOWN",
        }
        for i, up in enumerate(members_up)
    ]
    return {"servicegroup": [group], "servicegroup_servicegroupmember_binding": members}


def test_a_service_goes_before_a_group_and_a_group_needs_a_member_up() -> None:
    records = group_records("aa_group", [True, False])
    raw = appliance(
        [vserver("vs_a", 1), vserver("vs_b", 2)],
        [service("svc_z", 1)],
        [("vs_a", "svc_z")],
        lbvserver_servicegroup_binding=[{"name": "vs_b", "servicegroupname": "aa_group"}],
        **records,
    )
    _, the_plan = planned(raw)
    # The group sorts first by name and is live, but a single backend is the smaller risk.
    assert names(the_plan)[0] == "svc_z"
    assert "Chosen from 2 such changes" in reason_of(the_plan)
    raw["service"][0]["svrstate"] = "DOWN"
    _, group_first = planned(raw)
    assert names(group_first)[0] == "aa_group"
    assert reason_of(group_first).startswith(
        "servicegroup/aa_group is an enabled service group that is UP (1 of 2 members UP) "
        "behind vs_b (enabled, UP)"
    )
    for member in raw["servicegroup_servicegroupmember_binding"]:
        member["svrstate"] = "DOWN"
    _, none_up = planned(raw)
    assert "servicegroup/aa_group (no member UP)" in reason_of(none_up)


def test_fewer_virtual_servers_mean_a_smaller_blast_radius() -> None:
    raw = appliance(
        [vserver("vs_a", 1), vserver("vs_b", 2)],
        [service("svc_a", 1), service("svc_b", 2)],
        [("vs_a", "svc_a"), ("vs_b", "svc_a"), ("vs_b", "svc_b")],
    )
    _, the_plan = planned(raw)
    assert names(the_plan) == ["svc_b", "svc_a"]


def test_an_update_whose_monitor_binding_goes_first_cannot_be_the_canary() -> None:
    # svc_a has only a script monitor: with --bind-monitor, ping-default is bound before it.
    raw = appliance(
        [vserver("vs_a", 1), vserver("vs_b", 2)],
        [service("svc_a", 1), service("svc_b", 2)],
        [("vs_a", "svc_a"), ("vs_b", "svc_b")],
        lbmonitor=[{"monitorname": "mon_script", "type": "USER", "scriptname": "x.pl"}],
        service_lbmonitor_binding=[{"name": "svc_a", "monitor_name": "mon_script"}],
    )
    _, the_plan = planned(raw, bind_monitor=True)
    resources = [(c.object.resource, c.object.name) for c in the_plan.changes]
    assert resources == [
        ("service", "svc_b"),
        ("service_lbmonitor_binding", "svc_a"),
        ("service", "svc_a"),
    ]
    assert the_plan.canary is not None
    assert the_plan.canary.code is CanaryChoice.LIVE
    # Without another live backend, the monitor binding goes first and the plan says why.
    raw["service"][1]["svrstate"] = "DOWN"
    _, blocked = planned(raw, bind_monitor=True)
    assert [c.object.resource for c in blocked.changes][:2] == [
        "service_lbmonitor_binding",
        "service",
    ]
    assert "live, but their monitor binding must go first: service/svc_a" in reason_of(blocked)


def test_steps_of_a_dedicated_copy_are_never_pulled_out_of_their_sequence() -> None:
    raw = appliance(
        [vserver("vs_dsr", 1), vserver("vs_proxy", 2, m="IP")],
        [service("svc_shared", 1)],
        [("vs_dsr", "svc_shared"), ("vs_proxy", "svc_shared")],
    )
    _, the_plan = planned(raw, dedicated_copies=True)
    assert [c.operation.verb for c in the_plan.changes] == ["add", "bind", "unbind"]
    assert {c.group for c in the_plan.changes} == {"copy:svc_shared"}
    assert reason_of(the_plan) == (
        f"{NO_CANARY}dedicated copies, whose steps stay together and begin with an add: copy of "
        "svc_shared. The first change, service/svc_shared_dsr, still goes alone and is read "
        "back, but that proves nothing on live traffic"
    )


def test_the_plan_file_carries_the_canary_and_older_files_without_it_still_read() -> None:
    raw = appliance([vserver("vs", 1)], [service("svc", 1)], [("vs", "svc")])
    _, the_plan = planned(raw)
    document = json.loads(json.dumps(plan_document(the_plan)))
    assert document["plan"]["canary"] == {
        "change": "c1",
        "code": "up-backend-on-up-vserver",
        "reason": reason_of(the_plan),
    }
    assert read_plan_document(document) == the_plan
    # A version 1 plan made before nsfix said why: sealed without `canary`, it still applies.
    body = {k: v for k, v in document.items() if k != "digest"}
    del body["plan"]["canary"]
    older = read_plan_document({**body, "digest": digest(body)})
    assert older.canary is None
    assert older.changes == the_plan.changes


def test_an_empty_plan_has_no_canary() -> None:
    raw = appliance([vserver("vs", 1)], [service("svc", 1, usip="YES")], [("vs", "svc")])
    assert planned(raw)[1].canary is None


# --- properties over generated appliances ----------------------------------------------------


def eligible(snap: Snapshot, the_plan: Plan, change: Change) -> bool:
    """The documented rule, written again from the snapshot: a live update that can go first."""
    ref = change.object
    if change.operation.verb != "update" or change.group is not None:
        return False
    if ref.resource == "service":
        svc = snap.services[ref.name]
        backend_up = svc.state == "ENABLED" and svc.svrstate == "UP"
    else:
        group = snap.servicegroups[ref.name]
        backend_up = (
            group.state == "ENABLED"
            and group.effective_state == "UP"
            and any(m.state == "ENABLED" and m.svrstate == "UP" for m in group.members)
        )
    vservers = [snap.vservers[name] for name in change.vservers]
    vserver_up = any(vs.is_dsr and vs.state == "ENABLED" and vs.curstate == "UP" for vs in vservers)
    monitor_first = any(
        c.object.resource == f"{ref.resource}_lbmonitor_binding" and c.object.name == ref.name
        for c in the_plan.changes
    )
    return backend_up and vserver_up and not monitor_first


def radius(snap: Snapshot, change: Change) -> tuple[bool, int, int, tuple[str, ...]]:
    obj = snap.servicegroups.get(change.object.name)
    group = change.object.resource == "servicegroup" and isinstance(obj, ServiceGroup)
    members = len(obj.members) if group and obj is not None else 1
    return (group, members, len(change.vservers), change.object.sort_key)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=appliances(), bind_monitor=st.booleans(), dedicated_copies=st.booleans())
def test_the_canary_is_eligible_whenever_a_change_is(
    raw: dict[str, Any], bind_monitor: bool, dedicated_copies: bool
) -> None:
    snap, the_plan = planned(raw, bind_monitor=bind_monitor, dedicated_copies=dedicated_copies)
    if the_plan.empty:
        assert the_plan.canary is None
        return
    changes = the_plan.changes
    assert [c.id for c in changes] == [f"c{i}" for i in range(1, len(changes) + 1)]
    assert [c.canary for c in changes] == [True] + [False] * (len(changes) - 1)
    assert the_plan.canary is not None
    assert the_plan.canary.change == "c1"
    live = [c for c in changes if eligible(snap, the_plan, c)]
    if live:
        event("a live canary")
        assert the_plan.canary.code is CanaryChoice.LIVE
        assert eligible(snap, the_plan, changes[0])
        assert all(radius(snap, changes[0]) <= radius(snap, c) for c in live)
        assert reason_of(the_plan).startswith(str(changes[0].object))
    else:
        event("no live canary")
        assert the_plan.canary.code is CanaryChoice.NO_LIVE_CANDIDATE
        assert reason_of(the_plan).startswith(NO_CANARY)
    # The other ordering rules hold: a monitor right before its update, copies in one piece.
    for index, change in enumerate(changes):
        if change.group is None and change.object.resource.endswith("_lbmonitor_binding"):
            updates = [
                c
                for c in changes
                if c.operation.verb == "update"
                and c.object.name == change.object.name
                and change.object.resource == f"{c.object.resource}_lbmonitor_binding"
            ]
            if updates:
                assert changes[index + 1] == updates[0]
    for group in {c.group for c in changes if c.group}:
        steps = [i for i, c in enumerate(changes) if c.group == group]
        assert steps == list(range(steps[0], steps[0] + len(steps)))
        assert changes[steps[0]].operation.verb == "add"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=appliances(), seed=st.integers(0, 2**32 - 1), bind_monitor=st.booleans())
def test_the_order_of_the_records_never_chooses_the_canary(
    raw: dict[str, Any], seed: int, bind_monitor: bool
) -> None:
    _, one = planned(raw, bind_monitor=bind_monitor)
    _, other = planned(shuffled(raw, seed), bind_monitor=bind_monitor)
    assert one.canary == other.canary
    if one.changes:
        first, again = one.changes[0], other.changes[0]
        assert (first.object, first.operation) == (again.object, again.operation)
