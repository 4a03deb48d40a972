"""Writes as NITRO takes them: validation, actions, bindings, bulk modes, save, partitions, HA."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from mocks.fixtures import RunningMock
from tests.mock.conftest import Nitro

NEW_SERVICE = {"name": "svc_new", "ip": "10.0.0.50", "servicetype": "ANY", "port": "*"}


def _names(mock: RunningMock, resource: str, partition: str = "default") -> list[str]:
    key = "servicegroupname" if resource == "servicegroup" else "name"
    return [r[key] for r in mock.appliance.config(partition)[resource]]


def test_add_then_duplicate_then_idempotent(nitro: Nitro, mock: RunningMock) -> None:
    added = nitro.post("service", {"service": NEW_SERVICE})
    assert added.status_code == 201
    assert added.json() == {"errorcode": 0, "message": "Done", "severity": "NONE"}
    stored = nitro.one("service/svc_new")
    assert (stored["ipaddress"], stored["port"], stored["servername"]) == (
        "10.0.0.50", 65535, "10.0.0.50")
    assert "ip" not in stored
    # The appliance creates a server object named after the address.
    assert nitro.one("server/10.0.0.50")["ipaddress"] == "10.0.0.50"
    again = nitro.post("service", {"service": NEW_SERVICE})
    assert again.status_code == 409
    assert again.json() == {"errorcode": 273, "message": "Resource already exists",
                            "severity": "ERROR"}
    assert nitro.post("service?idempotent=yes", {"service": NEW_SERVICE}).status_code == 200
    changed = dict(NEW_SERVICE, servicetype="TCP")
    assert nitro.post("service?idempotent=yes", {"service": changed}).status_code == 409
    assert _names(mock, "service").count("svc_new") == 1


def test_add_by_existing_servername_takes_its_address(nitro: Nitro) -> None:
    body = {"service": {"name": "svc_srv", "servername": "srv2", "servicetype": "TCP",
                        "port": 22}}
    assert nitro.post("service", body).status_code == 201
    assert nitro.one("service/svc_srv")["ipaddress"] == "10.0.0.12"
    ghost = {"service": {"name": "svc_g", "servername": "ghost", "servicetype": "TCP",
                         "port": 22}}
    assert nitro.post("service", ghost).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "errorcode", "message"),
    [
        (dict(NEW_SERVICE, bogus="1"), 599, 278, "Invalid argument [bogus]"),
        (dict(NEW_SERVICE, ipaddress="10.0.0.9"), 599, 278, "Invalid argument [ipaddress]"),
        (dict(NEW_SERVICE, svrstate="UP"), 599, 278, "Invalid argument [svrstate]"),
        (dict(NEW_SERVICE, usip="MAYBE"), 400, 1097, "Invalid argument value [usip, MAYBE]"),
        (dict(NEW_SERVICE, servicetype="HTTPS"), 400, 1097,
         "Invalid argument value [servicetype, HTTPS]"),
        (dict(NEW_SERVICE, ip="333:333:33:333"), 400, 1097,
         "Invalid argument value [ip, 333:333:33:333]"),
        (dict(NEW_SERVICE, port=70000), 400, 1097, "Invalid argument value [port, 70000]"),
        ({k: v for k, v in NEW_SERVICE.items() if k != "servicetype"}, 400, 1095,
         "Required argument missing [servicetype]"),
    ],
)
def test_invalid_adds_are_refused_and_nothing_is_stored(
        nitro: Nitro, mock: RunningMock, body: dict[str, Any], status: int, errorcode: int,
        message: str) -> None:
    reply = nitro.post("service", {"service": body})
    assert reply.status_code == status
    assert reply.json() == {"errorcode": errorcode, "message": message, "severity": "ERROR"}
    assert "svc_new" not in _names(mock, "service")
    assert "10.0.0.50" not in _names(mock, "server")
    assert mock.appliance.config_changed() is False


def test_skipinvalidarg_drops_unknown_attributes(nitro: Nitro) -> None:
    body = {"service": {"name": "svc_web", "usip": "YES", "svrstate": "UP", "bogus": 1}}
    assert nitro.put("service", body).json()["errorcode"] == 278
    assert nitro.put("service?skipinvalidarg=yes", body).status_code == 200
    assert nitro.one("service/svc_web")["usip"] == "YES"


def test_go_style_update_is_a_post_with_action_update(nitro: Nitro) -> None:
    reply = nitro.post("lbvserver/vs_web?action=update", {"lbvserver": {"lbmethod": "roundrobin"}})
    assert reply.status_code == 200
    assert nitro.one("lbvserver/vs_web")["lbmethod"] == "ROUNDROBIN"


def test_enums_are_case_insensitive_and_stored_canonical(nitro: Nitro) -> None:
    assert nitro.put("service", {"service": {"name": "svc_web", "usip": "yes",
                                             "useproxyport": "No"}}).status_code == 200
    web = nitro.one("service/svc_web?attrs=usip,useproxyport")
    assert (web["usip"], web["useproxyport"]) == ("YES", "NO")


def test_update_by_body_or_path_and_immutables_are_ignored(nitro: Nitro) -> None:
    reply = nitro.put("service/svc_dsr_1", {"service": {"usip": "YES", "port": 81,
                                                        "servicetype": "TCP"}})
    assert reply.status_code == 200
    svc = nitro.one("service/svc_dsr_1")
    assert (svc["usip"], svc["port"], svc["servicetype"]) == ("YES", 65535, "ANY")
    assert nitro.put("service", {"service": {"name": "nope", "usip": "YES"}}).status_code == 404
    bad = nitro.put("service", {"service": {"name": "svc_dsr_1", "usip": "ja"}})
    assert bad.status_code == 400
    assert nitro.one("service/svc_dsr_1")["usip"] == "YES"
    assert nitro.put("service", {"service": {"usip": "YES"}}).json()["errorcode"] == 1095
    moved = nitro.put("service", {"service": {"name": "svc_web", "ipaddress": "10.0.0.99"}})
    assert moved.status_code == 200
    assert nitro.one("service/svc_web")["ipaddress"] == "10.0.0.99"


def test_unset_restores_defaults(nitro: Nitro) -> None:
    nitro.put("service", {"service": {"name": "svc_web", "usip": "YES", "useproxyport": "NO"}})
    reply = nitro.post("service?action=unset", {"service": {"name": "svc_web", "usip": True,
                                                             "useproxyport": True}})
    assert reply.status_code == 200
    web = nitro.one("service/svc_web")
    assert (web["usip"], web["useproxyport"]) == ("NO", "YES")
    bad = nitro.post("service?action=unset", {"service": {"name": "svc_web", "nope": True}})
    assert bad.json()["errorcode"] == 278


def test_enable_disable_drive_states(nitro: Nitro) -> None:
    assert nitro.post("service?action=disable",
                      {"service": {"name": "svc_dsr_1", "graceful": "NO"}}).status_code == 200
    assert nitro.one("service/svc_dsr_1")["svrstate"] == "OUT OF SERVICE"
    assert nitro.one("lbvserver/vs_dsr")["curstate"] == "DOWN"
    assert nitro.post("service?action=ENABLE", {"service": {"name": "svc_dsr_1"}}).ok
    assert nitro.one("service/svc_dsr_1")["svrstate"] == "UP"
    nitro.post("lbvserver?action=disable", {"lbvserver": {"name": "vs_dsr"}})
    assert nitro.one("lbvserver/vs_dsr")["curstate"] == "OUT OF SERVICE"
    member = {"servicegroupname": "sg_app", "servername": "10.0.0.22", "port": 8080}
    nitro.post("servicegroup?action=disable", {"servicegroup": member})
    states = [m["svrstate"] for m in nitro.records(
        "servicegroup_servicegroupmember_binding/sg_app")]
    assert states == ["UP", "OUT OF SERVICE"]
    missing = nitro.post("service?action=disable", {"service": {"name": "ghost"}})
    assert missing.status_code == 404


def test_rename_follows_bindings(nitro: Nitro) -> None:
    reply = nitro.post("service?action=rename",
                       {"service": {"name": "svc_dsr_1", "newname": "svc_dsr_a"}})
    assert reply.status_code == 200
    assert nitro.get("service/svc_dsr_1").status_code == 404
    bound = [b["servicename"] for b in nitro.records("lbvserver_service_binding/vs_dsr")]
    assert bound == ["svc_dsr_2", "svc_dsr_a"] or bound == ["svc_dsr_a", "svc_dsr_2"]
    assert nitro.records("service_lbmonitor_binding/svc_dsr_a")[0]["monitor_name"] == "mon_tcp"
    clash = nitro.post("service?action=rename",
                       {"service": {"name": "svc_dsr_a", "newname": "svc_web"}})
    assert clash.status_code == 409
    nitro.post("lbvserver?action=rename", {"lbvserver": {"name": "vs_dsr", "newname": "vs_x"}})
    assert len(nitro.records("lbvserver_service_binding/vs_x")) == 2


def test_delete_cascades_and_multi_key_delete(nitro: Nitro, mock: RunningMock) -> None:
    assert nitro.delete("service/svc_dsr_2").status_code == 200
    assert [b["servicename"] for b in nitro.records("lbvserver_service_binding/vs_dsr")] == [
        "svc_dsr_1"]
    assert nitro.delete("service/svc_dsr_2").status_code == 404
    assert nitro.delete("nsip/10.0.0.2?args=td:1").status_code == 200
    assert [n["td"] for n in nitro.records("nsip")] == ["0"]
    assert nitro.delete("nsip?args=ipaddress:10.0.0.2,td:0").status_code == 200
    assert mock.appliance.config()["nsip"] == []
    assert nitro.delete("lbvserver/vs_web").status_code == 200
    assert nitro.get("lbvserver_servicegroup_binding?bulkbindings=yes").json().get(
        "lbvserver_servicegroup_binding") is None


def test_bind_every_way_and_unbind(nitro: Nitro) -> None:
    assert nitro.post("lbvserver_service_binding", {"lbvserver_service_binding": {
        "name": "vs_empty", "servicename": "svc_web"}}).status_code == 201
    assert nitro.put("lbvserver_service_binding", {"lbvserver_service_binding": {
        "name": "vs_empty", "servicename": "svc_dsr_1"}}).status_code == 200
    assert nitro.put("lbvserver_service_binding/vs_empty", {"lbvserver_service_binding": {
        "servicename": "svc_dsr_2", "weight": "20"}}).status_code == 200
    bound = nitro.records("lbvserver_service_binding/vs_empty")
    assert [(b["servicename"], b["weight"]) for b in bound] == [
        ("svc_web", "1"), ("svc_dsr_1", "1"), ("svc_dsr_2", "20")]
    dup = nitro.put("lbvserver_service_binding", {"lbvserver_service_binding": {
        "name": "vs_empty", "servicename": "svc_web"}})
    assert dup.status_code == 409
    ghost = nitro.post("lbvserver_service_binding", {"lbvserver_service_binding": {
        "name": "vs_empty", "servicename": "ghost"}})
    assert ghost.status_code == 404
    assert nitro.delete("lbvserver_service_binding/vs_empty?args=servicename:svc_web").ok
    assert nitro.delete(
        "lbvserver_service_binding/vs_empty?args=servicename:svc_web").status_code == 404
    assert nitro.delete("lbvserver_service_binding/vs_empty").status_code == 400
    assert len(nitro.records("lbvserver_service_binding/vs_empty")) == 2


def test_member_bind_by_ip_and_unbind_by_ip_port(nitro: Nitro) -> None:
    member = {"servicegroupname": "sg_app", "ip": "10.0.0.23", "port": 8080}
    assert nitro.put("servicegroup_servicegroupmember_binding",
                     {"servicegroup_servicegroupmember_binding": member}).status_code == 200
    assert nitro.one("server/10.0.0.23")["ipaddress"] == "10.0.0.23"
    assert len(nitro.records("servicegroup_servicegroupmember_binding/sg_app")) == 3
    gone = nitro.delete(
        "servicegroup_servicegroupmember_binding/sg_app?args=ip:10.0.0.23,port:8080")
    assert gone.status_code == 200
    assert len(nitro.records("servicegroup_servicegroupmember_binding/sg_app")) == 2
    monitor = {"name": "svc_web", "monitor_name": "ping"}
    assert nitro.put("service_lbmonitor_binding",
                     {"service_lbmonitor_binding": monitor}).status_code == 200


def test_global_usip_is_inherited_at_creation(nitro: Nitro) -> None:
    assert nitro.post("nsmode?action=enable", {"nsmode": {"mode": ["usip"]}}).status_code == 200
    assert nitro.get("nsmode").json()["nsmode"]["usip"] is True
    nitro.post("service", {"service": NEW_SERVICE})
    assert nitro.one("service/svc_new")["usip"] == "YES"
    assert nitro.one("service/svc_web")["usip"] == "NO"
    bad = nitro.post("nsmode?action=enable", {"nsmode": {"mode": ["TURBO"]}})
    assert bad.json()["errorcode"] == 1097


def test_configchanged_flips_on_write_and_resets_on_save(nitro: Nitro, mock: RunningMock) -> None:
    def changed() -> bool:
        return bool(nitro.get("nsconfig").json()["nsconfig"]["configchanged"])

    assert changed() is False
    nitro.put("service", {"service": {"name": "svc_dsr_1", "usip": "YES"}})
    assert changed() is True
    assert mock.appliance.saved_config()["service"][0]["usip"] == "NO"
    assert nitro.post("nsconfig?action=save", {"nsconfig": {}}).status_code == 200
    assert changed() is False
    assert mock.appliance.saved_config()["service"][0]["usip"] == "YES"
    stamp = nitro.get("nsconfig").json()["nsconfig"]["lastconfigsavetime"]
    assert stamp
    assert stamp[:3].isalpha()
    nitro.get("service")
    assert changed() is False  # reads are not changes


def test_failed_writes_do_not_mark_changes(nitro: Nitro, mock: RunningMock) -> None:
    nitro.put("service", {"service": {"name": "svc_dsr_1", "usip": "banana"}})
    nitro.post("service", {"service": {"name": "svc_web", "ip": "10.0.0.1",
                                       "servicetype": "HTTP", "port": 80}})
    assert mock.appliance.config_changed() is False


def test_bulk_all_ok(nitro: Nitro, mock: RunningMock) -> None:
    items = [dict(NEW_SERVICE, name=f"bulk{i}", ip=f"10.0.1.{i}") for i in range(3)]
    assert nitro.post("service", {"service": items}).status_code == 201
    updates = [{"name": f"bulk{i}", "usip": "YES"} for i in range(3)]
    assert nitro.put("service", {"service": updates}).status_code == 200
    assert all(r["usip"] == "YES" for r in nitro.records("service?filter=name:/^bulk/"))
    assert nitro.post("service?action=disable",
                      {"service": [{"name": "bulk0"}, {"name": "bulk1"}]}).status_code == 200
    removed = nitro.post("service?action=rm", {"service": [{"name": "bulk0"}, {"name": "bulk1"}]})
    assert removed.status_code == 200
    assert [n for n in _names(mock, "service") if n.startswith("bulk")] == ["bulk2"]


def _bulk_adds(nitro: Nitro, onerror: str) -> Any:
    items = [dict(NEW_SERVICE, name="b1", ip="10.0.2.1"),
             dict(NEW_SERVICE, name="b2", ip="10.0.2.2", usip="MAYBE"),
             dict(NEW_SERVICE, name="b3", ip="10.0.2.3")]
    return nitro.post("service", {"service": items}, headers={"X-NITRO-ONERROR": onerror})


def test_bulk_continue_reports_every_item(nitro: Nitro, mock: RunningMock) -> None:
    reply = _bulk_adds(nitro, "continue")
    assert reply.status_code == 207
    body = reply.json()
    assert (body["errorcode"], body["message"], body["severity"]) == (
        1243, "Bulk operation failed", "ERROR")
    assert [r["errorcode"] for r in body["response"]] == [0, 1097, 0]
    assert body["response"][0] == {"errorcode": 0, "message": "Done", "severity": "NONE"}
    assert {"b1", "b3"} <= set(_names(mock, "service"))
    assert "b2" not in _names(mock, "service")


def test_bulk_exit_stops_at_the_failure(nitro: Nitro, mock: RunningMock) -> None:
    reply = _bulk_adds(nitro, "exit")
    assert reply.status_code == 207
    assert [r["errorcode"] for r in reply.json()["response"]] == [0, 1097]
    names = _names(mock, "service")
    assert "b1" in names
    assert "b3" not in names


def test_bulk_default_is_exit(nitro: Nitro) -> None:
    reply = nitro.post("service", {"service": [dict(NEW_SERVICE, usip="bad"), NEW_SERVICE]})
    assert [r["errorcode"] for r in reply.json()["response"]] == [1097]


def test_bulk_rollback_undoes_adds_and_binds(nitro: Nitro, mock: RunningMock) -> None:
    reply = _bulk_adds(nitro, "rollback")
    assert reply.status_code == 207
    names = _names(mock, "service")
    assert "b1" not in names
    assert "10.0.2.1" not in _names(mock, "server")
    assert mock.appliance.config_changed() is False
    binds = [{"name": "vs_empty", "servicename": "svc_web"},
             {"name": "vs_empty", "servicename": "ghost"}]
    nitro.put("lbvserver_service_binding", {"lbvserver_service_binding": binds},
              headers={"X-NITRO-ONERROR": "rollback"})
    assert nitro.records("lbvserver_service_binding/vs_empty") == []


def test_bulk_rollback_keeps_sets(nitro: Nitro) -> None:
    updates = [{"name": "svc_dsr_1", "usip": "YES"}, {"name": "ghost", "usip": "YES"}]
    reply = nitro.put("service", {"service": updates}, headers={"X-NITRO-ONERROR": "rollback"})
    assert reply.status_code == 207
    assert nitro.one("service/svc_dsr_1")["usip"] == "YES"


def test_bulk_unbind_action(nitro: Nitro) -> None:
    reply = nitro.post("lbvserver_service_binding?action=unbind", {"lbvserver_service_binding": [
        {"name": "vs_dsr", "servicename": "svc_dsr_1"},
        {"name": "vs_dsr", "servicename": "svc_dsr_2"}]})
    assert reply.status_code == 200
    assert nitro.records("lbvserver_service_binding/vs_dsr") == []


def test_unknown_action_and_method(nitro: Nitro) -> None:
    assert nitro.post("service?action=explode", {"service": {"name": "x"}}).json()[
        "errorcode"] == 1240
    assert nitro.post("nsversion", {"nsversion": {}}).status_code == 400
    assert nitro.put("lbvserver", "not json").status_code == 400


def test_partitions_are_per_session(clients: Callable[..., Nitro], mock: RunningMock) -> None:
    one, two = clients(), clients()
    one.login()
    two.login()
    assert one.post("nspartition?action=switch",
                    {"nspartition": {"partitionname": "p1"}}).status_code == 200
    assert [r["name"] for r in one.records("service")] == ["p1_svc"]
    assert len(two.records("service")) == 3
    one.post("service", {"service": NEW_SERVICE})
    assert "svc_new" in _names(mock, "service", "p1")
    assert "svc_new" not in _names(mock, "service")
    assert mock.appliance.config_changed("p1") is True
    assert mock.appliance.config_changed("default") is False
    partitions = one.records("nspartition")
    assert [(p["partitionname"], p.get("partitiontype")) for p in partitions] == [
        ("p1", "Current Partition")]
    unknown = two.post("nspartition?action=Switch", {"nspartition": {"partitionname": "p9"}})
    assert unknown.status_code == 404
    assert unknown.json()["errorcode"] == 258
    assert one.post("nspartition?action=Switch",
                    {"nspartition": {"partitionname": "default"}}).status_code == 200
    assert len(one.records("service")) == 3
    log_partitions = [e["partition"] for e in mock.appliance.request_log]
    assert "p1" in log_partitions


def test_secondary_refuses_writes_but_serves_reads(nitro: Nitro, mock: RunningMock) -> None:
    mock.appliance.set_ha_state("secondary")
    reply = nitro.put("service", {"service": {"name": "svc_dsr_1", "usip": "YES"}})
    assert reply.status_code == 599
    assert reply.json()["errorcode"] == 1028
    assert "secondary node" in reply.json()["message"]
    assert nitro.one("service/svc_dsr_1")["usip"] == "NO"
    assert nitro.records("hanode")[0]["state"] == "Secondary"
    assert nitro.get("hanode", api="stat").json()["hanode"]["hacurmasterstate"] == "SECONDARY"
    assert mock.appliance.config_changed() is False


def test_ha_pair_from_scenario(mock_appliance_factory: Any) -> None:
    running = mock_appliance_factory({
        "_mock": {"ha_state": "Secondary"},
        "hanode": [{"id": "0", "ipaddress": "10.255.0.10"},
                   {"id": "1", "ipaddress": "10.255.0.11"}],
    })
    client = Nitro(running.url)
    nodes = {n["id"]: n["state"] for n in client.records("hanode")}
    assert nodes == {"0": "Secondary", "1": "Primary"}
    assert client.get("hanode", api="stat").json()["hanode"]["hacurstatus"] == "YES"


def test_concurrent_clients_see_consistent_state(mock: RunningMock) -> None:
    errors: list[str] = []

    def worker(n: int) -> None:
        client = Nitro(mock.url)
        try:
            for i in range(25):
                name = f"c{n}_{i}"
                added = client.post("service", {"service": dict(NEW_SERVICE, name=name,
                                                                 ip=f"10.9.{n}.{i}")})
                listed = client.get("service?attrs=name")
                if added.status_code != 201 or listed.status_code != 200:
                    errors.append(f"{name}: {added.status_code} {listed.status_code}")
        finally:
            client.http.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    counters = mock.appliance.counters
    assert counters["requests_by_method"] == {"POST": 150, "GET": 150}
    assert len(mock.appliance.config()["service"]) == 3 + 150
