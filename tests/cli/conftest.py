"""Run the nsfix CLI in-process against mock appliances, with credentials from the environment."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mocks.fixtures import MockFactory, RunningMock
from nsfix import shell
from nsfix.cli import main
from nsfix.nitro import NitroClient
from nsfix.settings import Target
from tests.support import Run, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "mocks" / "scenarios"
USER = "auditor"
PASSWORD = "Pw;with/odd&chars-7731"


def scenario(name: str) -> dict[str, Any]:
    return load_scenario(name, USER, PASSWORD)


@pytest.fixture
def appliance(mock_appliance_factory: MockFactory) -> Callable[..., RunningMock]:
    def start(name: str = "seed-incident", **faults: Any) -> RunningMock:
        return mock_appliance_factory(scenario(name), **faults)

    return start


@pytest.fixture
def nsfix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    def run(*args: str, url: str | None = None, password: str = PASSWORD) -> Run:
        monkeypatch.setenv("NSFIX_USER", USER)
        monkeypatch.setenv("NSFIX_PASSWORD", password)
        monkeypatch.delenv("NSFIX_PASSWORD_FILE", raising=False)
        if url is not None:
            monkeypatch.setenv("NSFIX_URL", url)
        capsys.readouterr()
        logger = logging.getLogger("nsfix")
        # main() configures the nsfix logger for a process; give it back as it was.
        monkeypatch.setattr(logger, "handlers", list(logger.handlers))
        monkeypatch.setattr(logger, "level", logger.level)
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        captured = capsys.readouterr()
        code = exit_info.value.code
        return Run(int(code) if isinstance(code, int) else 1, captured.out, captured.err)

    return run


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client backs off between connection attempts to a down appliance; tests need the
    outcome, not the wait."""
    real = shell.open_client

    def no_wait(target: Target, timeout: float, user_agent: str) -> NitroClient:
        client = real(target, timeout, user_agent)
        client._sleep = lambda seconds: None
        return client

    monkeypatch.setattr(shell, "open_client", no_wait)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
