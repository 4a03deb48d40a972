"""Fixtures for the mock appliance's own tests: a small scenario and a thin requests wrapper."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from mocks.fixtures import MockFactory, RunningMock, mock_appliance_factory

__all__ = ["mock_appliance_factory"]

PASSWORD = "S3cr3t;pa55/w0rd!"
NSROOT_PASSWORD = "nsroot"

BASIC: dict[str, Any] = {
    "_comment": "three vservers: one DSR (MAC), one proxy with a service group, one empty",
    "_mock": {"users": {"nsroot": "nsroot", "auditor": PASSWORD}, "hostname": "ns-test"},
    "nsmode": {"mode": ["FR", "L3", "Edge", "USNIP", "PMTUD", "MBF"]},
    "nsip": [
        {"ipaddress": "10.0.0.2", "netmask": "255.255.255.0", "type": "SNIP"},
        {"ipaddress": "10.0.0.2", "netmask": "255.255.255.0", "type": "SNIP", "td": "1"},
    ],
    "server": [
        {"name": "srv1", "ipaddress": "10.0.0.11"},
        {"name": "srv2", "ipaddress": "10.0.0.12"},
    ],
    "service": [
        {"name": "svc_dsr_1", "servername": "srv1", "ipaddress": "10.0.0.11",
         "servicetype": "ANY", "port": 65535, "usip": "NO"},
        {"name": "svc_dsr_2", "servername": "srv2", "ipaddress": "10.0.0.12",
         "servicetype": "ANY", "port": 65535, "svrstate": "DOWN"},
        {"name": "svc_web", "ipaddress": "10.0.0.13", "servicetype": "HTTP", "port": 80},
    ],
    "servicegroup": [{"servicegroupname": "sg_app", "servicetype": "TCP"}],
    "servicegroup_servicegroupmember_binding": [
        {"servicegroupname": "sg_app", "ip": "10.0.0.21", "port": 8080},
        {"servicegroupname": "sg_app", "ip": "10.0.0.22", "port": 8080, "svrstate": "DOWN"},
    ],
    "lbvserver": [
        {"name": "vs_dsr", "ipv46": "203.0.113.10", "servicetype": "ANY", "port": 65535,
         "m": "MAC"},
        {"name": "vs_web", "ipv46": "203.0.113.11", "servicetype": "HTTP", "port": 80},
        {"name": "vs_empty", "ipv46": "203.0.113.12", "servicetype": "TCP", "port": 8080},
    ],
    "lbvserver_service_binding": [
        {"name": "vs_dsr", "servicename": "svc_dsr_1"},
        {"name": "vs_dsr", "servicename": "svc_dsr_2"},
        {"name": "vs_web", "servicename": "svc_web"},
    ],
    "lbvserver_servicegroup_binding": [{"name": "vs_web", "servicegroupname": "sg_app"}],
    "lbmonitor": [{"monitorname": "mon_tcp", "type": "TCP"}],
    "service_lbmonitor_binding": [{"name": "svc_dsr_1", "monitor_name": "mon_tcp"}],
    "_partitions": {
        "p1": {
            "nsmode": {"usip": True},
            "service": [
                {"name": "p1_svc", "ipaddress": "10.1.0.5", "servicetype": "HTTP", "port": 80}
            ],
        }
    },
}


class Nitro:
    """A deliberately thin requests wrapper: it builds URLs and auth headers, nothing else."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.http = requests.Session()
        self.headers = dict(headers if headers is not None else
                            {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"})

    def config(self, path: str) -> str:
        return f"{self.url}/nitro/v1/config/{path}"

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None, api: str = "config",
                timeout: float = 10) -> requests.Response:
        merged = {**self.headers, **(headers or {})}
        return self.http.request(method, f"{self.url}/nitro/v1/{api}/{path}", json=body,
                                 headers=merged, timeout=timeout)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def login(self, username: str = "nsroot", password: str = NSROOT_PASSWORD,
              timeout: float | None = None) -> str:
        """Log in and carry the token from now on as `Cookie: NITRO_AUTH_TOKEN`."""
        body: dict[str, Any] = {"username": username, "password": password}
        if timeout is not None:
            body["timeout"] = timeout
        reply = self.http.post(self.config("login"), json={"login": body}, timeout=10)
        assert reply.status_code == 201, reply.text
        token = str(reply.json()["sessionid"])
        self.http.cookies.clear()
        self.headers = {"Cookie": f"NITRO_AUTH_TOKEN={token}"}
        return token

    def records(self, path: str, **kw: Any) -> list[dict[str, Any]]:
        reply = self.get(path, **kw)
        assert reply.status_code == 200, reply.text
        type_name = path.split("/")[0].split("?")[0]
        value = reply.json().get(type_name, [])
        return value if isinstance(value, list) else [value]

    def one(self, path: str, **kw: Any) -> dict[str, Any]:
        found = self.records(path, **kw)
        assert len(found) == 1, found
        return found[0]


@pytest.fixture
def basic() -> dict[str, Any]:
    return copy.deepcopy(BASIC)


@pytest.fixture
def mock(mock_appliance_factory: MockFactory, basic: dict[str, Any]) -> RunningMock:
    return mock_appliance_factory(basic)


@pytest.fixture
def clients(mock: RunningMock) -> Iterator[Callable[..., Nitro]]:
    """Make more clients of the same mock: `clients(headers=None) -> Nitro`."""
    made: list[Nitro] = []

    def make(headers: dict[str, str] | None = None) -> Nitro:
        client = Nitro(mock.url, headers)
        made.append(client)
        return client

    yield make
    for client in made:
        client.http.close()


@pytest.fixture
def nitro(clients: Callable[..., Nitro]) -> Nitro:
    """Per-request authentication (X-NITRO-USER/PASS), default partition."""
    return clients()
