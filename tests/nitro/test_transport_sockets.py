"""Real sockets on 127.0.0.1: refused, silent and hanging-up appliances are told apart correctly."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from nsfix.nitro import Credentials, NitroClient, NitroTransportError
from nsfix.nitro.transport import _never_sent
from nsfix.nitro.writes import describe_add, describe_update

READ_TIMEOUT = 0.3


class Appliance(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: Counter[str] = Counter()
        self.release = threading.Event()


class Handler(BaseHTTPRequestHandler):
    """Login works; PUT hangs past the read timeout; POST to lbvserver hangs up; GET hangs once."""

    server: Appliance

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        key = f"{self.command} {self.path}"
        self.server.seen[key] += 1
        if self.path.endswith("/login"):
            self._answer(201, {"errorcode": 0, "sessionid": "tok"})
        elif self.command == "PUT" or (self.command == "GET" and self.server.seen[key] == 1):
            self.server.release.wait(5)
            self.close_connection = True
        elif self.path.endswith("/lbvserver"):
            self.close_connection = True  # hang up without a reply
        else:
            self._answer(200, {"errorcode": 0, "service": [{"name": "web1"}]})

    do_GET = do_POST = do_PUT = _handle


@pytest.fixture
def appliance() -> Iterator[Appliance]:
    server = Appliance()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def local_client(port: int, **kwargs: object) -> NitroClient:
    http = requests.Session()
    http.trust_env = False  # never route loopback tests through a configured proxy
    return NitroClient(
        f"http://127.0.0.1:{port}",
        Credentials("nsroot", "secret"),
        read_timeout=READ_TIMEOUT,
        connect_timeout=1.0,
        http=http,
        sleep=lambda _: None,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def test_refused_connection_is_classified_as_never_sent(closed_port: int) -> None:
    with pytest.raises(requests.RequestException) as caught:
        requests.post(f"http://127.0.0.1:{closed_port}/nitro/v1/config/service", timeout=1)
    assert _never_sent(caught.value)


def test_hang_up_after_the_request_is_classified_as_maybe_sent(appliance: Appliance) -> None:
    port = appliance.server_address[1]
    with pytest.raises(requests.RequestException) as caught:
        requests.post(f"http://127.0.0.1:{port}/nitro/v1/config/lbvserver", data=b"{}", timeout=1)
    assert not _never_sent(caught.value)


def test_refused_login_is_retried_then_reported(closed_port: int) -> None:
    client = local_client(closed_port, max_attempts=3)
    with pytest.raises(
        NitroTransportError, match=r"could not connect .* after 3 attempt"
    ) as caught:
        client.login()
    assert not caught.value.outcome_unknown
    assert client.stats().by_method == {"POST": 3}


def test_silent_appliance_on_an_update_is_not_resent(appliance: Appliance) -> None:
    client = local_client(appliance.server_address[1])
    client.login()
    with pytest.raises(NitroTransportError) as caught:
        client.writer().send(describe_update("service", {"name": "web1", "usip": "YES"}))
    assert caught.value.outcome_unknown
    assert appliance.seen["PUT /nitro/v1/config/service"] == 1


def test_hang_up_on_an_add_is_not_resent(appliance: Appliance) -> None:
    client = local_client(appliance.server_address[1])
    client.login()
    with pytest.raises(NitroTransportError) as caught:
        client.writer().send(describe_add("lbvserver", {"name": "vs1"}))
    assert caught.value.outcome_unknown
    assert appliance.seen["POST /nitro/v1/config/lbvserver"] == 1


def test_silent_appliance_on_a_read_is_asked_again(appliance: Appliance) -> None:
    client = local_client(appliance.server_address[1])
    client.login()
    assert client.get("service") == [{"name": "web1"}]
    assert appliance.seen["GET /nitro/v1/config/service"] == 2
    assert client.stats().retries == 1
