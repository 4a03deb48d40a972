"""Run the nsfix CLI in-process against mock appliances, with credentials from the environment."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mocks.fixtures import MockFactory, RunningMock
from nsfix.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "mocks" / "scenarios"
USER = "auditor"
PASSWORD = "Pw;with/odd&chars-7731"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def scenario(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCENARIOS / f"{name}.json").read_text())
    # A password that is not the user name, so "no secret in any output" can fail.
    data.setdefault("_mock", {})["users"] = {USER: PASSWORD}
    return data


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
