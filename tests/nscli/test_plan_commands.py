"""A real plan, pasted as CLI commands, makes the configuration that nsfix apply's NITRO writes
make: for every mock scenario and partition, the running configuration after the executor's
requests reads the same as the configuration before with `nsfix plan --format cli` pasted in;
the rollback commands give the configuration back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mocks.fixtures import RunningMock, start_mock
from nsfix.executor import request_for
from nsfix.journal import Phase
from nsfix.model import DEFAULT_PARTITION, Snapshot
from nsfix.nitro import Credentials, NitroClient
from nsfix.nscli.config import parse_config, snapshot_from_config
from nsfix.operations import make_plan, run_audit
from nsfix.planfile import plan_file as sealed_plan
from nsfix.planner import Plan, PlanOptions
from nsfix.reports.plan_cli import ROLLBACK_MARK, render_plan_cli, rollback_commands
from tests.nscli.test_running_config_equivalence import (
    BOOKS,
    CASES,
    WHEN,
    comparable,
    read_both,
)

ALL_SHAPES = PlanOptions(bind_monitor=True, dedicated_copies=True)


def from_text(text: str, partition: str, appliance: Mapping[str, Any] | None) -> Snapshot:
    parsed = parse_config(text, "running.conf")
    assert parsed.problems == ()
    return snapshot_from_config(
        parsed, source="running.conf", partition=partition, collected_at=WHEN, appliance=appliance
    )


def configuration(snapshot: Snapshot) -> Any:
    """What a configuration text says, without where it was read from."""
    facts = comparable(snapshot)
    facts.pop("defects")
    return facts


def running_config(mock: RunningMock, partition: str) -> tuple[str, Mapping[str, Any] | None]:
    """A partition's running configuration, and the appliance-wide records its snapshot
    borrows from the default partition's."""
    appliance = None
    if partition != DEFAULT_PARTITION:
        appliance = parse_config(read_both(mock, DEFAULT_PARTITION)[1]).records
    return read_both(mock, partition)[1], appliance


def plan_of(snapshot: Snapshot) -> Plan:
    result = run_audit(snapshot, BOOKS, (), None)
    return replace(make_plan(snapshot, result, None, ALL_SHAPES), created_at=WHEN)


@pytest.mark.parametrize(("path", "partition"), CASES, ids=[f"{p.stem}-{n}" for p, n in CASES])
def test_pasted_commands_make_what_apply_makes(path: Path, partition: str) -> None:
    mock = start_mock(path)
    try:
        before, appliance = running_config(mock, partition)
        the_plan = plan_of(from_text(before, partition, appliance))
        pasted = render_plan_cli(the_plan, digest=sealed_plan(the_plan).digest)
        with NitroClient(mock.url, Credentials("nsroot", "nsroot"), verify=False) as client:
            if partition != DEFAULT_PARTITION:
                client.switch_partition(partition)
            for change in the_plan.changes:
                [result] = client.writer().send(request_for([change], Phase.APPLY))
                assert result.ok, (change.id, result)
        _, after = read_both(mock, partition)
    finally:
        mock.stop()
    applied = from_text(after, partition, appliance)
    assert configuration(from_text(before + pasted, partition, appliance)) == configuration(applied)
    # The rollback, as the text gives it (last, commented out), undoes every change.
    lines = pasted.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("# Rollback")]
    if not the_plan.changes:
        assert starts == []
        return
    [start] = starts
    rollback = [line.removeprefix(ROLLBACK_MARK) for line in lines[start + 1 :]]
    assert rollback == rollback_commands(the_plan)
    undone = before + pasted + "".join(f"{line}\n" for line in rollback)
    assert configuration(from_text(undone, partition, appliance)) == configuration(
        from_text(before, partition, appliance)
    )


def test_the_scenarios_plan_every_kind_of_command() -> None:
    """The test above sees these commands, the scenarios' plans among them (a copy of a service
    group and its member bindings come up in none: tests/nscli/test_commands.py covers them)."""
    seen: set[str] = set()
    for path, partition in CASES:
        mock = start_mock(path)
        try:
            before, appliance = running_config(mock, partition)
        finally:
            mock.stop()
        the_plan = plan_of(from_text(before, partition, appliance))
        text = render_plan_cli(the_plan, digest="sha256:0")
        seen |= {" ".join(line.split()[:2]) for line in text.splitlines() if line[:1] != "#"}
    assert {
        "switch ns",
        "set service",
        "set serviceGroup",
        "add service",
        "bind service",
        "bind lb",
        "unbind lb",
    } <= seen
