"""The executor binds and unbinds service-group members, named by server or IP and port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mocks.fixtures import MockFactory, RunningMock
from nsfix.executor import ApplyOptions, Executor, Where, binding_matches, request_for
from nsfix.findings import ObjectRef
from nsfix.journal import Phase, Recorded, StepState
from nsfix.nitro import NitroClient
from nsfix.nitro.client import Credentials
from nsfix.planner import Change, Operation
from nsfix.planner_records import Precondition, Verb
from tests.apply.helpers import PASSWORD, USER, scenario

MEMBERS = "servicegroup_servicegroupmember_binding"


def member_change(verb: Verb, record: dict[str, object]) -> Change:
    inverse = {Verb.BIND: Verb.UNBIND, Verb.UNBIND: Verb.BIND}[verb]
    return Change(
        id="c1",
        object=ObjectRef(MEMBERS, str(record["servicegroupname"])),
        operation=Operation(verb, MEMBERS, record),
        inverse=Operation(inverse, MEMBERS, record),
        before={} if verb is Verb.BIND else {"port": str(record["port"])},
        after={"port": str(record["port"])} if verb is Verb.BIND else {},
        precondition=Precondition.ABSENT if verb is Verb.BIND else Precondition.PRESENT,
        fixes=(),
        vservers=(),
        risk="test",
    )


@pytest.fixture(name="mock")
def mock_fixture(mock_appliance_factory: MockFactory) -> RunningMock:
    return mock_appliance_factory(scenario("mixed"))


@pytest.fixture(name="client")
def client_fixture(mock: RunningMock) -> Iterator[NitroClient]:
    http = requests.Session()
    http.trust_env = False  # loopback only, never through a configured proxy
    with NitroClient(mock.url, Credentials(USER, PASSWORD), http=http) as client:
        yield client


def executor(client: NitroClient, change: Change) -> Executor:
    return Executor(client, [change], ApplyOptions(settle_seconds=0), say=lambda _: None)


def web_members(mock: RunningMock) -> set[tuple[str, str, str]]:
    rows = mock.appliance.config()[MEMBERS]
    return {
        (r["servername"], r["ip"], str(r["port"]))
        for r in rows
        if r["servicegroupname"] == "sg_web_proxy"
    }


def test_a_member_bound_by_server_name_and_port_is_applied_and_rolled_back(
    mock: RunningMock, client: NitroClient
) -> None:
    # web-01 is already a member on port 80: the same server on another port is another member.
    change = member_change(
        Verb.BIND, {"servicegroupname": "sg_web_proxy", "servername": "web-01", "port": 8080}
    )
    run = executor(client, change)
    [seen] = run.observe([change])
    assert seen.where is Where.BEFORE
    pending, done = run.preflight()
    assert (len(pending), done) == (1, [])
    report = run.apply([change])
    assert report.status == "applied", report
    assert ("web-01", "10.20.2.71", "8080") in web_members(mock)
    assert ("web-01", "10.20.2.71", "80") in web_members(mock)
    [seen] = run.observe([change])
    assert seen.where is Where.AFTER
    report = executor(client, change).roll_back([_applied(change)])
    assert report.status == "rolled-back", report
    assert ("web-01", "10.20.2.71", "8080") not in web_members(mock)
    assert ("web-01", "10.20.2.71", "80") in web_members(mock)


def test_a_member_is_unbound_by_ip_and_port_only(mock: RunningMock, client: NitroClient) -> None:
    change = member_change(
        Verb.UNBIND, {"servicegroupname": "sg_web_proxy", "ip": "10.20.2.72", "port": 80}
    )
    run = executor(client, change)
    request = request_for([change], Phase.APPLY).render()
    assert f"DELETE /nitro/v1/config/{MEMBERS}/sg_web_proxy?args=ip:10.20.2.72,port:80" in request
    [seen] = run.observe([change])
    assert seen.where is Where.BEFORE  # present: still to unbind
    assert run.apply([change]).status == "applied"
    assert web_members(mock) == {("web-01", "10.20.2.71", "80")}
    # A rollback binds it again, by the same ip and port.
    assert executor(client, change).roll_back([_applied(change)]).status == "rolled-back"
    assert web_members(mock) == {("web-01", "10.20.2.71", "80"), ("web-02", "10.20.2.72", "80")}


def test_a_member_matches_only_when_every_naming_attribute_does() -> None:
    row = {"servicegroupname": "sg", "ip": "10.0.0.1", "servername": "srv", "port": 65535}
    assert binding_matches(row, {"servername": "srv", "port": 65535})
    assert binding_matches(row, {"ip": "10.0.0.1", "port": "*"})  # the CLI's wildcard port
    assert not binding_matches(row, {"servername": "srv", "port": 80})
    assert not binding_matches(row, {"ip": "10.0.0.2", "port": 65535})


def _applied(change: Change) -> StepState:
    return StepState(change, Recorded.APPLIED)
