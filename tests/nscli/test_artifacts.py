"""The file a live audit's SARIF points at, when the appliance gives its configuration text and
when a command policy refuses it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nsfix.artifacts import with_artifacts
from nsfix.findings import TargetAudit
from nsfix.inventory import RUNNING_CONFIG, collect
from nsfix.nitro import NitroNotAuthorized
from nsfix.sourcemap import of_snapshot

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads((ROOT / "mocks/scenarios/seed-incident.json").read_text())
TEXT = "#NS14.1 Build 25.56\nadd server app-01 10.10.20.31\nadd service svc_app_01 app-01 ANY *\n"


class Reader:
    """Answers inventory's reads from a scenario; `nsrunningconfig` as configured."""

    def __init__(self, running: str | Exception) -> None:
        self.running = running
        self.partition: str | None = None

    def _answer(self, resource: str) -> Any:
        if resource == RUNNING_CONFIG:
            if isinstance(self.running, Exception):
                raise self.running
            return {"response": self.running}
        return SEED.get(resource, [])

    def get(self, resource: str, name: str | None = None, **_: Any) -> list[dict[str, Any]]:
        return list(self._answer(resource))

    def get_all(self, resource: str, **_: Any) -> list[dict[str, Any]]:
        answer = self._answer(resource)
        return [answer] if isinstance(answer, dict) else list(answer)

    def get_singleton(self, resource: str, *, attrs: Sequence[str] | None = None) -> dict[str, Any]:
        answer = self._answer(resource)
        return dict(answer) if isinstance(answer, Mapping) else {}

    def switch_partition(self, name: str) -> None:
        self.partition = name


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
