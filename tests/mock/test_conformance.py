"""NITRO conformance: raw request shapes real clients send, and the errors appliances answer.

Each case cites the section of /work/shared/reference/nitro-api.md ("ref §n") or the client
whose requests it copies (JAVA101 = the official Java SDK, base_resource.java and Json.java;
NSNITRO = eBayClassifiedsGroup/nsnitro, nsnitro.py and nsbaseresource.py; PY13 = the official
Python SDK; GO = adc-nitro-go; ANS = the Ansible collection). A change to the mock that breaks
one of these clients fails here.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests

from mocks.fixtures import MockFactory, RunningMock
from tests.mock.conftest import BASIC, NSROOT_PASSWORD

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
ROOT = "/nitro/v1/config/"
DONE = {"errorcode": 0, "message": "Done", "severity": "NONE"}

Send = Callable[..., requests.Response]


def scenario(**switches: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASIC)
    data["_mock"].update(switches)
    return data


@pytest.fixture
def send(mock: RunningMock) -> Iterator[Send]:
    """`send(method, path, body=None, **headers)`: bytes on the wire exactly as given."""
    http = requests.Session()

    def request(method: str, path: str, body: str | bytes | None = None,
                headers: Mapping[str, str] | None = None) -> requests.Response:
        # requests would add its own cookies and form encoding: every header is explicit here.
        http.cookies.clear()
        data = body.encode() if isinstance(body, str) else body
        return http.request(method, mock.url + path, data=data, headers=dict(headers or {}),
                            timeout=10)

    yield request
    http.close()


def form(payload: Mapping[str, Any]) -> str:
    """A legacy form body: `object=` and the JSON, form-encoded (spaces as `+`), as JAVA101
    (URLEncoder) and NSNITRO (urllib.urlencode) write it."""
    return "object=" + quote_plus(json.dumps(payload))


def login(send: Send) -> str:
    reply = send("POST", ROOT + "login",
                 json.dumps({"login": {"username": "nsroot", "password": NSROOT_PASSWORD}}),
                 {"Content-Type": JSON})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["sessionid"])


def service(mock: RunningMock, name: str) -> dict[str, Any]:
    found = [s for s in mock.appliance.config()["service"] if s["name"] == name]
    assert len(found) == 1, name
    return dict(found[0])


def error(reply: requests.Response) -> tuple[int, int]:
    body = reply.json()
    assert body["severity"] == "ERROR", body
    assert isinstance(body["message"], str), body
    assert body["message"], body
    return reply.status_code, int(body["errorcode"])


NEW_SERVICE = {"name": "svc_new", "ip": "10.0.0.50", "servicetype": "TCP", "port": 8443}


# --- login and logout ----------------------------------------------------------------------------


def test_json_login_answers_201_with_the_token_in_body_and_cookie(send: Send) -> None:
    """ref §2 Login, §7.4.1: 201, `sessionid` in the body, `Set-Cookie: NITRO_AUTH_TOKEN`."""
    reply = send("POST", ROOT + "login",
                 '{"login":{"username":"nsroot","password":"nsroot","timeout":900}}',
                 {"Content-Type": JSON})
    assert reply.status_code == 201
    body = reply.json()
    assert body["errorcode"] == 0
    token = body["sessionid"]
    # ref §2: the SDKs URL-decode the cookie; appliance tokens carry URL-reserved `#`.
    assert token.startswith("##")
    assert reply.headers["Set-Cookie"] == (
        f"NITRO_AUTH_TOKEN={quote(token, safe='')}; path=/nitro/v1")


@pytest.mark.parametrize("content_type", [FORM, f"{FORM}; charset=UTF-8"])
def test_legacy_form_login_names_the_type_only_in_the_body(send: Send,
                                                           content_type: str) -> None:
    """ref §4 content types (JAVA101 `_post`, NSNITRO `login`): `POST /nitro/v1/config/`,
    body `object={"login":{…}}`; NSNITRO sends an empty `Cookie: sessionid=` with it."""
    body = form({"login": {"username": "nsroot", "password": "nsroot"}})
    reply = send("POST", ROOT, body, {"Content-Type": content_type, "Cookie": "sessionid="})
    assert reply.status_code == 201, reply.text
    token = reply.json()["sessionid"]
    check = send("GET", ROOT + "nsversion", None, {"Cookie": f"sessionid={quote(token)}"})
    assert check.status_code == 200, check.text


def test_legacy_form_login_with_bad_password_is_401_354(send: Send) -> None:
    """ref §2: bad credentials → 401, errorcode 354, whatever the request shape."""
    body = form({"login": {"username": "nsroot", "password": "wrong"}})
    reply = send("POST", ROOT, body, {"Content-Type": FORM})
    assert error(reply) == (401, 354)
    assert "Set-Cookie" not in reply.headers


def test_legacy_form_logout_ends_the_session(send: Send) -> None:
    """NSNITRO `logout`: `POST /nitro/v1/config/` with `object={"logout":{}}` and the cookie."""
    token = login(send)
    cookie = {"Cookie": f"sessionid={token}", "Content-Type": FORM}
    reply = send("POST", ROOT, form({"logout": {}}), cookie)
    assert reply.status_code == 200, reply.text
    assert error(send("GET", ROOT + "lbvserver", None, cookie)) == (401, 444)


def test_json_logout_with_the_session_in_the_body(send: Send) -> None:
    """ref §2 Logout; JAVA101 puts `sessionid` in the body instead of a cookie."""
    token = login(send)
    reply = send("POST", ROOT + "logout", json.dumps({"sessionid": token, "logout": {}}),
                 {"Content-Type": JSON})
    assert reply.status_code == 200, reply.text
    assert error(send("GET", ROOT + "lbvserver", None,
                      {"Cookie": f"NITRO_AUTH_TOKEN={token}"})) == (401, 444)


# --- carrying the session ------------------------------------------------------------------------

CARRIERS: dict[str, Callable[[str], dict[str, str]]] = {
    # ref §2 table: ANS and the docs.
    "cookie NITRO_AUTH_TOKEN": lambda t: {"Cookie": f"NITRO_AUTH_TOKEN={t}"},
    # ref §2 table: JAVA101 URL-encodes the token (`%23%23…`).
    "cookie sessionid url-encoded": lambda t: {"Cookie": f"sessionid={quote(t, safe='')}"},
    # NSNITRO sends the token as it came in the login body.
    "cookie sessionid raw": lambda t: {"Cookie": f"sessionid={t}"},
    # ref §2 table: GO and PY13 send a *request* header named Set-Cookie.
    "request header Set-Cookie": lambda t: {"Set-Cookie": f"NITRO_AUTH_TOKEN={t}"},
    # A client replaying the login's Set-Cookie value as is (requests' cookie jar).
    "cookie NITRO_AUTH_TOKEN url-encoded": lambda t: {
        "Cookie": f"NITRO_AUTH_TOKEN={quote(t, safe='')}"},
}


@pytest.mark.parametrize("carrier", list(CARRIERS))
def test_every_token_carrier_reads(send: Send, carrier: str) -> None:
    """ref §2 "Carrying the session", §7.4.2."""
    token = login(send)
    reply = send("GET", ROOT + "service/svc_dsr_1", None, CARRIERS[carrier](token))
    assert reply.status_code == 200, reply.text
    assert reply.json()["service"][0]["name"] == "svc_dsr_1"


@pytest.mark.parametrize("carrier", list(CARRIERS))
def test_an_unknown_token_in_any_carrier_is_401_444(send: Send, carrier: str) -> None:
    """ref §2 Expiry, §7.4.2: unknown or expired token → 401, errorcode 444."""
    reply = send("GET", ROOT + "lbvserver", None, CARRIERS[carrier]("##0123456789ABCDEF"))
    assert error(reply) == (401, 444)


def test_per_request_credentials_need_no_session(send: Send) -> None:
    """ref §2 per-request auth: X-NITRO-USER / X-NITRO-PASS."""
    reply = send("GET", ROOT + "lbvserver", None,
                 {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"})
    assert reply.status_code == 200
    bad = send("GET", ROOT + "lbvserver", None,
               {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "wrong"})
    assert error(bad) == (401, 354)


@pytest.mark.parametrize(("switches", "errorcode"), [({}, 444),
                                                     ({"not_logged_in_errorcode": 1026}, 1026)])
def test_a_request_without_credentials_is_refused(
        mock_appliance_factory: MockFactory, switches: dict[str, Any], errorcode: int) -> None:
    """ref §7.4.2 (444 for a missing or unknown session); 1026 "Not logged in" exists with its
    HTTP status UNCONFIRMED (§3), so `_mock.not_logged_in_errorcode` chooses."""
    mock = mock_appliance_factory(scenario(**switches))
    reply = requests.get(mock.url + ROOT + "lbvserver", timeout=10)
    assert error(reply) == (401, errorcode)


BASIC_AUTH = {"Authorization": "Basic bnNyb290Om5zcm9vdA=="}  # nsroot:nsroot


def test_basic_authentication_is_refused_with_1244_unless_enabled(send: Send) -> None:
    """ref §2: PY13 can send `Authorization: Basic`; 1244 "Use of Basic Authentication is
    Disabled" exists (HTTP status UNCONFIRMED: 401, as for any refused credential)."""
    reply = send("GET", ROOT + "lbvserver", None, BASIC_AUTH)
    assert error(reply) == (401, 1244)
    assert "Basic Authentication is Disabled" in reply.json()["message"]


def test_basic_authentication_works_where_the_scenario_enables_it(
        mock_appliance_factory: MockFactory) -> None:
    """ref §2, `_mock.basic_auth: true`: an appliance where Basic authentication is enabled."""
    mock = mock_appliance_factory(scenario(basic_auth=True))
    url = mock.url + ROOT + "lbvserver"
    assert requests.get(url, headers=BASIC_AUTH, timeout=10).status_code == 200
    wrong = requests.get(url, headers={"Authorization": "Basic bnNyb290Ond"}, timeout=10)
    assert error(wrong) == (401, 354)


def test_urlsafe_tokens_remain_available(mock_appliance_factory: MockFactory) -> None:
    """ref §2 "token format: UNCONFIRMED": `_mock.session_token: urlsafe`."""
    mock = mock_appliance_factory(scenario(session_token="urlsafe"))
    reply = requests.post(mock.url + ROOT + "login",
                          json={"login": {"username": "nsroot", "password": "nsroot"}},
                          timeout=10)
    token = reply.json()["sessionid"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    assert reply.headers["Set-Cookie"] == f"NITRO_AUTH_TOKEN={token}; path=/nitro/v1"


# --- content types and body shapes ---------------------------------------------------------------


@pytest.mark.parametrize("content_type", [
    JSON,                                                  # ref §4 content types: docs, ANS, GO
    "application/json; charset=utf-8",
    "application/vnd.com.citrix.netscaler.service+json",   # ref §7.3: PY13, PY105
])
def test_json_add_under_every_json_content_type(send: Send, mock: RunningMock,
                                                content_type: str) -> None:
    """ref §4 add: `POST /config/<type>` with `{"<type>":{…}}` → 201."""
    token = login(send)
    reply = send("POST", ROOT + "service", json.dumps({"service": NEW_SERVICE}),
                 {"Content-Type": content_type, "Cookie": f"NITRO_AUTH_TOKEN={token}"})
    assert (reply.status_code, reply.json()) == (201, DONE)
    assert service(mock, "svc_new")["port"] == 8443


def test_bulk_add_under_the_list_content_type(send: Send, mock: RunningMock) -> None:
    """ref §4 Bulk, §7.3: PY13 marks bulk bodies `…<type>_list+json`."""
    token = login(send)
    second = {**NEW_SERVICE, "name": "svc_new2", "ip": "10.0.0.51"}
    reply = send("POST", ROOT + "service", json.dumps({"service": [NEW_SERVICE, second]}),
                 {"Content-Type": "application/vnd.com.citrix.netscaler.service_list+json",
                  "Set-Cookie": f"NITRO_AUTH_TOKEN={token}"})
    assert reply.status_code == 201, reply.text
    assert service(mock, "svc_new2")["ipaddress"] == "10.0.0.51"


def test_form_add_to_the_type_url_with_the_session_in_the_body(send: Send,
                                                               mock: RunningMock) -> None:
    """ref §4 content types (public Ruby adapter): `object=` to `/config/<type>`."""
    token = login(send)
    reply = send("POST", ROOT + "service", form({"sessionid": token, "service": NEW_SERVICE}),
                 {"Content-Type": FORM})
    assert reply.status_code == 201, reply.text
    assert service(mock, "svc_new")["servicetype"] == "TCP"


def test_java_add_names_the_type_and_the_session_only_in_the_body(send: Send,
                                                                  mock: RunningMock) -> None:
    """JAVA101 `add_resource` → `_post`: `POST /nitro/v1/config/`, form `object=` with
    `{"sessionid":…,"<type>":{…}}`, no cookie at all."""
    token = login(send)
    payload = {"sessionid": token, "service": {**NEW_SERVICE, "comment": "two words"}}
    reply = send("POST", ROOT, form(payload), {"Content-Type": FORM})
    assert (reply.status_code, reply.json()) == (201, DONE)
    assert service(mock, "svc_new")["comment"] == "two words"


def test_nsnitro_add_names_the_type_in_the_body_and_the_session_in_a_cookie(
        send: Send, mock: RunningMock) -> None:
    """NSNITRO `add_resource`: `POST /nitro/v1/config/`, `object={"<type>":{…}}`,
    `Cookie: sessionid=<token>`."""
    token = login(send)
    reply = send("POST", ROOT, form({"service": NEW_SERVICE}),
                 {"Content-Type": FORM, "Cookie": f"sessionid={token}"})
    assert reply.status_code == 201, reply.text
    assert service(mock, "svc_new")["ipaddress"] == "10.0.0.50"


def test_java_update_puts_raw_json_under_the_form_content_type(send: Send,
                                                               mock: RunningMock) -> None:
    """JAVA101 `update_resource` → `_put`: `PUT /nitro/v1/config/`, content type form, body
    the raw JSON `{"sessionid":…,"service":{…}}` (no `object=`)."""
    token = login(send)
    body = json.dumps({"sessionid": token, "service": {"name": "svc_dsr_1", "usip": "YES"}})
    reply = send("PUT", ROOT, body, {"Content-Type": FORM})
    assert reply.status_code == 200, reply.text
    assert service(mock, "svc_dsr_1")["usip"] == "YES"


def test_put_of_a_form_object_with_the_session_in_it(send: Send, mock: RunningMock) -> None:
    """ref §4 content types; the issue's `PUT /nitro/v1/config/` with
    `object={"sessionid":…,"service":{…}}`."""
    token = login(send)
    body = form({"sessionid": token, "service": {"name": "svc_dsr_1", "usip": "YES"}})
    reply = send("PUT", ROOT, body, {"Content-Type": FORM})
    assert reply.status_code == 200, reply.text
    assert service(mock, "svc_dsr_1")["usip"] == "YES"


def test_nsnitro_update_puts_raw_json_with_the_session_in_body_and_cookie(
        send: Send, mock: RunningMock) -> None:
    """NSNITRO `put`: urllib2's default form content type, raw JSON
    `{"sessionid":…,"<type>":{…}}`, and `Cookie: sessionid=`."""
    token = login(send)
    body = json.dumps({"sessionid": token, "service": {"name": "svc_web", "cip": "ENABLED"}})
    reply = send("PUT", ROOT, body, {"Content-Type": FORM, "Cookie": f"sessionid={token}"})
    assert reply.status_code == 200, reply.text
    assert service(mock, "svc_web")["cip"] == "ENABLED"


def test_an_action_named_in_the_body_params(send: Send, mock: RunningMock) -> None:
    """JAVA101 `perform_operation` / NSNITRO `perform_operation`: the action travels as
    `"params":{"action":…}` in the body; JAVA101 leaves a trailing comma in params."""
    token = login(send)
    body = ('{ "params":{"action":"disable",},"sessionid":"' + token
            + '","service":{"name":"svc_web"}}')
    reply = send("POST", ROOT, "object=" + quote_plus(body), {"Content-Type": FORM})
    assert reply.status_code == 200, reply.text
    assert service(mock, "svc_web")["state"] == "DISABLED"


def test_java_unset_with_its_trailing_commas(send: Send, mock: RunningMock) -> None:
    """JAVA101 Json.unset_string: `{ "params":{"action":"unset",},"sessionid":…,
    "service": {"name":…,"usip": true,},}`; ref §4 unset (attribute → true)."""
    token = login(send)
    mock.appliance.set_attribute("service", "svc_web", {"cip": "ENABLED"})
    body = ('{ "params":{"action":"unset",},"sessionid":"' + token
            + '","service": {"name":"svc_web","cip": true,},}')
    reply = send("POST", ROOT, "object=" + quote_plus(body), {"Content-Type": FORM})
    assert reply.status_code == 200, reply.text
    assert service(mock, "svc_web")["cip"] == "DISABLED"


def test_java_bulk_add_with_a_trailing_comma_and_onerror_in_params(
        send: Send, mock: RunningMock) -> None:
    """JAVA101 `add_bulk_request`: `"<type>":[{…},{…},]` and `"params":{"onerror":"CONTINUE"}`;
    ref §4 Bulk: any failure → 207 / 1243 with one entry per item under continue."""
    token = login(send)
    good = json.dumps({**NEW_SERVICE, "name": "svc_bulk_ok"})
    duplicate = json.dumps({**NEW_SERVICE, "name": "svc_web"})
    body = ('{"params":{"onerror":"CONTINUE"},"sessionid":"' + token + '","service":['
            + duplicate + "," + good + ",]}")
    reply = send("POST", ROOT, "object=" + quote_plus(body), {"Content-Type": FORM})
    assert reply.status_code == 207, reply.text
    answer = reply.json()
    assert answer["errorcode"] == 1243
    assert [r["errorcode"] for r in answer["response"]] == [273, 0]
    assert service(mock, "svc_bulk_ok")["port"] == 8443


def test_java_read_by_a_twice_encoded_name_with_an_encoded_session(send: Send,
                                                                   mock: RunningMock) -> None:
    """JAVA101 `get_request`: name `nitro_util.encode` twice, `Cookie: sessionid=<encoded>`;
    ref §1 Name encoding."""
    token = login(send)
    mock.appliance.faults.clear()
    add = send("POST", ROOT + "service",
               json.dumps({"service": {**NEW_SERVICE, "name": "web svc:8443@a"}}),
               {"Content-Type": JSON, "Cookie": f"NITRO_AUTH_TOKEN={token}"})
    assert add.status_code == 201, add.text
    name = quote_plus(quote_plus("web svc:8443@a"))
    reply = send("GET", ROOT + "service/" + name, None,
                 {"Cookie": f"sessionid={quote(token, safe='')}"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["service"][0]["name"] == "web svc:8443@a"


def test_nsnitro_delete_repeats_the_name_in_args(send: Send, mock: RunningMock) -> None:
    """NSNITRO `delete_resource`: `DELETE /config/<type>/<name>?args=name:<name>`."""
    token = login(send)
    reply = send("DELETE", ROOT + "service/svc_web?args=name:svc_web", None,
                 {"Cookie": f"sessionid={token}"})
    assert reply.status_code == 200, reply.text
    assert all(s["name"] != "svc_web" for s in mock.appliance.config()["service"])


def test_binding_add_by_put_to_the_parent(send: Send, mock: RunningMock) -> None:
    """ref §4 bind: PY13 = `PUT /config/<binding>/<parent>`; ref §7.4.5."""
    token = login(send)
    reply = send("PUT", ROOT + "lbvserver_service_binding/vs_empty",
                 json.dumps({"lbvserver_service_binding": {"servicename": "svc_web"}}),
                 {"Content-Type": "application/vnd.com.citrix.netscaler."
                                  "lbvserver_service_binding+json",
                  "Set-Cookie": f"NITRO_AUTH_TOKEN={token}"})
    assert reply.status_code in (200, 201), reply.text
    bound = mock.appliance.config()["lbvserver_service_binding"]
    assert {"vs_empty"} <= {b["name"] for b in bound if b["servicename"] == "svc_web"}


# --- errors --------------------------------------------------------------------------------------

AUTH = {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"}


@pytest.mark.parametrize(("method", "path", "body", "expected"), [
    # ref §3: a named GET of a missing object → 404 / 258.
    ("GET", "service/nosuch", None, (404, 258)),
    # ref §3 / §7.4.7: duplicate add → 409 / 273.
    ("POST", "service", {"service": {**NEW_SERVICE, "name": "svc_web"}}, (409, 273)),
    # ref §3 / §7.4.7: a bad enum value → 400 / 1097.
    ("PUT", "service", {"service": {"name": "svc_web", "usip": "MAYBE"}}, (400, 1097)),
    # ref §3 (278 → 599, puppetlabs-netscaler PR #117): an unknown attribute in a write.
    ("PUT", "service", {"service": {"name": "svc_web", "nosuchattr": "1"}}, (599, 278)),
    # ref §3: 1232 invalid object name (an unknown resource type).
    ("GET", "nosuchtype", None, (400, 1232)),
    # ref §3: 1237 invalid method (login takes POST only).
    ("GET", "login", None, (405, 1237)),
    # ref §3: 1240 invalid action.
    ("POST", "service?action=explode", {"service": {"name": "svc_web"}}, (400, 1240)),
    # ref §1 name charset (DOC121 service.md): `/` is not a legal name character.
    ("POST", "service", {"service": {**NEW_SERVICE, "name": "web/1"}}, (400, 1097)),
    # ref §1: a service name must start with a letter or `_`.
    ("POST", "service", {"service": {**NEW_SERVICE, "name": "1svc"}}, (400, 1097)),
    # ref §1 (DOC121 lbvserver.md): the same charset for vservers; rename's newname too.
    ("POST", "lbvserver?action=rename", {"lbvserver": {"name": "vs_web", "newname": "a/b"}},
     (400, 1097)),
])
def test_json_errors(send: Send, method: str, path: str, body: Any,
                     expected: tuple[int, int]) -> None:
    headers = {**AUTH, "Content-Type": JSON}
    reply = send(method, ROOT + path, None if body is None else json.dumps(body), headers)
    assert error(reply) == expected


@pytest.mark.parametrize(("content_type", "body"), [
    (JSON, '{"service": {"name": '),                        # JSON cut short
    (FORM, "object=" + quote_plus('{"service": {"name": ')),  # the same inside a form
    (FORM, "name=svc_web"),                                 # a form without `object=`
])
def test_invalid_json_input_is_400_1233(send: Send, content_type: str, body: str) -> None:
    """ref §3: 1233 invalid JSON input."""
    reply = send("POST", ROOT + "service", body, {**AUTH, "Content-Type": content_type})
    assert error(reply) == (400, 1233)


@pytest.mark.parametrize("payload", [
    {"sessionid": "x"},                                      # no resource named at all
    {"service": {"name": "a"}, "server": {"name": "b"}},     # two resources
])
def test_a_type_in_the_body_must_name_exactly_one_resource(send: Send,
                                                           payload: dict[str, Any]) -> None:
    """`/nitro/v1/config/` without one resource in the body: 1232 invalid object name."""
    reply = send("POST", ROOT, form(payload), {**AUTH, "Content-Type": FORM})
    assert error(reply) == (400, 1232)


def test_reads_of_the_config_root_are_not_resources(send: Send) -> None:
    """Only POST and PUT name their type in the body; a GET of the root names nothing."""
    assert error(send("GET", ROOT, None, AUTH)) == (404, 1232)


# --- reads: attrs and the hostname ---------------------------------------------------------------


def test_attrs_returns_only_the_attributes_asked_for(send: Send) -> None:
    """ref §1 `attrs=a,b`: "return only those attributes" (no key added by default)."""
    reply = send("GET", ROOT + "service?attrs=usip", None, AUTH)
    assert reply.json()["service"] == [{"usip": "NO"}, {"usip": "NO"}, {"usip": "NO"}]
    unknown = send("GET", ROOT + "service?attrs=nosuchattr", None, AUTH)
    assert unknown.json()["service"] == [{}, {}, {}]


@pytest.mark.parametrize(("switches", "first"), [
    ({"attrs_keys": True}, {"name": "svc_dsr_1", "usip": "NO"}),
    ({"attrs_keys": False}, {"usip": "NO"}),
])
def test_attrs_keys_switch(mock_appliance_factory: MockFactory, switches: dict[str, Any],
                           first: dict[str, Any]) -> None:
    """ref §1: whether keys come along is not stated: `_mock.attrs_keys` chooses."""
    mock = mock_appliance_factory(scenario(**switches))
    reply = requests.get(mock.url + ROOT + "service?attrs=usip", headers=AUTH, timeout=10)
    assert reply.json()["service"][0] == first


def test_attrs_unknown_switch(mock_appliance_factory: MockFactory) -> None:
    """ref §1: an unknown attribute in attrs is not covered: `_mock.attrs_unknown: error`
    answers as a write naming one does (599 / 278)."""
    mock = mock_appliance_factory(scenario(attrs_unknown="error"))
    reply = requests.get(mock.url + ROOT + "service?attrs=nosuchattr", headers=AUTH,
                         timeout=10)
    assert error(reply) == (599, 278)


def test_no_hostname_is_invented(mock_appliance_factory: MockFactory) -> None:
    """ref §3: no matches → 200 without the resource key. A scenario without a hostname is an
    appliance that has none: nothing is made up for it."""
    data = scenario()
    del data["_mock"]["hostname"]
    mock = mock_appliance_factory(data)
    reply = requests.get(mock.url + ROOT + "nshostname", headers=AUTH, timeout=10)
    assert (reply.status_code, reply.json()) == (200, DONE)


# --- the reference's read and write shapes, as raw requests --------------------------------------

Check = Callable[[dict[str, Any]], bool]

READS: list[tuple[str, str, Check]] = [
    # (ref section, path and query, what the JSON reply must satisfy)
    ("§3 success GET: an array under the type", "service",
     lambda r: [s["name"] for s in r["service"]] == ["svc_dsr_1", "svc_dsr_2", "svc_web"]),
    ("§1 args on a multi-key type", "nsip?args=ipaddress:10.0.0.2,td:1",
     lambda r: [(n["ipaddress"], str(n["td"])) for n in r["nsip"]] == [("10.0.0.2", "1")]),
    ("§1 filter", "service?filter=servicetype:ANY",
     lambda r: {s["name"] for s in r["service"]} == {"svc_dsr_1", "svc_dsr_2"}),
    ("§1 filter, PCRE", "lbvserver?filter=name:/^vs_(web|empty)$/",
     lambda r: {v["name"] for v in r["lbvserver"]} == {"vs_web", "vs_empty"}),
    ("§1 view=summary", "lbvserver/vs_dsr?view=summary",
     lambda r: r["lbvserver"][0]["name"] == "vs_dsr" and "lbmethod" not in r["lbvserver"][0]),
    ("§1 count=yes", "service?count=yes", lambda r: r["service"] == [{"__count": 3}]),
    ("§1 pagesize and pageno", "service?pagesize=2&pageno=2",
     lambda r: [s["name"] for s in r["service"]] == ["svc_web"]),
    ("§1 bulkbindings=yes", "lbvserver_service_binding?bulkbindings=yes",
     lambda r: len(r["lbvserver_service_binding"]) == 3),
    ("§5.6 bindings of one parent", "lbvserver_service_binding/vs_dsr",
     lambda r: [b["servicename"] for b in r["lbvserver_service_binding"]]
     == ["svc_dsr_1", "svc_dsr_2"]),
    ("§5.7 the aggregate binding", "lbvserver_binding/vs_web",
     lambda r: set(r["lbvserver_binding"][0]) >= {"lbvserver_service_binding",
                                                   "lbvserver_servicegroup_binding"}),
    ("§3 no matches: no resource key", "service?filter=servicetype:DNS", lambda r: r == DONE),
    ("§3 singletons come back as an object", "nsversion",
     lambda r: r["nsversion"]["version"].startswith("NetScaler NS")),
    ("§5.8 nsmode booleans", "nsmode", lambda r: r["nsmode"]["mbf"] is True),
    ("§5.11 nsconfig configchanged", "nsconfig",
     lambda r: r["nsconfig"]["configchanged"] is False),
    ("§1 / §7.4.4 warning, idempotent, skipinvalidarg are ignored on reads",
     "service/svc_web?warning=yes&idempotent=yes&skipinvalidarg=yes",
     lambda r: r["service"][0]["name"] == "svc_web"),
    ("§1 name encoded twice", "service/" + quote(quote("svc_web", safe=""), safe=""),
     lambda r: r["service"][0]["name"] == "svc_web"),
]


@pytest.mark.parametrize(("section", "path", "check"), READS, ids=[r[0] for r in READS])
def test_read_shapes(send: Send, section: str, path: str, check: Check) -> None:
    reply = send("GET", ROOT + path, None, AUTH)
    assert reply.status_code == 200, reply.text
    assert check(reply.json()), reply.json()


def test_stat_read(send: Send) -> None:
    """ref §1: `/nitro/v1/stat/<type>/<name>`."""
    reply = send("GET", "/nitro/v1/stat/lbvserver/vs_dsr", None, AUTH)
    assert reply.status_code == 200, reply.text
    assert reply.json()["lbvserver"][0]["name"] == "vs_dsr"


Probe = Callable[[RunningMock], bool]


def _svc(mock: RunningMock, name: str) -> dict[str, Any] | None:
    return next((s for s in mock.appliance.config()["service"] if s["name"] == name), None)


def _bound(mock: RunningMock, vserver: str) -> list[str]:
    return [b["servicename"] for b in mock.appliance.config()["lbvserver_service_binding"]
            if b["name"] == vserver]


WRITES: list[tuple[str, str, str, Any, dict[str, str], int, Probe]] = [
    # (ref section, method, path, body, extra headers, HTTP status, what must hold after)
    ("§4 update, name in the path (GO, PY13)", "PUT", "service/svc_web",
     {"service": {"usip": "YES"}}, {}, 200, lambda m: _svc(m, "svc_web")["usip"] == "YES"),
    ("§4 update, key in the body (ANS)", "PUT", "service",
     {"service": {"name": "svc_web", "usip": "YES"}}, {}, 200,
     lambda m: _svc(m, "svc_web")["usip"] == "YES"),
    ("§1 action=update (GO changeResource)", "POST", "service/svc_web?action=update",
     {"service": {"name": "svc_web", "usip": "YES"}}, {}, 200,
     lambda m: _svc(m, "svc_web")["usip"] == "YES"),
    ("§1 idempotent=yes add of what exists (GO)", "POST", "server?idempotent=yes",
     {"server": {"name": "srv1", "ipaddress": "10.0.0.11"}}, {}, 200,
     lambda m: len(m.appliance.config()["server"]) >= 2),
    ("§4 delete", "DELETE", "service/svc_web", None, {}, 200,
     lambda m: _svc(m, "svc_web") is None),
    ("§4 unset (attribute → true)", "POST", "service?action=unset",
     {"service": {"name": "svc_dsr_1", "cip": True}}, {}, 200,
     lambda m: _svc(m, "svc_dsr_1")["cip"] == "DISABLED"),
    ("§4 disable with graceful and delay", "POST", "service?action=disable",
     {"service": {"name": "svc_web", "graceful": "YES", "delay": 5}}, {}, 200,
     lambda m: _svc(m, "svc_web")["state"] == "DISABLED"),
    ("§4 rename", "POST", "service?action=rename",
     {"service": {"name": "svc_web", "newname": "svc_web_2"}}, {}, 200,
     lambda m: _svc(m, "svc_web_2") is not None),
    ("§4 save", "POST", "nsconfig?action=save", {"nsconfig": {}}, {}, 200,
     lambda m: not m.appliance.config_changed()),
    ("§4 bind by POST (guide)", "POST", "lbvserver_service_binding",
     {"lbvserver_service_binding": {"name": "vs_empty", "servicename": "svc_web"}}, {}, 201,
     lambda m: _bound(m, "vs_empty") == ["svc_web"]),
    ("§4 bind by PUT without a name (reference pages, ANS)", "PUT",
     "lbvserver_service_binding",
     {"lbvserver_service_binding": {"name": "vs_empty", "servicename": "svc_web"}}, {}, 200,
     lambda m: _bound(m, "vs_empty") == ["svc_web"]),
    ("§4 unbind with args", "DELETE",
     "lbvserver_service_binding/vs_dsr?args=servicename:svc_dsr_1", None, {}, 200,
     lambda m: _bound(m, "vs_dsr") == ["svc_dsr_2"]),
    ("§5.8 nsmode enable", "POST", "nsmode?action=enable", {"nsmode": {"mode": ["USIP"]}}, {},
     200, lambda m: m.appliance.config()["nsmode"]["usip"] is True),
    ("§7.3 bulk delete, action=rm (PY13)", "POST", "service?action=rm",
     {"service": [{"name": "svc_web"}, {"name": "svc_dsr_2"}]}, {}, 200,
     lambda m: _svc(m, "svc_web") is None and _svc(m, "svc_dsr_2") is None),
    ("§7.3 bulk unbind, action=unbind (PY13)", "POST", "lbvserver_service_binding?action=unbind",
     {"lbvserver_service_binding": [{"name": "vs_dsr", "servicename": "svc_dsr_2"}]}, {}, 200,
     lambda m: _bound(m, "vs_dsr") == ["svc_dsr_1"]),
    ("§4 bulk, X-NITRO-ONERROR continue: 207 / 1243", "POST", "service",
     {"service": [{**NEW_SERVICE, "name": "svc_web"}, NEW_SERVICE]},
     {"X-NITRO-ONERROR": "continue"}, 207, lambda m: _svc(m, "svc_new") is not None),
    ("§4 bulk, X-NITRO-ONERROR rollback: earlier adds undone", "POST", "service",
     {"service": [NEW_SERVICE, {**NEW_SERVICE, "name": "svc_web"}]},
     {"X-NITRO-ONERROR": "rollback"}, 207, lambda m: _svc(m, "svc_new") is None),
]


@pytest.mark.parametrize(("section", "method", "path", "body", "headers", "status", "probe"),
                         WRITES, ids=[w[0] for w in WRITES])
def test_write_shapes(send: Send, mock: RunningMock, section: str, method: str, path: str,
                      body: Any, headers: dict[str, str], status: int, probe: Probe) -> None:
    token = login(send)
    reply = send(method, ROOT + path, None if body is None else json.dumps(body),
                 {"Content-Type": JSON, "Cookie": f"NITRO_AUTH_TOKEN={token}", **headers})
    assert reply.status_code == status, reply.text
    assert probe(mock), mock.appliance.config()


@pytest.mark.parametrize("action", ["switch", "Switch"])
def test_partition_switch_is_session_state(send: Send, mock: RunningMock, action: str) -> None:
    """ref §5.13: `POST /config/nspartition?action=Switch` (ANS sends `switch`); the current
    partition is a property of the session."""
    token = login(send)
    cookie = {"Content-Type": JSON, "Cookie": f"NITRO_AUTH_TOKEN={token}"}
    reply = send("POST", ROOT + f"nspartition?action={action}",
                 json.dumps({"nspartition": {"partitionname": "p1"}}), cookie)
    assert reply.status_code == 200, reply.text
    names = [s["name"] for s in send("GET", ROOT + "service", None, cookie).json()["service"]]
    assert names == ["p1_svc"]
