"""The same appliance read two ways, as NITRO records and as its running-configuration text,
gives the same audit and the same plan: for every mock scenario, partition by partition, and
for configurations changed at random."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocks.fixtures import RunningMock, start_mock
from nsfix.canonical import jsonable
from nsfix.findings import Severity, TargetAudit
from nsfix.inventory import RUNNING_CONFIG, collect
from nsfix.model import DEFAULT_PARTITION, Snapshot, build_snapshot
from nsfix.nitro import Credentials, NitroClient
from nsfix.nscli.config import BUILTIN_MONITORS, RUNTIME, parse_config, snapshot_from_config
from nsfix.operations import make_plan, run_audit
from nsfix.planfile import plan_document
from nsfix.planner import PlanOptions
from nsfix.reports.audit import audit_document
from nsfix.shell import load_playbooks

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "mocks" / "scenarios").glob("*.json"))
BOOKS = load_playbooks([])
TODAY = date(2026, 1, 1)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def read_both(mock: RunningMock, partition: str) -> tuple[Snapshot, str]:
    """The partition as inventory reads it, and its `nsrunningconfig` text, in one session."""
    user, password = next(iter(mock_users(mock).items()))
    with NitroClient(mock.url, Credentials(user, password), verify=False) as client:
        snapshot = collect(
            client, url=mock.url, partition=partition, running_config=True, keep_raw=True
        )
    text = snapshot.extra[RUNNING_CONFIG]
    assert isinstance(text, str)
    return snapshot, text


def mock_users(mock: RunningMock) -> Mapping[str, str]:
    return {"nsroot": "nsroot"}


def configuration_only(raw: Mapping[str, Any]) -> dict[str, Any]:
    """NITRO records without what a configuration text cannot say (the state at read time)."""
    out: dict[str, Any] = {}
    for resource, records in raw.items():
        drop = RUNTIME.get(resource, frozenset())
        if isinstance(records, list):
            out[resource] = [
                {k: v for k, v in r.items() if k not in drop} if isinstance(r, dict) else r
                for r in records
            ]
        elif isinstance(records, dict):
            out[resource] = {k: v for k, v in records.items() if k not in drop}
        else:
            out[resource] = records
    return out


def outcome(snapshot: Snapshot) -> tuple[Any, Any]:
    """The audit document and the plan document, without where and when they were made."""
    result = run_audit(snapshot, BOOKS, (), None, today=TODAY)
    target = TargetAudit("appliance", snapshot.appliance.partition, snapshot, result)
    audit = audit_document([target], fail_on=Severity.WARNING, generated_at=WHEN)
    plan = plan_document(replace(make_plan(snapshot, result, None, PlanOptions()), created_at=WHEN))
    for entry in audit["targets"]:
        entry.pop("appliance", None)
    for key in ("target", "snapshot_digest", "created_at", "digest"):
        plan.get("plan", plan).pop(key, None)
        plan.pop(key, None)
    return audit, plan


def snapshots_of(
    mock: RunningMock, partition: str, appliance: Mapping[str, Any] | None
) -> tuple[Snapshot, Snapshot, Snapshot]:
    """From NITRO (as read), from NITRO without runtime state, from the running config."""
    nitro, text = read_both(mock, partition)
    parsed = parse_config(text, "running.conf")
    assert parsed.problems == ()
    assert parsed.ignored == ()
    from_text = snapshot_from_config(
        parsed, source="running.conf", partition=partition, collected_at=WHEN, appliance=appliance
    )
    # The text of the same appliance, named as the appliance (messages name their source).
    from_text = replace(from_text, appliance=replace(from_text.appliance, url=nitro.appliance.url))
    config_only = build_snapshot(
        configuration_only(nitro.extra["raw"]),
        url=nitro.appliance.url,
        partition=partition,
        collected_at=WHEN,
    )
    return nitro, config_only, from_text


def comparable(snapshot: Snapshot) -> dict[str, Any]:
    """Everything a snapshot says about the configuration, in plain data."""
    facts = snapshot.appliance
    return jsonable(
        {
            "release": facts.release,
            "hostname": facts.hostname,
            "ha": (facts.ha_role, facts.ha_peers, facts.ha_primary),
            "partitions": facts.partitions,
            "modes": snapshot.modes,
            "snips": snapshot.snips,
            "vservers": snapshot.vservers,
            "services": snapshot.services,
            "servicegroups": snapshot.servicegroups,
            "servers": snapshot.servers,
            # A text has no line for built-in monitors: every partition has them all.
            "monitors": {k: v for k, v in snapshot.monitors.items() if k not in BUILTIN_MONITORS},
            "csvservers": snapshot.csvservers,
            "defects": snapshot.defects,
        }
    )


def partitions_of(path: Path) -> Iterator[tuple[Path, str]]:
    mock = start_mock(path)
    try:
        names = mock.appliance.partitions
    finally:
        mock.stop()
    for name in names:
        yield path, name


CASES = [case for path in SCENARIOS for case in partitions_of(path)]


@pytest.mark.parametrize(("path", "partition"), CASES, ids=[f"{p.stem}-{n}" for p, n in CASES])
def test_nitro_records_and_running_config_audit_and_plan_alike(path: Path, partition: str) -> None:
    mock = start_mock(path)
    try:
        appliance = None
        if partition != DEFAULT_PARTITION:
            # A partition's text has no appliance-wide lines: the default partition's lends them.
            _, default_text = read_both(mock, DEFAULT_PARTITION)
            appliance = parse_config(default_text).records
        nitro, config_only, from_text = snapshots_of(mock, partition, appliance)
    finally:
        mock.stop()
    assert comparable(from_text) == comparable(config_only)
    assert {m: from_text.monitors[m] for m in config_only.monitors} == config_only.monitors
    assert outcome(from_text) == outcome(config_only)
    # What is found does not depend on the runtime state either: the same findings, by object.
    live_audit, _ = outcome(nitro)
    text_audit, _ = outcome(from_text)
    assert [
        (f["rule"], f["object_text"]) for t in text_audit["targets"] for f in t["findings"]
    ] == [(f["rule"], f["object_text"]) for t in live_audit["targets"] for f in t["findings"]]


SETTINGS = {
    "service": {
        "usip": ["YES", "NO"],
        "useproxyport": ["YES", "NO"],
        "state": ["ENABLED", "DISABLED"],
    },
    "servicegroup": {"usip": ["YES", "NO"], "useproxyport": ["YES", "NO"]},
    "lbvserver": {"m": ["IP", "MAC", "IPTUNNEL"], "sessionless": ["ENABLED", "DISABLED"]},
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_changed_configurations_read_alike_both_ways(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(SCENARIOS), label="scenario")
    mock = start_mock(path)
    try:
        config = mock.appliance.config()
        for _ in range(data.draw(st.integers(1, 4), label="changes")):
            resource = data.draw(st.sampled_from(sorted(SETTINGS)), label="resource")
            key = "servicegroupname" if resource == "servicegroup" else "name"
            names = [r[key] for r in config.get(resource, [])]
            if not names:
                continue
            name = data.draw(st.sampled_from(names), label="object")
            attribute = data.draw(st.sampled_from(sorted(SETTINGS[resource])), label="attribute")
            value = data.draw(st.sampled_from(SETTINGS[resource][attribute]), label="value")
            mock.appliance.set_attribute(resource, name, {attribute: value})
        _, config_only, from_text = snapshots_of(mock, DEFAULT_PARTITION, None)
    finally:
        mock.stop()
    assert comparable(from_text) == comparable(config_only)
    assert outcome(from_text) == outcome(config_only)
