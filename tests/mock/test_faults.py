"""Each fault as a client meets it, the HTTP control API, and the fault-spec parser."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from mocks.faults import FaultError, Faults, parse_fault_arg, parse_fault_value
from mocks.fixtures import MockFactory, RunningMock
from tests.mock.conftest import BASIC, Nitro


def _set_usip(nitro: Nitro, name: str, value: str = "YES") -> requests.Response:
    return nitro.put("service", {"service": {"name": name, "usip": value}})


def _usip(mock: RunningMock, name: str) -> str:
    return next(str(s["usip"]) for s in mock.appliance.config()["service"] if s["name"] == name)


@pytest.fixture
def start(mock_appliance_factory: MockFactory) -> Any:
    def run(**faults: Any) -> tuple[RunningMock, Nitro]:
        running = mock_appliance_factory(BASIC, **faults)
        return running, Nitro(running.url)

    return run


def test_latency_delays_every_request(start: Any) -> None:
    _, nitro = start(latency=0.15)
    began = time.perf_counter()
    nitro.get("nsversion")
    nitro.get("nsversion")
    assert time.perf_counter() - began >= 0.3


def test_fail_write_fails_the_kth_write_and_stores_nothing(start: Any) -> None:
    running, nitro = start(fail_write=2)
    assert nitro.get("service").status_code == 200  # reads do not count
    assert _set_usip(nitro, "svc_dsr_1").status_code == 200
    failed = _set_usip(nitro, "svc_dsr_2")
    assert failed.status_code == 599
    assert failed.json() == {"errorcode": 278, "message": "Invalid argument",
                             "severity": "ERROR"}
    assert _usip(running, "svc_dsr_2") == "NO"
    assert _set_usip(nitro, "svc_dsr_2").status_code == 200  # fires once
    assert running.appliance.counters["faults_fired"] == {"fail_write": 1}


def test_fail_write_with_chosen_error_and_repeat(start: Any) -> None:
    running, nitro = start(fail_write={"k": 1, "status": 409, "errorcode": 273,
                                       "message": "Resource already exists", "repeat": True})
    for name in ("svc_dsr_1", "svc_dsr_2"):
        reply = _set_usip(nitro, name)
        assert (reply.status_code, reply.json()["errorcode"]) == (409, 273)
    running.appliance.faults.clear("fail_write")
    assert _set_usip(nitro, "svc_dsr_1").status_code == 200


def test_expire_session_after_k_requests(start: Any) -> None:
    running, nitro = start()
    nitro.login()
    running.appliance.faults.expire_session_after(2)
    assert nitro.get("service").status_code == 200
    assert nitro.get("service").status_code == 200
    dead = nitro.get("service")
    assert dead.status_code == 401
    assert dead.json()["errorcode"] == 444
    assert nitro.get("service").json()["errorcode"] == 444  # still dead, not revived
    nitro.login()
    assert nitro.get("service").status_code == 200


def test_reset_connection_before_processing(start: Any) -> None:
    running, nitro = start(reset_connection=1)
    with pytest.raises(requests.ConnectionError):
        _set_usip(nitro, "svc_dsr_1")
    assert _usip(running, "svc_dsr_1") == "NO"
    assert nitro.get("nsversion").status_code == 200
    assert running.appliance.request_log[0]["fault"] == "reset_connection"


def test_reset_connection_after_write_applies_it(start: Any) -> None:
    running, nitro = start(reset_connection={"k": 1, "after_write": True})
    assert nitro.get("service").status_code == 200  # reads are not counted in this mode
    with pytest.raises(requests.ConnectionError):
        _set_usip(nitro, "svc_dsr_1")
    assert _usip(running, "svc_dsr_1") == "YES"
    assert running.appliance.config_changed() is True


def test_html_reply_looks_like_a_proxy_page(start: Any) -> None:
    running, nitro = start(html_reply=2)
    assert nitro.get("nsversion").status_code == 200
    reply = _set_usip(nitro, "svc_dsr_1")
    assert reply.status_code == 502
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "<html>" in reply.text
    with pytest.raises(requests.JSONDecodeError):
        reply.json()
    assert _usip(running, "svc_dsr_1") == "NO"


def test_truncated_json_is_cut_in_half(start: Any) -> None:
    _, nitro = start()
    whole = nitro.get("service").content
    _, broken_client = start(truncated_json=1)
    reply = broken_client.get("service")
    assert reply.status_code == 200
    assert len(reply.content) == len(whole) // 2
    with pytest.raises(requests.JSONDecodeError):
        reply.json()
    assert broken_client.get("service").json()["service"]


def test_unavailable_for_n_requests(start: Any) -> None:
    _, nitro = start(unavailable={"n": 2, "retry_after": 7})
    for _ in range(2):
        reply = nitro.get("nsversion")
        assert reply.status_code == 503
        assert reply.headers["Retry-After"] == "7"
    assert nitro.get("nsversion").status_code == 200


def test_flip_secondary_after_kth_write(start: Any) -> None:
    running, nitro = start(flip_secondary=1)
    assert _set_usip(nitro, "svc_dsr_1").status_code == 200
    refused = _set_usip(nitro, "svc_dsr_2")
    assert (refused.status_code, refused.json()["errorcode"]) == (599, 1028)
    assert running.appliance.ha_state == "Secondary"


def test_control_api(start: Any) -> None:
    running, nitro = start()
    control = f"{running.url}/_mock"
    armed = requests.post(f"{control}/faults", json={"fail_write": 1}, timeout=10)
    assert armed.json()["fail_write"]["k"] == 1
    assert _set_usip(nitro, "svc_dsr_1").status_code == 599
    counters = requests.get(f"{control}/counters", timeout=10).json()
    assert counters["writes"] == 1
    assert counters["requests_by_method"]["PUT"] == 1
    assert counters["requests_by_resource"]["service"] == 1
    assert requests.post(f"{control}/ha", json={"state": "Secondary"}, timeout=10).ok
    assert _set_usip(nitro, "svc_dsr_1").json()["errorcode"] == 1028
    assert requests.post(f"{control}/ha", json={"state": "Primary"}, timeout=10).ok
    out_of_band = {"resource": "service", "name": "svc_dsr_1", "attrs": {"usip": "YES"}}
    assert requests.post(f"{control}/set", json=out_of_band, timeout=10).ok
    config = requests.get(f"{control}/config", params={"partition": "default"}, timeout=10)
    assert next(s for s in config.json()["service"] if s["name"] == "svc_dsr_1")["usip"] == "YES"
    assert nitro.get("nsconfig").json()["nsconfig"]["configchanged"] is True
    p1 = requests.get(f"{control}/config", params={"partition": "p1"}, timeout=10).json()
    assert [s["name"] for s in p1["service"]] == ["p1_svc"]
    log = requests.get(f"{control}/log", timeout=10).json()
    assert [e["method"] for e in log][:2] == ["PUT", "PUT"]
    assert requests.post(f"{control}/reset-counters", timeout=10).ok
    assert requests.get(f"{control}/counters", timeout=10).json()["requests_total"] == 0
    bad = requests.post(f"{control}/faults", json={"explode": 1}, timeout=10)
    assert bad.status_code == 400
    assert "unknown fault" in bad.json()["error"]
    assert requests.get(f"{control}/nothing", timeout=10).status_code == 404
    assert requests.post(f"{control}/set", json={"resource": "service", "name": "ghost",
                                                 "attrs": {}}, timeout=10).status_code == 400


def test_stopped_mock_refuses_connections(mock_appliance_factory: MockFactory) -> None:
    running = mock_appliance_factory({})
    nitro = Nitro(running.url)
    assert nitro.get("nsversion").status_code == 200  # keeps a pooled connection open
    running.stop()
    with pytest.raises(requests.ConnectionError):
        nitro.get("nsversion", timeout=2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", 2),
        ("0.25", 0.25),
        ("true", True),
        ("2,status=500,repeat=true", {"_main": 2, "status": 500, "repeat": True}),
        ('{"k": 3, "after_write": true}', {"k": 3, "after_write": True}),
    ],
)
def test_parse_fault_value(text: str, expected: Any) -> None:
    assert parse_fault_value(text) == expected


def test_fault_specs_are_checked() -> None:
    faults = Faults()
    faults.set("fail_write", parse_fault_value("2,status=500"))
    assert faults.snapshot()["fail_write"]["status"] == 500
    assert parse_fault_arg("latency=0.5") == ("latency", 0.5)
    for name, value in [("nope", 1), ("fail_write", {"k": 0}), ("fail_write", {"x": 1}),
                        ("latency", -1), ("unavailable", "soon")]:
        with pytest.raises(FaultError):
            faults.set(name, value)
    faults.set("fail_write", 0)
    assert "fail_write" not in faults.snapshot()
