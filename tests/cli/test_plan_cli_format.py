"""`nsfix plan --format cli` and `nsfix report PLAN --format cli`: the commands an operator
pastes, the same from a fresh plan and from its file, and the same in the CAB report."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from nsfix.nscli.syntax import tokenize
from tests.cli.conftest import SCENARIOS
from tests.support import Run

Nsfix = Callable[..., Run]

MIXED = str(SCENARIOS / "mixed.json")


def commands(run: Run) -> list[str]:
    """The lines a paste runs (every other line is a comment)."""
    return [line for line in run.out.splitlines() if line and not line.startswith("#")]


def test_plan_as_commands_apply_first_rollback_commented(nsfix: Nsfix, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    run = nsfix(
        "plan", "--from-file", MIXED, "--dedicated-copies", "--format", "cli", "-o", str(plan_file)
    )
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    digest = re.search(r"sha256:[0-9a-f]{64}", run.out)
    assert digest is not None
    assert f"({digest.group()})" in run.err  # the digest of the file -o wrote
    assert lines[0].startswith("# nsfix plan as NetScaler CLI commands")
    assert any(line.startswith("# Appliance: ") and "partition default" in line for line in lines)
    pasted = commands(run)
    # The names with blanks are quoted; the canary comes first, as apply writes it.
    assert pasted[0] == 'set service "svc web tier:app@1" -usip YES -useproxyport NO'
    assert "# c1 (canary) service/svc web tier:app@1: fixes DSR-USIP, DSR-PROXYPORT" in lines
    assert (
        "add service svc_shared_01_dsr shared-01 ANY * -usip YES -useproxyport NO -cip "
        "DISABLED -td 0" in pasted
    )
    assert pasted[-1] == "unbind lb vserver vs_shared_mac svc_shared_01"
    # Nothing a paste runs prompts, saves, or undoes what it just did.
    assert not any(line.startswith(("save", "rm ")) for line in pasted)
    assert "# save ns config" in lines
    rollback = lines[lines.index(next(x for x in lines if x.startswith("# Rollback"))) + 1 :]
    assert rollback[0] == "# bind lb vserver vs_shared_mac svc_shared_01"
    assert rollback[-1] == '# set service "svc web tier:app@1" -usip NO -useproxyport YES'
    assert "# rm service svc_shared_01_dsr" in rollback
    # The refused objects say why.
    assert any(
        line.startswith("# service/svc_far_01: ") and line.endswith("(no-layer2-adjacency)")
        for line in lines
    )
    for line in pasted:
        assert tokenize(line)
    # The plan file gives the same text.
    again = nsfix("report", str(plan_file), "--format", "cli")
    assert again.code == 0, again.err
    assert again.out == run.out


def test_a_partition_plan_switches_to_its_partition_first(nsfix: Nsfix) -> None:
    run = nsfix("plan", "--from-file", MIXED, "--partition", "p_apps", "--format", "cli")
    assert run.code == 0, run.err
    pasted = commands(run)
    assert pasted[0] == "switch ns partition p_apps"
    rollback = [line for line in run.out.splitlines() if line.startswith("# switch ns partition")]
    assert rollback == ["# switch ns partition p_apps"]


def test_a_plan_with_nothing_to_change_says_so(nsfix: Nsfix) -> None:
    run = nsfix("plan", "--from-file", str(SCENARIOS / "healthy.json"), "--format", "cli")
    assert run.code == 0, run.err
    assert commands(run) == []
    assert "# Nothing to change." in run.out.splitlines()
    assert "Rollback" not in run.out


def test_the_cab_report_shows_the_same_commands(nsfix: Nsfix, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    cli = nsfix("plan", "--from-file", MIXED, "--format", "cli", "-o", str(plan_file))
    md = nsfix("report", str(plan_file), "--format", "md")
    assert md.code == 0, md.err
    blocks = re.findall(r"```text\n(.*?)```", md.out, re.S)
    apply_block = next(b for b in blocks if b.startswith("set service"))
    assert apply_block.splitlines() == commands(cli)
    rollback = [
        line.removeprefix("# ") for line in cli.out.split("# Rollback", 1)[1].splitlines()[1:]
    ]
    assert rollback in [b.splitlines() for b in blocks]
    html = nsfix("report", str(plan_file), "--format", "html").out
    assert "set serviceGroup sg_dsr_bad -usip YES -useproxyport NO" in html


def test_json_wins_and_a_fleet_is_told_where_the_commands_are(nsfix: Nsfix) -> None:
    as_json = nsfix("plan", "--from-file", MIXED, "--format", "cli", "--json").json()
    assert as_json["schema"] == "nsfix.plan"
    fleet = nsfix("plan", "--fleet", "fleet.yaml", "--output-dir", "out", "--format", "cli")
    assert fleet.code == 64  # a usage error
    assert "report PLAN --format cli" in fleet.err
