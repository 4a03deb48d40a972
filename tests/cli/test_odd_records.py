"""Records of any shape, offline and live: each becomes data or a data defect, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mocks.fixtures import MockFactory
from tests.cli.conftest import scenario
from tests.support import Run

Nsfix = Callable[..., Run]


def odd_servernames(data: dict[str, Any]) -> dict[str, Any]:
    """The mixed scenario with a service whose servername is a list and a member whose
    servername is an object (both are what a broken appliance could send)."""
    data["service"][0]["servername"] = ["app-01", "app-02"]
    data["servicegroup_servicegroupmember_binding"].append(
        {"servicegroupname": "sg_dsr_bad", "servername": {"name": "app-03"}, "port": 80}
    )
    return data


def defects(run: Run) -> set[tuple[str, str, str]]:
    [target] = run.json()["targets"]
    return {
        (f["object"]["resource"], f.get("attribute") or "", f["message"])
        for f in target["findings"]
        if f["rule"] == "DATA-DEFECT"
    }


def no_traceback(run: Run) -> Run:
    assert "Traceback" not in run.err
    assert "Traceback" not in run.out
    return run


ODD_FILES: dict[str, Any] = {
    "partitions-true": {"nspartition": True},
    "vservers-a-number": {"lbvserver": 5},
    "vservers-not-objects": {"lbvserver": [1, "vs_x", None, [2]]},
    "singleton-a-list-of-words": {"nsmode": ["usip"], "nsversion": "NS14.1"},
    "unread-true": {"_unread": True},
    "metadata-a-list": {"_nsfix": [1], "lbvserver": []},
    "names-not-text": {
        "lbvserver": [{"name": ["vs"], "ipv46": "10.0.0.1", "m": "MAC", "port": 80}],
        "lbvserver_service_binding": [{"name": ["vs"], "servicename": {"s": 1}}],
    },
}


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_an_odd_records_file_audits_with_defects(nsfix: Nsfix, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(ODD_FILES[name]))
    audit = no_traceback(nsfix("audit", "--json", "--from-file", str(path)))
    assert audit.code in {0, 2}, audit.err
    for command in ("inventory", "plan"):
        run = no_traceback(nsfix(command, "--from-file", str(path)))
        assert run.code == 0, run.err
    text = no_traceback(nsfix("audit", "--from-file", str(path)))
    assert text.code == audit.code


def test_resources_that_hold_no_records_are_defects_not_a_clean_audit(
    nsfix: Nsfix, tmp_path: Path
) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"nspartition": True, "lbvserver": [1, "vs_x"]}))
    run = no_traceback(nsfix("audit", "--json", "--from-file", str(path)))
    assert run.code == 2
    found = defects(run)
    assert any(r == "nspartition" and "not a list of records" in m for r, _, m in found)
    assert sum(1 for r, _, m in found if r == "lbvserver" and "not a record" in m) == 2


def test_a_partition_or_metadata_that_cannot_be_used_is_one_clear_error(
    nsfix: Nsfix, tmp_path: Path
) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"_partitions": {"p1": True}}))
    run = no_traceback(nsfix("audit", "--from-file", str(path), "--partition", "p1"))
    assert run.code == 1
    assert "partition 'p1' is not an object of NITRO records" in run.err
    path.write_text(json.dumps({"_nsfix": {"partition": ["p1"]}}))
    run = no_traceback(nsfix("audit", "--from-file", str(path)))
    assert run.code == 1
    assert "_nsfix.partition is not a partition name" in run.err


def servername_defects(run: Run) -> list[str]:
    assert run.code == 2, run.err
    return sorted(m for r, _, m in defects(run) if "servername" in m and "not a name" in m)


def test_servernames_that_are_no_text_are_defects_offline_and_live(
    nsfix: Nsfix, mock_appliance_factory: MockFactory, tmp_path: Path
) -> None:
    data = odd_servernames(scenario("mixed"))
    mock = mock_appliance_factory(data)
    live = no_traceback(nsfix("audit", "--json", url=mock.url))
    assert len(servername_defects(live)) == 2
    data.pop("_mock")
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(data))
    offline = no_traceback(nsfix("audit", "--json", "--from-file", str(path)))
    assert servername_defects(offline) == servername_defects(live)
    plan = no_traceback(nsfix("plan", "--json", "--from-file", str(path)))
    refused = {r["object"]["name"] for r in plan.json()["plan"]["refusals"]}
    assert "sg_dsr_bad" in refused
