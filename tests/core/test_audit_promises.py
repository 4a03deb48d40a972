"""An audit promises a fix only where nsfix plan makes one: a refused object is said to be."""

from __future__ import annotations

from pathlib import Path

import pytest

from nsfix.findings import Severity, TargetAudit
from nsfix.operations import make_plan, run_audit
from nsfix.planner import PlanOptions
from nsfix.reports.audit import audit_document, finding_notes, render_text
from nsfix.shell import load_playbooks, load_snapshot_file

SCENARIOS = sorted(Path("mocks/scenarios").glob("*.json"))
PROMISE = "fix: nsfix plan sets"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_audit_promises_exactly_the_fixes_the_plan_makes(path: Path) -> None:
    snapshot = load_snapshot_file(path, None)
    result = run_audit(snapshot, load_playbooks([]), (), None)
    the_plan = make_plan(snapshot, result, None, PlanOptions())
    refused = {r.object for r in the_plan.refusals}
    assert set(result.refused) == refused
    changed = {c.object for c in the_plan.changes}
    for finding in result.active():
        notes = [note for _, note in finding_notes(finding, result.refused.get(finding.object))]
        promised = any(note.startswith(PROMISE) for note in notes)
        if finding.object in refused:
            assert not promised, (finding.object, notes)
            refusal = "not fixed automatically: nsfix plan refuses"
            said = any(note.startswith(refusal) for note in notes)
            assert said == finding.remediation.automatic, (finding.object, notes)
        elif promised:
            assert finding.object in changed, (finding.object, notes)
    target = TargetAudit(snapshot.appliance.url, snapshot.appliance.partition, snapshot, result)
    listed = audit_document([target], fail_on=Severity.WARNING, generated_at=snapshot.collected_at)
    assert len(listed["targets"][0]["refused"]) == len(refused)
    text = render_text([target], Severity.WARNING)
    assert text.count("not fixed automatically") == sum(
        1 for f in result.active() if f.object in refused and f.remediation.automatic
    )


def test_a_refused_object_is_named_with_its_reason_in_the_mixed_audit() -> None:
    snapshot = load_snapshot_file(Path("mocks/scenarios/mixed.json"), None)
    result = run_audit(snapshot, load_playbooks([]), (), None)
    far = next(ref for ref in result.refused if ref.name == "svc_far_01")
    assert "[no-layer2-adjacency]" in result.refused[far]
    assert "alternative: move the server" in result.refused[far]
