"""Login, the three token carriers, per-request auth, expiry, logout and a log free of secrets."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from urllib.parse import quote

import requests

from mocks.fixtures import RunningMock
from tests.mock.conftest import NSROOT_PASSWORD, PASSWORD, Nitro


def _login(url: str, username: str = "nsroot", password: str = NSROOT_PASSWORD,
           **extra: object) -> requests.Response:
    body = {"login": {"username": username, "password": password, **extra}}
    return requests.post(f"{url}/nitro/v1/config/login", json=body, timeout=10)


def test_login_sets_cookie_and_returns_sessionid(mock: RunningMock) -> None:
    reply = _login(mock.url)
    assert reply.status_code == 201
    body = reply.json()
    assert body["errorcode"] == 0
    assert body["severity"] == "NONE"
    token = body["sessionid"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", token)
    assert reply.headers["Set-Cookie"] == f"NITRO_AUTH_TOKEN={token}; path=/nitro/v1"
    assert reply.headers["Server"] == "Apache"
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "no-cache" in reply.headers["Cache-Control"]


def test_every_token_carrier_is_accepted(mock: RunningMock) -> None:
    token = _login(mock.url).json()["sessionid"]
    url = f"{mock.url}/nitro/v1/config/nsversion"
    carriers = [
        {"Cookie": f"NITRO_AUTH_TOKEN={token}"},
        {"Cookie": f"other=1; sessionid={quote(token, safe='')}"},
        {"Set-Cookie": f"NITRO_AUTH_TOKEN={token}"},
    ]
    for headers in carriers:
        reply = requests.get(url, headers=headers, timeout=10)
        assert reply.status_code == 200, (headers, reply.text)
        assert reply.json()["nsversion"]["version"].startswith("NetScaler NS")


def test_requests_cookie_jar_from_login_works(mock: RunningMock) -> None:
    with requests.Session() as http:
        assert http.post(f"{mock.url}/nitro/v1/config/login",
                         json={"login": {"username": "nsroot", "password": "nsroot"}},
                         timeout=10).status_code == 201
        assert http.get(f"{mock.url}/nitro/v1/config/lbvserver", timeout=10).status_code == 200


def test_per_request_credentials_need_no_session(mock: RunningMock) -> None:
    good = requests.get(f"{mock.url}/nitro/v1/config/service",
                        headers={"X-NITRO-USER": "auditor", "X-NITRO-PASS": PASSWORD},
                        timeout=10)
    assert good.status_code == 200
    assert len(good.json()["service"]) == 3
    bad = requests.get(f"{mock.url}/nitro/v1/config/service",
                       headers={"X-NITRO-USER": "auditor", "X-NITRO-PASS": "wrong"}, timeout=10)
    assert bad.status_code == 401
    assert bad.json() == {"errorcode": 354, "message": "Invalid username or password",
                          "severity": "ERROR"}
    assert mock.appliance.counters["active_sessions"] == 0


def test_bad_credentials_are_refused_with_354(mock: RunningMock) -> None:
    reply = _login(mock.url, password="nope")
    assert reply.status_code == 401
    assert reply.json()["errorcode"] == 354
    assert "Set-Cookie" not in reply.headers
    assert _login(mock.url, username="ghost", password="nsroot").status_code == 401
    assert mock.appliance.counters["login_failures"] == 2


def test_missing_and_unknown_tokens(mock: RunningMock) -> None:
    url = f"{mock.url}/nitro/v1/config/lbvserver"
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 401
    assert missing.json()["errorcode"] == 1026
    unknown = requests.get(url, headers={"Cookie": "NITRO_AUTH_TOKEN=made-up"}, timeout=10)
    assert unknown.status_code == 401
    assert unknown.json() == {"errorcode": 444,
                              "message": "Session expired or killed. Please login again",
                              "severity": "ERROR"}


def test_logout_kills_the_token(mock: RunningMock, nitro: Nitro) -> None:
    nitro.login()
    assert mock.appliance.counters["active_sessions"] == 1
    reply = nitro.post("logout", {"logout": {}})
    assert reply.status_code == 200
    assert reply.json()["errorcode"] == 0
    after = nitro.get("lbvserver")
    assert after.status_code == 401
    assert after.json()["errorcode"] == 444
    counters = mock.appliance.counters
    assert (counters["logins"], counters["logouts"], counters["active_sessions"]) == (1, 1, 0)


def test_idle_timeout_is_honoured_and_use_keeps_a_session_alive(nitro: Nitro) -> None:
    nitro.login(timeout=0.6)
    for _ in range(3):
        time.sleep(0.25)  # 0.75 s in all: longer than the timeout, but never idle that long
        assert nitro.get("nsversion").status_code == 200
    time.sleep(0.8)
    reply = nitro.get("nsversion")
    assert reply.status_code == 401
    assert reply.json()["errorcode"] == 444


def test_form_encoded_object_with_sessionid_in_body(mock: RunningMock) -> None:
    token = _login(mock.url).json()["sessionid"]
    payload = {"sessionid": token, "service": {"name": "svc_form", "ip": "10.0.0.40",
                                                "servicetype": "HTTP", "port": 80}}
    reply = requests.post(f"{mock.url}/nitro/v1/config/service",
                          data={"object": json.dumps(payload)}, timeout=10)
    assert reply.status_code == 201, reply.text
    names = [s["name"] for s in mock.appliance.config()["service"]]
    assert "svc_form" in names


def test_vendor_content_type_is_accepted(nitro: Nitro) -> None:
    body = {"service": {"name": "svc_vnd", "ip": "10.0.0.41", "servicetype": "TCP", "port": 81}}
    reply = nitro.http.post(
        nitro.config("service"), data=json.dumps(body), timeout=10,
        headers={**nitro.headers,
                 "Content-Type": "application/vnd.com.citrix.netscaler.service+json"},
    )
    assert reply.status_code == 201, reply.text
    assert nitro.one("service/svc_vnd")["port"] == 81


def test_log_and_counters_never_carry_secrets(mock: RunningMock,
                                              clients: Callable[..., Nitro]) -> None:
    session_client = clients()
    token = session_client.login("auditor", PASSWORD)
    session_client.get("service?args=password:" + quote(PASSWORD, safe=""))
    session_client.get("lbvserver")
    clients({"X-NITRO-USER": "auditor", "X-NITRO-PASS": PASSWORD}).get("lbvserver")
    _login(mock.url, "auditor", "wrong-" + PASSWORD)
    dumped = requests.get(f"{mock.url}/_mock/log", timeout=10).text
    dumped += json.dumps(mock.appliance.request_log) + repr(mock.appliance)
    dumped += json.dumps(mock.appliance.counters)
    for secret in (PASSWORD, quote(PASSWORD, safe=""), token):
        assert secret not in dumped
    entries = mock.appliance.request_log
    assert len(entries) == 5
    assert {e["user"] for e in entries} >= {"auditor"}
    assert (entries[0]["resource"], entries[0]["status"]) == ("login", 201)
    assert "password:***" in entries[1]["query"]
