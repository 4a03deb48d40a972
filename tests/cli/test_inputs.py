"""The operator's input files through the CLI: the documented waiver, server facts and playbook
examples (docs/examples/) against the mixed mock appliance, and bad files."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from mocks.fixtures import RunningMock
from tests.cli.conftest import ROOT, Run

Nsfix = Callable[..., Run]
Appliance = Callable[..., RunningMock]

EXAMPLES = ROOT / "docs" / "examples"
WAIVERS = EXAMPLES / "waivers.yaml"
SERVER_FACTS = EXAMPLES / "server-facts.yaml"
CUSTOM_PLAYBOOK = EXAMPLES / "custom-playbook.yaml"


def example_waivers(tmp_path: Path, expires: date) -> Path:
    """The example waiver file with every expiry moved to `expires`.

    Waivers expire by the calendar; moving the dates keeps these tests about the example's
    rules and patterns, whatever day they run.
    """
    text, count = re.subn(
        r"expires: \d{4}-\d{2}-\d{2}", f"expires: {expires.isoformat()}", WAIVERS.read_text()
    )
    assert count == 3
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


def line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


def active_waivers(tmp_path: Path) -> tuple[Path, str]:
    expires = date.today() + timedelta(days=60)
    return example_waivers(tmp_path, expires), expires.isoformat()


def expired_waivers(tmp_path: Path) -> tuple[Path, str]:
    expires = date.today() - timedelta(days=60)
    return example_waivers(tmp_path, expires), expires.isoformat()


def findings(document: dict[str, Any], partition: str = "default") -> dict[tuple[str, str], Any]:
    [target] = [t for t in document["targets"] if t["partition"] == partition]
    return {(f["rule"], f["object_text"]): f for f in target["findings"]}


def table_rows(text: str) -> list[str]:
    """The finding table of a text audit: rows start with a severity."""
    return [
        line for line in text.splitlines() if line.startswith(("  critical", "  warning", "  info"))
    ]


# --- waivers --------------------------------------------------------------------------------


def test_example_waivers_hide_findings_and_report_them_as_waived(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    waivers, expires = active_waivers(tmp_path)
    url = appliance("mixed").url
    plain = findings(nsfix("audit", "--json", url=url).json())
    run = nsfix("audit", "--all-partitions", "--json", "--waivers", str(waivers), url=url)
    document = run.json()
    waived = findings(document)
    assert waived.keys() == plain.keys()  # hidden, not removed
    hidden = {key for key, f in waived.items() if f["waiver"] is not None}
    assert hidden == {
        ("PROXY-USIP-GATEWAY", "service/svc_proxy_usip_01"),
        ("DSR-USIP", "service/svc_far_01"),
        ("DSR-PROXYPORT", "service/svc_far_01"),
        ("DSR-LAYER2", "service/svc_far_01"),
    }
    waiver = waived[("PROXY-USIP-GATEWAY", "service/svc_proxy_usip_01")]["waiver"]
    assert waiver["owner"] == "network-team@example.com"
    assert waiver["expires"] == expires
    assert waiver["source"] == f"{waivers}:{line_of(waivers, '  - rule: PROXY-USIP-GATEWAY')}"
    [default] = [t for t in document["targets"] if t["partition"] == "default"]
    assert default["counts"]["waived"] == 4
    assert default["counts"]["info"] == 0  # the only info finding is waived
    assert default["expired_waivers"] == []
    # The partition-prefixed wildcard waives only in p_apps, and only the rule it names.
    p_apps = findings(document, "p_apps")
    assert p_apps[("DSR-PROXYPORT", "p_apps:service/svc_p_app_01")]["waiver"]["object"] == (
        "p_apps:service/*"
    )
    assert p_apps[("DSR-USIP", "p_apps:service/svc_p_app_01")]["waiver"] is None
    assert document["summary"]["waived"] == 5
    assert run.code == 2  # the rest still fails

    text = nsfix("audit", "--waivers", str(waivers), url=url)
    assert text.code == 2
    assert "9 critical, 11 warning, 0 info (4 waived)" in text.out
    assert (
        f"  waived: PROXY-USIP-GATEWAY service/svc_proxy_usip_01 until {expires} "
        "(network-team@example.com: proxyusip-01 uses SNIP 10.20.2.1" in text.out
    )
    assert f"  waived: DSR-LAYER2 service/svc_far_01 until {expires}" in text.out
    assert not [row for row in table_rows(text.out) if "svc_far_01" in row]
    assert not [row for row in table_rows(text.out) if "PROXY-USIP-GATEWAY" in row]


def test_the_example_waiver_file_as_shipped_either_waives_or_reports_expiry(
    nsfix: Nsfix, appliance: Appliance
) -> None:
    run = nsfix("audit", "--json", "--waivers", str(WAIVERS), url=appliance("mixed").url)
    assert run.code == 2
    [target] = run.json()["targets"]
    expired = {(w["rule"], w["object"]) for w in target["expired_waivers"]}
    for rule, pattern, hides in [
        ("PROXY-USIP-GATEWAY", "service/svc_proxy_usip_01", {"PROXY-USIP-GATEWAY"}),
        ("DSR-*", "service/svc_far_01", {"DSR-USIP", "DSR-PROXYPORT", "DSR-LAYER2"}),
    ]:
        waived = {
            f["rule"]
            for f in target["findings"]
            if f["waiver"] is not None and f["waiver"]["rule"] == rule
        }
        assert waived == hides or (waived == set() and (rule, pattern) in expired)


def test_waived_findings_are_not_planned_and_refusals_go_with_them(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    waivers, _ = active_waivers(tmp_path)
    url = appliance("mixed").url
    before = nsfix("plan", "--json", url=url).json()
    after = nsfix("plan", "--json", "--waivers", str(waivers), url=url).json()
    refused = {r["object"]["name"] for r in before["plan"]["refusals"]}
    assert "svc_far_01" in refused
    assert "svc_far_01" not in {r["object"]["name"] for r in after["plan"]["refusals"]}
    planned = [f"{f['rule']} {f['object']['name']}" for f in after["plan"]["findings"]]
    assert "PROXY-USIP-GATEWAY svc_proxy_usip_01" not in planned


def test_an_expired_waiver_hides_nothing_and_is_reported(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    waivers, expired_on = expired_waivers(tmp_path)
    url = appliance("mixed").url
    plain = nsfix("audit", "--json", url=url).json()
    run = nsfix("audit", "--json", "--waivers", str(waivers), url=url)
    document = run.json()
    assert all(f["waiver"] is None for f in findings(document).values())
    assert findings(document).keys() == findings(plain).keys()
    [target] = document["targets"]
    assert target["counts"] == plain["targets"][0]["counts"]
    expired = {(w["rule"], w["object"], w["expires"]) for w in target["expired_waivers"]}
    assert expired == {
        ("PROXY-USIP-GATEWAY", "service/svc_proxy_usip_01", expired_on),
        ("DSR-*", "service/svc_far_01", expired_on),
    }
    assert run.code == 2

    text = nsfix("audit", "--fail-on", "info", "--waivers", str(waivers), url=url)
    assert "(0 waived)" in text.out
    assert "  waived:" not in text.out
    assert (
        "  expired waiver (no longer hides anything): PROXY-USIP-GATEWAY "
        f"service/svc_proxy_usip_01 expired {expired_on} "
        f"[{waivers}:{line_of(waivers, '  - rule: PROXY-USIP-GATEWAY')}]" in text.out
    )
    assert any("PROXY-USIP-GATEWAY" in row for row in table_rows(text.out))


# --- server facts ---------------------------------------------------------------------------


def outcomes(run: Run) -> dict[str, str]:
    assert run.code == 0, run.err
    return {trace["backend"]: trace["outcome"] for trace in run.json()["before"]}


def test_server_facts_change_the_explained_path(nsfix: Nsfix, appliance: Appliance) -> None:
    url = appliance("mixed").url
    assumed = outcomes(nsfix("explain", "vs_dsr_partial", "--json", url=url))
    known = outcomes(
        nsfix("explain", "vs_dsr_partial", "--json", "--server-facts", str(SERVER_FACTS), url=url)
    )
    # good-01 answers ARP for the VIP (arp_suppressed: false in the facts).
    assert assumed["svc_dsr_good_01"] == "direct-return"
    assert known["svc_dsr_good_01"] == "arp-bypass"
    # No facts for 10.20.1.152: the same outcome as without a file.
    assert assumed["svc_disabled_01"] == known["svc_disabled_01"] == "loop"

    text = nsfix("explain", "vs_dsr_partial", "--server-facts", str(SERVER_FACTS), url=url)
    assert "outcome: arp-bypass (not healthy): 10.20.1.151 answers ARP for the VIP" in text.out
    assert "server facts unknown for 10.20.1.151" not in text.out
    assert "server facts unknown for 10.20.1.152" in text.out


def test_known_facts_replace_assumptions(nsfix: Nsfix, appliance: Appliance) -> None:
    url = appliance("mixed").url
    args = ("explain", "vs_proxy_usip", "--json")
    assumed = nsfix(*args, url=url).json()["before"][0]
    known = nsfix(*args, "--server-facts", str(SERVER_FACTS), url=url).json()["before"][0]
    assert assumed["outcome"] == known["outcome"] == "via-netscaler"
    assert any("default gateway of 10.20.2.161 unknown" in a for a in assumed["assumptions"])
    assert known["assumptions"] == []


def test_a_gateway_that_is_no_snip_makes_proxy_usip_asymmetric(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    facts = tmp_path / "facts.yaml"
    facts.write_text("servers:\n  10.20.2.161:\n    default_gateway: 10.20.2.254\n")
    url = appliance("mixed").url
    run = nsfix("explain", "vs_proxy_usip", "--json", "--server-facts", str(facts), url=url)
    assert outcomes(run) == {"svc_proxy_usip_01": "asymmetric"}


# --- playbooks ------------------------------------------------------------------------------


def test_the_example_playbook_adds_its_findings(nsfix: Nsfix, appliance: Appliance) -> None:
    url = appliance("mixed").url
    plain = nsfix("audit", "--json", url=url).json()
    run = nsfix("audit", "--json", "--playbook", str(CUSTOM_PLAYBOOK), url=url)
    document = run.json()
    assert [p["name"] for p in document["playbooks"]] == ["dsr-source-ip", "lab-site-standards"]
    assert document["playbooks"][1]["source"] == str(CUSTOM_PLAYBOOK)
    with_custom = findings(document)
    added = set(with_custom) - set(findings(plain))
    assert added == {
        ("LAB-DSR-BACKEND-ENABLED", "service/svc_disabled_01"),
        ("LAB-PROXY-HTTP-CIP", "servicegroup/sg_web_proxy"),
    }
    assert set(findings(plain)) <= set(with_custom)
    enabled = with_custom[("LAB-DSR-BACKEND-ENABLED", "service/svc_disabled_01")]
    assert (enabled["severity"], enabled["via"]) == ("info", ["vs_dsr_partial"])
    assert (enabled["current"], enabled["expected"]) == ("DISABLED", "ENABLED")
    assert document["summary"]["info"] == plain["summary"]["info"] + 2

    text = nsfix("audit", "--playbook", str(CUSTOM_PLAYBOOK), url=url)
    expected = "servicegroup/sg_web_proxy: cip is DISABLED"
    assert f"LAB-PROXY-HTTP-CIP: {expected}" in text.out
    assert "guidance: Enable client-IP insertion" in text.out


def test_the_plan_names_the_example_playbook_and_lists_its_guidance(
    nsfix: Nsfix, appliance: Appliance
) -> None:
    run = nsfix("plan", "--json", "--playbook", str(CUSTOM_PLAYBOOK), url=appliance("mixed").url)
    document = run.json()
    assert [p["name"] for p in document["plan"]["playbooks"]] == [
        "dsr-source-ip",
        "lab-site-standards",
    ]
    guidance = {(f["rule"], f["object"]["name"]) for f in document["plan"]["guidance"]}
    assert ("LAB-PROXY-HTTP-CIP", "sg_web_proxy") in guidance


def test_a_rule_id_defined_twice_is_refused(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text(CUSTOM_PLAYBOOK.read_text().replace("lab-site-standards", "copy"))
    mock = appliance("mixed")
    run = nsfix("audit", "--playbook", str(CUSTOM_PLAYBOOK), "--playbook", str(copy), url=mock.url)
    assert run.code == 1
    assert "rule id 'LAB-DSR-BACKEND-ENABLED' is already defined in" in run.err


# --- bad files ------------------------------------------------------------------------------

BAD_WAIVERS = (
    "waivers:\n"
    "  - rule: DSR-USIP\n"
    "    object: service/svc_far_01\n"
    "    reason: waiting for the move\n"
    "    owner: app-far@example.com\n"
    "    expires: next week\n"
)
MISSPELT_WAIVERS = (
    "waivers:\n"
    "  - rule: DSR-USIP\n"
    "    object: service/svc_far_01\n"
    "    reason: waiting for the move\n"
    "    owner: app-far@example.com\n"
    "    expiry: 2027-01-31\n"
)
BAD_FACTS = "servers:\n  10.20.1.151:\n    arp_suppressed: maybe\n"
NOT_AN_ADDRESS = "servers:\n  10.20.1.151:\n    os: linux\n  333:333:33:333:\n    os: linux\n"


@pytest.mark.parametrize(
    ("option", "text", "where"),
    [
        ("--waivers", BAD_WAIVERS, ":6: waivers[0].expires: 'next week' is not a date"),
        ("--waivers", MISSPELT_WAIVERS, ":6: waivers[0].expiry: unknown field 'expiry'"),
        ("--waivers", "waivers: none\n", ":1: waivers: expected a list"),
        ("--server-facts", BAD_FACTS, ":3: servers.10.20.1.151.arp_suppressed: expected true"),
        ("--server-facts", NOT_AN_ADDRESS, ":4: servers.333:333:33:333: not an IP address"),
        ("--server-facts", "servers: [\n", ":2: (document): "),
    ],
)
def test_a_bad_input_file_is_one_clear_error_before_any_request(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path, option: str, text: str, where: str
) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    mock = appliance("mixed")
    for command in ("audit", "plan"):
        run = nsfix(command, "--json", option, str(path), url=mock.url)
        assert run.code == 1
        assert run.out == ""
        [line] = run.err.splitlines()
        assert line.startswith("nsfix: error: bad ")
        assert f"{path}{where}" in line
    assert mock.appliance.counters["requests_total"] == 0


def test_a_bad_server_facts_file_stops_explain_too(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    path = tmp_path / "facts.yaml"
    path.write_text(BAD_FACTS)
    run = nsfix("explain", "vs_dsr_partial", "--server-facts", str(path), url=appliance().url)
    assert run.code == 1
    assert f"bad server facts file: {path}:3: servers.10.20.1.151.arp_suppressed" in run.err
    assert "Traceback" not in run.err


def test_a_missing_waiver_file_is_named(nsfix: Nsfix, appliance: Appliance, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    run = nsfix("audit", "--waivers", str(missing), url=appliance().url)
    assert run.code == 1
    assert run.err.strip() == f"nsfix: error: waiver file {missing} does not exist"
