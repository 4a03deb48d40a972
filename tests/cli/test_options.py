"""The records commands build from their shared options, and the rules that mix options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from nsfix.cli.options import Connection, Format, Output, Source
from tests.cli.conftest import Run

Nsfix = Callable[..., Run]


ADC = Connection("https://10.0.0.1", "auditor", None, None, False, 60.0)


def test_a_connection_resolves_its_target_from_options_and_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NSFIX_PASSWORD", "secret")
    monkeypatch.delenv("NSFIX_PASSWORD_FILE", raising=False)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    target = replace(ADC, ca_bundle=bundle).target()
    assert (target.url, target.username, target.password) == (
        "https://10.0.0.1",
        "auditor",
        "secret",
    )
    assert target.verify == str(bundle)
    elsewhere = replace(ADC, ca_bundle=bundle).target_at("10.0.0.2")
    assert (elsewhere.url, elsewhere.username, elsewhere.verify) == (
        "https://10.0.0.2",
        "auditor",
        str(bundle),
    )


def test_error_messages_name_the_appliance_given_or_the_one_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NSFIX_URL", raising=False)
    assert replace(ADC, url=None).where == ""
    monkeypatch.setenv("NSFIX_URL", "https://adc.example")
    assert replace(ADC, url=None).where == "https://adc.example"
    assert ADC.where == "https://10.0.0.1"


def test_a_records_file_is_read_for_the_first_partition_asked_for() -> None:
    assert Source(ADC).partition is None
    assert Source(ADC, ("p_apps", "p_web")).partition == "p_apps"


def test_the_options_that_name_one_appliance_in_command_line_order() -> None:
    source = Source(replace(ADC, insecure=True), ("p_apps",))
    assert source.appliance_options() == {
        "--url": "https://10.0.0.1",
        "--user": "auditor",
        "--password-file": None,
        "--ca-bundle": None,
        "--insecure": True,
        "--via-console": None,
        "--instance-name": None,
        "--instance-id": None,
        "--partition": ("p_apps",),
    }


def test_json_wins_over_any_format() -> None:
    assert Output.given(True, Format.sarif) == Output(Format.json, None)
    assert Output.given(False, Format.sarif, Path("out.sarif")).format is Format.sarif
    assert Output.given(True, file=Path("plan.json")).as_json


def test_fleet_clashes_only_with_options_given_on_the_command_line(
    nsfix: Nsfix, tmp_path: Path
) -> None:
    fleet = str(tmp_path / "fleet.yaml")
    # NSFIX_USER and NSFIX_URL come from the environment (a cron job's): they do not clash.
    run = nsfix(
        "audit", "--fleet", fleet, "--insecure", "--partition", "p", "--all-partitions",
        url="https://10.0.0.1",
    )  # fmt: skip
    assert run.code == 64
    assert (
        "--insecure, --partition, --all-partitions cannot be combined with --fleet (the fleet "
        "file says it)"
    ) in run.err
    run = nsfix("plan", "--fleet", fleet, "--user", "someone", "-o", "plan.json")
    assert run.code == 64
    assert "--user, --output cannot be combined with --fleet" in run.err


def test_fleet_options_that_need_each_other(nsfix: Nsfix, tmp_path: Path) -> None:
    select = nsfix("audit", "--select", "lab")
    assert (select.code, "--select needs --fleet" in select.err) == (64, True)
    plan = nsfix("plan", "--fleet", str(tmp_path / "fleet.yaml"))
    assert (plan.code, "--fleet needs --output-dir for the plan files" in plan.err) == (64, True)
