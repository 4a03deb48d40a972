"""The fault docs cannot drift: docs/faults.md names tests that exist, and the scenario README
documents every fault, parameter, `_mock` setting and behaviour switch the mock has."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

from mocks.behaviour import SETTINGS, SWITCHES, Behaviour
from mocks.faults import _CLASSES, FAULT_NAMES

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_the_fault_matrix_names_exists() -> None:
    text = (ROOT / "docs" / "faults.md").read_text(encoding="utf-8")
    defined = {
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
    }
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text))
    files = set(re.findall(r"`(tests/[\w/]+\.py)", text))
    assert len(named) >= 25
    assert named <= defined, sorted(named - defined)
    assert all((ROOT / f).exists() for f in files), sorted(
        f for f in files if not (ROOT / f).exists()
    )


def _table(text: str, heading: str) -> dict[str, str]:
    """The rows of the first table under a `## heading`: first cell's `name` -> whole row."""
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w]+)` \|(.*)$", section, re.M)
    return {name: rest for name, rest in rows}


def test_the_scenario_readme_documents_every_fault_and_its_parameters() -> None:
    text = (ROOT / "mocks" / "scenarios" / "README.md").read_text(encoding="utf-8")
    rows = _table(text, "Faults")
    assert set(rows) == set(FAULT_NAMES)
    for name in FAULT_NAMES:
        params = ({"seconds"} if name == "latency"
                  else {f.name for f in fields(_CLASSES[name])} - {"seen"})
        documented = set(re.findall(r"`(\w+)`", rows[name].split("|")[0]))
        assert documented == params, (name, documented, params)


def test_the_scenario_readme_documents_every_setting_and_switch() -> None:
    text = (ROOT / "mocks" / "scenarios" / "README.md").read_text(encoding="utf-8")
    assert set(_table(text, "`_mock`: settings")) == set(SETTINGS)
    rows = _table(text, "`_mock`: behaviour switches")
    assert set(rows) == set(SWITCHES)
    for name, (values, reference) in SWITCHES.items():
        cells = rows[name].split("|")
        documented = re.findall(r"`([^`]+)`", cells[0])
        assert documented == [json.dumps(v) for v in values], (name, documented)
        assert reference.split()[0] in cells[-2], (name, "cites another reference section")
    # Defaults in the table are the ones the code applies.
    assert {n: getattr(Behaviour(), n) for n in SWITCHES} == {
        n: values[0] for n, (values, _) in SWITCHES.items()}
