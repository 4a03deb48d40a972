"""HTTP front of the mock appliance: a quiet, threaded server that binds to loopback only."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from mocks.appliance import Appliance
from mocks.faults import FaultError
from mocks.messages import NitroRequest, split_target

_REASONS = {207: "Multi-Status", 209: "X-NITRO-WARNING", 599: "Netscaler specific error"}
_NO_CACHE = (
    ("Cache-Control", "no-store, no-cache, must-revalidate, post-check=0, pre-check=0"),
    ("Pragma", "no-cache"),
    ("Expires", "Thu, 19 Nov 1981 08:52:00 GMT"),
    ("X-Frame-Options", "SAMEORIGIN"),
)
_PROXY_PAGE = (
    "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_UNAVAILABLE_PAGE = (
    "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
    "<title>503 Service Unavailable</title>\n</head><body>\n<h1>Service Unavailable</h1>\n"
    "<p>The server is temporarily unable to service your request.</p>\n</body></html>\n"
)


def check_loopback(host: str) -> str:
    """Return the host if it is a loopback address (127.0.0.0/8 or ::1); refuse anything else."""
    candidate = "127.0.0.1" if host == "localhost" else host.strip("[]")
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        raise ValueError(f"refusing to listen on {host!r}: give a loopback IP address") from None
    if not address.is_loopback:
        raise ValueError(f"refusing to listen on {host!r}: only loopback addresses are allowed")
    return candidate


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], appliance: Appliance, family: int) -> None:
        self.address_family = family
        self.appliance = appliance
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (killed, timed out) is normal for a test appliance: no traceback.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Drop kept-alive client connections so a stopped mock really stops answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle holds the body back until
        # the client's delayed ACK (~40 ms per request).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return "Apache"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the appliance keeps its own request log."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # --- plumbing ------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            if key == "cookie" and key in out:
                out[key] = f"{out[key]}; {value}"
            else:
                out[key] = value
        return out

    def _send(self, status: int, body: bytes, content_type: str,
              extra: list[tuple[str, str]] | tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status, _REASONS.get(status))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in _NO_CACHE:
            self.send_header(name, value)
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._send(status, body, "application/json; charset=utf-8")

    def _reset(self) -> None:
        """Close the socket without a reply; SO_LINGER 0 makes it an RST, as a dying box would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    # --- NITRO ---------------------------------------------------------------------------

    def _dispatch(self) -> None:
        body = self._read_body()
        if self.path.startswith("/_mock/") or self.path == "/_mock":
            self._control(body)
            return
        appliance = self.server.appliance
        request = NitroRequest(self.command, self.path, self._headers(), body)
        latency = appliance.faults.current_latency
        if latency > 0:
            time.sleep(latency)
        fault = appliance.faults.take_request_fault(
            Appliance.is_write_request(self.command, self.path, body, request.headers)
        )
        if fault is not None and fault.kind == "unavailable":
            appliance.record_fault(request, fault.status, fault.kind)
            self._send(fault.status, _UNAVAILABLE_PAGE.encode(), "text/html; charset=iso-8859-1",
                       (("Retry-After", str(fault.retry_after)),))
            return
        if fault is not None and fault.kind == "html_reply":
            if fault.after_write:
                appliance.handle(request)  # committed; the client only sees the proxy's page
            appliance.record_fault(request, fault.status, fault.kind)
            page = _PROXY_PAGE.format(status=fault.status).encode()
            self._send(fault.status, page, "text/html")
            return
        if fault is not None and fault.kind == "late_write":
            # The appliance commits the write after the client may have given up waiting.
            timer = appliance.handle_later(request, fault.delay)
            time.sleep(fault.hold)
            timer.join()
            self._send(200, b'{"errorcode": 0, "message": "Done", "severity": "NONE"}',
                       "application/json; charset=utf-8")
            return
        if fault is not None and fault.kind == "reset_connection" and not fault.after_write:
            appliance.record_fault(request, 0, fault.kind)
            self._reset()
            return
        response = appliance.handle(request)
        if fault is not None and fault.kind == "reset_connection":
            self._reset()  # the write above was applied; the client never learns the outcome
            return
        payload = response.body
        if fault is not None and fault.kind == "truncated_json":
            payload = payload[: len(payload) // 2]
        self._send(response.status, payload, "application/json; charset=utf-8",
                   response.headers)

    # --- control API (outside /nitro, for a mock started as a subprocess) ---------------

    def _control(self, body: bytes) -> None:
        appliance = self.server.appliance
        path, query = split_target(self.path)
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        route = (self.command, path.rstrip("/"))
        try:
            data: Any = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError:
            self._send_json(400, {"error": "body is not valid JSON"})
            return
        try:
            result = self._control_route(appliance, route, params, data)
        except (KeyError, ValueError, TypeError, FaultError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            self._send_json(400, {"error": str(message)})
            return
        if result is None:
            self._send_json(404, {"error": f"no control endpoint {route[0]} {route[1]}"})
            return
        self._send_json(200, result)

    @staticmethod
    def _control_route(appliance: Appliance, route: tuple[str, str], params: dict[str, str],
                       data: Any) -> Any:
        method = route[0]
        partition = params.get("partition", "default")
        if route == ("GET", "/_mock/counters"):
            return appliance.counters
        if route == ("GET", "/_mock/log"):
            return appliance.request_log
        if route == ("GET", "/_mock/config"):
            return appliance.config(partition)
        if route == ("GET", "/_mock/saved-config"):
            return appliance.saved_config(partition)
        if route == ("GET", "/_mock/faults"):
            return appliance.faults.snapshot()
        if route == ("DELETE", "/_mock/faults"):
            appliance.faults.clear()
            return appliance.faults.snapshot()
        if route == ("POST", "/_mock/faults"):
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object of fault name -> setting")
            for name, value in data.items():
                appliance.faults.set(name, value)
            return appliance.faults.snapshot()
        if route == ("GET", "/_mock/ha"):
            return {"state": appliance.ha_state}
        if route == ("POST", "/_mock/ha"):
            if not isinstance(data, dict) or not isinstance(data.get("state"), str):
                raise ValueError('expected {"state": "Primary" | "Secondary"}')
            appliance.set_ha_state(data["state"])
            return {"state": appliance.ha_state}
        if route == ("POST", "/_mock/set"):
            if not isinstance(data, dict) or not isinstance(data.get("attrs"), dict):
                raise ValueError('expected {"resource", "name", "attrs", "partition"?}')
            appliance.set_attribute(str(data["resource"]), data.get("name"), data["attrs"],
                                    str(data.get("partition", "default")))
            return {"ok": True}
        if route == ("POST", "/_mock/reset-counters"):
            appliance.reset_counters()
            return {"ok": True}
        if route == ("POST", "/_mock/kill-sessions"):
            return {"killed": appliance.kill_sessions()}
        if method not in ("GET", "POST", "DELETE"):
            raise ValueError(f"method {method} not supported here")
        return None


class MockServer:
    """Serve an Appliance over HTTP on a loopback address; a context manager."""

    def __init__(self, appliance: Appliance, host: str = "127.0.0.1", port: int = 0) -> None:
        self.appliance = appliance
        self.host = check_loopback(host)
        self._requested_port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = self.url if self._httpd is not None else "stopped"
        return f"MockServer({state})"

    def start(self) -> MockServer:
        if self._httpd is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._httpd = _HTTPServer((self.host, self._requested_port), self.appliance, family)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"nitro-mock-{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the mock server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
