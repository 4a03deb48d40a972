"""No password and no session token in any output, log, journal or request log of apply/rollback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from mocks import sessions
from tests.apply.helpers import (
    PASSWORD,
    Nsfix,
    Run,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    journal_dir_fixture,  # noqa: F401
    journal_files,
    make_plan,
    nsfix_fixture,  # noqa: F401
)


def test_no_secret_in_any_output_log_or_journal(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Remember every session token the mock hands out, to look for them too.
    tokens: list[str] = []
    real: Callable[[str], str] = sessions.new_token

    def issued(style: str) -> str:
        token = real(style)
        # Raw (body, cookie) and URL-encoded (Set-Cookie): neither may show anywhere.
        tokens.extend((token, quote(token, safe="")))
        return token

    monkeypatch.setattr(sessions, "new_token", issued)
    caplog.set_level(logging.DEBUG)
    mock = appliance("mixed")
    plan_path = tmp_path / "plan.json"
    runs: list[Run] = []
    make_plan(nsfix, mock.url, plan_path, "-vv")
    runs.append(nsfix("apply", str(plan_path), "--dry-run", "-vv"))
    # Failure paths print the most: a re-login, a failed write and the rollback after it.
    mock.appliance.faults.expire_session_after(5)
    mock.appliance.faults.fail_write(3)
    runs.append(nsfix("apply", str(plan_path), "--yes", "--settle", "0", "-vv"))
    assert runs[-1].code == 5
    mock.appliance.faults.clear()
    runs.append(nsfix("apply", str(plan_path), "--yes", "--settle", "0", "-vv", "--json"))
    assert runs[-1].code == 0
    journal = Path(runs[-1].json()["journal"])
    runs.append(nsfix("rollback", str(journal), "--dry-run", "-vv"))
    runs.append(nsfix("rollback", str(journal), "--yes", "--settle", "0", "-vv"))
    assert runs[-1].code == 0
    runs.append(nsfix("confirm", str(journal)))

    assert mock.appliance.counters["logins"] >= 5
    assert len(tokens) == 2 * mock.appliance.counters["logins"]
    assert any("DEBUG" in run.err for run in runs)  # -vv did log
    texts = {f"run {i}": run.out + run.err for i, run in enumerate(runs)}
    texts |= {str(path): path.read_text() for path in journal_files(journal_dir)}
    texts["plan file"] = plan_path.read_text()
    texts["mock request log"] = repr(mock.appliance.request_log)
    texts["captured log records"] = caplog.text
    for name, text in texts.items():
        assert PASSWORD not in text, name
        for token in tokens:
            assert token not in text, name
