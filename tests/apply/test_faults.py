"""Apply under injected faults: every run ends fully applied and verified, or exactly restored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mocks.envelopes import NitroError as MockNitroError
from mocks.envelopes import bad_arg
from mocks.fixtures import RunningMock
from nsfix import apply as apply_module
from nsfix.executor import Executor
from nsfix.journal import JournalError, JournalWriter
from nsfix.nitro import NitroWriter
from tests.apply.helpers import (
    Nsfix,
    StartAppliance,
    appliance_fixture,  # noqa: F401
    assert_same_config,
    journal_dir_fixture,  # noqa: F401
    make_plan,
    nsfix_fixture,  # noqa: F401
    only_journal,
    outcomes,
    records,
    step_outcomes,
    whole_config,
)

# The mixed scenario's plan: c1 the canary; c2-c4 service updates (one bulk request by default);
# c5 a service group; c6 a service.
DEFAULT_WRITES = [["c1"], ["c2", "c3", "c4"], ["c5"], ["c6"]]
ONE_BY_ONE = [["c1"], ["c2"], ["c3"], ["c4"], ["c5"], ["c6"]]
ALL = ["c1", "c2", "c3", "c4", "c5", "c6"]


def planned(nsfix: Nsfix, mock: RunningMock, folder: Path) -> tuple[Path, dict[str, Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "plan.json"
    document = make_plan(nsfix, mock.url, path)
    assert [c["id"] for c in document["plan"]["changes"]] == ALL
    return path, whole_config(mock.appliance)


def usip_of(mock: RunningMock) -> dict[str, str]:
    config = mock.appliance.config()
    out = {s["name"]: s["usip"] for s in config["service"]}
    out.update({g["servicegroupname"]: g["usip"] for g in config["servicegroup"]})
    return out


def assert_fully_applied(mock: RunningMock, document: dict[str, Any]) -> None:
    assert set(step_outcomes(document).values()) == {"applied and verified"}
    now = usip_of(mock)
    for step in document["steps"]:
        assert now[step["object"].split("/", 1)[1]] == "YES", step["object"]


CASES = [
    pytest.param(writes, k, id=f"{label}-write{k}")
    for label, writes in (("default", DEFAULT_WRITES), ("batch1", ONE_BY_ONE))
    for k in range(1, len(writes) + 2)
]


@pytest.mark.parametrize(("writes", "k"), CASES)
def test_kth_write_fails_then_everything_is_rolled_back_exactly(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    writes: list[list[str]],
    k: int,
) -> None:
    mock = appliance("mixed")
    plan_path, before = planned(nsfix, mock, tmp_path)
    mock.appliance.faults.fail_write(k, errorcode=278, message="Invalid argument [usip]")
    batch = ["--batch-size", "1"] if writes is ONE_BY_ONE else []
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json", *batch)
    document = run.json()
    journal = only_journal(journal_dir)
    if k > len(writes):
        assert run.code == 0, run.out
        assert mock.appliance.counters["faults_fired"] == {}
        assert_fully_applied(mock, document)
        return

    assert run.code == 5, run.out + run.err
    assert document["status"] == "rolled-back"
    why = document["messages"][0]
    assert f"apply failed: the write of {', '.join(writes[k - 1])} failed" in why
    assert "Invalid argument [usip]" in why
    assert_same_config(before, mock.appliance)
    done = [c for group in writes[: k - 1] for c in group]
    failed = writes[k - 1]
    later = [c for group in writes[k:] for c in group]
    expected = (
        dict.fromkeys(done, "reverted and verified")
        | dict.fromkeys(failed, "not applied (as before)")
        | dict.fromkeys(later, "not attempted")
    )
    assert step_outcomes(document) == expected
    # The journal tells the same story, change by change.
    assert outcomes(journal, "apply") == dict.fromkeys(done, "applied") | dict.fromkeys(
        failed, "failed"
    )
    assert outcomes(journal, "rollback") == dict.fromkeys(done, "reverted") | dict.fromkeys(
        failed, "skipped"
    )
    end = records(journal)[-1]
    assert end["type"] == "end"
    assert end["exit_code"] == 5
    # Nothing is left for a later rollback to do.
    assert nsfix("rollback", str(journal), "--yes", "--settle", "0").code == 7


def test_a_write_failing_during_the_rollback_leaves_a_journal_that_finishes_it(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance("mixed")
    plan_path, before = planned(nsfix, mock, tmp_path)
    # Writes: 1 c1, 2 c2-c4 (bulk), 3 c5 fails; rollback: 4 c4-c1 (bulk), where the appliance
    # refuses c2's item alone (a 207 with one result per item) and takes the others.
    mock.appliance.faults.fail_write(3, message="Invalid argument [usip]")
    appliance = mock.appliance
    update = appliance._update

    def refuse_c2_revert(caller: Any, schema: Any, item: dict[str, Any]) -> Any:
        if item.get("name") == "svc_dormant_01" and item.get("usip") == "NO":
            raise bad_arg("usip")
        return update(caller, schema, item)

    appliance._update = refuse_c2_revert  # type: ignore[method-assign]
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert run.code == 6, run.out + run.err
    document = run.json()
    assert document["status"] == "rollback-incomplete"
    states = step_outcomes(document)
    assert states == {
        "c1": "reverted and verified",
        "c2": "rollback failed",
        "c3": "reverted and verified",
        "c4": "reverted and verified",
        "c5": "not applied (as before)",
        "c6": "not attempted",
    }
    left = next(s for s in document["steps"] if s["change"] == "c2")
    assert "Invalid argument" in left["detail"]
    assert any("svc_dormant_01" in m for m in document["messages"])  # the read-back says so
    journal = only_journal(journal_dir)
    assert f"finish with: nsfix rollback {journal}" in "\n".join(document["messages"])
    assert outcomes(journal, "rollback")["c2"] == "failed"
    assert records(journal)[-1]["steps"]["c2"] == "rollback failed"
    assert usip_of(mock)["svc_dormant_01"] == "YES"

    appliance._update = update  # type: ignore[method-assign]
    finish = nsfix("rollback", str(journal), "--yes", "--settle", "0", "--json")
    assert finish.code == 0, finish.out + finish.err
    assert step_outcomes(finish.json()) == {"c2": "reverted and verified"}
    assert_same_config(before, mock.appliance)


def authenticated_requests(mock: RunningMock) -> list[tuple[str, str]]:
    return [
        (e["method"], e["resource"]) for e in mock.appliance.request_log if e["resource"] != "login"
    ]


@pytest.mark.parametrize(
    ("dies_on", "nth", "after_writes"),
    [
        pytest.param(("GET", "service"), 0, False, id="preflight-read"),
        pytest.param(("PUT", "service"), 0, False, id="canary-write"),
        pytest.param(("PUT", "service"), 1, False, id="bulk-write"),
        pytest.param(("PUT", "servicegroup"), 0, False, id="group-write"),
        pytest.param(("GET", "service"), 0, True, id="verification-read"),
        pytest.param(("GET", "lbvserver"), 0, True, id="audit-after-apply"),
    ],
)
def test_session_expiring_mid_apply_logs_in_again_and_completes(
    nsfix: Nsfix,
    appliance: StartAppliance,
    tmp_path: Path,
    dies_on: tuple[str, str],
    nth: int,
    after_writes: bool,
) -> None:
    # Where that request falls in this apply's sequence: from a clean run on a twin appliance.
    twin = appliance("mixed")
    twin_plan, _ = planned(nsfix, twin, tmp_path / "twin")
    twin.appliance.reset_counters()
    assert nsfix("apply", str(twin_plan), "--yes", "--settle", "0").code == 0
    sequence = authenticated_requests(twin)
    start = max(i for i, r in enumerate(sequence) if r[0] == "PUT") if after_writes else 0
    k = [i for i, r in enumerate(sequence) if i >= start and r == dies_on][nth]

    mock = appliance("mixed")
    plan_path, _ = planned(nsfix, mock, tmp_path)
    mock.appliance.reset_counters()
    mock.appliance.faults.expire_session_after(k)  # k requests live; the next one dies
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert run.code == 0, run.out + run.err
    counters = mock.appliance.counters
    assert counters["faults_fired"] == {"expire_session_after": 1}
    assert counters["logins"] == 2  # it logged in again, once
    refused = [
        (e["method"], e["resource"]) for e in mock.appliance.request_log if e["status"] == 401
    ]
    assert refused == [dies_on]
    assert_fully_applied(mock, run.json())


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_connection_reset_after_a_write_was_sent_is_rolled_back(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path, k: int
) -> None:
    mock = appliance("mixed")
    plan_path, before = planned(nsfix, mock, tmp_path)
    mock.appliance.faults.reset_connection(k, after_write=True)
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert run.code == 5, run.out + run.err
    assert mock.appliance.counters["faults_fired"] == {"reset_connection": 1}
    document = run.json()
    lost = DEFAULT_WRITES[k - 1]
    states = step_outcomes(document)
    # The appliance did apply the write whose reply was lost: the rollback found and reverted it.
    assert all(states[c] == "reverted and verified" for c in lost), states
    journal = only_journal(journal_dir)
    assert all(outcomes(journal, "apply")[c] == "unknown" for c in lost)
    assert_same_config(before, mock.appliance)


def test_node_turning_secondary_mid_apply_is_reported_and_finished_on_the_primary(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance("mixed")
    plan_path, before = planned(nsfix, mock, tmp_path)
    mock.appliance.faults.flip_secondary(1)  # right after the canary's write
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0")
    assert run.code == 6, run.out + run.err
    journal = only_journal(journal_dir)
    assert "You are connected to a secondary node" in run.out  # why the writes were refused
    # What to do, with the exact command (this standalone mock names no peer to go to).
    assert "this node is now an HA secondary" in run.out
    assert f"nsfix rollback {journal} --url https://PRIMARY" in run.out
    [left] = [line for line in run.out.splitlines() if "rollback failed" in line]
    assert left.strip().startswith("c1 service/svc web tier:app@1")
    assert usip_of(mock)["svc web tier:app@1"] == "YES"  # left as applied: the operator acts

    mock.appliance.set_ha_state("Primary")
    finish = nsfix("rollback", str(journal), "--yes", "--settle", "0")
    assert finish.code == 0, finish.out + finish.err
    assert "c1 service/svc web tier:app@1" in finish.out
    assert_same_config(before, mock.appliance)


def test_a_failed_apply_retried_within_the_same_second_gets_its_own_journal(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> FrozenClock:
            return cls(2026, 3, 4, 5, 6, 7, tzinfo=UTC)

    monkeypatch.setattr(apply_module, "datetime", FrozenClock)
    mock = appliance("mixed")
    plan_path, _ = planned(nsfix, mock, tmp_path)
    mock.appliance.faults.fail_write(2)
    first = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert first.code == 5
    retry = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert retry.code == 0, retry.out + retry.err
    assert first.json()["journal"] != retry.json()["journal"]
    assert records(Path(first.json()["journal"]))[-1]["status"] == "rolled-back"
    assert records(Path(retry.json()["journal"]))[-1]["status"] == "applied"


def test_one_item_of_a_bulk_request_failing_rolls_back_the_others(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance("mixed")
    plan_path, before = planned(nsfix, mock, tmp_path)
    real_update = mock.appliance._update

    def update(ctx: Any, schema: Any, item: dict[str, Any]) -> Any:
        # The appliance refuses one record of the bulk request; the others go through.
        if item.get("name") == "svc_tos_01" and item.get("usip") == "YES":
            raise MockNitroError(599, 278, "Invalid argument [usip]")
        return real_update(ctx, schema, item)

    mock.appliance._update = update  # type: ignore[method-assign]
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert run.code == 5, run.out + run.err
    document = run.json()
    assert step_outcomes(document) == {
        "c1": "reverted and verified",
        "c2": "reverted and verified",
        "c3": "not applied (as before)",
        "c4": "reverted and verified",
        "c5": "not attempted",
        "c6": "not attempted",
    }
    assert "the write of c3 failed" in document["messages"][0]
    journal = only_journal(journal_dir)
    assert outcomes(journal, "apply") == {
        "c1": "applied",
        "c2": "applied",
        "c3": "failed",
        "c4": "applied",
    }
    assert_same_config(before, mock.appliance)


def test_a_backend_that_goes_down_after_the_canary_stops_the_run(
    nsfix: Nsfix, appliance: StartAppliance, journal_dir: Path, tmp_path: Path
) -> None:
    mock = appliance("seed-incident")
    plan_path = tmp_path / "plan.json"
    make_plan(nsfix, mock.url, plan_path)
    before = whole_config(mock.appliance)
    real_handle = mock.appliance.handle

    def handle(request: Any) -> Any:
        # svc_app_01's server has no loopback VIP: with usip on, its monitor fails.
        response = real_handle(request)
        if request.method in {"PUT", "POST"}:
            [svc] = [s for s in mock.appliance.config()["service"] if s["name"] == "svc_app_01"]
            state = "DOWN" if svc["usip"] == "YES" else "UP"
            mock.appliance.set_attribute("service", "svc_app_01", {"svrstate": state})
        return response

    mock.appliance.handle = handle  # type: ignore[method-assign]
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert run.code == 5, run.out + run.err
    document = run.json()
    assert "svc_app_01 was UP before the change and is now DOWN" in document["messages"][0]
    assert step_outcomes(document) == {
        "c1": "reverted and verified",
        "c2": "not attempted",
    }
    assert_same_config(before, mock.appliance)


def test_ctrl_c_mid_apply_rolls_back_what_was_applied(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock = appliance("mixed")
    plan_path, before = planned(nsfix, mock, tmp_path)
    real_verify = Executor.verify
    pressed: list[bool] = []

    def verify(self: Executor, changes: Any, expect: str) -> list[str]:
        if not pressed:  # the operator presses Ctrl-C while the canary is being checked
            pressed.append(True)
            raise KeyboardInterrupt
        return real_verify(self, changes, expect)

    monkeypatch.setattr(Executor, "verify", verify)
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert run.code == 5, run.out + run.err
    document = run.json()
    assert document["messages"][0] == "apply failed: interrupted"
    assert step_outcomes(document)["c1"] == "reverted and verified"
    assert_same_config(before, mock.appliance)
    assert records(only_journal(journal_dir))[-1]["status"] == "rolled-back"


@pytest.mark.parametrize("nth_write", [1, 2, 3])
def test_ctrl_c_while_a_write_is_on_the_wire_rolls_that_write_back_too(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    nth_write: int,
) -> None:
    mock = appliance("mixed")
    plan_path, before = planned(nsfix, mock, tmp_path)
    real_send = NitroWriter.send
    sent: list[object] = []

    def send(self: NitroWriter, write: Any) -> Any:
        results = real_send(self, write)
        sent.append(write)
        if len(sent) == nth_write:
            raise KeyboardInterrupt  # the appliance has applied it; the reply never got read
        return results

    monkeypatch.setattr(NitroWriter, "send", send)
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert run.code == 5, run.out + run.err
    assert_same_config(before, mock.appliance)
    lost = DEFAULT_WRITES[nth_write - 1]
    states = step_outcomes(run.json())
    assert all(states[c] == "reverted and verified" for c in lost), states
    assert nsfix("rollback", str(only_journal(journal_dir)), "--yes").code == 7


@pytest.mark.parametrize(
    "failing_record",
    # start=1, preflight=2, then intent/result pairs: c1 3-4, the c2-c4 bulk 5-10, verify of c1.
    [3, 4, 5, 8, 11],
)
def test_a_journal_that_cannot_be_written_stops_the_run_and_rolls_back(
    nsfix: Nsfix,
    appliance: StartAppliance,
    journal_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failing_record: int,
) -> None:
    mock = appliance("mixed")
    plan_path, before = planned(nsfix, mock, tmp_path)
    real_write = JournalWriter.write
    written: list[str] = []

    def write(self: JournalWriter, kind: str, **values: Any) -> None:
        written.append(kind)
        if len(written) >= failing_record:
            raise JournalError(f"cannot write journal {self.path}: No space left on device")
        real_write(self, kind, **values)

    monkeypatch.setattr(JournalWriter, "write", write)
    run = nsfix("apply", str(plan_path), "--yes", "--settle", "0", "--json")
    assert run.code == 5, run.out + run.err
    document = run.json()
    assert "No space left on device" in document["messages"][0]
    assert any("does not record the rollback" in m for m in document["messages"])
    assert_same_config(before, mock.appliance)
    monkeypatch.setattr(JournalWriter, "write", real_write)
    # What the journal holds is still safe to roll back from: compare-and-set finds nothing.
    assert nsfix("rollback", str(only_journal(journal_dir)), "--yes").code in {0, 7}
    assert_same_config(before, mock.appliance)
