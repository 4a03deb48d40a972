"""Error objects: one-line messages a user can act on, and per-item bulk results."""

from __future__ import annotations

import pickle

from nsfix.nitro import (
    NOT_ATTEMPTED,
    ItemResult,
    NitroBulkError,
    NitroError,
    NitroNotFound,
    NitroTransportError,
)


def test_str_names_request_codes_and_message_on_one_line() -> None:
    error = NitroNotFound(
        "No such resource\n [name, web1]",
        http_status=404,
        errorcode=258,
        severity="ERROR",
        method="GET",
        resource="service",
    )
    assert str(error) == "GET service: No such resource [name, web1] (errorcode 258, HTTP 404)"
    assert isinstance(error, NitroError)


def test_transport_error_says_when_a_write_may_have_landed() -> None:
    error = NitroTransportError("no reply", outcome_unknown=True, method="PUT", resource="service")
    assert "outcome unknown" in str(error)
    assert "outcome unknown" not in str(NitroTransportError("refused"))


def test_errors_survive_pickling_with_their_details() -> None:
    results = [ItemResult(0, 0, "Done", "NONE"), ItemResult(1, NOT_ATTEMPTED, "not attempted", "")]
    error = NitroBulkError("Bulk operation failed", results=results, errorcode=1243)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert type(copy) is NitroBulkError
    assert copy.results == results
    assert copy.errorcode == 1243
    assert str(copy) == str(error)


def test_item_result_ok_and_attempted() -> None:
    assert ItemResult(0, 0, "Done", "NONE").ok
    assert ItemResult(1, 1067, "Feature(s) not enabled", "WARNING").ok
    assert not ItemResult(2, 258, "No such resource", "ERROR").ok
    skipped = ItemResult(3, NOT_ATTEMPTED, "not attempted", "NONE")
    assert not skipped.ok
    assert not skipped.attempted
