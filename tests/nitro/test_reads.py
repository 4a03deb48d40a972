"""Reads: record shapes, query building, pagination, counts, stats and malformed replies."""

from __future__ import annotations

import pytest
import responses

from nsfix.nitro import NitroClient, NitroNotFound, NitroProtocolError
from tests.nitro.conftest import CONFIG, DONE, STAT, nitro_error, sent


def test_get_returns_the_records_and_sends_the_query(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        "GET",
        f"{CONFIG}/lbvserver_service_binding/vs%25201",
        json={**DONE, "lbvserver_service_binding": [{"name": "vs 1", "servicename": "svc/a"}]},
    )
    records = client.get(
        "lbvserver_service_binding",
        "vs 1",
        attrs=["name", "servicename"],
        filter={"servicename": "svc/a"},
    )
    assert records == [{"name": "vs 1", "servicename": "svc/a"}]
    assert sent(rsps)[-1] == (
        "GET",
        "/nitro/v1/config/lbvserver_service_binding/vs%25201"
        "?filter=servicename:svc%2Fa&attrs=name,servicename",
    )


def test_get_without_the_resource_key_means_nothing_matched(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/lbvserver_servicegroup_binding/vs1", json=DONE)
    assert client.get("lbvserver_servicegroup_binding", "vs1") == []


def test_named_get_of_a_missing_object_raises_not_found_with_nitro_details(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        "GET", f"{CONFIG}/service/web9", **nitro_error(258, "No such resource [name, web9]", 404)
    )
    with pytest.raises(NitroNotFound) as caught:
        client.get("service", "web9")
    error = caught.value
    assert (error.errorcode, error.http_status, error.severity) == (258, 404, "ERROR")
    assert (error.method, error.resource) == ("GET", "service")
    assert str(error) == "GET service: No such resource [name, web9] (errorcode 258, HTTP 404)"


def test_missing_object_known_only_by_http_status_is_still_not_found(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/service/web9", status=404, body="")
    with pytest.raises(NitroNotFound):
        client.get("service", "web9")


def test_lone_object_and_odd_capitalisation_are_accepted(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/interface", json={**DONE, "Interface": [{"id": "0/1"}]})
    rsps.add("GET", f"{CONFIG}/nsconfig", json={**DONE, "nsconfig": {"configchanged": True}})
    rsps.add("GET", f"{CONFIG}/nsmode", json={**DONE, "nsmode": [{"usip": False}]})
    assert client.get("interface") == [{"id": "0/1"}]
    assert client.get_singleton("nsconfig") == {"configchanged": True}
    assert client.get_singleton("nsmode", attrs=["usip"]) == {"usip": False}
    assert sent(rsps)[-1] == ("GET", "/nitro/v1/config/nsmode?attrs=usip")


def test_singleton_reply_without_the_object_is_a_protocol_error(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/nsversion", json=DONE)
    with pytest.raises(NitroProtocolError, match="expected one nsversion object, got 0"):
        client.get_singleton("nsversion")


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("<html><body>502 Bad Gateway from proxy</body></html>", "text/html", "HTML"),
        ('{"errorcode": 0, "service": [{"name": "we', "application/json", "truncated"),
        ('[{"name": "web1"}]', "application/json", "JSON list, not an object"),
        ('{"errorcode": 0, "service": "web1"}', "application/json", "holds str"),
        ('{"errorcode": 0, "service": [1, 2]}', "application/json", "holds list"),
        ('{"errorcode": "zero"}', "application/json", "errorcode is 'zero'"),
    ],
)
def test_malformed_replies_are_protocol_errors_with_a_short_excerpt(
    client: NitroClient,
    rsps: responses.RequestsMock,
    body: str,
    content_type: str,
    expected: str,
) -> None:
    rsps.add("GET", f"{CONFIG}/service", body=body, status=200, content_type=content_type)
    with pytest.raises(NitroProtocolError, match=expected) as caught:
        client.get("service")
    assert len(str(caught.value)) < 300
    assert "\n" not in str(caught.value)


def test_html_error_page_keeps_the_excerpt_short(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    page = "<html>" + "x" * 5000 + "</html>"
    rsps.add("GET", f"{CONFIG}/service", body=page, status=400, content_type="text/html")
    with pytest.raises(NitroProtocolError, match="starts with '<html>xxx") as caught:
        client.get("service")
    assert len(str(caught.value)) < 300
    assert caught.value.http_status == 400


def test_redirect_is_not_followed(client: NitroClient, rsps: responses.RequestsMock) -> None:
    rsps.add("GET", f"{CONFIG}/service", status=302, headers={"Location": "https://elsewhere/"})
    with pytest.raises(NitroProtocolError, match="redirected to https://elsewhere/"):
        client.get("service")
    assert len(rsps.calls) == 2


def test_get_all_without_paging_is_one_request_with_bulkbindings(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rows = [{"name": "vs1", "servicename": "s1"}, {"name": "vs2", "servicename": "s2"}]
    rsps.add(
        "GET",
        f"{CONFIG}/lbvserver_service_binding",
        json={**DONE, "lbvserver_service_binding": rows},
    )
    assert client.get_all("lbvserver_service_binding", bulkbindings=True) == rows
    assert sent(rsps)[-1] == ("GET", "/nitro/v1/config/lbvserver_service_binding?bulkbindings=yes")


def page_reply(first: int, size: int) -> dict[str, object]:
    return {**DONE, "service": [{"name": f"s{i}"} for i in range(first, first + size)]}


def test_get_all_pages_until_a_short_page(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/service", json=page_reply(0, 3))
    rsps.add("GET", f"{CONFIG}/service", json=page_reply(3, 3))
    rsps.add("GET", f"{CONFIG}/service", json=page_reply(6, 1))
    records = client.get_all("service", attrs=["name"], page_size=3)
    assert [r["name"] for r in records] == [f"s{i}" for i in range(7)]
    assert sent(rsps)[1:] == [
        ("GET", f"/nitro/v1/config/service?attrs=name&pagesize=3&pageno={n}") for n in (1, 2, 3)
    ]


def test_get_all_small_table_costs_one_request_and_no_count(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/service", json=page_reply(0, 2))
    assert len(client.get_all("service", page_size=1000)) == 2
    assert len(rsps.calls) == 2  # login + one page


def test_get_all_exact_multiple_ends_on_an_empty_page(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/service", json=page_reply(0, 2))
    rsps.add("GET", f"{CONFIG}/service", json=DONE)
    assert len(client.get_all("service", page_size=2)) == 2
    assert len(rsps.calls) == 3


def test_get_all_survives_an_appliance_that_ignores_pagesize(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/service", json=page_reply(0, 5))
    assert len(client.get_all("service", page_size=2)) == 5
    assert len(rsps.calls) == 2


def test_get_all_stops_when_the_appliance_ignores_pageno(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/service", json=page_reply(0, 2))  # answers every page the same
    with pytest.raises(NitroProtocolError, match="ignores pageno"):
        client.get_all("service", page_size=2)
    assert len(rsps.calls) == 3


@pytest.mark.parametrize(("value", "expected"), [(7, 7), ("12", 12)])
def test_count(
    client: NitroClient, rsps: responses.RequestsMock, value: object, expected: int
) -> None:
    rsps.add("GET", f"{CONFIG}/service", json={**DONE, "service": [{"__count": value}]})
    assert client.count("service", filter={"servicetype": "ANY"}) == expected
    assert sent(rsps)[-1] == ("GET", "/nitro/v1/config/service?filter=servicetype:ANY&count=yes")


def test_count_of_an_empty_table_and_a_bad_count(
    client: NitroClient, rsps: responses.RequestsMock
) -> None:
    rsps.add("GET", f"{CONFIG}/service", json=DONE)
    rsps.add("GET", f"{CONFIG}/service", json={**DONE, "service": [{"__count": "#no"}]})
    assert client.count("service") == 0
    with pytest.raises(NitroProtocolError, match="__count='#no'"):
        client.count("service")


def test_get_stat_reads_the_stat_tree(client: NitroClient, rsps: responses.RequestsMock) -> None:
    rsps.add("GET", f"{STAT}/hanode", json={**DONE, "hanode": {"hacurmasterstate": "Primary"}})
    assert client.get_stat("hanode") == [{"hacurmasterstate": "Primary"}]
    assert sent(rsps)[-1] == ("GET", "/nitro/v1/stat/hanode")


def test_warning_reply_is_logged_not_raised(
    client: NitroClient, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.add(
        "GET",
        f"{CONFIG}/lbvserver",
        json={**DONE, "lbvserver": [{"name": "vs1"}]},
        status=209,
        headers={"X-NITRO-WARNING": "1067 - Feature(s) not enabled [LB]"},
    )
    assert client.get("lbvserver") == [{"name": "vs1"}]
    assert "Feature(s) not enabled [LB]" in caplog.text
