"""A mock NetScaler Console fronting three mock appliances, and nsfix run with Console's login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mocks.console import RunningConsole
from mocks.fixtures import ConsoleFactory
from tests.apply.helpers import journal_dir_fixture, run_main
from tests.cli.conftest import no_backoff
from tests.support import Run, load_scenario

CONSOLE_USER = "console-operator"
# Distinctive, so that "the password appears nowhere" can actually fail.
CONSOLE_PASSWORD = "Cq5;console/Secret&8812-z"
APPLIANCE_USER = "adm-profile"
APPLIANCE_PASSWORD = "Ap9;instance/Secret&3301-y"
# Loopback addresses where nothing listens: a request sent straight to an instance would fail
# at once instead of going anywhere, so a command that succeeds went through Console.
EDGE_01 = "127.0.1.10"
EDGE_02 = "127.0.1.11"
DARK_03 = "127.0.1.12"


def instances() -> list[dict[str, Any]]:
    return [
        {
            "name": "edge-01",
            "ip": EDGE_01,
            "id": "101",
            "scenario": load_scenario("seed-incident", APPLIANCE_USER, APPLIANCE_PASSWORD),
        },
        {
            "name": "edge-02",
            "ip": EDGE_02,
            "id": "102",
            "scenario": load_scenario("healthy", APPLIANCE_USER, APPLIANCE_PASSWORD),
        },
        {"name": "dark-03", "ip": DARK_03, "id": "103", "unreachable": True},
    ]


@pytest.fixture
def console(mock_console_factory: ConsoleFactory) -> RunningConsole:
    return mock_console_factory(instances(), {CONSOLE_USER: CONSOLE_PASSWORD})


@pytest.fixture(autouse=True)
def quick_retries(no_backoff: None) -> None:
    """Console's "unreachable" is retried like any 503; the tests need the message, not the wait."""


@pytest.fixture
def nsfix(journal_dir: Path) -> Any:
    """`nsfix(*args, password=...)` in-process, logged in as Console's user."""

    def run(*args: str, password: str = CONSOLE_PASSWORD) -> Run:
        return run_main(
            list(args),
            {
                "NSFIX_USER": CONSOLE_USER,
                "NSFIX_PASSWORD": password,
                "NSFIX_PASSWORD_FILE": None,
                "NSFIX_URL": None,
                "NSFIX_VIA_CONSOLE": None,
                "NSFIX_JOURNAL_DIR": str(journal_dir),
                "XDG_STATE_HOME": str(journal_dir.parent / "state"),
            },
        )

    return run


def console_plan(nsfix: Any, console: RunningConsole, tmp_path: Path) -> Path:
    """The plan for edge-01, made through Console."""
    plan = tmp_path / "plan.json"
    made = nsfix(
        "plan", "--url", f"https://{EDGE_01}", "--via-console", console.url, "-o", str(plan)
    )
    assert made.code == 0, made.err
    assert CONSOLE_PASSWORD not in made.out + made.err + plan.read_text()
    return plan


__all__ = ["journal_dir_fixture", "no_backoff"]
