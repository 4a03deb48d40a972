"""A password file every user of the machine can open is refused before any request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mocks.fixtures import RunningMock
from tests.cli.conftest import PASSWORD
from tests.support import Run

Nsfix = Callable[..., Run]
Appliance = Callable[..., RunningMock]


def test_a_world_readable_password_file_is_refused_with_the_fix(
    nsfix: Nsfix, appliance: Appliance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = appliance()
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o644)
    run = nsfix("audit", "--password-file", str(secret), url=mock.url)
    assert run.code == 1
    assert f"password file {secret}" in run.err
    assert f"chmod 600 {secret}" in run.err
    assert "Traceback" not in run.err
    assert PASSWORD not in run.err
    assert mock.appliance.counters["requests_total"] == 0
    monkeypatch.setenv("NSFIX_INSECURE_PASSWORD_FILE", "1")
    anyway = nsfix("audit", "--password-file", str(secret), url=mock.url)
    assert anyway.code == 2
    assert "every user" in anyway.err
    secret.chmod(0o600)
    monkeypatch.delenv("NSFIX_INSECURE_PASSWORD_FILE")
    assert nsfix("audit", "--password-file", str(secret), url=mock.url).code == 2
