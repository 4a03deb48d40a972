"""One error root: every failure nsfix expects is an NsfixError that carries its exit code, and
the command line turns any of them into one line and that code (and a result document)."""

from __future__ import annotations

import json

import pytest
import typer

from nsfix.cli.common import handled_errors
from nsfix.demo import MockUnavailable
from nsfix.errors import NsfixError
from nsfix.executor import Refused
from nsfix.exitcodes import ExitCode
from nsfix.journal import JournalError
from nsfix.nitro import NitroAuthError, NitroError, NitroTransportError
from nsfix.planfile import PlanFileError
from nsfix.settings import SettingsError
from nsfix.shell import InputError


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (SettingsError, ExitCode.ERROR),
        (InputError, ExitCode.ERROR),
        (MockUnavailable, ExitCode.ERROR),
        (PlanFileError, ExitCode.ERROR),
        (JournalError, ExitCode.ERROR),
        (NitroError, ExitCode.ERROR),
        (NitroTransportError, ExitCode.ERROR),
        (Refused, ExitCode.REFUSED),
    ],
)
def test_each_expected_failure_has_the_root_and_its_exit_code(
    kind: type[NsfixError], code: ExitCode
) -> None:
    error = kind("it failed")
    assert isinstance(error, NsfixError)
    assert error.exit_code is code


def ended(
    error: BaseException, capsys: pytest.CaptureFixture[str], *, json_result: bool = False
) -> tuple[int, str, str]:
    with (
        pytest.raises(typer.Exit) as exit_info,
        handled_errors("https://adc", json_result=json_result),
    ):
        raise error
    captured = capsys.readouterr()
    return exit_info.value.exit_code, captured.out, captured.err


def test_any_rooted_failure_ends_with_its_message_and_its_own_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Partial(NsfixError):
        exit_code = ExitCode.PARTIAL

    assert ended(Partial("half read"), capsys) == (3, "", "nsfix: error: half read\n")


def test_an_instance_may_override_its_class_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    error = InputError("no such file")
    error.exit_code = ExitCode.USAGE
    code, out, _ = ended(error, capsys, json_result=True)
    assert code == 64
    document = json.loads(out)
    assert (document["status"], document["exit_code"]) == ("error", 64)
    assert document["messages"] == ["no such file"]


def test_a_refusal_prints_its_details_and_exits_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = ended(Refused("drift", ["lb1: usip changed"]), capsys, json_result=True)
    assert code == 4
    assert err == "nsfix: refused: drift\n  lb1: usip changed\n"
    document = json.loads(out)
    assert (document["status"], document["exit_code"]) == ("refused", 4)
    assert document["messages"] == ["drift", "lb1: usip changed"]


def test_a_nitro_error_is_explained_for_the_operator(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = ended(NitroAuthError("Invalid username or password", errorcode=354), capsys)
    assert code == 1
    assert err == (
        "nsfix: error: https://adc: Invalid username or password (errorcode 354). "
        "Check NSFIX_USER and the password.\n"
    )


def test_an_unexpected_exception_is_not_swallowed() -> None:
    with pytest.raises(KeyError), handled_errors():
        raise KeyError("a bug keeps its traceback")
