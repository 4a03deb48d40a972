"""The mock Console itself: login shapes, sessions, forwarding, `python -m mocks --console`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from mocks.console import RunningConsole
from nsfix.nitro import Credentials, ManagedInstance, NitroClient
from tests.apply.helpers import ROOT
from tests.console.conftest import (
    APPLIANCE_PASSWORD,
    APPLIANCE_USER,
    CONSOLE_PASSWORD,
    CONSOLE_USER,
    EDGE_01,
)

IP = "_MPS_API_PROXY_MANAGED_INSTANCE_IP"


def _login(console: RunningConsole, **kwargs: Any) -> requests.Response:
    return requests.post(f"{console.url}/nitro/v1/config/login", timeout=5, **kwargs)


def test_login_as_json_or_legacy_form_answers_a_login_record_and_a_sessid_cookie(
    console: RunningConsole,
) -> None:
    credentials = {"login": {"username": CONSOLE_USER, "password": CONSOLE_PASSWORD}}
    as_json = _login(console, json=credentials)
    assert as_json.status_code == 200
    token = as_json.json()["login"][0]["sessionid"]
    assert as_json.cookies["SESSID"] == token
    as_form = requests.post(
        f"{console.url}/nitro/v2/config/login",
        data={"object": json.dumps(credentials)},
        timeout=5,
    )
    assert as_form.status_code == 200
    assert as_form.json()["login"][0]["sessionid"] != token
    wrong = _login(console, json={"login": {"username": CONSOLE_USER, "password": "x"}})
    assert wrong.status_code == 401
    assert wrong.json()["errorcode"] == 354


def test_a_request_needs_a_console_session_and_an_instance_header(console: RunningConsole) -> None:
    nsversion = f"{console.url}/nitro/v1/config/nsversion"
    none = requests.get(nsversion, headers={IP: EDGE_01}, timeout=5)
    assert none.status_code == 401
    assert none.json()["errorcode"] == 444
    token = _login(
        console, json={"login": {"username": CONSOLE_USER, "password": CONSOLE_PASSWORD}}
    ).json()["login"][0]["sessionid"]
    for cookie in (f"SESSID={token}", f"NITRO_AUTH_TOKEN={token}"):
        proxied = requests.get(nsversion, headers={IP: EDGE_01, "Cookie": cookie}, timeout=5)
        assert proxied.status_code == 200
        assert proxied.json()["nsversion"]
    own = requests.get(nsversion, headers={"Cookie": f"SESSID={token}"}, timeout=5)
    assert own.status_code == 400
    # Console's own instance credentials can be replaced per request; wrong ones are refused.
    refused = requests.get(
        nsversion,
        headers={
            IP: EDGE_01,
            "Cookie": f"SESSID={token}",
            "_MPS_API_PROXY_MANAGED_INSTANCE_USERNAME": APPLIANCE_USER,
            "_MPS_API_PROXY_MANAGED_INSTANCE_PASSWORD": "not-" + APPLIANCE_PASSWORD,
        },
        timeout=5,
    )
    assert refused.status_code == 502
    logout = requests.post(
        f"{console.url}/nitro/v1/config/logout",
        json={"logout": {}},
        headers={"Cookie": f"SESSID={token}"},
        timeout=5,
    )
    assert logout.status_code == 200
    gone = requests.get(nsversion, headers={IP: EDGE_01, "Cookie": f"SESSID={token}"}, timeout=5)
    assert gone.status_code == 401


def test_sessions_that_expire_on_either_side_are_renewed(console: RunningConsole) -> None:
    client = NitroClient(
        console.url,
        Credentials(CONSOLE_USER, CONSOLE_PASSWORD),
        via_console=ManagedInstance("ip", EDGE_01),
        sleep=lambda seconds: None,
    )
    with client:
        first = client.get("service")
        # Console's session with the instance ends: Console logs in to the instance again.
        console.appliances["edge-01"].appliance.kill_sessions()
        assert client.get("service") == first
        # nsfix's session with Console ends: nsfix logs in to Console again, once.
        console.console.kill_sessions()
        assert client.get("service") == first
        assert client.stats().relogins == 1
    proxied = [e for e in console.console.log if e["instance"] is not None]
    assert all(e["instance"] == ("ip", EDGE_01) for e in proxied)
    assert console.console.active_sessions == 0


def test_python_m_mocks_console_serves_until_sigterm(tmp_path: Path) -> None:
    scenario = tmp_path / "edge.json"
    scenario.write_text(
        json.dumps({"_mock": {"users": {APPLIANCE_USER: APPLIANCE_PASSWORD}}}), encoding="utf-8"
    )
    spec = tmp_path / "console.json"
    spec.write_text(
        json.dumps(
            {
                "users": {CONSOLE_USER: CONSOLE_PASSWORD},
                "instances": [
                    {"name": "edge-01", "ip": EDGE_01, "id": "1", "scenario": "edge.json"},
                    {"name": "seed", "ip": "127.0.1.20", "scenario": "seed-incident"},
                    {"name": "dark", "ip": "127.0.1.30", "unreachable": True},
                ],
            }
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "mocks", "--console", str(spec), "--port", "0"],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        lines = [process.stdout.readline().strip() for _ in range(3)]
        assert url.startswith("http://127.0.0.1:")
        assert lines[0].startswith(f"instance edge-01 ip {EDGE_01} id 1 -> http://127.0.0.1:")
        token = requests.post(
            f"{url}/nitro/v1/config/login",
            json={"login": {"username": CONSOLE_USER, "password": CONSOLE_PASSWORD}},
            timeout=5,
        ).json()["login"][0]["sessionid"]
        seed = requests.get(
            f"{url}/nitro/v1/config/lbvserver",
            headers={IP: "127.0.1.20", "Cookie": f"SESSID={token}"},
            timeout=5,
        )
        assert seed.status_code == 200
        assert seed.json()["lbvserver"]
        dark = requests.get(
            f"{url}/nitro/v1/config/nsversion",
            headers={IP: "127.0.1.30", "Cookie": f"SESSID={token}"},
            timeout=5,
        )
        assert dark.status_code == 503
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_python_m_mocks_console_says_what_is_wrong_with_its_file(tmp_path: Path) -> None:
    spec = tmp_path / "console.json"
    spec.write_text(json.dumps({"users": {}, "instances": []}), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mocks", "--console", str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "expected" in done.stderr
    assert "Traceback" not in done.stderr
