"""An HA pair whose peer is down or whose sync is off: the change is made, and the operator told."""

from __future__ import annotations

from pathlib import Path

from mocks.fixtures import MockFactory
from nsfix.model import ha_warnings
from tests.apply.helpers import (
    Nsfix,
    journal_dir_fixture,  # noqa: F401
    nsfix_fixture,  # noqa: F401
    scenario,
)


def test_warnings_name_the_peer_and_the_disabled_sync() -> None:
    nodes = [
        {"id": "0", "ipaddress": "10.0.0.11", "state": "Primary", "hasync": "DISABLED"},
        {"id": "1", "ipaddress": "10.0.0.12", "state": "UNKNOWN"},
    ]
    warnings = ha_warnings(nodes)
    assert any("synchronisation is disabled" in w for w in warnings)
    assert any("10.0.0.12 reports state UNKNOWN" in w for w in warnings)
    healthy = [
        {"id": "0", "state": "Primary", "hasync": "ENABLED"},
        {"id": "1", "ipaddress": "10.0.0.12", "state": "Secondary"},
    ]
    assert ha_warnings(healthy) == []
    # A standalone node has nobody to synchronise with.
    assert ha_warnings([{"id": "0", "state": "Primary", "hasync": "DISABLED"}]) == []


def test_apply_says_the_peer_is_down(
    nsfix: Nsfix, mock_appliance_factory: MockFactory, tmp_path: Path
) -> None:
    data = scenario("seed-incident")
    for node in data["hanode"]:
        if str(node["id"]) != "0":
            node["state"] = "UNKNOWN"
    mock = mock_appliance_factory(data)
    plan = tmp_path / "plan.json"
    assert nsfix("plan", "-o", str(plan), url=mock.url).code == 0
    dry = nsfix("apply", str(plan), "--dry-run", url=mock.url)
    assert dry.code == 0
    assert "reports state UNKNOWN" in dry.out
    assert "reports state UNKNOWN" in dry.err  # said before anything is written
