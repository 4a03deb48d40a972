"""Pytest fixtures that start mock appliances and mock Consoles on loopback, stopped after."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from mocks.appliance import Appliance
from mocks.console import RunningConsole, start_console
from mocks.server import MockServer

ScenarioSource = Mapping[str, Any] | str | Path


@dataclass
class RunningMock:
    """A mock appliance being served: its base URL, its state machine and its server."""

    url: str
    appliance: Appliance
    server: MockServer

    def stop(self) -> None:
        self.server.stop()


class MockFactory(Protocol):
    def __call__(self, scenario: ScenarioSource | None = None, **faults: Any) -> RunningMock: ...


def start_mock(scenario: ScenarioSource | None = None, **faults: Any) -> RunningMock:
    """Start one mock appliance (the caller stops it); faults as in `Faults.configure`."""
    appliance = Appliance.from_scenario(scenario) if scenario is not None else Appliance()
    if faults:
        appliance.faults.configure(**faults)
    server = MockServer(appliance).start()
    return RunningMock(server.url, appliance, server)


@pytest.fixture
def mock_appliance_factory() -> Iterator[MockFactory]:
    """Yield `start(scenario, **faults) -> RunningMock`; every mock started is stopped after."""
    started: list[RunningMock] = []

    def start(scenario: ScenarioSource | None = None, **faults: Any) -> RunningMock:
        running = start_mock(scenario, **faults)
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        running.stop()


class ConsoleFactory(Protocol):
    def __call__(
        self, instances: Sequence[Mapping[str, Any]], users: Mapping[str, str]
    ) -> RunningConsole: ...


@pytest.fixture
def mock_console_factory() -> Iterator[ConsoleFactory]:
    """Yield `start(instances, users) -> RunningConsole` (see mocks.console.start_console):
    a mock NetScaler Console fronting mock appliances; all are stopped after the test."""
    started: list[RunningConsole] = []

    def start(instances: Sequence[Mapping[str, Any]], users: Mapping[str, str]) -> RunningConsole:
        running = start_console(instances, users)
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        running.stop()
