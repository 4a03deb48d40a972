"""The operator's commands end to end against the mock appliance: what they print and exit with."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from mocks.fixtures import RunningMock
from nsfix.planfile import read_plan_document
from nsfix.resources import INVENTORY_READS
from tests.cli.conftest import PASSWORD, Run

Nsfix = Callable[..., Run]
Appliance = Callable[..., RunningMock]


def assert_no_secret(run: Run, mock: RunningMock) -> None:
    for text in (run.out, run.err, json.dumps(mock.appliance.request_log, default=str)):
        assert PASSWORD not in text


def test_inventory_lists_dsr_vservers_first_with_their_backends(
    nsfix: Nsfix, appliance: Appliance
) -> None:
    mock = appliance()
    run = nsfix("inventory", url=mock.url)
    assert run.code == 0
    lines = run.out.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("Object"))) + 1 :]
    assert table[0].startswith("vs_app_dsr")
    assert "MAC" in table[0]
    assert table[1].strip().startswith("service svc_app_01")
    assert "NO" in table[1]
    assert "HA role    Primary" in run.out
    assert_no_secret(run, mock)


def test_inventory_takes_the_same_few_requests_whatever_the_size(
    nsfix: Nsfix, appliance: Appliance
) -> None:
    mock = appliance("mixed")
    run = nsfix("inventory", "--json", url=mock.url)
    document = run.json()
    assert document["schema"] == "nsfix.inventory"
    assert document["schema_version"] == 1
    served = mock.appliance.counters
    total = served["requests_total"]
    assert document["counts"]["requests"] == total
    # One GET per read of the table, plus login and logout: never one per object. Without
    # content switching its reads are not sent; what the README promises.
    assert total == len([r for r in INVENTORY_READS if r.only_if is None]) + 2 == 19
    by_resource = served["requests_by_resource"]
    assert by_resource["service"] == 1
    assert by_resource["lbvserver_binding"] == 1
    assert "csvserver_binding" not in by_resource
    names = [v["name"] for v in document["lbvservers"]]
    assert [v["dsr"] for v in document["lbvservers"]] == sorted(
        (v["dsr"] for v in document["lbvservers"]), reverse=True
    )
    assert "web tier:app@1" in names  # names with spaces, colons and @ survive the round trip
    defects = {(d["name"], d["problem"]) for d in document["defects"]}
    assert ("svc_badaddr_01", "not an IPv4 or IPv6 address") in defects
    assert ("vs_weird_mode", "unknown redirection mode") in defects


def test_a_smaller_page_size_reads_the_same_inventory_in_more_requests(
    nsfix: Nsfix, appliance: Appliance, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = appliance("mixed")
    whole = nsfix("inventory", "--json", url=mock.url).json()
    monkeypatch.setenv("NSFIX_PAGE_SIZE", "2")
    paged = nsfix("inventory", "--json", url=mock.url).json()
    assert paged["counts"]["requests"] > whole["counts"]["requests"]
    for part in ("lbvservers", "services", "servicegroups", "defects"):
        assert paged[part] == whole[part]
    monkeypatch.setenv("NSFIX_PAGE_SIZE", "lots")
    refused = nsfix("inventory", url=mock.url)
    assert refused.code != 0
    assert "NSFIX_PAGE_SIZE='lots' is not a page size" in refused.err
    assert "Traceback" not in refused.err


def test_audit_exit_codes_follow_the_findings(nsfix: Nsfix, appliance: Appliance) -> None:
    seed = nsfix("audit", url=appliance().url)
    assert seed.code == 2
    assert "DSR-USIP" in seed.out
    assert "loop" in seed.out
    healthy = nsfix("audit", url=appliance("healthy").url)
    assert healthy.code == 0
    assert "compliant" in healthy.out
    only_critical = nsfix("audit", "--fail-on", "critical", url=appliance().url)
    assert only_critical.code == 2


def test_audit_json_document(nsfix: Nsfix, appliance: Appliance) -> None:
    run = nsfix("audit", "--json", url=appliance().url)
    document = run.json()
    assert document["schema"] == "nsfix.audit"
    assert document["exit_code"] == run.code == 2
    [target] = document["targets"]
    rules = {(f["rule"], f["object"]["name"]) for f in target["findings"]}
    assert ("DSR-USIP", "svc_app_01") in rules
    usip = next(f for f in target["findings"] if f["rule"] == "DSR-USIP")
    assert usip["severity"] == "critical"
    assert usip["via"] == ["vs_app_dsr"]
    assert usip["flow"] == "loop"
    assert document["summary"]["critical"] == 2


def test_audit_every_partition_and_report_the_one_that_failed(
    nsfix: Nsfix, appliance: Appliance
) -> None:
    mock = appliance("mixed")
    run = nsfix("audit", "--all-partitions", "--json", url=mock.url)
    partitions = {t["partition"]: t for t in run.json()["targets"]}
    assert set(partitions) == {"default", "p_apps"}
    assert any(f["object"]["name"] == "svc_p_app_01" for f in partitions["p_apps"]["findings"])
    missing = nsfix(
        "audit", "--partition", "default", "--partition", "nope", "--json", url=mock.url
    )
    document = missing.json()
    assert [t["status"] for t in document["targets"]] == ["ok", "error"]
    assert missing.code == 8  # findings on the partition read, and one partition not read
    healthy = appliance("healthy")
    partial = nsfix("audit", "--partition", "default", "--partition", "nope", url=healthy.url)
    assert partial.code == 3
    assert "nope" in partial.err


def test_plan_file_is_sealed_and_fixes_the_incident(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    mock = appliance()
    path = tmp_path / "plan.json"
    run = nsfix("plan", "-o", str(path), url=mock.url)
    assert run.code == 0
    assert "c1 (canary)" in run.out
    assert "loop → direct-return" in run.out
    assert "ip addr add 203.0.113.10/32 dev lo" in run.out
    document = json.loads(path.read_text())
    the_plan = read_plan_document(document, str(path))
    assert [c.object.name for c in the_plan.changes] == ["svc_app_01", "svc_app_02"]
    assert the_plan.target["url"] == mock.url
    assert PASSWORD not in path.read_text()
    assert mock.appliance.counters["writes"] == 0  # planning never writes


def test_plan_refusals_on_the_mixed_appliance(nsfix: Nsfix, appliance: Appliance) -> None:
    run = nsfix("plan", url=appliance("mixed").url)
    assert run.code == 0
    assert "[shared-with-proxy-vserver]" in run.out
    assert "[no-layer2-adjacency]" in run.out
    assert "[invalid-data]" in run.out
    assert "--dedicated-copies" in run.out


def test_explain_shows_the_loop_before_and_direct_return_after(
    nsfix: Nsfix, appliance: Appliance
) -> None:
    run = nsfix("explain", "vs_app_dsr", url=appliance().url)
    assert run.code == 0
    before, after = run.out.split("AFTER the planned change", 1)
    assert "outcome: loop" in before
    assert "outcome: direct-return" in after
    unknown = nsfix("explain", "vs_app_dsx", url=appliance().url)
    assert unknown.code == 1
    assert "did you mean vs_app_dsr" in unknown.err


def test_wrong_password_is_a_clear_error_without_the_password(
    nsfix: Nsfix, appliance: Appliance
) -> None:
    mock = appliance()
    run = nsfix("inventory", url=mock.url, password="wrong-Secret-991")
    assert run.code == 1
    assert "login refused" in run.err
    assert "wrong-Secret-991" not in run.out + run.err
    assert "Traceback" not in run.err


@pytest.mark.usefixtures("no_backoff")
def test_unreachable_appliance(nsfix: Nsfix) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = nsfix("inventory", url=f"http://127.0.0.1:{port}")
    assert run.code == 1
    assert "cannot reach the appliance" in run.err
    audit = nsfix("audit", "--json", url=f"http://127.0.0.1:{port}")
    assert audit.code == 1
    assert audit.json()["targets"][0]["status"] == "error"


def test_a_proxy_html_page_instead_of_nitro_is_an_error_not_a_traceback(
    nsfix: Nsfix, appliance: Appliance
) -> None:
    mock = appliance()
    # A captive portal answers 200 with a web page: nothing to retry, nothing to parse.
    mock.appliance.faults.html_reply(3, status=200)
    run = nsfix("inventory", url=mock.url)
    assert run.code == 1
    assert "not NITRO" in run.err
    assert "Traceback" not in run.err
    assert mock.appliance.counters["active_sessions"] == 0  # logged out on the way out


def test_a_gateway_error_page_on_a_read_is_retried(nsfix: Nsfix, appliance: Appliance) -> None:
    mock = appliance()
    mock.appliance.faults.html_reply(3, status=502)
    run = nsfix("inventory", url=mock.url)
    assert run.code == 0
    assert "vs_app_dsr" in run.out


def test_bad_playbook_and_usage_errors(nsfix: Nsfix, appliance: Appliance, tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("playbook: mine\nrules:\n  - id: X\n    title: t\n    severity: urgent\n")
    run = nsfix("audit", "--playbook", str(bad), url=appliance().url)
    assert run.code == 1
    assert f"{bad}:5: rules[0].severity" in run.err
    usage = nsfix("audit", "--fail-on", "sometimes")
    assert usage.code == 64


def test_password_is_never_taken_from_the_command_line(nsfix: Nsfix) -> None:
    run = nsfix("inventory", "--password", "x", url="http://127.0.0.1:9")
    assert run.code == 64
