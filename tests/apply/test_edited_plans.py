"""A plan edited and sealed again: apply refuses every write nsfix's planner never makes.

The digest is a self-hash, so anyone who can edit a plan can seal it again. What apply still
refuses (exit 4, before anything is written, no journal) is any change outside the closed list
of operation shapes the planner makes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nsfix.canonical import digest
from tests.apply.helpers import (
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    journal_dir_fixture,  # noqa: F401
    journal_files,
    make_plan,
    nsfix_fixture,  # noqa: F401
    only_journal,
    whole_config,
)

Edit = Callable[[list[dict[str, Any]]], None]


def resealed(document: dict[str, Any]) -> dict[str, Any]:
    """What an editor with the plan file can always do: compute the self-hash again."""
    body = {key: value for key, value in document.items() if key != "digest"}
    return {**body, "digest": digest(body)}


def delete_the_vserver(changes: list[dict[str, Any]]) -> None:
    # The example: c2 deletes the DSR virtual server; its "inverse" re-adds it bare.
    changes[1].update(
        object={
            "resource": "lbvserver",
            "name": "vs_app_dsr",
            "partition": "default",
            "member": None,
        },
        operation={"verb": "delete", "resource": "lbvserver", "record": {"name": "vs_app_dsr"}},
        inverse={
            "verb": "add",
            "resource": "lbvserver",
            "record": {
                "name": "vs_app_dsr",
                "servicetype": "ANY",
                "ipv46": "203.0.113.10",
                "port": 65535,
            },
        },
        before={},
        after={},
        precondition="present",
    )


def update_an_attribute_outside_the_list(changes: list[dict[str, Any]]) -> None:
    # maxclient is no attribute a remediation may write; the edit keeps before/after/inverse
    # consistent, so only the closed list can tell.
    change = changes[1]
    change["operation"]["record"]["maxclient"] = "1"
    change["inverse"]["record"]["maxclient"] = "0"
    change["before"]["maxclient"] = "0"
    change["after"]["maxclient"] = "1"


def unknown_verb(changes: list[dict[str, Any]]) -> None:
    changes[1]["operation"]["verb"] = "rename"


def inverse_that_does_not_undo(changes: list[dict[str, Any]]) -> None:
    # The rollback of c2 would write the new values again instead of the old ones.
    change = changes[1]
    change["inverse"]["record"] = dict(change["operation"]["record"])


def inverse_of_another_object(changes: list[dict[str, Any]]) -> None:
    change = changes[1]
    change["inverse"]["record"]["name"] = "svc_other"


def lbvserver_update(changes: list[dict[str, Any]]) -> None:
    changes[1].update(
        object={
            "resource": "lbvserver",
            "name": "vs_app_dsr",
            "partition": "default",
            "member": None,
        },
        operation={
            "verb": "update",
            "resource": "lbvserver",
            "record": {"name": "vs_app_dsr", "m": "IP"},
        },
        inverse={
            "verb": "update",
            "resource": "lbvserver",
            "record": {"name": "vs_app_dsr", "m": "MAC"},
        },
        before={"m": "MAC"},
        after={"m": "IP"},
    )


EDITS: dict[str, tuple[Edit, str]] = {
    "delete-lbvserver": (delete_the_vserver, "c2: delete of lbvserver"),
    "attribute-outside-the-list": (
        update_an_attribute_outside_the_list,
        "c2: update of service writes maxclient",
    ),
    "unknown-verb": (unknown_verb, "'rename' is not a valid Verb"),
    "inverse-does-not-undo": (inverse_that_does_not_undo, "c2: the inverse"),
    "inverse-of-another-object": (inverse_of_another_object, "c2: the inverse"),
    "lbvserver-update": (lbvserver_update, "c2: update of lbvserver"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_and_resealed_plan_is_refused_before_anything_is_written(
    edit: str, nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path)
    change, message = EDITS[edit]
    change(document["plan"]["changes"])
    plan_path.write_text(json.dumps(resealed(document)))
    before = whole_config(mock.appliance)

    for extra in ((), ("--dry-run",)):
        run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", *extra)
        assert run.code == 4, run.out + run.err
        assert message in run.err
        assert "make a new plan" in run.err.lower()
    assert mock.appliance.counters["writes"] == 0
    assert whole_config(mock.appliance) == before
    assert journal_files(journal_dir) == []
    # The CAB report refuses it too: what a board reviews is what apply may write.
    report = nsfix("report", str(plan_path), "--format", "md")
    assert report.code != 0
    assert message in report.err


def test_the_planners_own_plan_still_applies(
    nsfix: Nsfix, appliance: StartAppliance, tmp_path: Path
) -> None:
    mock = appliance("mixed")
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path, "--dedicated-copies", "--bind-monitor")
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0")
    assert run.code == 0, run.out + run.err


def test_a_journal_edited_after_the_run_is_not_rolled_back(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    assert nsfix("apply", str(plan_path), "--yes", "--settle", "0").code == 0
    journal = only_journal(journal_dir)
    lines = journal.read_text().splitlines()
    start = json.loads(lines[0])
    # A rollback writes the inverses: this one would delete the DSR virtual server.
    start["changes"][1]["inverse"] = {
        "verb": "delete",
        "resource": "lbvserver",
        "record": {"name": "vs_app_dsr"},
    }
    journal.write_text("\n".join([json.dumps(start), *lines[1:]]) + "\n")
    writes = mock.appliance.counters["writes"]
    run = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert run.code == 4, run.out + run.err
    assert "was edited after the run; nothing was reverted" in run.err
    assert "c2: the inverse delete lbvserver [name=vs_app_dsr] does not restore" in run.err
    assert mock.appliance.counters["writes"] == writes


def test_a_plan_made_by_an_older_nsfix_is_refused_with_what_to_do(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    # Plan files of version 1 carried every server task's steps and every finding whole; this
    # nsfix writes and reads version 2 only, and says so rather than guessing at the old shape.
    mock = appliance()
    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path)
    plan_path.write_text(json.dumps(resealed({**document, "schema_version": 1})))

    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0")
    assert run.code == 4, run.out + run.err
    assert "plan schema version 1 is not supported (this nsfix reads version 2)" in run.err
    assert "made by an older nsfix. Make a new plan (nsfix plan)" in run.err
    assert mock.appliance.counters["writes"] == 0
    assert journal_files(journal_dir) == []
    report = nsfix("report", str(plan_path), "--format", "md")
    assert report.code != 0
    assert "made by an older nsfix" in report.err
