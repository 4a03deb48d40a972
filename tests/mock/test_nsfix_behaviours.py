"""nsfix against both sides of every behaviour the NITRO reference leaves unconfirmed.

Each `_mock` switch (mocks/behaviour.py) is one appliance nsfix may meet: plan, apply and
rollback must come out the same on each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mocks.appliance import Appliance
from mocks.behaviour import SWITCHES
from mocks.fixtures import MockFactory
from mocks.scenario import ScenarioError
from tests.apply.helpers import (
    Nsfix,
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    only_journal,
    outcomes,
    scenario,
    whole_config,
)

# Every value of every switch, one at a time (the defaults are the first entry).
VARIANTS: list[dict[str, Any]] = [{}] + [
    {name: value} for name, (values, _) in SWITCHES.items() for value in values[1:]
]


def _ids(variant: dict[str, Any]) -> str:
    return ",".join(f"{k}={json.dumps(v)}" for k, v in variant.items()) or "defaults"


def _changed(document: dict[str, Any]) -> list[str]:
    return [str(c["object"]["name"]) for c in document["plan"]["changes"]]


@pytest.mark.parametrize("variant", VARIANTS, ids=_ids)
def test_plan_apply_and_rollback_are_the_same_on_every_variant(
        nsfix: Nsfix, mock_appliance_factory: MockFactory, journal_dir: Path, tmp_path: Path,
        variant: dict[str, Any]) -> None:
    plans = {}
    for name in ("mixed", "seed-incident"):
        data = scenario(name)
        data["_mock"] = {**data["_mock"], **variant}
        mock = mock_appliance_factory(data)
        plans[name] = make_plan(nsfix, mock.url, tmp_path / f"{name}.json")
    # The same changes as on an appliance with the default behaviours (fixed expectations,
    # so a variant cannot agree with a default that is itself wrong).
    assert _changed(plans["seed-incident"]) == ["svc_app_01", "svc_app_02"]
    mixed = set(_changed(plans["mixed"]))
    assert "svc web tier:app@1" in mixed
    assert "sg_dsr_bad" in mixed

    data = scenario("seed-incident")
    data["_mock"] = {**data["_mock"], **variant}
    mock = mock_appliance_factory(data)
    plan_path = tmp_path / "apply.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    applied = nsfix("apply", str(plan_path), "--yes", "--settle", "0")
    assert applied.code == 0, applied.err
    journal = only_journal(journal_dir)
    assert outcomes(journal, "apply") == {"c1": "applied", "c2": "applied"}
    undo = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert undo.code == 0, undo.err
    assert_same_config(before, mock.appliance)


def test_a_switch_with_an_unknown_value_or_name_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"_mock.attrs_keys: expected false or true"):
        Appliance({"_mock": {"attrs_keys": "yes"}})
    with pytest.raises(ScenarioError, match=r"_mock.basic_auth: expected false or true"):
        Appliance({"_mock": {"basic_auth": 1}})
    with pytest.raises(ScenarioError, match=r"unknown setting\(s\) atrs_keys"):
        Appliance({"_mock": {"atrs_keys": True}})
