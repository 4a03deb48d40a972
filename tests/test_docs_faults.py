"""docs/faults.md names the test that proves each cell of the fault matrix: each must exist."""

from __future__ import annotations

import re
from pathlib import Path

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
