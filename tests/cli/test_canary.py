"""`nsfix plan` and `nsfix report` offline: the canary is the live backend, and they say why."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import SCENARIOS
from tests.support import Run

Nsfix = Callable[..., Run]


def records(tmp_path: Path, resource: str, name: str, **fields: str) -> Path:
    """The seed incident's records with one record changed, saved for `--from-file`."""
    raw: dict[str, Any] = json.loads((SCENARIOS / "seed-incident.json").read_text())
    next(r for r in raw[resource] if r["name"] == name).update(fields)
    path = tmp_path / "ns.json"
    path.write_text(json.dumps(raw))
    return path


def test_a_down_backend_first_by_name_is_not_the_canary(nsfix: Nsfix, tmp_path: Path) -> None:
    raw = records(tmp_path, "service", "svc_app_01", svrstate="DOWN")
    plan_file = tmp_path / "plan.json"
    run = nsfix("plan", "--from-file", str(raw), "-o", str(plan_file))
    assert run.code == 0
    rows = [line.split() for line in run.out.splitlines() if line.startswith("  c")]
    assert rows[0][:3] == ["c1", "(canary)", "service/svc_app_02"]
    assert rows[1][:2] == ["c2", "service/svc_app_01"]
    assert (
        "Canary c1 [up-backend-on-up-vserver]: service/svc_app_02 is an enabled service that is "
        "UP behind vs_app_dsr (enabled, UP)"
    ) in run.out
    document = json.loads(plan_file.read_text())
    assert document["plan"]["canary"]["code"] == "up-backend-on-up-vserver"
    assert document["plan"]["changes"][0]["object"]["name"] == "svc_app_02"
    report = nsfix("report", str(plan_file))
    assert report.code == 0
    assert "(`up-backend-on-up-vserver`)" in report.out


def test_a_disabled_virtual_server_leaves_no_meaningful_canary(
    nsfix: Nsfix, tmp_path: Path
) -> None:
    raw = records(tmp_path, "lbvserver", "vs_app_dsr", state="DISABLED", curstate="OUT OF SERVICE")
    run = nsfix("plan", "--from-file", str(raw), "--json")
    assert run.code == 0
    canary = run.json()["plan"]["canary"]
    assert canary["code"] == "no-live-candidate"
    assert canary["reason"].startswith(
        "no change can be a meaningful canary: behind no enabled DSR virtual server that is UP: "
        "service/svc_app_01 (vs_app_dsr disabled), service/svc_app_02 (vs_app_dsr disabled)."
    )
    text = nsfix("plan", "--from-file", str(raw))
    assert "Canary c1 [no-live-candidate]: no change can be a meaningful canary" in text.out
