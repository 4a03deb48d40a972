"""Fixtures for the NITRO client tests: a faked appliance (responses), a sleepless client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from nsfix.nitro import Credentials, NitroClient, NitroWriter

BASE = "https://127.0.0.1"
CONFIG = f"{BASE}/nitro/v1/config"
STAT = f"{BASE}/nitro/v1/stat"
PASSWORD = "pa55-W0RD;xyz/!"
TOKEN = "tok3nSECRETabcdef0123456789"
TOKEN2 = "s3condTOKENzyxwv9876543210"
CREDS = Credentials("nsroot", PASSWORD)


def login_reply(token: str = TOKEN, status: int = 201) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": f"{CONFIG}/login",
        "json": {"errorcode": 0, "message": "Done", "severity": "NONE", "sessionid": token},
        "status": status,
    }


def nitro_error(code: int, message: str, status: int) -> dict[str, Any]:
    return {"json": {"errorcode": code, "message": message, "severity": "ERROR"}, "status": status}


DONE = {"errorcode": 0, "message": "Done", "severity": "NONE"}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> Callable[..., NitroClient]:
    def make(**kwargs: Any) -> NitroClient:
        kwargs.setdefault("sleep", sleeps.append)
        return NitroClient(BASE, CREDS, **kwargs)

    return make


@pytest.fixture
def client(rsps: responses.RequestsMock, make_client: Callable[..., NitroClient]) -> NitroClient:
    """A client with an open session (one login request already made)."""
    rsps.add(**login_reply())
    made = make_client()
    made.login()
    return made


@pytest.fixture
def writer(client: NitroClient) -> NitroWriter:
    """The write door of the logged-in client."""
    return client.writer()


def sent(rsps: responses.RequestsMock) -> list[tuple[str, str]]:
    """(method, path?query) of every request the client sent, in order."""
    return [(str(c.request.method), str(c.request.url)[len(BASE) :]) for c in rsps.calls]


def body_of(rsps: responses.RequestsMock, index: int = -1) -> Any:
    """The JSON body of a request the client sent."""
    return json.loads(rsps.calls[index].request.body or b"null")
