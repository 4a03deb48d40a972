"""The file a live audit's SARIF points at, when the appliance gives its configuration text and
when a command policy refuses it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nsfix.artifacts import with_artifacts
from nsfix.findings import TargetAudit
from nsfix.inventory import RUNNING_CONFIG, collect
from nsfix.nitro import NitroNotAuthorized
from nsfix.sourcemap import of_snapshot
from tests.core.test_inventory_reads import Reader as ScenarioReader

TEXT = "#NS14.1 Build 25.56\nadd server app-01 10.10.20.31\nadd service svc_app_01 app-01 ANY *\n"


class Reader(ScenarioReader):
    """Inventory's reads from the seed scenario; `nsrunningconfig` gives `running`, or raises it."""

    def __init__(self, running: str | Exception) -> None:
        failures = {RUNNING_CONFIG: running} if isinstance(running, Exception) else {}
        super().__init__(failures)
        self.running = running

    def get_singleton(self, resource: str, *, attrs: Sequence[str] | None = None) -> dict[str, Any]:
        if resource == RUNNING_CONFIG and isinstance(self.running, str):
            return {"response": self.running}
        return super().get_singleton(resource, attrs=attrs)


def test_the_running_configuration_is_written_beside_the_report(tmp_path: Path) -> None:
    snapshot = collect(Reader(TEXT), url="https://ns01.example.test", running_config=True)
    report = tmp_path / "out" / "audit.sarif"
    report.parent.mkdir()
    [target] = with_artifacts([TargetAudit("u", "default", snapshot, None)], report, tmp_path)
    assert target.snapshot is not None
    source = of_snapshot(target.snapshot.extra)
    assert source is not None
    assert source.path == "out/audit.ns01.example.test-default.conf"
    assert (tmp_path / source.path).read_text() == TEXT
    assert source.of("service", "svc_app_01")[0].line == 3


def test_a_refused_read_points_at_the_records_that_were_read(tmp_path: Path) -> None:
    refused = NitroNotAuthorized(
        "Not authorized to execute this command [show ns runningConfig]",
        http_status=403,
        errorcode=2138,
        resource=RUNNING_CONFIG,
    )
    snapshot = collect(Reader(refused), url="https://ns01.example.test", running_config=True)
    assert "not authorized" in snapshot.extra[RUNNING_CONFIG + "_error"].lower()
    [target] = with_artifacts([TargetAudit("u", "default", snapshot, None)], None, tmp_path)
    assert target.snapshot is not None
    source = of_snapshot(target.snapshot.extra)
    assert source is not None
    assert source.path is not None
    assert source.path.endswith(".json")
    lines = (tmp_path / source.path).read_text().splitlines()
    line = source.of("service", "svc_app_01")[0].line
    assert '"svc_app_01"' in lines[line - 1]


def test_no_extra_read_without_sarif() -> None:
    snapshot = collect(Reader(AssertionError("not asked")), url="https://ns01.example.test")
    assert RUNNING_CONFIG not in snapshot.extra
