"""`nsfix rollback`: compare-and-set against what nsfix wrote, and only what nsfix wrote."""

from __future__ import annotations

from pathlib import Path

from tests.apply.helpers import (
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    named,
    nsfix_fixture,  # noqa: F401
    only_journal,
    records,
    step_outcomes,
    whole_config,
)


def test_an_object_changed_after_the_apply_is_left_alone_unless_forced(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    assert nsfix("apply", str(plan_path), "--yes", "--settle", "0").code == 0
    journal = only_journal(journal_dir)
    # Someone turns usip off again by hand on svc_app_01 (but not useproxyport).
    mock.appliance.set_attribute("service", "svc_app_01", {"usip": "NO"})

    dry = nsfix("rollback", str(journal), "--dry-run")
    assert dry.code == 0
    assert "drifted: would leave alone" in dry.out
    run = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert run.code == 6, run.out + run.err
    document = run.json()
    assert step_outcomes(document) == {
        "c2": "reverted and verified",
        "c1": "changed since nsfix wrote it: left alone",
    }
    [drift] = document["messages"]
    # What is there now, against what nsfix had set (not against the plan's "before").
    assert drift.startswith("not reverted, changed since: service/svc_app_01: now ")
    assert "usip NO" in drift.split("; ")[0]
    assert "nsfix set " in drift
    assert "usip YES" in drift.split("nsfix set ")[1]
    services = {s["name"]: s for s in mock.appliance.config()["service"]}
    assert (services["svc_app_01"]["usip"], services["svc_app_01"]["useproxyport"]) == (
        "NO",
        "NO",
    )  # the hand edit survived

    # Everything nsfix could revert is reverted; what is left drifted: refused without --force.
    again = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert again.code == 4
    assert "--force" in again.err
    assert "svc_app_01" in again.err
    forced = nsfix("rollback", str(journal), "--yes", "--force", "--settle", "0", "--json")
    assert forced.code == 0, forced.out + forced.err
    assert step_outcomes(forced.json()) == {"c1": "reverted and verified"}
    assert_same_config(before, mock.appliance)


def test_rollback_reverts_only_what_this_run_changed(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    # Someone already fixed svc_app_02 exactly as planned before the apply ran.
    mock.appliance.set_attribute("service", "svc_app_02", {"usip": "YES", "useproxyport": "NO"})
    fixed_by_hand = whole_config(mock.appliance)
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert run.code == 0, run.out + run.err
    assert step_outcomes(run.json()) == {"c1": "applied and verified", "c2": "already in place"}
    journal = only_journal(journal_dir)
    assert [named(r) for r in records(journal) if r["type"] == "intent"] == [["c1"]]

    undo = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert undo.code == 0, undo.out + undo.err
    assert step_outcomes(undo.json()) == {"c1": "reverted and verified"}
    assert_same_config(fixed_by_hand, mock.appliance)  # svc_app_02 keeps the hand fix


def test_rollback_refuses_an_ha_secondary(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    assert nsfix("apply", str(plan_path), "--yes", "--settle", "0").code == 0
    journal = only_journal(journal_dir)
    writes = mock.appliance.counters["writes"]
    mock.appliance.set_ha_state("Secondary")
    run = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert run.code == 4
    assert "HA secondary" in run.err
    assert "10.255.0.11" in run.err  # the peer, where the operator should go
    assert mock.appliance.counters["writes"] == writes
    # A plan is refused on a secondary before anything is written, too.
    second = tmp_path / "again.json"
    mock.appliance.set_ha_state("Primary")
    assert nsfix("rollback", str(journal), "--yes", "--settle", "0").code == 0
    make_plan(nsfix, mock.url, second)
    mock.appliance.set_ha_state("Secondary")
    refused = nsfix("apply", str(second), "--yes", "--settle", "0")
    assert refused.code == 4
    assert "HA secondary" in refused.err
