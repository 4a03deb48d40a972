"""Fleets against several live mock appliances at once: one down, one slow, one with findings."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mocks.fixtures import MockFactory, RunningMock
from nsfix.exitcodes import ExitCode
from nsfix.findings import Severity, TargetAudit, audit_exit_code
from nsfix.fleet import (
    ApplianceRun,
    FleetAppliance,
    audit_one_factory,
    describe_run,
    fleet_document,
    fleet_targets,
    load_fleet,
    plan_file_name,
    run_fleet,
)
from nsfix.shell import load_playbooks

SCENARIOS = Path(__file__).resolve().parents[2] / "mocks" / "scenarios"
USER = "auditor"
PASSWORD = "Fleet;pw/with&odd-chars-4412"


def scenario(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCENARIOS / f"{name}.json").read_text())
    data.setdefault("_mock", {})["users"] = {USER: PASSWORD}
    return data


def closed_port() -> int:
    """A loopback port nothing listens on: the appliance that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fleet_of(entries: list[tuple[str, str]], extra: str = "") -> tuple[FleetAppliance, ...]:
    lines = ["defaults: {user_env: FLEET_USER, password_env: FLEET_PASSWORD}", "appliances:"]
    lines += [f'  - {{name: {name}, url: "{url}"{extra}}}' for name, url in entries]
    return load_fleet("\n".join(lines) + "\n", "fleet.yaml")


class Counting:
    """Wraps `audit_one` to record how many appliances were being audited at once."""

    def __init__(self, inner: Callable[[FleetAppliance], list[TargetAudit]]) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started: list[str] = []

    def __call__(self, appliance: FleetAppliance) -> list[TargetAudit]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started.append(appliance.name)
        try:
            return self.inner(appliance)
        finally:
            with self.lock:
                self.running -= 1


def real_audit(said: list[str]) -> Callable[[FleetAppliance], list[TargetAudit]]:
    return audit_one_factory(
        load_playbooks([]),
        (),
        None,
        timeout=10.0,
        user_agent="nsfix-test",
        say=said.append,
        environ={"FLEET_USER": USER, "FLEET_PASSWORD": PASSWORD},
    )


def test_a_fleet_of_mocks_runs_concurrently_and_one_down_stops_nothing(
    mock_appliance_factory: MockFactory,
) -> None:
    seed = mock_appliance_factory(scenario("seed-incident"))
    healthy = mock_appliance_factory(scenario("healthy"))
    slow = mock_appliance_factory(scenario("healthy"), latency=0.1)
    down_url = f"http://127.0.0.1:{closed_port()}"
    appliances = fleet_of(
        [("seed", seed.url), ("slow", slow.url), ("healthy", healthy.url), ("down", down_url)]
    )
    said: list[str] = []
    audit_one = Counting(real_audit(said))
    finished: dict[str, float] = {}
    started = time.monotonic()

    def done(run: ApplianceRun) -> None:
        finished[run.appliance.name] = time.monotonic() - started

    runs = run_fleet(appliances, audit_one, workers=3, on_done=done)
    wall = time.monotonic() - started

    # Results come back in fleet-file order, whatever order they finished in.
    assert [r.appliance.name for r in runs] == ["seed", "slow", "healthy", "down"]
    by_name = {r.appliance.name: r for r in runs}

    # The appliance with findings: the seed incident's two services, usip and useproxyport.
    (seed_audit,) = by_name["seed"].audits
    assert seed_audit.result is not None
    assert sorted((f.rule, str(f.object)) for f in seed_audit.result.active()) == [
        ("DSR-PROXYPORT", "service/svc_app_01"),
        ("DSR-PROXYPORT", "service/svc_app_02"),
        ("DSR-USIP", "service/svc_app_01"),
        ("DSR-USIP", "service/svc_app_02"),
    ]
    assert by_name["seed"].status == "ok"
    for name in ("healthy", "slow"):
        (audit,) = by_name[name].audits
        assert audit.result is not None
        assert audit.result.active() == []
        assert by_name[name].error is None

    # The one that is down is an error entry, with the reason, and did not stop the others.
    down = by_name["down"]
    assert down.status == "error"
    assert down.audits == (
        TargetAudit(down_url, "default", None, None, down.error, appliance="down"),
    )
    assert down.error is not None
    assert "cannot reach the appliance" in down.error
    # Said once, by describe_run with the appliance's name, not also by the audit on the way.
    assert not any("cannot reach" in line for line in said)
    assert "cannot reach the appliance" in describe_run(down)

    # Concurrency within the bound: never more than 3 at once, and more than one at a time.
    assert 2 <= audit_one.most <= 3
    # The slow one did not hold up the fast ones: they were done long before it.
    assert finished["seed"] < finished["slow"]
    assert finished["healthy"] < finished["slow"]
    assert by_name["healthy"].seconds < by_name["slow"].seconds / 2
    # ... and the slow and the down one overlapped instead of taking turns.
    assert wall < by_name["slow"].seconds + by_name["down"].seconds

    # The aggregate feeds the renderers and the exit code like a single-appliance audit.
    targets = fleet_targets(runs)
    assert [(t.url, t.ok) for t in targets] == [
        (seed.url, True),
        (slow.url, True),
        (healthy.url, True),
        (down_url, False),
    ]
    # Findings and a dead appliance: a code of its own, so neither hides the other.
    assert audit_exit_code(targets, Severity.WARNING) is ExitCode.PARTIAL_FINDINGS
    assert audit_exit_code(fleet_targets(runs[:3]), Severity.WARNING) is ExitCode.FINDINGS
    assert audit_exit_code(fleet_targets(runs[1:]), Severity.WARNING) is ExitCode.PARTIAL
    assert audit_exit_code(fleet_targets(runs[1:3]), Severity.WARNING) is ExitCode.OK
    assert audit_exit_code(fleet_targets(runs[3:]), Severity.WARNING) is ExitCode.ERROR

    document = fleet_document(runs)
    assert document["summary"] == {
        "appliances": 4,
        "ok": 3,
        "partial": 0,
        "error": 1,
        "critical": 2,
        "warning": 2,
        "info": 0,
        "waived": 0,
    }
    assert [a["status"] for a in document["appliances"]] == ["ok", "ok", "ok", "error"]
    assert describe_run(by_name["down"]).startswith(f"down ({down_url}): NOT AUDITED")
    assert "2 critical, 2 warning" in describe_run(by_name["seed"])

    # One session each: every mock that answered saw exactly one login and one logout.
    for mock in (seed, slow, healthy):
        assert mock.appliance.counters["logins"] == 1
        assert PASSWORD not in json.dumps(mock.appliance.request_log, default=str)
    assert all(PASSWORD not in line for line in said)
    assert PASSWORD not in json.dumps(document)


def test_the_worker_bound_holds_and_order_is_kept(mock_appliance_factory: MockFactory) -> None:
    mocks: list[RunningMock] = [
        mock_appliance_factory(scenario("healthy"), latency=0.02) for _ in range(5)
    ]
    appliances = fleet_of([(f"adc-{i}", m.url) for i, m in enumerate(mocks)])
    audit_one = Counting(real_audit([]))
    runs = run_fleet(appliances, audit_one, workers=2)
    assert audit_one.most == 2
    assert [r.appliance.name for r in runs] == [f"adc-{i}" for i in range(5)]
    assert all(r.status == "ok" for r in runs)


def test_partitions_are_audited_in_turn_within_one_appliance(
    mock_appliance_factory: MockFactory,
) -> None:
    mixed = mock_appliance_factory(scenario("mixed"))
    appliances = fleet_of([("mixed", mixed.url)], ", all_partitions: true")
    (run,) = run_fleet(appliances, real_audit([]), workers=4)
    assert [(a.partition, a.ok) for a in run.audits] == [("default", True), ("p_apps", True)]
    assert mixed.appliance.counters["logins"] == 1  # one session for both partitions
    assert plan_file_name(run.appliance, "p_apps") == "mixed.p_apps.plan.json"
    assert plan_file_name(run.appliance, "default") == "mixed.plan.json"


def test_missing_credentials_fail_that_appliance_only(mock_appliance_factory: MockFactory) -> None:
    healthy = mock_appliance_factory(scenario("healthy"))
    appliances = load_fleet(
        f"""
defaults: {{user_env: FLEET_USER, password_env: FLEET_PASSWORD}}
appliances:
  - {{name: good, url: "{healthy.url}"}}
  - {{name: forgotten, url: "http://127.0.0.1:9", password_env: FORGOTTEN_PASSWORD,
      partitions: [p_x]}}
""",
        "fleet.yaml",
    )
    runs = run_fleet(appliances, real_audit([]), workers=2)
    assert [r.status for r in runs] == ["ok", "error"]
    (entry,) = runs[1].audits
    assert (entry.url, entry.partition) == ("http://127.0.0.1:9", "p_x")
    assert entry.error == runs[1].error
    assert entry.error is not None
    assert entry.error.startswith("appliance 'forgotten' (fleet.yaml:5): ")
    assert "environment variable FORGOTTEN_PASSWORD" in entry.error
    assert healthy.appliance.counters["logins"] == 1


def test_any_exception_of_one_appliance_is_caught_into_its_run() -> None:
    appliances = fleet_of([("a", "https://10.0.0.1"), ("b", "https://10.0.0.2")])

    def audit_one(appliance: FleetAppliance) -> list[TargetAudit]:
        if appliance.name == "a":
            raise RuntimeError("the parser tripped")
        return [TargetAudit(appliance.url, "default", None, None, "p1 not read")]

    seen: list[str] = []
    runs = run_fleet(
        appliances, audit_one, workers=1, on_done=lambda r: seen.append(r.appliance.name)
    )
    assert runs[0].error == "a: RuntimeError: the parser tripped"
    assert runs[0].audits[0].error == runs[0].error
    assert runs[1].error == "p1 not read"
    assert seen == ["a", "b"]  # workers=1: in turn, each reported once


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_fleet(fleet_of([("a", "https://10.0.0.1")]), lambda a: [], workers=0)
    assert run_fleet((), lambda a: [], workers=3) == []
