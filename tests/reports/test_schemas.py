"""The shipped JSON schemas accept the documents nsfix really writes, and reject broken ones."""

from __future__ import annotations

import ast
import copy
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mocks.fixtures import MockFactory
from nsfix import planner_guards
from nsfix.cli import main, result_document
from nsfix.executor import Report, RunStatus, StepReport
from nsfix.exitcodes import ExitCode
from nsfix.findings import Severity, TargetAudit, Waiver
from nsfix.flow import Outcome
from nsfix.model import Snapshot, build_snapshot
from nsfix.operations import make_plan, run_audit
from nsfix.planfile import plan_document, read_plan_document
from nsfix.planner import CanaryChoice, PlanOptions, RefusalReason
from nsfix.reports import audit as audit_report
from nsfix.reports import inventory as inventory_report
from nsfix.rules.playbook import Playbook
from nsfix.schemas import NAMES, load_schema, schema_id
from nsfix.shell import load_playbooks

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)
WAIVERS = (
    Waiver("DSR-*", "service/svc_far_01", "move to IPTUNNEL (CHG-20433)", "app@example.com",
           date(2099, 1, 31), "waivers.yaml:3"),
    Waiver("PROXY-USIP-GATEWAY", "service/svc_proxy_usip_01", "gateway checked",
           "net@example.com", date(2026, 1, 31), "waivers.yaml:9"),
)  # fmt: skip
SCENARIOS = ("seed-incident", "mixed", "healthy")
Validator = Callable[[str], Draft202012Validator]


@pytest.fixture(scope="module")
def books() -> list[Playbook]:
    return load_playbooks([])


@pytest.fixture(scope="module")
def validator() -> Validator:
    cache: dict[str, Draft202012Validator] = {}

    def get(name: str) -> Draft202012Validator:
        if name not in cache:
            schema = load_schema(name)
            Draft202012Validator.check_schema(schema)
            cache[name] = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        return cache[name]

    return get


def problems(validator: Draft202012Validator, document: Any) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    )


def snapshot(name: str, url: str = "https://ns-lab-01.example.test") -> Snapshot:
    raw = json.loads((ROOT / "mocks" / "scenarios" / f"{name}.json").read_text())
    return build_snapshot(raw, url=url, collected_at=NOW)


def audited(name: str, books: Sequence[Playbook]) -> TargetAudit:
    snap = snapshot(name, f"https://{name}.example.test")
    result = run_audit(snap, books, WAIVERS, None, today=TODAY)
    return TargetAudit(snap.appliance.url, snap.appliance.partition, snap, result)


def unreachable() -> TargetAudit:
    return TargetAudit("https://ns-down.example.test", "default", None, None, "refused")


def audit_doc(targets: Sequence[TargetAudit]) -> dict[str, Any]:
    return audit_report.audit_document(targets, fail_on=Severity.WARNING, generated_at=NOW)


def plan_doc(name: str, books: Sequence[Playbook], options: PlanOptions) -> dict[str, Any]:
    snap = snapshot(name)
    result = run_audit(snap, books, WAIVERS, None, today=TODAY)
    return plan_document(make_plan(snap, result, None, options))


# --- the schemas themselves ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "schema", "version"),
    [
        ("inventory", inventory_report.SCHEMA, inventory_report.SCHEMA_VERSION),
        ("audit", audit_report.SCHEMA, audit_report.SCHEMA_VERSION),
        ("plan", "nsfix.plan", 2),
        ("result", "nsfix.result", 1),
    ],
)
def test_each_schema_is_versioned_like_the_document_it_describes(
    validator: Validator, name: str, schema: str, version: int
) -> None:
    document = load_schema(name)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert (
        document["$id"]
        == schema_id(name, version)
        == f"https://nsfix.invalid/schemas/{name}/{version}"
    )
    assert document["properties"]["schema"] == {"const": schema}
    assert document["properties"]["schema_version"] == {"const": version}
    validator(name)  # checks the schema against the 2020-12 meta-schema


def test_the_plan_schema_version_follows_the_plan_file() -> None:
    from nsfix import planfile

    assert load_schema("plan")["$id"] == schema_id("plan", planfile.SCHEMA_VERSION)
    assert load_schema("plan")["properties"]["schema"]["const"] == planfile.SCHEMA


def test_an_unknown_schema_name_is_refused() -> None:
    assert set(NAMES) == {"inventory", "audit", "plan", "result"}
    with pytest.raises(ValueError, match="no schema named 'journal'"):
        load_schema("journal")


def test_closed_vocabularies_match_the_code() -> None:
    """A new outcome, refusal code or severity in the code must reach the schemas too."""
    outcomes = {o.value for o in Outcome}
    for name in ("audit", "plan"):
        assert set(load_schema(name)["$defs"]["outcome"]["enum"]) == outcomes
        assert set(load_schema(name)["$defs"]["severity"]["enum"]) == {s.value for s in Severity}
    assert set(load_schema("plan")["$defs"]["refusal"]["properties"]["code"]["enum"]) == (
        refusal_codes()
    )
    assert refusal_codes() == {reason.value for reason in RefusalReason}
    canary = load_schema("plan")["$defs"]["canary"]["properties"]["code"]["enum"]
    assert set(canary) == {choice.value for choice in CanaryChoice}


def refusal_codes() -> set[str]:
    """Every `RefusalReason` member the planner's guards name: the codes a plan can carry."""
    source = Path(planner_guards.__file__).read_text(encoding="utf-8")
    codes: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "RefusalReason"
        ):
            codes.add(RefusalReason[node.attr].value)
    assert codes, "no RefusalReason named in nsfix/planner_guards.py"
    return codes


def test_every_status_a_report_can_have_is_in_the_result_schema() -> None:
    statuses = {status.value for status in RunStatus}
    assert {"applied", "rolled-back", "dry-run"} <= statuses
    assert statuses == set(load_schema("result")["properties"]["status"]["enum"])


# --- real documents are valid ------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_inventory_documents_are_valid(validator: Validator, name: str) -> None:
    document = inventory_report.inventory_document(snapshot(name))
    assert problems(validator("inventory"), document) == []


@pytest.mark.parametrize(
    "names",
    [("seed-incident",), ("mixed",), ("healthy",), ("mixed", "down"), ("down",)],
)
def test_audit_documents_are_valid(
    validator: Validator, books: list[Playbook], names: tuple[str, ...]
) -> None:
    targets = [unreachable() if n == "down" else audited(n, books) for n in names]
    document = audit_doc(targets)
    assert problems(validator("audit"), document) == []


def test_the_mixed_audit_exercises_waivers_expired_waivers_and_unevaluated(
    books: list[Playbook],
) -> None:
    """So that the schema's waiver and unevaluated parts were checked against real data."""
    [target] = audit_doc([audited("mixed", books)])["targets"]
    assert any(f["waiver"] for f in target["findings"])
    assert target["expired_waivers"]
    assert target["unevaluated"]
    assert {f["flow"] for f in target["findings"]} > {None}


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize(
    "options", [PlanOptions(), PlanOptions(bind_monitor=True, dedicated_copies=True)]
)
def test_plan_files_are_valid(
    validator: Validator, books: list[Playbook], name: str, options: PlanOptions
) -> None:
    document = plan_doc(name, books, options)
    assert problems(validator("plan"), document) == []
    read_plan_document(json.loads(json.dumps(document)))  # and nsfix itself accepts it


def test_the_mixed_plan_exercises_every_verb_refusals_and_paths(books: list[Playbook]) -> None:
    plan = plan_doc("mixed", books, PlanOptions(bind_monitor=True, dedicated_copies=True))["plan"]
    assert {c["operation"]["verb"] for c in plan["changes"]} == {"update", "add", "bind", "unbind"}
    for part in ("refusals", "paths", "guidance", "server_tasks"):
        assert plan[part], part


def hand_made_reports(books: Sequence[Playbook]) -> Iterator[tuple[Report, Path | None]]:
    snap = snapshot("seed-incident")
    result = run_audit(snap, books, (), None, today=TODAY)
    changes = make_plan(snap, result, None, PlanOptions()).changes
    journal = Path("/var/lib/nsfix/journals/ns-lab-01-20261126T101500Z.jsonl")

    def reverted() -> list[StepReport]:
        return [StepReport(c, "reverted and verified") for c in changes]

    done = [StepReport(c, "applied and verified") for c in changes]
    yield Report("applied", ExitCode.OK, done), journal
    dry = Report("dry-run", ExitCode.OK, [StepReport(c, "would apply") for c in changes])
    dry.requests = ['PUT /nitro/v1/config/service\n{"service": {"name": "svc_app_01"}}']
    yield dry, None
    yield Report("nothing-to-do", ExitCode.NOTHING_TO_DO, [], ["the plan is empty"]), None
    yield (
        Report("rolled-back", ExitCode.ROLLED_BACK, reverted(),
               ["apply failed: the canary did not verify"]),
        journal,
    )  # fmt: skip
    yield (
        Report("rollback-incomplete", ExitCode.ROLLBACK_INCOMPLETE,
               [StepReport(changes[0], "changed since nsfix wrote it: left alone", "usip NO")],
               ["not reverted, changed since: service/svc_app_01"]),
        journal,
    )  # fmt: skip
    yield (
        Report("not-confirmed-rolled-back", ExitCode.ROLLED_BACK, reverted(),
               ["not confirmed in time"]),
        journal,
    )  # fmt: skip


def test_result_documents_of_every_ending_are_valid(
    validator: Validator, books: list[Playbook]
) -> None:
    seen = set()
    for report, journal in hand_made_reports(books):
        document = json.loads(json.dumps(result_document(report, journal)))
        assert problems(validator("result"), document) == [], report.status
        seen.add(report.status)
    # `refused` and `error` documents are printed by the CLI itself (tests/cli cover them).
    assert seen | {"refused", "error"} == set(load_schema("result")["properties"]["status"]["enum"])


def run_nsfix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    capsys.readouterr()
    logger = logging.getLogger("nsfix")
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    monkeypatch.setattr(logger, "level", logger.level)
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    code = exit_info.value.code
    out = capsys.readouterr().out
    return (code if isinstance(code, int) else 1), out


def test_live_apply_and_rollback_print_valid_documents(
    validator: Validator,
    mock_appliance_factory: MockFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    mock = mock_appliance_factory(ROOT / "mocks" / "scenarios" / "seed-incident.json")
    monkeypatch.setenv("NSFIX_URL", mock.url)
    monkeypatch.setenv("NSFIX_USER", "nsroot")
    monkeypatch.setenv("NSFIX_PASSWORD", "nsroot")
    monkeypatch.delenv("NSFIX_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("NSFIX_JOURNAL_DIR", str(tmp_path / "journals"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    plan = tmp_path / "plan.json"

    code, out = run_nsfix(monkeypatch, capsys, "audit", "--json")
    assert code == 2
    assert problems(validator("audit"), json.loads(out)) == []
    code, _ = run_nsfix(monkeypatch, capsys, "plan", "-o", str(plan))
    assert code == 0
    assert problems(validator("plan"), json.loads(plan.read_text())) == []

    documents = {}
    for label, args in [
        ("dry-run", ("apply", str(plan), "--dry-run", "--json")),
        ("applied", ("apply", str(plan), "--yes", "--settle", "0", "--json")),
        ("nothing-to-do", ("apply", str(plan), "--yes", "--settle", "0", "--json")),
    ]:
        code, out = run_nsfix(monkeypatch, capsys, *args)
        documents[label] = json.loads(out)
        assert documents[label]["status"] == label, out
        assert code == documents[label]["exit_code"]
    journal = documents["applied"]["journal"]
    code, out = run_nsfix(
        monkeypatch, capsys, "rollback", journal, "--yes", "--settle", "0", "--json"
    )
    documents["rolled-back"] = json.loads(out)
    assert (code, documents["rolled-back"]["status"]) == (0, "rolled-back")

    for label, document in documents.items():
        assert problems(validator("result"), document) == [], label
    assert documents["dry-run"]["requests"]


# --- broken documents are rejected -------------------------------------------------------------


def broken(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def test_broken_inventory_documents_are_rejected(validator: Validator) -> None:
    good = inventory_report.inventory_document(snapshot("mixed"))
    check = validator("inventory")
    assert problems(check, good) == []

    def drop_counts(d: dict[str, Any]) -> None:
        del d["counts"]

    def unknown_mode(d: dict[str, Any]) -> None:
        d["lbvservers"][0]["m"] = "DSR"

    def ha_role(d: dict[str, Any]) -> None:
        d["appliance"]["ha_role"] = "primary"

    def port_text(d: dict[str, Any]) -> None:
        d["services"][0]["port"] = "*"

    def newer(d: dict[str, Any]) -> None:
        d["schema_version"] = 2

    for change in (drop_counts, unknown_mode, ha_role, port_text, newer):
        assert problems(check, broken(good, change)), change.__name__

    def new_field(d: dict[str, Any]) -> None:
        d["services"][0]["comment"] = "fields may be added in any version"

    assert problems(check, broken(good, new_field)) == []


def test_broken_audit_documents_are_rejected(validator: Validator, books: list[Playbook]) -> None:
    good = audit_doc([audited("mixed", books), unreachable()])
    check = validator("audit")
    assert problems(check, good) == []

    def severity(d: dict[str, Any]) -> None:
        d["targets"][0]["findings"][0]["severity"] = "high"

    def read_without_findings(d: dict[str, Any]) -> None:
        del d["targets"][0]["findings"]

    def unread_with_findings(d: dict[str, Any]) -> None:
        d["targets"][1]["findings"] = []

    def unread_without_reason(d: dict[str, Any]) -> None:
        d["targets"][1]["error"] = None

    def flow(d: dict[str, Any]) -> None:
        d["targets"][0]["findings"][0]["flow"] = "bounces"

    def exit_code(d: dict[str, Any]) -> None:
        d["exit_code"] = 4

    def waiver_date(d: dict[str, Any]) -> None:
        waived = next(f for f in d["targets"][0]["findings"] if f["waiver"])
        waived["waiver"]["expires"] = "31/01/2099"

    def negative(d: dict[str, Any]) -> None:
        d["summary"]["critical"] = -1

    for change in (
        severity, read_without_findings, unread_with_findings, unread_without_reason, flow,
        exit_code, waiver_date, negative,
    ):  # fmt: skip
        assert problems(check, broken(good, change)), change.__name__


def test_broken_plan_files_are_rejected(validator: Validator, books: list[Playbook]) -> None:
    good = plan_doc("mixed", books, PlanOptions(bind_monitor=True, dedicated_copies=True))
    check = validator("plan")
    assert problems(check, good) == []

    def unknown_field(d: dict[str, Any]) -> None:
        d["plan"]["changes"][0]["approved_by"] = "cab"

    def update_without_compare(d: dict[str, Any]) -> None:
        d["plan"]["changes"][0]["precondition"] = "absent"

    def bind_expecting_values(d: dict[str, Any]) -> None:
        bind = next(c for c in d["plan"]["changes"] if c["operation"]["verb"] == "bind")
        bind["before"] = {"monitor_name": "x"}

    def verb(d: dict[str, Any]) -> None:
        d["plan"]["changes"][0]["operation"]["verb"] = "patch"

    def digest(d: dict[str, Any]) -> None:
        d["digest"] = "md5:0123"

    def refusal_code(d: dict[str, Any]) -> None:
        d["plan"]["refusals"][0]["code"] = "nope"

    def waived_finding(d: dict[str, Any]) -> None:
        d["plan"]["findings"][0]["waiver"] = {"rule": "x"}

    def numeric_value(d: dict[str, Any]) -> None:
        d["plan"]["changes"][0]["after"]["usip"] = True

    def no_paths(d: dict[str, Any]) -> None:
        del d["plan"]["paths"]

    def canary_code(d: dict[str, Any]) -> None:
        d["plan"]["canary"]["code"] = "first-by-name"

    def canary_not_first(d: dict[str, Any]) -> None:
        d["plan"]["canary"]["change"] = "c2"

    def canary_without_reason(d: dict[str, Any]) -> None:
        del d["plan"]["canary"]["reason"]

    def server_steps_stored(d: dict[str, Any]) -> None:
        d["plan"]["server_tasks"][0]["items"] = [{"title": "x", "linux": [], "windows": [],
                                                  "check": []}]

    def rule_without_rationale(d: dict[str, Any]) -> None:
        del next(iter(d["plan"]["rules"].values()))["rationale"]

    for change in (
        unknown_field, update_without_compare, bind_expecting_values, verb, digest,
        refusal_code, waived_finding, numeric_value, no_paths, canary_code, canary_not_first,
        canary_without_reason, server_steps_stored, rule_without_rationale,
    ):  # fmt: skip
        assert problems(check, broken(good, change)), change.__name__


def test_broken_result_documents_are_rejected(validator: Validator, books: list[Playbook]) -> None:
    report, journal = next(hand_made_reports(books))
    good = json.loads(json.dumps(result_document(report, journal)))
    check = validator("result")
    assert problems(check, good) == []

    def status(d: dict[str, Any]) -> None:
        d["status"] = "done"

    def code_disagrees(d: dict[str, Any]) -> None:
        d["exit_code"] = 5

    def requests_outside_dry_run(d: dict[str, Any]) -> None:
        d["requests"] = ["PUT /nitro/v1/config/service"]

    def step_without_outcome(d: dict[str, Any]) -> None:
        del d["steps"][0]["outcome"]

    def password(d: dict[str, Any]) -> None:
        d["password"] = "never"

    for change in (
        status, code_disagrees, requests_outside_dry_run, step_without_outcome, password,
    ):  # fmt: skip
        assert problems(check, broken(good, change)), change.__name__
