"""Step outcomes are decided from typed problems, never by searching message text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mocks.fixtures import MockFactory
from tests.apply.helpers import (
    Nsfix,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    scenario,
    step_outcomes,
)


def renamed(data: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The scenario with services renamed everywhere they are named (records and bindings)."""
    text = json.dumps(data)
    for old, new in names.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    out: dict[str, Any] = json.loads(text)
    return out


def test_a_verified_revert_is_not_blamed_for_a_neighbour_whose_name_contains_it(
    nsfix: Nsfix, mock_appliance_factory: MockFactory, tmp_path: Path
) -> None:
    # `service/svc_app` is a prefix of `service/svc_app2`: a problem about the second must not
    # mark the first unverified.
    data = renamed(scenario("seed-incident"), {"svc_app_01": "svc_app", "svc_app_02": "svc_app2"})
    mock = mock_appliance_factory(data)
    plan_path = tmp_path / "plan.json"
    document = make_plan(nsfix, mock.url, plan_path)
    ids = {
        f"{c['object']['resource']}/{c['object']['name']}": c["id"]
        for c in document["plan"]["changes"]
    }
    assert {"service/svc_app", "service/svc_app2"} <= set(ids)
    real_handle = mock.appliance.handle

    def handle(request: Any) -> Any:
        # svc_app2's server has no loopback VIP: with usip on its monitor fails, and it stays
        # DOWN (a stuck monitor) after the revert.
        response = real_handle(request)
        if request.method in {"PUT", "POST"}:
            [svc] = [s for s in mock.appliance.config()["service"] if s["name"] == "svc_app2"]
            if svc["usip"] == "YES":
                mock.appliance.set_attribute("service", "svc_app2", {"svrstate": "DOWN"})
        return response

    mock.appliance.handle = handle  # type: ignore[method-assign]
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json", url=mock.url)
    assert run.code == 6, run.out + run.err
    result = run.json()
    assert any("svc_app2 was UP before the change and is now DOWN" in m for m in result["messages"])
    outcomes = step_outcomes(result)
    assert outcomes[ids["service/svc_app"]] == "reverted and verified"
    assert outcomes[ids["service/svc_app2"]] == "reverted"
