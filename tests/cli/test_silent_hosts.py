"""Hosts that do not answer as NITRO does, on real sockets on 127.0.0.1: one that accepts and
never replies is named at each retry and given up within a bound the user is told; one that
speaks plain HTTP to https gets a message about the scheme, not about certificates."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nsfix.exitcodes import ExitCode
from tests.support import Run

Nsfix = Callable[..., Run]


class SilentHost:
    """Accepts every connection and reads what is sent, but never writes a byte back."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.accepted = 0
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent_host() -> Iterator[SilentHost]:
    host = SilentHost()
    yield host
    host.close()


def check_silent_host_run(err: str, code: int, elapsed: float, url: str) -> None:
    text = " ".join(err.split())
    assert code == ExitCode.ERROR
    # Said while waiting, not only at the end: who did not answer, what comes next, the bound.
    # (--timeout 3 leaves room for a retry after the first 3 s whatever the jitter of its
    # pause; with 2 s a pause near its maximum on a busy machine made it not fit.)
    said = re.search(
        rf"no reply from {re.escape(url)} within 3 s \(POST login\); retrying 2/\d in "
        r"[0-9.]+ s; giving up 6 s after the first try",
        text,
    )
    assert said, err
    assert re.search(rf"no reply from {re.escape(url)} after 2 attempt\(s\) in [5-7] s", text)
    # The bound holds: twice --timeout, not --timeout x every attempt plus the pauses.
    assert 5.0 <= elapsed <= 9.5, elapsed


def test_a_host_that_never_answers_is_named_at_each_retry_and_given_up_in_bound(
    nsfix: Nsfix, silent_host: SilentHost
) -> None:
    url = f"http://127.0.0.1:{silent_host.port}"
    started = time.monotonic()
    run = nsfix("inventory", "--url", url, "--timeout", "3")
    elapsed = time.monotonic() - started
    check_silent_host_run(run.err, run.code, elapsed, url)
    assert silent_host.accepted >= 2
    assert run.out == ""


def test_the_nsfix_program_bounds_its_wait_from_nsfix_timeout(
    silent_host: SilentHost, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{silent_host.port}"
    env = {
        **os.environ,
        "NSFIX_URL": url,
        "NSFIX_USER": "nsroot",
        "NSFIX_PASSWORD": "not-used-anywhere-9",
        "NSFIX_TIMEOUT": "3",
        "NO_PROXY": "*",
    }
    program = Path(sys.executable).with_name("nsfix")
    started = time.monotonic()
    done = subprocess.run(
        [str(program), "audit"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    check_silent_host_run(done.stderr, done.returncode, elapsed, url)
    assert "not-used-anywhere-9" not in done.stderr
    assert "Traceback" not in done.stderr


class PlainHttp(BaseHTTPRequestHandler):
    """Answers everything in plain HTTP, as a web server on the port would."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1  # type: ignore[attr-defined]
        body = b'{"errorcode": 0}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _handle


@pytest.fixture
def plain_http() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PlainHttp)
    server.requests = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def error_of(run: Run) -> str:
    """The error nsfix ended with (a warning about a CA variable set here may come before)."""
    return " ".join(run.err[run.err.index("nsfix: error:") :].split())


def test_https_assumed_to_a_plain_http_server_says_so(nsfix: Nsfix, plain_http: int) -> None:
    run = nsfix("inventory", "--url", f"127.0.0.1:{plain_http}")
    text = error_of(run)
    assert run.code == ExitCode.ERROR
    assert "https was assumed; the server answered plain HTTP" in text
    assert f"--url http://127.0.0.1:{plain_http}" in text
    assert "certificate" not in text
    assert "CA bundle" not in text


def test_https_given_to_a_plain_http_server_points_at_the_scheme(
    nsfix: Nsfix, plain_http: int
) -> None:
    url = f"https://127.0.0.1:{plain_http}"
    run = nsfix("inventory", "--url", url)
    text = error_of(run)
    assert run.code == ExitCode.ERROR
    assert f"{url} answered plain HTTP, not TLS: check the URL's scheme and port" in text
    assert "certificate" not in text
    assert "CA bundle" not in text


def test_on_a_terminal_the_wait_names_the_appliance_before_any_reply(
    nsfix: Nsfix, silent_host: SilentHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{silent_host.port}"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    run = nsfix("audit", "--url", url, "--timeout", "3")
    assert f"connecting to {url}" in run.err
    # Printed above the spinner, which goes on turning: the display wraps it at its width.
    text = " ".join(run.err.split())
    assert f"no reply from {url} within 3 s (POST login); retrying 2/" in text
    assert run.code == ExitCode.ERROR


def test_a_refused_connection_is_retried_aloud(nsfix: Nsfix) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}"
    run = nsfix("inventory", "--url", url, "--timeout", "5")
    text = " ".join(run.err.split())
    assert run.code == ExitCode.ERROR
    for attempt in (2, 3, 4):
        assert f"could not connect to {url}: connection refused" in text
        assert f"retrying {attempt}/4 in" in text
    assert f"could not connect to {url} after 4 attempt(s)" in text
