"""ns.conf as a first-class source: every offline command reads it, partitions included."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mocks.fixtures import RunningMock
from nsfix.nitro import Credentials, NitroClient
from tests.cli.conftest import PASSWORD, USER, Run

Nsfix = Callable[..., Run]
Appliance = Callable[..., RunningMock]


def running_config(mock: RunningMock, partition: str = "default") -> str:
    with NitroClient(mock.url, Credentials(USER, PASSWORD), verify=False) as client:
        if partition != "default":
            client.switch_partition(partition)
        text = client.get_singleton("nsrunningconfig")["response"]
    assert isinstance(text, str)
    return text


def findings(run: Run) -> list[tuple[str, str, str]]:
    document = run.json()
    return sorted(
        (t["partition"], f["rule"], f["object_text"])
        for t in document["targets"]
        for f in t.get("findings", [])
    )


def changes(run: Run) -> list[Any]:
    return [(c["object"], c["after"]) for c in run.json()["plan"]["changes"]]


def test_an_ns_conf_is_read_whatever_its_name(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    mock = appliance("mixed")
    saved = tmp_path / "nightly-2026-11-30.txt"
    saved.write_text(running_config(mock))
    offline = nsfix("audit", "--json", "--from-file", str(saved))
    online = nsfix("audit", "--json", url=mock.url)
    assert offline.code == online.code == 2
    assert findings(offline) == findings(online)
    assert offline.json()["targets"][0]["url"] == f"file:{saved}"
    plan = nsfix("plan", "--json", "--from-file", str(saved))
    assert plan.code == 0, plan.err
    assert changes(plan)
    explain = nsfix("explain", "vs_sg_dsr", "--from-file", str(saved))
    assert explain.code == 0
    assert "BEFORE" in explain.out
    records = tmp_path / "records.json"
    inventory = nsfix("inventory", "--from-file", str(saved), "--raw", str(records))
    assert inventory.code == 0
    # The configuration as NITRO records, audited again: the same findings.
    again = nsfix("audit", "--json", "--from-file", str(records))
    assert findings(again) == findings(offline)


def test_a_plan_from_the_file_of_an_ha_pair_says_why_it_writes_nothing(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    saved = tmp_path / "ns.conf"
    saved.write_text(running_config(appliance("topology")))
    plan = nsfix("plan", "--json", "--from-file", str(saved))
    assert plan.code == 0, plan.err
    refusals = plan.json()["plan"]["refusals"]
    assert refusals
    assert all(
        "does not say which node is the primary" in r["reason"] for r in refusals
    )


def test_one_from_file_per_partition(nsfix: Nsfix, appliance: Appliance, tmp_path: Path) -> None:
    mock = appliance("mixed")
    default, apps = tmp_path / "ns.conf", tmp_path / "p_apps.conf"
    default.write_text(running_config(mock))
    apps.write_text(running_config(mock, "p_apps"))
    online = nsfix("audit", "--json", "--all-partitions", url=mock.url)
    offline = nsfix(
        "audit", "--json",
        "--from-file", str(apps), "--partition", "p_apps",
        "--from-file", str(default), "--partition", "default",
    )  # fmt: skip
    assert offline.code == 2, offline.err
    assert findings(offline) == findings(online)
    targets = offline.json()["targets"]
    assert [t["partition"] for t in targets] == ["p_apps", "default"]
    # A partition's file has no host name of its own: the default partition's file lends it.
    assert {t["appliance"]["hostname"] for t in targets} == {"ns-lab-03"}
    one = nsfix("audit", "--json", "--from-file", str(apps), "--partition", "p_apps")
    assert {t["partition"] for t in one.json()["targets"]} == {"p_apps"}


def test_from_file_and_partition_mistakes_are_clear(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path
) -> None:
    conf = tmp_path / "ns.conf"
    conf.write_text(running_config(appliance("healthy")))
    mismatch = nsfix("audit", "--from-file", str(conf), "--from-file", str(conf))
    assert mismatch.code == 64 or mismatch.code == 1
    assert "one --partition for each" in mismatch.err
    plan = nsfix("plan", "--from-file", str(conf), "--from-file", str(conf))
    assert plan.code in (1, 64)
    assert "one partition" in plan.err
    prose = tmp_path / "notes.txt"
    prose.write_text("Remember to check the DSR services before the change window.\n")
    run = nsfix("audit", "--from-file", str(prose))
    assert run.code == 1
    assert "neither NITRO records (JSON) nor a NetScaler configuration" in run.err
    assert "Traceback" not in run.err


def test_a_broken_line_is_a_data_defect_not_a_failure(nsfix: Nsfix, tmp_path: Path) -> None:
    conf = tmp_path / "ns.conf"
    conf.write_text(
        "#NS14.1 Build 25.56\n"
        "enable ns mode MBF\n"
        "add server s1 10.0.0.11\n"
        "add service svc1 s1 ANY * -usip NO\n"
        'add service svc2 "s1 ANY *\n'
        "add lb vserver vs1 ANY 203.0.113.5 * -m MAC\n"
        "bind lb vserver vs1 svc1\n"
    )
    run = nsfix("audit", "--json", "--from-file", str(conf))
    assert run.code == 2
    document = run.json()
    defects = [f for f in document["targets"][0]["findings"] if f["rule"] == "DATA-DEFECT"]
    assert [f"{conf}:5" in f["object_text"] and "unclosed" in f["message"] for f in defects] == [
        True
    ]
    assert ("default", "DSR-USIP", "service/svc1") in findings(run)
    assert json.dumps(document)  # plain data all the way
