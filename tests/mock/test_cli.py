"""`python -m mocks`: URL first on stdout, clean exit on SIGTERM, loopback only, clear errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mocks.__main__ import parse_generate
from mocks.appliance import Appliance
from mocks.server import MockServer
from tests.mock.conftest import BASIC

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(BASIC), encoding="utf-8")
    return path


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mocks", *args], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


@pytest.fixture
def served(scenario_file: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = _spawn("--scenario", str(scenario_file), "--port", "0", "--fault", "fail_write=1")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_prints_url_first_serves_and_exits_cleanly_on_sigterm(
        served: tuple[subprocess.Popen[str], str]) -> None:
    proc, url = served
    assert url.startswith("http://127.0.0.1:")
    headers = {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"}
    reply = requests.get(f"{url}/nitro/v1/config/lbvserver", headers=headers, timeout=10)
    assert len(reply.json()["lbvserver"]) == 3
    # --fault armed at start: the first write fails.
    write = requests.put(f"{url}/nitro/v1/config/service", headers=headers, timeout=10,
                         json={"service": {"name": "svc_web", "usip": "YES"}})
    assert write.status_code == 599
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == ""  # nothing after the URL
    assert err == ""  # quiet: no per-request noise


def test_sigint_also_exits_zero(scenario_file: Path) -> None:
    proc = _spawn("--scenario", str(scenario_file))
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("http://127.0.0.1:")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 0


# The wildcard address is exactly what must be refused.
@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])  # noqa: S104
def test_refuses_non_loopback_hosts(scenario_file: Path, host: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mocks", "--scenario", str(scenario_file), "--host", host],
        cwd=ROOT, text=True, capture_output=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "refusing to listen" in result.stderr


def test_bad_scenario_and_bad_fault_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mocks", "--scenario", str(broken)],
        cwd=ROOT, text=True, capture_output=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    assert "broken.json: invalid JSON at line 1" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "mocks", "--scenario", str(broken).replace("broken", "absent")],
        cwd=ROOT, text=True, capture_output=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    assert "cannot read scenario" in result.stderr
    good = tmp_path / "good.json"
    good.write_text("{}", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mocks", "--scenario", str(good), "--fault", "explode=1"],
        cwd=ROOT, text=True, capture_output=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    assert "unknown fault 'explode'" in result.stderr


def test_generate_builds_the_appliance_from_mocks_generate() -> None:
    generate = pytest.importorskip("mocks.generate").generate
    expected = len(generate(services=20)["service"])
    proc = _spawn("--generate", "services=20")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
        reply = requests.get(f"{url}/nitro/v1/config/service?count=yes", timeout=10,
                             headers={"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"})
        assert reply.json()["service"] == [{"__count": expected}]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_ipv6_loopback_is_allowed() -> None:
    appliance = Appliance()
    try:
        server = MockServer(appliance, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert server.url.startswith("http://[::1]:")
        reply = requests.get(f"{server.url}/nitro/v1/config/nsversion", timeout=10,
                             headers={"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"})
        assert reply.status_code == 200
    finally:
        server.stop()
    with pytest.raises(ValueError, match="refusing"):
        MockServer(appliance, host="192.0.2.1")


def test_parse_generate() -> None:
    assert parse_generate("services=5000,vservers=500,dsr_fraction=0.5,seed=3") == {
        "services": 5000, "vservers": 500, "dsr_fraction": 0.5, "seed": 3}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_generate("services")
