"""nsfix through NetScaler Console: every command, one Console session, the instance header on
each request, the same journal and rollback, and a clear error for an instance Console lacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mocks.console import INSTANCE_HEADERS, RunningConsole
from tests.apply.helpers import assert_same_config, only_journal, outcomes, records, whole_config
from tests.console.conftest import (
    APPLIANCE_PASSWORD,
    CONSOLE_PASSWORD,
    DARK_03,
    EDGE_01,
    EDGE_02,
    console_plan,
)
from tests.support import Run

VIA = "--via-console"


def assert_no_console_secret(console: RunningConsole, *texts: str) -> None:
    secrets = [CONSOLE_PASSWORD, APPLIANCE_PASSWORD, *console.console.issued]
    for text in texts:
        for secret in secrets:
            assert secret not in text


def proxied(console: RunningConsole) -> list[dict[str, Any]]:
    return [e for e in console.console.log if not e["path"].endswith(("/login", "/logout"))]


def test_audit_through_console_names_the_instance_on_every_request(
    nsfix: Any, console: RunningConsole
) -> None:
    run: Run = nsfix("audit", "--url", f"https://{EDGE_01}", VIA, console.url)
    assert run.code == 2, run.err
    assert "DSR-USIP" in run.out
    log = console.console.log
    # One Console session: logged in first, out last, and nothing in between without the header.
    assert [e["path"] for e in log if e["path"].endswith(("/login", "/logout"))] == [
        "/nitro/v1/config/login",
        "/nitro/v1/config/logout",
    ]
    assert log[0]["path"].endswith("/login")
    assert log[-1]["path"].endswith("/logout")
    assert all(e["instance"] == ("ip", EDGE_01) for e in proxied(console)), proxied(console)
    assert console.console.active_sessions == 0
    edge = console.appliances["edge-01"].appliance
    assert edge.counters["requests_total"] > len(proxied(console)) - 1
    # Console logs in to the instance with its own profile: nsfix's login never reaches it.
    served = json.dumps(edge.request_log, default=str)
    assert_no_console_secret(console, run.out, run.err, served)


def test_inventory_by_instance_name_and_by_id(nsfix: Any, console: RunningConsole) -> None:
    by_name = nsfix(
        "inventory",
        "--json",
        "--url",
        f"https://{EDGE_02}",
        VIA,
        console.url,
        "--instance-name",
        "edge-02",
    )
    assert by_name.code == 0, by_name.err
    assert by_name.json()["lbvservers"]
    assert {tuple(e["instance"]) for e in proxied(console)} == {("name", "edge-02")}
    by_id = nsfix(
        "inventory",
        "--json",
        "--url",
        f"https://{EDGE_02}",
        VIA,
        console.url,
        "--instance-id",
        "102",
    )
    assert by_id.code == 0, by_id.err
    assert by_id.json()["lbvservers"] == by_name.json()["lbvservers"]
    assert ("id", "102") in {tuple(e["instance"]) for e in proxied(console)}


def test_plan_apply_and_rollback_through_console_keep_the_journal_semantics(
    nsfix: Any, console: RunningConsole, journal_dir: Path, tmp_path: Path
) -> None:
    edge = console.appliances["edge-01"].appliance
    before = whole_config(edge)
    plan = console_plan(nsfix, console, tmp_path)
    assert json.loads(plan.read_text())["plan"]["target"]["url"] == f"https://{EDGE_01}"

    dry = nsfix("apply", str(plan), VIA, console.url, "--dry-run")
    assert dry.code == 0, dry.err
    assert edge.counters["writes"] == 0

    applied = nsfix("apply", str(plan), VIA, console.url, "--yes", "--settle", "0")
    assert applied.code == 0, applied.err
    assert whole_config(edge) != before
    journal = only_journal(journal_dir)
    assert outcomes(journal, "apply") == {"c1": "applied", "c2": "applied"}
    start = records(journal)[0]
    assert start["target"]["url"] == f"https://{EDGE_01}"
    assert start["target"]["via"] == {"console": console.url, "instance": {"ip": EDGE_01}}
    assert start["user"]["nitro"] == "console-operator"
    writes = [e for e in proxied(console) if e["method"] in ("PUT", "POST", "DELETE")]
    assert writes
    assert all(e["instance"] == ("ip", EDGE_01) for e in writes)

    # No --via-console: the journal says how the appliance was reached, and rollback goes so.
    undone = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert undone.code == 0, undone.err
    assert f"through NetScaler Console {console.url}" in undone.out + undone.err
    assert_same_config(before, edge)
    rollback_start = next(r for r in records(journal) if r["type"] == "rollback-start")
    assert rollback_start["via"] == start["target"]["via"]
    assert console.console.active_sessions == 0
    assert_no_console_secret(
        console,
        applied.out + applied.err,
        undone.out + undone.err,
        journal.read_text(),
        plan.read_text(),
    )


def test_an_instance_console_cannot_reach_is_a_clear_error(
    nsfix: Any, console: RunningConsole
) -> None:
    run = nsfix("inventory", "--url", f"https://{DARK_03}", VIA, console.url)
    assert run.code == 1
    assert "Traceback" not in run.err
    assert f"could not reach managed instance ip {DARK_03}" in run.err
    assert "not reachable" in run.err
    audit = nsfix("audit", "--json", "--url", f"https://{DARK_03}", VIA, console.url)
    assert audit.code == 1
    assert audit.json()["targets"][0]["status"] == "error"
    # The failed route does not leave a Console session behind.
    assert console.console.active_sessions == 0
    assert_no_console_secret(console, run.out, run.err, audit.out, audit.err)


def test_an_instance_console_does_not_manage_is_a_clear_error(
    nsfix: Any, console: RunningConsole
) -> None:
    run = nsfix("audit", "--url", "https://127.0.1.99", VIA, console.url)
    assert run.code == 1
    assert "could not reach managed instance ip 127.0.1.99" in run.err
    assert "not found" in run.err
    named = nsfix(
        "audit", "--url", f"https://{EDGE_01}", VIA, console.url, "--instance-name", "nope"
    )
    assert named.code == 1
    assert "managed instance name nope" in named.err


def test_a_wrong_console_password_is_refused_without_echoing_it(
    nsfix: Any, console: RunningConsole
) -> None:
    run = nsfix("audit", "--url", f"https://{EDGE_01}", VIA, console.url, password="Wrong;pw-55")
    assert run.code == 1
    assert "login refused" in run.err
    assert f"NetScaler Console {console.url}" in run.err
    assert "Wrong;pw-55" not in run.out + run.err
    assert console.appliances["edge-01"].appliance.counters["requests_total"] == 0


def test_instance_options_need_a_console_and_an_address_or_a_name(
    nsfix: Any, console: RunningConsole
) -> None:
    alone = nsfix("audit", "--url", f"https://{EDGE_01}", "--instance-name", "edge-01")
    assert alone.code == 1
    assert "need --via-console" in alone.err
    host = nsfix("audit", "--url", "https://edge-01.example.net", VIA, console.url)
    assert host.code == 1
    assert "--instance-name" in host.err
    both = nsfix(
        "audit",
        "--url",
        f"https://{EDGE_01}",
        VIA,
        console.url,
        "--instance-name",
        "edge-01",
        "--instance-id",
        "101",
    )
    assert both.code == 1
    assert "not both" in both.err
    assert console.console.log == []


def test_a_fleet_through_console(nsfix: Any, console: RunningConsole, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        f"""
defaults:
  via_console: {console.url}
  user: console-operator
  password_env: NSFIX_PASSWORD
appliances:
  - name: edge-01
    url: https://{EDGE_01}
  - name: edge-02
    url: https://{EDGE_02}
    instance_name: edge-02
  - name: dark-03
    url: https://{DARK_03}
""",
        encoding="utf-8",
    )
    run = nsfix("audit", "--fleet", str(fleet), "--json")
    # The unreachable dark-03 is not hidden behind edge-01's findings: 8, partial with findings.
    assert run.code == 8, run.err
    status = {t["url"]: t["status"] for t in run.json()["targets"]}
    assert status[f"https://{DARK_03}"] == "error"
    assert status[f"https://{EDGE_02}"] != "error"
    assert f"could not reach managed instance ip {DARK_03}" in run.err + run.out
    named = {tuple(e["instance"]) for e in proxied(console)}
    assert {("ip", EDGE_01), ("name", "edge-02"), ("ip", DARK_03)} <= named
    assert console.console.active_sessions == 0
    assert_no_console_secret(console, run.out, run.err)


def test_fleet_file_checks_the_console_keys(nsfix: Any, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        """
appliances:
  - name: edge-01
    url: https://10.0.0.1
    instance_id: "7"
    user: u
    password_env: NSFIX_PASSWORD
""",
        encoding="utf-8",
    )
    run = nsfix("audit", "--fleet", str(fleet))
    assert run.code == 1
    assert "instance_id need via_console" in run.err
    fleet.write_text(
        """
defaults:
  instance_name: shared
appliances: []
""",
        encoding="utf-8",
    )
    run = nsfix("audit", "--fleet", str(fleet))
    assert run.code == 1
    assert "instance_name" in run.err


def test_the_headers_console_knows(console: RunningConsole) -> None:
    assert set(INSTANCE_HEADERS.values()) == {
        "_MPS_API_PROXY_MANAGED_INSTANCE_IP",
        "_MPS_API_PROXY_MANAGED_INSTANCE_NAME",
        "_MPS_API_PROXY_MANAGED_INSTANCE_ID",
    }


def test_the_monitoring_check_goes_through_console_and_an_unreachable_instance_is_unknown(
    nsfix: Any, console: RunningConsole
) -> None:
    critical = nsfix("check", "--url", f"https://{EDGE_01}", VIA, console.url)
    assert critical.code == 2, critical.err
    assert critical.out.startswith("CRITICAL - ")
    assert all(e["instance"] == ("ip", EDGE_01) for e in proxied(console))
    dark = nsfix("check", "--url", f"https://{DARK_03}", VIA, console.url)
    assert dark.code == 3, dark.out
    assert dark.out.startswith("UNKNOWN - ")
    assert console.console.active_sessions == 0
    assert_no_console_secret(console, critical.out, critical.err, dark.out, dark.err)
