"""The executor reads the objects of many changes with one request per resource type."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from mocks import generate as g
from mocks.fixtures import MockFactory, RunningMock
from nsfix.executor import LIST_READ_FROM, ApplyOptions, Executor, Where
from nsfix.findings import ObjectRef
from nsfix.nitro import NitroClient
from nsfix.planner import Change, Operation
from nsfix.planner_records import Precondition, Verb
from tests.apply.helpers import with_users
from tests.apply.test_member_binding import client_fixture  # noqa: F401

MONITORS = "service_lbmonitor_binding"


def bind_monitor(index: int, service: str, monitor: str) -> Change:
    record = {"name": service, "monitor_name": monitor}
    return Change(
        id=f"c{index}",
        object=ObjectRef(MONITORS, service),
        operation=Operation(Verb.BIND, MONITORS, record),
        inverse=Operation(Verb.UNBIND, MONITORS, record),
        before={},
        after={"monitor_name": monitor},
        precondition=Precondition.ABSENT,
        fixes=(),
        vservers=(),
        risk="test",
    )


def set_usip(index: int, service: str, before: str, after: str) -> Change:
    return Change(
        id=f"u{index}",
        object=ObjectRef("service", service),
        operation=Operation(Verb.UPDATE, "service", {"name": service, "usip": after}),
        inverse=Operation(Verb.UPDATE, "service", {"name": service, "usip": before}),
        before={"usip": before},
        after={"usip": after},
        precondition=Precondition.PRESENT,
        fixes=(),
        vservers=(),
        risk="test",
    )


@pytest.fixture(name="mock")
def mock_fixture(mock_appliance_factory: MockFactory) -> RunningMock:
    data = g.generate(services=40, servicegroups=0, dsr_fraction=1.0, bad_fraction=0.0, seed=3)
    return mock_appliance_factory(with_users(data))


def reads(mock: RunningMock) -> list[str]:
    """The GETs sent, as `path?query` with the query decoded."""
    return [
        f"{e['path']}?{unquote(e['query'])}".rstrip("?")
        for e in mock.appliance.request_log
        if e["method"] == "GET"
    ]


def test_bindings_of_many_parents_are_one_filtered_list_read_and_judged_per_object(
    mock: RunningMock, client: NitroClient
) -> None:
    # Every service has mon_ping bound: binding it is done already, binding mon_tcp is to do.
    changes = [bind_monitor(i, f"svc_{i:06d}", "mon_ping") for i in range(10)]
    changes += [bind_monitor(10 + i, f"svc_{i:06d}", "mon_tcp") for i in range(10)]
    changes.append(bind_monitor(20, "svc_missing", "mon_tcp"))
    run = Executor(client, changes, ApplyOptions(settle_seconds=0), say=lambda _: None)
    mock.appliance.reset_counters()
    seen = {o.change.id: o.where for o in run.observe(changes)}
    assert [seen[f"c{i}"] for i in range(10)] == [Where.AFTER] * 10
    assert [seen[f"c{i}"] for i in range(10, 21)] == [Where.BEFORE] * 11
    [read] = reads(mock)  # two monitors: no shared filter, one bulk read of the type
    assert f"/config/{MONITORS}?" in read
    assert "bulkbindings=yes" in read
    mock.appliance.reset_counters()
    run.observe(changes[10:20])  # one monitor: the read asks only for its bindings
    [read] = reads(mock)
    assert "filter=monitor_name:mon_tcp" in read


def test_few_objects_are_read_one_by_one_and_many_with_one_list_read(
    mock: RunningMock, client: NitroClient
) -> None:
    many = [set_usip(i, f"svc_{i:06d}", "YES", "NO") for i in range(LIST_READ_FROM)]
    many.append(set_usip(99, "svc_gone", "YES", "NO"))
    run = Executor(client, many, ApplyOptions(settle_seconds=0), say=lambda _: None)
    mock.appliance.reset_counters()
    seen = run.observe(many)
    assert [o.where for o in seen] == [Where.BEFORE] * LIST_READ_FROM + [Where.DRIFTED]
    assert seen[-1].current == {"present": "no"}
    [read] = reads(mock)
    assert read.startswith("/nitro/v1/config/service?")
    assert "attrs=" in read
    assert "pagesize=" in read
    mock.appliance.reset_counters()
    few = many[: LIST_READ_FROM - 1]
    assert [o.where for o in run.observe(few)] == [Where.BEFORE] * len(few)
    assert len(reads(mock)) == len(few)
    assert all(r.startswith("/nitro/v1/config/service/svc_") for r in reads(mock))


def test_list_reads_page_as_nsfix_page_size_says(
    mock: RunningMock, client: NitroClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An appliance that needs small pages for inventory (NSFIX_PAGE_SIZE) gets them from apply
    and rollback too, and every object is still judged."""
    from nsfix.inventory import configured_page_size

    monkeypatch.setenv("NSFIX_PAGE_SIZE", "7")
    many = [set_usip(i, f"svc_{i:06d}", "YES", "NO") for i in range(20)]
    options = ApplyOptions(settle_seconds=0, page_size=configured_page_size())
    run = Executor(client, many, options, say=lambda _: None)
    mock.appliance.reset_counters()
    assert [o.where for o in run.observe(many)] == [Where.BEFORE] * 20
    pages = reads(mock)
    assert all("pagesize=7" in r for r in pages)
    assert len(pages) == 6  # 40 services, 7 a page: the sixth page is the short one
