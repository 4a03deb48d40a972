"""The fast canonical spelling and the piecewise digest give exactly the bytes of the plain walk."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsfix.canonical import canonical_json, canonical_pieces, canonical_text, digest, jsonable
from nsfix.inventory import snapshot_from_document
from nsfix.operations import make_plan, run_audit
from nsfix.planfile import plan_file, snapshot_digest
from nsfix.planner import PlanOptions
from nsfix.rules.engine import parse_playbook

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = parse_playbook((ROOT / "playbooks/dsr-source-ip.yaml").read_text(), "dsr-source-ip.yaml")


class Colour(Enum):
    RED = "red"


class Word(StrEnum):
    YES = "YES"


@dataclass(frozen=True)
class Inner:
    address: ipaddress.IPv4Address
    network: ipaddress.IPv6Network
    when: datetime
    tags: frozenset[str]
    colour: Colour = Colour.RED


@dataclass(frozen=True)
class Outer:
    name: str
    inner: tuple[Inner, ...]
    by_name: dict[str, Inner]
    odd_keys: dict[Any, Any] = field(default_factory=dict)
    """Keys json would order and spell otherwise: this field must take the plain walk."""
    word: Word = Word.YES
    day: date = date(2026, 11, 30)


def slow(value: Any) -> str:
    return canonical_text(jsonable(value))


def sample(odd_keys: dict[Any, Any]) -> dict[str, Any]:
    inner = Inner(
        ipaddress.IPv4Address("10.0.0.1"),
        ipaddress.IPv6Network("2001:db8::/64"),
        datetime(2026, 11, 30, 12, tzinfo=UTC),
        frozenset({"b", "a", "é"}),
    )
    outer = Outer("web tier/app 1", (inner, inner), {"z": inner, "a": inner}, odd_keys)
    return {"outer": outer, "list": [outer, {"k": [1, 2.5, None, True]}], "empty": {}}


@pytest.mark.parametrize(
    "odd_keys", [{}, {10: "ten", 9: "nine"}, {True: 1, None: 2}, {Colour.RED: "x"}]
)
def test_the_fast_spelling_is_the_plain_walk(odd_keys: dict[Any, Any]) -> None:
    value = sample(odd_keys)
    assert canonical_json(value) == slow(value)
    assert "".join(canonical_pieces(value)) == slow(value)
    assert digest(value) == "sha256:" + hashlib.sha256(slow(value).encode()).hexdigest()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_json_value_is_spelled_and_digested_as_before(value: Any) -> None:
    assert canonical_json(value) == slow(value)
    assert digest({"v": value, "w": [value]}) == digest_of_text(slow({"v": value, "w": [value]}))


def digest_of_text(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("scenario", ["seed-incident", "mixed", "topology"])
def test_a_plan_file_and_snapshot_digest_are_the_plain_walk(scenario: str) -> None:
    document = json.loads((ROOT / f"mocks/scenarios/{scenario}.json").read_text())
    snapshot = snapshot_from_document(document, source=scenario, partition=None)
    audit = run_audit(snapshot, [PLAYBOOK], (), None)
    the_plan = make_plan(snapshot, audit, None, PlanOptions())
    sealed = plan_file(the_plan)
    body = json.loads(sealed.text)
    body.pop("digest")
    assert sealed.text.startswith(slow(body)[:-1])
    assert sealed.digest == digest_of_text(slow(body))
    content = json.loads(slow(snapshot))
    assert snapshot_digest(snapshot).startswith("sha256:")
    assert canonical_json(snapshot) == canonical_text(content)
