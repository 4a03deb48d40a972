"""`--since`: new, resolved and unchanged findings between runs, and the state file."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mocks.fixtures import MockFactory
from nsfix.findings import TargetAudit, Waiver
from nsfix.fleet import audit_one_factory, fleet_targets, load_fleet, run_fleet
from nsfix.model import build_snapshot
from nsfix.operations import run_audit
from nsfix.shell import InputError, load_playbooks
from nsfix.since import (
    SCHEMA,
    FindingKey,
    change_document,
    compare,
    read_state,
    render_change_text,
    state_document,
    write_state,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "mocks" / "scenarios"
URL = "https://adc1.example.net"
OTHER = "https://adc2.example.net"
T1 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
T2 = T1 + timedelta(days=1)
T3 = T2 + timedelta(days=1)
PLAYBOOKS = load_playbooks([])


def raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCENARIOS / f"{name}.json").read_text())
    return data


def fixed(data: dict[str, Any], service: str) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for record in out["service"]:
        if record["name"] == service:
            record.update(usip="YES", useproxyport="NO")
    return out


def audited(
    data: dict[str, Any],
    url: str = URL,
    partition: str = "default",
    waivers: tuple[Waiver, ...] = (),
) -> TargetAudit:
    snapshot = build_snapshot(data, url=url, partition=partition, collected_at=T1)
    result = run_audit(snapshot, PLAYBOOKS, waivers, None, today=date(2025, 3, 1))
    return TargetAudit(url, partition, snapshot, result)


def down(url: str = URL, partition: str = "default") -> TargetAudit:
    return TargetAudit(url, partition, None, None, f"{url}: cannot reach the appliance")


ATTRIBUTE = {"DSR-USIP": "usip", "DSR-PROXYPORT": "useproxyport"}


def key(rule: str, service: str, url: str = URL) -> FindingKey:
    return FindingKey(url, "default", rule, f"service/{service}", ATTRIBUTE[rule])


SVC1 = [key("DSR-PROXYPORT", "svc_app_01"), key("DSR-USIP", "svc_app_01")]
SVC2 = [key("DSR-PROXYPORT", "svc_app_02"), key("DSR-USIP", "svc_app_02")]


def test_without_a_previous_state_every_finding_is_new() -> None:
    state = state_document([audited(raw("seed-incident"))], T1)
    assert state["schema"] == SCHEMA
    assert state["schema_version"] == 1
    change = compare(None, state)
    assert change.new == tuple(sorted([*SVC1, *SVC2]))
    assert change.resolved == change.unchanged == ()
    entry = state["findings"][0]
    assert entry == {
        "url": URL,
        "partition": "default",
        "rule": "DSR-PROXYPORT",
        "object": "service/svc_app_01",
        "attribute": "useproxyport",
        "severity": "warning",
        "message": "service/svc_app_01: useproxyport is YES, expected NO",
        "waived": False,
        "stale": False,
        "first_seen": T1.isoformat(),
        "last_seen": T1.isoformat(),
    }


def test_a_fixed_finding_is_resolved_and_the_others_keep_their_first_seen() -> None:
    first = state_document([audited(raw("seed-incident"))], T1)
    second = state_document([audited(fixed(raw("seed-incident"), "svc_app_01"))], T2, first)
    change = compare(first, second)
    assert change.resolved == tuple(SVC1)
    assert change.unchanged == tuple(SVC2)
    assert change.new == ()
    assert {e["first_seen"] for e in second["findings"]} == {T1.isoformat()}
    assert {e["last_seen"] for e in second["findings"]} == {T2.isoformat()}
    assert [e["object"] for e in second["findings"]] == ["service/svc_app_02"] * 2
    text = render_change_text(change)
    assert text.startswith("Since the previous run: 0 new, 2 resolved, 2 unchanged")
    assert f"RESOLVED critical {URL} [default] DSR-USIP service/svc_app_01 usip" in text
    document = change_document(change)
    assert document["counts"]["resolved"] == 2
    assert document["resolved"][1]["message"] == "service/svc_app_01: usip is NO, expected YES"


def test_an_unreadable_appliance_does_not_make_its_findings_look_resolved() -> None:
    first = state_document([audited(raw("seed-incident")), audited(raw("mixed"), OTHER)], T1)
    mixed_keys = {FindingKey.of(e) for e in first["findings"] if e["url"] == OTHER}
    assert len(mixed_keys) == 24

    # Day 2: the second appliance is down, and svc_app_01 was fixed on the first.
    targets = [audited(fixed(raw("seed-incident"), "svc_app_01")), down(OTHER)]
    second = state_document(targets, T2, first)
    change = compare(first, second)
    assert change.resolved == tuple(SVC1)
    assert set(change.stale) == mixed_keys
    assert set(change.unchanged) == mixed_keys | set(SVC2)
    assert change.new == ()
    carried = [e for e in second["findings"] if e["url"] == OTHER]
    assert all(e["stale"] and e["last_seen"] == T1.isoformat() for e in carried)
    # Even a state written without carrying them over does not resolve them.
    bare = state_document(targets, T2)
    assert compare(first, bare).resolved == tuple(SVC1)
    assert set(compare(first, bare).stale) == mixed_keys

    # Day 3: it is back, one of its findings fixed: resolved now, the rest unchanged again.
    mixed_fixed = fixed(raw("mixed"), "svc_tos_01")
    third = state_document(
        [audited(fixed(raw("seed-incident"), "svc_app_01")), audited(mixed_fixed, OTHER)],
        T3,
        second,
    )
    change = compare(second, third)
    tos = {key("DSR-USIP", "svc_tos_01", OTHER), key("DSR-PROXYPORT", "svc_tos_01", OTHER)}
    assert set(change.resolved) == tos
    assert change.stale == ()
    assert set(change.unchanged) == (mixed_keys - tos) | set(SVC2)
    assert not any(e["stale"] for e in third["findings"])
    assert {e["first_seen"] for e in third["findings"]} == {T1.isoformat()}


def test_a_down_appliance_keeps_the_findings_of_all_its_partitions() -> None:
    mixed = raw("mixed")
    first = state_document(
        [audited(mixed, OTHER), audited(mixed["_partitions"]["p_apps"], OTHER, "p_apps")], T1
    )
    assert {e["partition"] for e in first["findings"]} == {"default", "p_apps"}
    # With --all-partitions an unreachable appliance reports only its first partition.
    second = state_document([down(OTHER)], T2, first)
    change = compare(first, second)
    assert change.resolved == ()
    assert len(change.stale) == len(first["findings"])


def test_appliances_outside_this_run_are_neither_new_nor_resolved() -> None:
    first = state_document([audited(raw("seed-incident")), audited(raw("mixed"), OTHER)], T1)
    # --select ran only the first appliance today.
    second = state_document([audited(raw("seed-incident"))], T2, first)
    change = compare(first, second)
    assert change.resolved == change.new == ()
    assert set(change.unchanged) == {*SVC1, *SVC2}
    # Kept in the state for the run that covers them again, as they were.
    kept = [e for e in second["findings"] if e["url"] == OTHER]
    assert kept == [e for e in first["findings"] if e["url"] == OTHER]


def test_a_finding_waived_since_is_not_counted_as_resolved() -> None:
    first = state_document([audited(raw("seed-incident"))], T1)
    waiver = Waiver("DSR-USIP", "service/svc_app_02", "migration", "ops", date(2025, 6, 1))
    second = state_document([audited(raw("seed-incident"), waivers=(waiver,))], T2, first)
    change = compare(first, second)
    assert change.waived == (key("DSR-USIP", "svc_app_02"),)
    assert change.resolved == change.new == ()
    # When the waiver is gone the finding is back in the list, as new.
    third = state_document([audited(raw("seed-incident"))], T3, second)
    assert compare(second, third).new == (key("DSR-USIP", "svc_app_02"),)


def test_the_state_file_round_trips_and_a_missing_one_is_a_first_run(tmp_path: Path) -> None:
    path = tmp_path / "audit-state.json"
    assert read_state(path) is None
    state = state_document([audited(raw("seed-incident"))], T1)
    write_state(path, state)
    assert read_state(path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["audit-state.json"]  # no temporary left
    path.write_text("")
    assert read_state(path) is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"schema": "nsfix.audit-state", "findings": [', "is corrupt (not JSON, line 1"),
        ('{"schema": "nsfix.audit"}', "schema is 'nsfix.audit', expected 'nsfix.audit-state'"),
        (
            '{"schema": "nsfix.audit-state", "schema_version": 2}',
            "schema_version 2 was written by a newer nsfix",
        ),
        (
            '{"schema": "nsfix.audit-state", "schema_version": 1, "targets": [], '
            '"findings": [{"url": "u", "partition": "default", "rule": "R"}]}',
            "findings[0] lacks object, severity, first_seen",
        ),
        ("[]", "expected a JSON object"),
    ],
)
def test_a_corrupt_state_file_is_a_clear_error(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "audit-state.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        read_state(path)
    assert str(info.value).startswith(f"state file {path} ")
    assert problem in str(info.value)
    assert "move it away to start afresh" in str(info.value)


def test_a_state_that_cannot_be_written_leaves_the_old_one_whole(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write"):
        write_state(tmp_path / "no-such-folder" / "state.json", {})
    path = tmp_path / "audit-state.json"
    write_state(path, {"schema": SCHEMA, "old": True})
    tmp_path.chmod(0o500)
    try:
        if _writable(tmp_path):
            pytest.skip("running as root: a read-only folder is writable anyway")
        with pytest.raises(InputError, match="cannot write"):
            write_state(path, {"schema": SCHEMA, "old": False})
    finally:
        tmp_path.chmod(0o700)
    assert json.loads(path.read_text())["old"] is True


def _writable(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_text("")
    except OSError:
        return False
    probe.unlink()
    return True


# --- two real runs against the mock --------------------------------------------------------


def test_two_fleet_runs_with_one_finding_fixed_in_between(
    mock_appliance_factory: MockFactory, tmp_path: Path
) -> None:
    users = {"_mock": {"users": {"auditor": "pw-Since-1"}}}
    first_mock = mock_appliance_factory(raw("seed-incident") | users)
    second_mock = mock_appliance_factory(raw("seed-incident") | users)
    appliances = load_fleet(
        f"""
defaults: {{user: auditor, password_env: PW}}
appliances:
  - {{name: one, url: "{first_mock.url}"}}
  - {{name: two, url: "{second_mock.url}"}}
""",
        "fleet.yaml",
    )
    audit_one = audit_one_factory(
        PLAYBOOKS,
        (),
        None,
        timeout=10.0,
        user_agent="nsfix-test",
        say=lambda line: None,
        environ={"PW": "pw-Since-1"},
    )
    state_file = tmp_path / "audit-state.json"

    def run(at: datetime) -> tuple[Any, ...]:
        targets = fleet_targets(run_fleet(appliances, audit_one, workers=2))
        previous = read_state(state_file)
        current = state_document(targets, at, previous)
        write_state(state_file, current)
        return compare(previous, current), targets

    change, _ = run(T1)
    assert len(change.new) == 8
    # Someone fixes svc_app_01 on the first appliance, and the second one goes off the air.
    first_mock.appliance.set_attribute(
        "service", "svc_app_01", {"usip": "YES", "useproxyport": "NO"}
    )
    second_mock.stop()
    change, targets = run(T2)
    assert [t.ok for t in targets] == [True, False]
    assert change.resolved == (
        key("DSR-PROXYPORT", "svc_app_01", first_mock.url),
        key("DSR-USIP", "svc_app_01", first_mock.url),
    )
    assert change.new == ()
    assert len(change.unchanged) == 6
    assert {k.url for k in change.stale} == {second_mock.url}
    assert len(change.stale) == 4
    saved = json.loads(state_file.read_text())
    assert len(saved["findings"]) == 6
    assert "pw-Since-1" not in state_file.read_text()
