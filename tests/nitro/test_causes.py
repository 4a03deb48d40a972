"""Why a connection failed, in words an operator can act on."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests

from nsfix.nitro.transport import _plain_cause


def wrapped(root: BaseException) -> BaseException:
    """requests wraps urllib3 wraps the socket error, as in a real failed connect."""
    try:
        try:
            raise root
        except BaseException as inner:
            message = "HTTPConnectionPool(...): Max retries exceeded"
            raise requests.ConnectionError(message) from inner
    except requests.ConnectionError as outer:
        return outer


@pytest.mark.parametrize(
    ("root", "words"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "does not resolve"),
        (ConnectionResetError(104, "reset"), "connection reset"),
        (TimeoutError("timed out"), "timed out"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "--ca-bundle"),
    ],
)
def test_the_root_cause_is_named(root: BaseException, words: str) -> None:
    text = _plain_cause(wrapped(root))
    assert text is not None
    assert words in text


def test_an_unknown_cause_is_left_to_the_generic_message() -> None:
    assert _plain_cause(requests.ConnectionError("something odd")) is None
