"""Writes: the exact requests the door sends, bulk results, described (dry-run) writes, errors."""

from __future__ import annotations

import pytest
import responses

from nsfix.nitro import (
    NOT_ATTEMPTED,
    NitroBulkError,
    NitroError,
    NitroExists,
    NitroNotAuthorized,
    NitroNotFound,
    NitroProtocolError,
    NitroWriter,
)
from nsfix.nitro.writes import (
    describe_action,
    describe_add,
    describe_bind,
    describe_delete,
    describe_save_config,
    describe_unbind,
    describe_unset,
    describe_update,
    describe_update_bulk,
)
from tests.nitro.conftest import CONFIG, DONE, body_of, nitro_error, sent


def test_add_posts_the_record_and_accepts_an_empty_201(
    writer: NitroWriter, rsps: responses.RequestsMock
) -> None:
    rsps.add("POST", f"{CONFIG}/service", status=201, body="")
    record = {"name": "web1", "ip": "10.0.0.5", "servicetype": "ANY", "port": 65535}
    writer.send(describe_add("service", record))
    assert sent(rsps)[-1] == ("POST", "/nitro/v1/config/service")
    assert body_of(rsps) == {
        "service": {"name": "web1", "ip": "10.0.0.5", "servicetype": "ANY", "port": 65535}
    }
    assert rsps.calls[-1].request.headers["Content-Type"] == "application/json"


def test_add_of_an_existing_object_raises_exists(
    writer: NitroWriter, rsps: responses.RequestsMock
) -> None:
    rsps.add("POST", f"{CONFIG}/service", **nitro_error(273, "Resource already exists", 409))
    with pytest.raises(NitroExists, match="Resource already exists"):
        writer.send(describe_add("service", {"name": "web1"}))


def test_update_puts_the_key_in_the_body(writer: NitroWriter, rsps: responses.RequestsMock) -> None:
    rsps.add("PUT", f"{CONFIG}/service", json=DONE)
    writer.send(describe_update("service", {"name": "web 1", "usip": "YES", "useproxyport": "NO"}))
    assert sent(rsps)[-1] == ("PUT", "/nitro/v1/config/service")
    assert body_of(rsps) == {"service": {"name": "web 1", "usip": "YES", "useproxyport": "NO"}}


def test_update_bulk_all_ok(writer: NitroWriter, rsps: responses.RequestsMock) -> None:
    rsps.add("PUT", f"{CONFIG}/service", json=DONE)
    results = writer.send(
        describe_update_bulk("service", [{"name": "a", "usip": "YES"}, {"name": "b"}])
    )
    assert [(r.index, r.ok) for r in results] == [(0, True), (1, True)]
    assert rsps.calls[-1].request.headers["X-NITRO-ONERROR"] == "continue"
    assert body_of(rsps) == {"service": [{"name": "a", "usip": "YES"}, {"name": "b"}]}


def test_update_bulk_partial_failure_reports_each_record(
    writer: NitroWriter, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        "PUT",
        f"{CONFIG}/service",
        status=207,
        json={
            "errorcode": 1243,
            "message": "Bulk operation failed",
            "severity": "ERROR",
            "response": [
                {"errorcode": 0, "message": "Done", "severity": "NONE"},
                {"errorcode": 258, "message": "No such resource [name, b]", "severity": "ERROR"},
                {"errorcode": 0, "message": "Done", "severity": "NONE"},
            ],
        },
    )
    with pytest.raises(NitroBulkError) as caught:
        writer.send(describe_update_bulk("service", [{"name": "a"}, {"name": "b"}, {"name": "c"}]))
    results = caught.value.results
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].errorcode == 258
    assert results[1].message == "No such resource [name, b]"


def test_update_bulk_with_onerror_exit_marks_the_rest_not_attempted(
    writer: NitroWriter, rsps: responses.RequestsMock
) -> None:
    rsps.add(
        "PUT",
        f"{CONFIG}/service",
        status=207,
        json={
            "errorcode": 1243,
            "message": "Bulk operation failed",
            "severity": "ERROR",
            "response": [
                {"errorcode": 0, "message": "Done", "severity": "NONE"},
                {"errorcode": 1097, "message": "Invalid argument value", "severity": "ERROR"},
            ],
        },
    )
    records = [{"name": n} for n in "abcd"]
    with pytest.raises(NitroBulkError) as caught:
        writer.send(describe_update_bulk("service", records, onerror="exit"))
    results = caught.value.results
    assert rsps.calls[-1].request.headers["X-NITRO-ONERROR"] == "exit"
    assert [r.errorcode for r in results] == [0, 1097, NOT_ATTEMPTED, NOT_ATTEMPTED]
    assert [r.attempted for r in results] == [True, True, False, False]
    assert [r.index for r in results] == [0, 1, 2, 3]


def test_bulk_reply_with_more_results_than_records_is_a_protocol_error(
    writer: NitroWriter, rsps: responses.RequestsMock
) -> None:
    item = {"errorcode": 0, "message": "Done", "severity": "NONE"}
    rsps.add(
        "PUT", f"{CONFIG}/service", status=207, json={"errorcode": 1243, "response": [item] * 3}
    )
    with pytest.raises(NitroProtocolError, match="bulk reply"):
        writer.send(describe_update_bulk("service", [{"name": "a"}]))


def test_update_bulk_of_nothing_and_bad_onerror_are_refused_before_sending(
    writer: NitroWriter, rsps: responses.RequestsMock
) -> None:
    with pytest.raises(ValueError, match="at least one record"):
        describe_update_bulk("service", [])
    with pytest.raises(ValueError, match="onerror"):
        describe_update_bulk("service", [{"name": "a"}], onerror="ignore")
    assert len(rsps.calls) == 1


def test_delete_and_unbind_use_args(writer: NitroWriter, rsps: responses.RequestsMock) -> None:
    rsps.add("DELETE", f"{CONFIG}/nsip/10.0.0.9", json=DONE)
    rsps.add("DELETE", f"{CONFIG}/lbvserver_service_binding/vs%25201", json=DONE)
    writer.send(describe_delete("nsip", "10.0.0.9", args={"td": 0}))
    writer.send(describe_unbind("lbvserver_service_binding", "vs 1", {"servicename": "svc 1"}))
    assert sent(rsps)[1:] == [
        ("DELETE", "/nitro/v1/config/nsip/10.0.0.9?args=td:0"),
        ("DELETE", "/nitro/v1/config/lbvserver_service_binding/vs%25201?args=servicename:svc%201"),
    ]
    with pytest.raises(ValueError, match="unbind needs args"):
        describe_unbind("lbvserver_service_binding", "vs 1", {})


def test_bind_puts_the_binding(writer: NitroWriter, rsps: responses.RequestsMock) -> None:
    rsps.add("PUT", f"{CONFIG}/lbvserver_service_binding", json=DONE)
    writer.send(describe_bind("lbvserver_service_binding", {"name": "vs1", "servicename": "svc1"}))
    assert sent(rsps)[-1] == ("PUT", "/nitro/v1/config/lbvserver_service_binding")
    assert body_of(rsps) == {"lbvserver_service_binding": {"name": "vs1", "servicename": "svc1"}}


def test_actions_unset_and_save(writer: NitroWriter, rsps: responses.RequestsMock) -> None:
    rsps.add("POST", f"{CONFIG}/service?action=disable", json=DONE)
    rsps.add("POST", f"{CONFIG}/service?action=unset", json=DONE)
    rsps.add("POST", f"{CONFIG}/nsconfig?action=save", json=DONE)
    writer.send(
        describe_action("service", "disable", {"name": "web1", "graceful": "YES", "delay": 30})
    )
    assert body_of(rsps) == {"service": {"name": "web1", "graceful": "YES", "delay": 30}}
    writer.send(describe_unset("service", {"name": "web1"}, ["usip", "cip"]))
    assert body_of(rsps) == {"service": {"name": "web1", "usip": True, "cip": True}}
    writer.send(describe_save_config())
    assert body_of(rsps) == {"nsconfig": {}}
    assert [path for _, path in sent(rsps)[1:]] == [
        "/nitro/v1/config/service?action=disable",
        "/nitro/v1/config/service?action=unset",
        "/nitro/v1/config/nsconfig?action=save",
    ]


def test_unset_refuses_key_attributes_and_a_bare_string() -> None:
    with pytest.raises(ValueError, match="cannot unset key attributes: name"):
        describe_unset("service", {"name": "web1"}, ["name"])
    with pytest.raises(ValueError, match="list of attribute names"):
        describe_unset("service", {"name": "web1"}, "usip")


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        (2138, 403, NitroNotAuthorized),
        (258, 404, NitroNotFound),
        (278, 599, NitroError),
        (1097, 400, NitroError),
    ],
)
def test_error_codes_map_to_their_classes(
    writer: NitroWriter,
    rsps: responses.RequestsMock,
    code: int,
    status: int,
    cls: type[NitroError],
) -> None:
    rsps.add("PUT", f"{CONFIG}/service", **nitro_error(code, "refused", status))
    with pytest.raises(cls) as caught:
        writer.send(describe_update("service", {"name": "web1", "usip": "YES"}))
    assert type(caught.value) is cls
    assert caught.value.errorcode == code
    assert caught.value.http_status == status


def test_error_inside_a_200_reply_is_raised(
    writer: NitroWriter, rsps: responses.RequestsMock
) -> None:
    rsps.add("PUT", f"{CONFIG}/service", **nitro_error(1097, "Invalid argument value", 200))
    with pytest.raises(NitroError, match="Invalid argument value"):
        writer.send(describe_update("service", {"name": "web1", "usip": "MAYBE"}))


def test_described_write_is_exactly_what_is_sent(
    writer: NitroWriter, rsps: responses.RequestsMock
) -> None:
    write = describe_update_bulk("service", [{"name": "web1", "usip": "YES"}], onerror="exit")
    assert write.render() == (
        "PUT /nitro/v1/config/service\n"
        "X-NITRO-ONERROR: exit\n"
        '{"service": [{"name": "web1", "usip": "YES"}]}'
    )
    assert write.idempotent
    assert len(rsps.calls) == 1  # describing sends nothing
    rsps.add("PUT", f"{CONFIG}/service", json=DONE)
    assert [r.ok for r in writer.send(write)] == [True]
    request = rsps.calls[-1].request
    assert (request.method, request.url) == (write.method, "https://127.0.0.1" + write.target)
    assert body_of(rsps) == write.body
    assert request.body == write.render().splitlines()[-1].encode()  # byte for byte
    assert request.headers["X-NITRO-ONERROR"] == "exit"


def test_described_writes_know_which_ones_are_safe_to_repeat() -> None:
    assert not describe_add("service", {"name": "a"}).idempotent
    assert not describe_bind("lbvserver_service_binding", {"name": "v"}).idempotent
    assert not describe_action("service", "rename", {"name": "a", "newname": "b"}).idempotent
    assert describe_action("service", "enable", {"name": "a"}).idempotent
    assert describe_unset("service", {"name": "a"}, ["usip"]).idempotent
    assert describe_save_config().idempotent
    assert describe_delete("service", "a").idempotent
