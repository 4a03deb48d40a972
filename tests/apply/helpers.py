"""Shared pieces for the apply/rollback tests: an in-process nsfix runner, mocks, comparisons.

Test modules import the fixtures they use from here (`nsfix_fixture`, `appliance_fixture`,
`journal_dir_fixture`); they register under the names `nsfix`, `appliance` and `journal_dir`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from mocks.appliance import Appliance
from mocks.fixtures import MockFactory, RunningMock
from nsfix.cli import main
from tests.support import Run, load_scenario, with_user

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "mocks" / "scenarios"
USER = "change-operator"
# Distinctive, so that "the password appears nowhere" can actually fail.
PASSWORD = "Zq7;apply/Secret&4417-x"
# nsconfig fields the appliance computes from the clock and its change flag: a rollback restores
# the configuration, not the time it was last changed.
RUNTIME_FIELDS = frozenset(
    {"configchanged", "lastconfigchangedtime", "lastconfigsavetime", "currentsytemtime"}
)


def scenario(name: str) -> dict[str, Any]:
    return load_scenario(name, USER, PASSWORD)


def with_users(data: dict[str, Any]) -> dict[str, Any]:
    return with_user(data, USER, PASSWORD)


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or with None, remove) environment variables; put them back afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_main(args: list[str], env: Mapping[str, str | None]) -> Run:
    """Run `nsfix ARGS` in this process with its own stdout/stderr (log output included)."""
    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger("nsfix")
    handlers, level = list(logger.handlers), logger.level
    code: int | str | None = None
    try:
        with (
            environment(env),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                main(args)
            except SystemExit as exc:
                code = exc.code
    finally:
        # main() configures the nsfix logger for a whole process; give it back as it was.
        logger.handlers[:] = handlers
        logger.setLevel(level)
    return Run(
        code if isinstance(code, int) else (0 if code is None else 1),
        out.getvalue(),
        err.getvalue(),
    )


def cli_env(journal_dir: Path, url: str | None = None) -> dict[str, str | None]:
    return {
        "NSFIX_USER": USER,
        "NSFIX_PASSWORD": PASSWORD,
        "NSFIX_PASSWORD_FILE": None,
        "NSFIX_URL": url,
        "NSFIX_JOURNAL_DIR": str(journal_dir),
        "XDG_STATE_HOME": str(journal_dir.parent / "state"),
    }


Nsfix = Callable[..., Run]
StartAppliance = Callable[..., RunningMock]


@pytest.fixture(name="journal_dir")
def journal_dir_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Journals (and nsfix's lock files, next to them) live under tmp_path, never in $HOME."""
    folder = tmp_path / "journals"
    monkeypatch.setenv("NSFIX_JOURNAL_DIR", str(folder))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return folder


@pytest.fixture(name="nsfix")
def nsfix_fixture(journal_dir: Path) -> Nsfix:
    """`nsfix(*args, url=...)` runs the CLI in-process; `url` sets NSFIX_URL for that run."""

    def run(*args: str, url: str | None = None) -> Run:
        return run_main(list(args), cli_env(journal_dir, url))

    return run


@pytest.fixture(name="appliance")
def appliance_fixture(mock_appliance_factory: MockFactory) -> StartAppliance:
    def start(name: str = "seed-incident", **faults: Any) -> RunningMock:
        return mock_appliance_factory(scenario(name), **faults)

    return start


def comparable(config: Mapping[str, Any]) -> dict[str, Any]:
    """A partition's configuration without the nsconfig fields that only record time/state."""
    out = json.loads(json.dumps(config))
    if isinstance(out.get("nsconfig"), dict):
        for name in RUNTIME_FIELDS:
            out["nsconfig"].pop(name, None)
    return dict(out)


def whole_config(appliance: Appliance) -> dict[str, Any]:
    """Every partition's running configuration, comparable."""
    return {p: comparable(appliance.config(p)) for p in appliance.partitions}


def config_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Human-readable differences, so a failing comparison says which object moved."""
    lines: list[str] = []
    for partition in sorted(set(before) | set(after)):
        a, b = before.get(partition, {}), after.get(partition, {})
        for resource in sorted(set(a) | set(b)):
            if a.get(resource) == b.get(resource):
                continue
            left, right = a.get(resource), b.get(resource)
            if isinstance(left, list) and isinstance(right, list):
                for x in left:
                    if x not in right:
                        lines.append(f"{partition}/{resource}: was {x}")
                for y in right:
                    if y not in left:
                        lines.append(f"{partition}/{resource}: now {y}")
            else:
                lines.append(f"{partition}/{resource}: {left} -> {right}")
    return lines


def assert_same_config(before: Mapping[str, Any], appliance: Appliance) -> None:
    after = whole_config(appliance)
    assert after == before, "configuration not restored:\n" + "\n".join(config_diff(before, after))


def journal_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl")) if folder.exists() else []


def only_journal(folder: Path) -> Path:
    files = journal_files(folder)
    assert len(files) == 1, files
    return files[0]


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def outcomes(path: Path, phase: str) -> dict[str, str]:
    """change id -> the last outcome the journal recorded for it in this phase."""
    found: dict[str, str] = {}
    for record in records(path):
        if record["type"] == "result" and record.get("phase") == phase:
            for change in named(record):
                found[change] = record["outcome"]
    return found


def named(record: Mapping[str, Any]) -> list[str]:
    """The changes an intent or result record names (a batch's, or one in a version 1 journal)."""
    return list(record["changes"]) if "changes" in record else [record["change"]]


def step_outcomes(document: Mapping[str, Any]) -> dict[str, str]:
    """From a --json result: change id -> outcome."""
    return {step["change"]: step["outcome"] for step in document["steps"]}


def make_plan(nsfix: Nsfix, url: str, path: Path, *extra: str) -> dict[str, Any]:
    run = nsfix("plan", "-o", str(path), *extra, url=url)
    assert run.code == 0, run.err
    document: dict[str, Any] = json.loads(path.read_text())
    return document
