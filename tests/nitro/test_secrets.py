"""The password and the session token never reach a log line, an exception or a repr."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

import pytest
import requests
import responses

from nsfix.nitro import Credentials, NitroClient, NitroError
from nsfix.nitro.writes import describe_update
from tests.nitro.conftest import CONFIG, DONE, PASSWORD, TOKEN, TOKEN2, login_reply, nitro_error

SECRETS = (PASSWORD, TOKEN, TOKEN2, quote(PASSWORD, safe=""))


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # everything, from every logger
    return caplog


def test_full_cycle_logs_no_secret(
    rsps: responses.RequestsMock,
    make_client: Callable[..., NitroClient],
    debug_log: pytest.LogCaptureFixture,
) -> None:
    rsps.add(**login_reply())
    rsps.add("GET", f"{CONFIG}/service", json={**DONE, "service": [{"name": "web1"}]})
    rsps.add("GET", f"{CONFIG}/service", **nitro_error(444, "Session expired", 401))
    rsps.add(**login_reply(TOKEN2))
    rsps.add("GET", f"{CONFIG}/service", json=DONE)
    rsps.add("PUT", f"{CONFIG}/service", status=503, headers={"Retry-After": "1"})
    rsps.add("PUT", f"{CONFIG}/service", json=DONE, status=209, headers={"X-NITRO-WARNING": "1067"})
    rsps.add("POST", f"{CONFIG}/logout", json=DONE)
    with make_client() as client:
        client.get("service")
        client.get("service")
        client.writer().send(describe_update("service", {"name": "web1", "usip": "YES"}))
        assert_clean(repr(client))
        assert_clean(str(client.stats()))
    messages = [record.getMessage() for record in debug_log.records]
    assert any("GET /nitro/v1/config/service -> 200" in m for m in messages)
    assert any("expired" in m for m in messages)
    for text in [*messages, debug_log.text]:
        assert_clean(text)


def test_credentials_hide_the_password() -> None:
    creds = Credentials("nsroot", PASSWORD)
    assert_clean(repr(creds))
    assert_clean(str(creds))
    assert "nsroot" in repr(creds)


def raised(action: Callable[[], object]) -> NitroError:
    with pytest.raises(NitroError) as caught:
        action()
    return caught.value


def test_secrets_echoed_by_the_appliance_are_redacted_from_errors(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]
) -> None:
    rsps.add(
        "POST",
        f"{CONFIG}/login",
        **nitro_error(354, f"Invalid username or password [{PASSWORD}]", 401),
    )
    rsps.add(**login_reply())
    rsps.add("GET", f"{CONFIG}/service", body=f"<html>session {TOKEN} rejected</html>", status=200)
    rsps.add("GET", f"{CONFIG}/lbvserver", **nitro_error(1097, f"bad value [{TOKEN}]", 400))
    rsps.add("PUT", f"{CONFIG}/service", body=requests.exceptions.ReadTimeout(f"pw={PASSWORD}"))
    client = make_client()
    errors = [raised(client.login)]
    client.login()
    errors.append(raised(lambda: client.get("service")))
    errors.append(raised(lambda: client.get("lbvserver")))
    write = describe_update("service", {"name": "x"})
    errors.append(raised(lambda: client.writer().send(write)))
    for error in errors:
        assert_clean(str(error))
        assert_clean(repr(error))
    assert "***" in str(errors[0])
    assert "***" in str(errors[1])
