"""Which CAs nsfix trusts: certifi's bundle, or the one the user names; never one that an
environment variable (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) slipped in. Against a real TLS server
on 127.0.0.1 with a self-signed certificate made for the test."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from nsfix.nitro import Credentials, NitroClient, NitroTransportError
from tests.support import Run

Nsfix = Callable[..., Run]
ENV_BUNDLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself, and its key (openssl; `cryptography` is
    not a dependency of nsfix)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl on PATH to make a self-signed certificate for the TLS tests")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


class Handler(BaseHTTPRequestHandler):
    """Login and logout succeed; every read answers one empty record of what was asked."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        resource = urlsplit(self.path).path.rstrip("/").rsplit("/", 1)[-1]
        body: dict[str, object] = {"errorcode": 0, "message": "Done", "severity": "NONE"}
        if resource == "login":
            body["sessionid"] = "tok"
        elif self.command == "GET":
            body[resource] = [{}]
        data = json.dumps(body).encode()
        self.send_response(201 if resource == "login" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle


@pytest.fixture
def tls_appliance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """(URL, certificate) of an HTTPS server on 127.0.0.1 whose certificate no CA signed."""
    for variable in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NSFIX_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ENV_BUNDLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def version(url: str, verify: bool | str = True) -> str:
    with NitroClient(url, Credentials("nsroot", "pw"), verify=verify, max_attempts=1) as client:
        return str(client.get_singleton("nsversion"))


@pytest.mark.parametrize("variable", ENV_BUNDLES)
def test_a_ca_bundle_from_the_environment_is_not_trusted_unasked(
    tls_appliance: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    url, cert = tls_appliance
    monkeypatch.setenv(variable, str(cert))
    with pytest.raises(NitroTransportError, match="not trusted"):
        version(url)


def test_the_ca_bundle_given_is_trusted(tls_appliance: tuple[str, Path]) -> None:
    url, cert = tls_appliance
    assert version(url, str(cert)) == "{}"
    with pytest.raises(NitroTransportError, match="not trusted"):
        version(url)


def test_the_command_line_names_the_ca_source_and_takes_nsfix_ca_bundle(
    nsfix: Nsfix, tls_appliance: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert = tls_appliance
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    refused = nsfix("inventory", url=url)
    assert refused.code == 1
    assert "not trusted" in refused.err
    assert "REQUESTS_CA_BUNDLE" in refused.err
    assert "--ca-bundle" in refused.err
    monkeypatch.setenv("NSFIX_CA_BUNDLE", str(cert))
    trusted = nsfix("inventory", url=url)
    assert trusted.code == 0, trusted.err
    assert "REQUESTS_CA_BUNDLE" not in trusted.err
    monkeypatch.delenv("NSFIX_CA_BUNDLE")
    flagged = nsfix("inventory", "--ca-bundle", str(cert), url=url)
    assert flagged.code == 0, flagged.err
