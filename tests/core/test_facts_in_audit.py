"""Server facts settle what the audit can only suspect: a finding the facts rule out is not one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from nsfix.model import build_snapshot
from nsfix.operations import run_audit
from nsfix.serverfacts import parse_server_facts
from nsfix.shell import load_playbooks

ROOT = Path(__file__).resolve().parents[2]
BOOKS = load_playbooks([])
SNAPSHOT = build_snapshot(
    json.loads((ROOT / "mocks/scenarios/mixed.json").read_text()),
    url="https://ns",
    collected_at=datetime.now(UTC),
)


def proxy_gateway_findings(facts_text: str | None) -> list[str | None]:
    facts = parse_server_facts(facts_text, "facts.yaml") if facts_text else None
    result = run_audit(SNAPSHOT, BOOKS, (), facts)
    return [
        f.flow
        for f in result.findings
        if f.rule == "PROXY-USIP-GATEWAY" and f.object.name == "svc_proxy_usip_01"
    ]


def test_without_facts_the_proxy_usip_backend_is_a_question() -> None:
    assert proxy_gateway_findings(None) == ["asymmetric"]


def test_a_known_snip_gateway_rules_the_finding_out() -> None:
    facts = "servers:\n  10.20.2.161:\n    default_gateway: 10.20.2.1\n"
    assert proxy_gateway_findings(facts) == []


def test_a_known_router_gateway_confirms_the_asymmetric_path() -> None:
    facts = "servers:\n  10.20.2.161:\n    default_gateway: 10.20.2.254\n"
    assert proxy_gateway_findings(facts) == ["asymmetric"]
