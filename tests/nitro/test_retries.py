"""Retries: which failures are repeated, how long the client waits, and what reaches the caller."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import requests
import responses
from requests.adapters import BaseAdapter
from urllib3.exceptions import (
    InsecureRequestWarning,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
)

from nsfix.nitro import NitroClient, NitroError, NitroTransportError
from nsfix.nitro.writes import WriteRequest, describe_add, describe_update
from tests.nitro.conftest import BASE, CONFIG, CREDS, DONE, login_reply, sent

SERVICES = {**DONE, "service": [{"name": "web1"}]}


def refused() -> requests.exceptions.ConnectionError:
    """What requests raises when nothing listens on the port."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/nitro", reason))  # type: ignore[arg-type]


def reset_after_send() -> requests.exceptions.ConnectionError:
    """What requests raises when the appliance drops the connection before answering."""
    return requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", ConnectionResetError(104, "reset by peer"))
    )


@pytest.mark.parametrize("failure", [requests.exceptions.ConnectTimeout(), refused()])
def test_a_write_that_never_left_is_retried(
    client: NitroClient, rsps: responses.RequestsMock, sleeps: list[float], failure: Exception
) -> None:
    rsps.add("POST", f"{CONFIG}/service", body=failure)
    rsps.add("POST", f"{CONFIG}/service", status=201, json=DONE)
    client.writer().send(describe_add("service", {"name": "web1"}))
    assert [m for m, _ in sent(rsps)] == ["POST", "POST", "POST"]
    assert len(sleeps) == 1
    assert client.stats().retries == 1


@pytest.mark.parametrize("failure", [requests.exceptions.ReadTimeout(), reset_after_send()])
def test_a_read_without_reply_is_retried(
    client: NitroClient, rsps: responses.RequestsMock, failure: Exception
) -> None:
    rsps.add("GET", f"{CONFIG}/service", body=failure)
    rsps.add("GET", f"{CONFIG}/service", json=SERVICES)
    assert client.get("service") == [{"name": "web1"}]


@pytest.mark.parametrize("failure", [requests.exceptions.ReadTimeout(), reset_after_send()])
@pytest.mark.parametrize(
    ("method", "write"),
    [
        ("PUT", describe_update("service", {"name": "web1", "usip": "YES"})),
        ("POST", describe_add("service", {"name": "web1"})),
    ],
)
def test_a_write_without_reply_is_not_resent_and_its_outcome_is_unknown(
    client: NitroClient,
    rsps: responses.RequestsMock,
    failure: Exception,
    method: str,
    write: WriteRequest,
) -> None:
    rsps.add(method, f"{CONFIG}/service", body=failure)
    with pytest.raises(NitroTransportError) as caught:
        client.writer().send(write)
    assert caught.value.outcome_unknown
    assert "read it back" in str(caught.value)
    assert len(rsps.calls) == 2  # login + the one write


def test_giving_up_after_max_attempts_with_growing_capped_waits(
    client: NitroClient, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.add("GET", f"{CONFIG}/service", body=requests.exceptions.ConnectTimeout())
    slow = NitroClient(BASE, CREDS, max_attempts=6, sleep=sleeps.append)
    slow.login()
    with pytest.raises(NitroTransportError) as caught:
        slow.get("service")
    assert not caught.value.outcome_unknown
    assert "could not connect to https://127.0.0.1 after 6 attempt(s)" in str(caught.value)
    assert len(sleeps) == 5
    for step, (wait, base) in enumerate(zip(sleeps, [0.5, 1, 2, 4, 8], strict=True)):
        assert base <= wait <= min(base + 0.5, 8.0), (step, wait)
    assert slow.stats().retries == 5
    assert slow.stats().by_method == {"POST": 1, "GET": 6}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_503_is_retried_for_any_method_honouring_retry_after_seconds(
    client: NitroClient, rsps: responses.RequestsMock, sleeps: list[float], method: str
) -> None:
    rsps.add(method, f"{CONFIG}/service", status=503, body="busy", headers={"Retry-After": "7"})
    rsps.add(method, f"{CONFIG}/service", json=SERVICES, status=200)
    if method == "GET":
        client.get("service")
    else:
        client.writer().send(describe_add("service", {"name": "web1"}))
    assert sleeps == [7.0]


def test_429_retry_after_http_date_and_cap(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient], sleeps: list[float]
) -> None:
    rsps.add(**login_reply())
    client = make_client(clock=lambda: 1_700_000_000.0, retry_after_max=45.0)
    client.login()
    soon = "Tue, 14 Nov 2023 22:13:50 GMT"  # 30 s after the fake clock
    rsps.add("GET", f"{CONFIG}/service", status=429, headers={"Retry-After": soon})
    rsps.add("GET", f"{CONFIG}/service", status=429, headers={"Retry-After": "3600"})
    rsps.add("GET", f"{CONFIG}/service", json=SERVICES)
    client.get("service")
    assert sleeps == [30.0, 45.0]


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_retried_for_reads(
    client: NitroClient, rsps: responses.RequestsMock, status: int
) -> None:
    rsps.add("GET", f"{CONFIG}/service", status=status, body="<html>gateway</html>")
    rsps.add("GET", f"{CONFIG}/service", json=SERVICES)
    assert client.get("service") == [{"name": "web1"}]


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_error_on_an_add_is_not_retried_and_may_have_landed(
    client: NitroClient, rsps: responses.RequestsMock, status: int
) -> None:
    rsps.add("POST", f"{CONFIG}/service", status=status, body="<html>gateway</html>")
    with pytest.raises(NitroTransportError) as caught:
        client.writer().send(describe_add("service", {"name": "web1"}))
    assert caught.value.http_status == status
    assert caught.value.outcome_unknown
    assert len(rsps.calls) == 2


def test_exhausted_503_ends_in_a_transport_error_that_did_not_apply(
    client: NitroClient, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.add("PUT", f"{CONFIG}/service", status=503, body="<html>maintenance</html>")
    with pytest.raises(NitroTransportError) as caught:
        client.writer().send(describe_update("service", {"name": "web1"}))
    assert caught.value.http_status == 503
    assert not caught.value.outcome_unknown
    assert len(sleeps) == 3
    assert client.stats().by_method == {"POST": 1, "PUT": 4}


def test_exhausted_503_with_a_nitro_body_keeps_the_errorcode(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    body = {"errorcode": 293, "message": "Configuration operation in progress", "severity": "ERROR"}
    rsps.add("PUT", f"{CONFIG}/service", status=503, json=body)
    with pytest.raises(NitroError, match="in progress") as caught:
        client.writer().send(describe_update("service", {"name": "web1"}))
    assert caught.value.errorcode == 293


def test_tls_failure_is_not_retried_and_points_at_the_ca_bundle(
    client: NitroClient, rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    rsps.add(
        "GET", f"{CONFIG}/service", body=requests.exceptions.SSLError("certificate verify failed")
    )
    with pytest.raises(NitroTransportError, match="CA bundle"):
        client.get("service")
    assert sleeps == []


def test_stats_count_every_request_by_method_and_resource(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/service", body=requests.exceptions.ConnectTimeout())
    rsps.add("GET", f"{CONFIG}/service", json=SERVICES)
    rsps.add("PUT", f"{CONFIG}/lbvserver", json=DONE)
    rsps.add("POST", f"{CONFIG}/logout", json=DONE)
    client.get("service")
    client.writer().send(describe_update("lbvserver", {"name": "vs1"}))
    client.logout()
    stats = client.stats()
    assert stats.total == 5
    assert stats.by_method == {"POST": 2, "GET": 2, "PUT": 1}
    assert stats.by_resource == {"login": 1, "service": 2, "lbvserver": 1, "logout": 1}
    assert (stats.retries, stats.relogins) == (1, 0)


def test_timeouts_and_verification_reach_requests(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient], tmp_path: Any
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    rsps.add(**login_reply())
    make_client(verify=str(bundle), connect_timeout=2.0, read_timeout=30.0).login()
    kwargs: dict[str, Any] = rsps.calls[0].request.req_kwargs  # type: ignore[attr-defined]
    assert kwargs["timeout"] == (2.0, 30.0)
    assert kwargs["verify"] == str(bundle)
    with pytest.raises(ValueError, match="CA bundle not found"):
        make_client(verify=str(tmp_path / "missing.pem"))


class WarningAdapter(BaseAdapter):
    """Answers every request the way urllib3 does over unverified TLS: with a warning."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        warnings.warn("Unverified HTTPS request", InsecureRequestWarning, stacklevel=2)
        response = requests.Response()
        response.status_code = 201
        response._content = json.dumps({**DONE, "sessionid": "t"}).encode()
        response.request = request
        return response

    def close(self) -> None:
        pass


def make_warning_client(verify: bool) -> NitroClient:
    http = requests.Session()
    http.mount("https://", WarningAdapter())
    return NitroClient(BASE, CREDS, verify=verify, http=http)


def test_insecure_warning_is_silenced_only_when_verification_was_turned_off() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_warning_client(verify=False).login()
    assert not [w for w in caught if issubclass(w.category, InsecureRequestWarning)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_warning_client(verify=True).login()
    assert [w for w in caught if issubclass(w.category, InsecureRequestWarning)]
