"""docs/verdicts.md says what nsfix decides in each situation: every row must hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.verdict_cases import VOCABULARY, Case, Decision, decide

DOC = Path(__file__).resolve().parents[2] / "docs" / "verdicts.md"
COLUMNS = ("mode", "backend", "reach", "ha", "shared", "usip", "data")


def rows() -> list[tuple[Case, Decision]]:
    found = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != len(COLUMNS) + 3 or cells[0] not in VOCABULARY["mode"]:
            continue
        case = Case(*cells[: len(COLUMNS)])
        found.append((case, Decision(cells[len(COLUMNS)], cells[len(COLUMNS) + 1])))
    return found


ROWS = rows()


def test_the_table_covers_every_word_of_the_vocabulary() -> None:
    assert len(ROWS) >= 25
    for column in COLUMNS:
        used = {getattr(case, column) for case, _ in ROWS}
        assert used == set(VOCABULARY[column]), column


@pytest.mark.parametrize(
    ("case", "expected"), ROWS, ids=[" ".join(vars(c).values()) for c, _ in ROWS]
)
def test_each_row_is_what_nsfix_decides(case: Case, expected: Decision) -> None:
    assert decide(case) == expected
