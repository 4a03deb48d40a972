"""Login, logout, the context manager and recovery from an expired session."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import requests
import responses

from nsfix.nitro import (
    NitroAuthError,
    NitroClient,
    NitroProtocolError,
    NitroSessionExpired,
)
from nsfix.nitro.writes import describe_add, describe_delete, describe_update_bulk
from tests.nitro.conftest import (
    CONFIG,
    DONE,
    PASSWORD,
    TOKEN,
    TOKEN2,
    body_of,
    login_reply,
    nitro_error,
    sent,
)

EXPIRED_444 = nitro_error(444, "Session expired or killed. Please login again", 401)


def cookie_of(rsps: responses.RequestsMock, index: int) -> str | None:
    return rsps.calls[index].request.headers.get("Cookie")


def test_login_posts_credentials_with_session_timeout_and_later_requests_carry_the_token(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]
) -> None:
    rsps.add(**login_reply())
    rsps.add("GET", f"{CONFIG}/nsversion", json={**DONE, "nsversion": {"version": "NS13.1"}})
    client = make_client(session_timeout=600)
    client.login()
    assert client.get_singleton("nsversion") == {"version": "NS13.1"}

    body = body_of(rsps, 0)
    assert body == {"login": {"username": "nsroot", "password": PASSWORD, "timeout": 600}}
    assert cookie_of(rsps, 0) is None
    assert cookie_of(rsps, 1) == f"NITRO_AUTH_TOKEN={TOKEN}"


def test_token_from_cookie_is_url_unquoted_and_200_is_accepted(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]
) -> None:
    rsps.add(
        "POST",
        f"{CONFIG}/login",
        json=DONE,
        status=200,
        headers={"Set-Cookie": "NITRO_AUTH_TOKEN=ab%2Fcd%3D%3D; path=/nitro/v1"},
    )
    rsps.add("GET", f"{CONFIG}/service", json=DONE)
    client = make_client()
    client.login()
    assert client.get("service") == []
    assert cookie_of(rsps, 1) == "NITRO_AUTH_TOKEN=ab/cd=="


def test_wrong_password_is_an_auth_error_naming_the_user(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]
) -> None:
    rsps.add("POST", f"{CONFIG}/login", **nitro_error(354, "Invalid username or password", 401))
    client = make_client()
    with pytest.raises(NitroAuthError) as caught:
        client.login()
    assert caught.value.errorcode == 354
    assert caught.value.http_status == 401
    assert "login refused for user 'nsroot'" in str(caught.value)
    assert len(rsps.calls) == 1  # a refused login is not retried
    with pytest.raises(RuntimeError, match="not logged in"):
        client.get("service")


def test_challenged_login_is_refused_and_the_half_open_session_logged_out(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]
) -> None:
    rsps.add(
        "POST",
        f"{CONFIG}/login",
        json={"errorcode": 1034, "message": "Login challenged", "sessionid": TOKEN},
        status=201,
    )
    rsps.add("POST", f"{CONFIG}/logout", json=DONE)
    client = make_client()
    with pytest.raises(NitroAuthError, match="second factor"):
        client.login()
    assert sent(rsps) == [("POST", "/nitro/v1/config/login"), ("POST", "/nitro/v1/config/logout")]
    assert cookie_of(rsps, 1) == f"NITRO_AUTH_TOKEN={TOKEN}"
    assert "session=closed" in repr(client)


def test_login_reply_without_token_is_a_protocol_error(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]
) -> None:
    rsps.add("POST", f"{CONFIG}/login", json=DONE, status=201)
    with pytest.raises(NitroProtocolError, match="no session token"):
        make_client().login()


def test_login_twice_reuses_the_open_session(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    client.login()
    assert len(rsps.calls) == 1


def test_with_block_logs_in_and_out(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]
) -> None:
    rsps.add(**login_reply())
    rsps.add("POST", f"{CONFIG}/logout", json=DONE)
    with make_client() as client:
        assert "session=open" in repr(client)
    assert sent(rsps) == [("POST", "/nitro/v1/config/login"), ("POST", "/nitro/v1/config/logout")]
    assert body_of(rsps, 1) == {"logout": {}}
    assert cookie_of(rsps, 1) == f"NITRO_AUTH_TOKEN={TOKEN}"


def test_with_block_logs_out_when_the_body_raises_and_keeps_the_error(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]
) -> None:
    rsps.add(**login_reply())
    rsps.add("POST", f"{CONFIG}/logout", json=DONE)
    with pytest.raises(ZeroDivisionError), make_client():
        _ = 1 / 0
    assert sent(rsps)[-1] == ("POST", "/nitro/v1/config/logout")


def test_failing_logout_never_masks_the_original_error(
    rsps: responses.RequestsMock,
    make_client: Callable[..., NitroClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rsps.add(**login_reply())
    rsps.add("POST", f"{CONFIG}/logout", **nitro_error(278, "Invalid argument", 599))
    with pytest.raises(KeyError), make_client():
        raise KeyError("original")
    assert "logout from https://127.0.0.1 failed" in caplog.text


def test_failing_logout_after_success_is_only_logged(
    rsps: responses.RequestsMock,
    make_client: Callable[..., NitroClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rsps.add(**login_reply())
    rsps.add("POST", f"{CONFIG}/logout", body=requests.exceptions.ConnectTimeout())
    with caplog.at_level(logging.WARNING, "nsfix.nitro"), make_client(max_attempts=2):
        pass
    assert "session ends on the appliance after 900 s" in caplog.text
    assert [m for m, _ in sent(rsps)].count("POST") == 3  # login + two logout attempts


def test_ctrl_c_logs_out_with_a_single_attempt(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient], sleeps: list[float]
) -> None:
    rsps.add(**login_reply())
    rsps.add("POST", f"{CONFIG}/logout", body=requests.exceptions.ConnectTimeout())
    with pytest.raises(KeyboardInterrupt), make_client():
        raise KeyboardInterrupt
    assert sent(rsps) == [("POST", "/nitro/v1/config/login"), ("POST", "/nitro/v1/config/logout")]
    assert sleeps == []


def test_logout_of_an_already_expired_session_is_quiet(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("POST", f"{CONFIG}/logout", **EXPIRED_444)
    client.logout()
    assert "session=closed" in repr(client)


def test_expired_session_on_a_read_logs_in_again_re_switches_partition_and_repeats(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("POST", f"{CONFIG}/nspartition?action=Switch", json=DONE)
    client.switch_partition("p1")
    rsps.add("GET", f"{CONFIG}/service", **EXPIRED_444)
    rsps.add(**login_reply(TOKEN2))
    rsps.add("POST", f"{CONFIG}/nspartition?action=Switch", json=DONE)
    rsps.add("GET", f"{CONFIG}/service", json={**DONE, "service": [{"name": "web1"}]})

    assert client.get("service") == [{"name": "web1"}]

    assert sent(rsps) == [
        ("POST", "/nitro/v1/config/login"),
        ("POST", "/nitro/v1/config/nspartition?action=Switch"),
        ("GET", "/nitro/v1/config/service"),
        ("POST", "/nitro/v1/config/login"),
        ("POST", "/nitro/v1/config/nspartition?action=Switch"),
        ("GET", "/nitro/v1/config/service"),
    ]
    assert body_of(rsps, 4) == {"nspartition": {"partitionname": "p1"}}
    assert cookie_of(rsps, 4) == f"NITRO_AUTH_TOKEN={TOKEN2}"
    assert cookie_of(rsps, 5) == f"NITRO_AUTH_TOKEN={TOKEN2}"
    assert client.partition == "p1"
    assert client.stats().relogins == 1


def test_expired_session_on_an_add_is_not_repeated_and_says_it_was_not_applied(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("POST", f"{CONFIG}/service", **nitro_error(1027, "Not logged in", 401))
    rsps.add(**login_reply(TOKEN2))
    rsps.add("GET", f"{CONFIG}/service", json=DONE)
    record = {"name": "web1", "ip": "10.0.0.5", "servicetype": "ANY", "port": 0}
    with pytest.raises(NitroSessionExpired) as caught:
        client.writer().send(describe_add("service", record))
    assert "did not apply" in str(caught.value)
    assert "not idempotent" in str(caught.value)
    assert [m for m, _ in sent(rsps)] == ["POST", "POST", "POST"]  # login, add, login
    # The fresh session is ready for the executor's read-back.
    assert client.get("service") == []
    assert cookie_of(rsps, 3) == f"NITRO_AUTH_TOKEN={TOKEN2}"


def test_expiry_reported_inside_a_200_bulk_reply_is_recovered(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    expired_items = {
        **DONE,
        "response": [{"errorcode": 444, "message": "Session expired", "severity": "ERROR"}] * 2,
    }
    rsps.add("PUT", f"{CONFIG}/service", json=expired_items, status=200)
    rsps.add(**login_reply(TOKEN2))
    rsps.add("PUT", f"{CONFIG}/service", json=DONE, status=200)
    write = describe_update_bulk("service", [{"name": "a", "usip": "YES"}, {"name": "b"}])
    results = client.writer().send(write)
    assert [r.ok for r in results] == [True, True]
    assert client.stats().relogins == 1


def test_expiry_right_after_a_fresh_login_gives_up(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("DELETE", f"{CONFIG}/service/web1", **EXPIRED_444)
    rsps.add(**login_reply(TOKEN2))
    rsps.add("DELETE", f"{CONFIG}/service/web1", **EXPIRED_444)
    with pytest.raises(NitroSessionExpired):
        client.writer().send(describe_delete("service", "web1"))
    assert len(rsps.calls) == 4
    assert client.stats().relogins == 1


def test_switch_partition_tracks_the_current_partition(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("POST", f"{CONFIG}/nspartition?action=Switch", json=DONE)
    seen = []
    for name in ("dmz", "default"):
        client.switch_partition(name)
        seen.append(client.partition)
    assert seen == ["dmz", None]
    assert body_of(rsps, 2) == {"nspartition": {"partitionname": "default"}}


def test_url_with_credentials_is_refused_without_echoing_them() -> None:
    from tests.nitro.conftest import CREDS

    with pytest.raises(ValueError, match="must not carry credentials") as caught:
        NitroClient("https://nsroot:hunter2@127.0.0.1", CREDS)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ValueError, match="appliance root"):
        NitroClient("https://127.0.0.1/nitro/v1", CREDS)
    assert NitroClient("https://127.0.0.1:8443/", CREDS).url == "https://127.0.0.1:8443"


def test_token_cookie_does_not_linger_in_the_http_session(
    rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]
) -> None:
    rsps.add(
        "POST",
        f"{CONFIG}/login",
        json={**DONE, "sessionid": TOKEN},
        status=201,
        headers={"Set-Cookie": f"NITRO_AUTH_TOKEN={TOKEN}; path=/nitro/v1"},
    )
    rsps.add("POST", f"{CONFIG}/logout", json=DONE)
    http = requests.Session()
    client = make_client(http=http)
    client.login()
    assert "NITRO_AUTH_TOKEN" not in http.cookies
    client.logout()
    client.login()  # a fresh login must not present the old session
    assert cookie_of(rsps, 2) is None
