"""The command-line conventions an operator brings from other tools: -h, --version, readable
help, shell completion, environment variables and durations with a unit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from nsfix import __version__
from nsfix.cli import command
from nsfix.exitcodes import ExitCode
from tests.support import Run

COMMANDS = sorted(name for name, cmd in command().commands.items() if not cmd.hidden)


def test_every_command_is_listed() -> None:
    assert {"inventory", "audit", "plan", "apply", "rollback", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_dash_h_is_help_everywhere(nsfix: Callable[..., Run], name: str | None) -> None:
    words = [name] if name else []
    short = nsfix(*words, "-h")
    long = nsfix(*words, "--help")
    assert (short.code, long.code) == (0, 0)
    assert short.out == long.out
    assert "Usage: nsfix" in short.out


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_version_works_before_and_after_a_command(
    nsfix: Callable[..., Run], name: str | None
) -> None:
    words = [name] if name else []
    run = nsfix(*words, "--version")
    assert (run.code, run.out) == (0, f"nsfix {__version__}\n")


@pytest.mark.parametrize("name", COMMANDS)
def test_help_names_what_an_option_takes_in_words(
    nsfix: Callable[..., Run], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    help_text = nsfix(name, "--help").out
    text = help_text[help_text.index("Options") :]
    for python_type in ("<bool>", "<list[", "<int>", "<float", "<str>", "<int range>"):
        assert python_type not in text, f"nsfix {name} --help shows {python_type}"


def test_every_option_has_help(nsfix: Callable[..., Run]) -> None:
    group = command()
    missing = [
        f"{name} {param.opts[0]}"
        for name, cmd in group.commands.items()
        if not cmd.hidden
        for param in cmd.params
        if param.param_type_name == "option" and not getattr(param, "help", None)
    ]
    assert missing == []


def test_rollback_settle_says_what_it_waits_for(nsfix: Callable[..., Run]) -> None:
    assert "monitors to settle" in " ".join(nsfix("rollback", "--help").out.split())


def test_help_lists_the_environment_variables(
    nsfix: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    text = " ".join(nsfix("--help").out.split())
    for name in ("NSFIX_URL", "NSFIX_CA_BUNDLE", "NSFIX_TIMEOUT", "REQUESTS_CA_BUNDLE"):
        assert name in text
    assert "--install-completion" in text
    assert "--show-completion" in text
    audit = " ".join(nsfix("audit", "--help").out.split())
    assert "NSFIX_TIMEOUT" in audit
    assert "NSFIX_CA_BUNDLE" in audit


def test_a_bad_nsfix_timeout_is_a_usage_error(
    nsfix: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NSFIX_TIMEOUT", "soon")
    run = nsfix("inventory", "--from-file", str(tmp_path / "none.json"))
    assert run.code == ExitCode.USAGE
    assert "NSFIX_TIMEOUT" in run.err


def test_shell_completion_completes_commands_and_options(tmp_path: Path) -> None:
    """What `nsfix --install-completion bash` installs asks nsfix itself, through this
    environment variable; the answer is the commands and options that fit."""
    nsfix_bin = Path(sys.executable).with_name("nsfix")

    def program(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(nsfix_bin), *args],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def complete(words: str) -> list[str]:
        done = program(
            _NSFIX_COMPLETE="complete_bash",
            COMP_WORDS=words,
            COMP_CWORD=str(len(words.split()) - 1),
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert complete("nsfix au") == ["audit"]
    assert complete("nsfix audit --fa") == ["--fail-on"]
    script = program("--show-completion", "bash")
    assert script.returncode == 0
    assert "_NSFIX_COMPLETE" in script.stdout


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("5", "write 5s for seconds or 5m for minutes"),
        ("90", "write 90s for seconds or 90m for minutes"),
        ("five minutes", "e.g. 90s, 5m or 1h"),
        ("0m", "more than zero"),
    ],
)
def test_confirm_within_needs_a_unit(
    nsfix: Callable[..., Run], tmp_path: Path, value: str, hint: str
) -> None:
    """`--confirm-within 5` once rolled back a change after 5 s that its author meant as 5
    minutes: a bare number is refused before anything is read or written."""
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    run = nsfix("apply", str(plan), "--url", "https://127.0.0.1:9", "--confirm-within", value)
    assert run.code == ExitCode.USAGE
    assert "--confirm-within" in run.err
    assert hint in " ".join(run.err.split())


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("5m", 300), ("1h", 3600)])
def test_durations_with_a_unit(text: str, seconds: float) -> None:
    from nsfix.cli.common import parse_duration

    assert parse_duration(text, "--confirm-within") == seconds


def test_every_option_the_readme_and_guide_show_is_one_the_command_takes() -> None:
    """The README once listed --all-partitions as if every command took it."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "README.md").read_text() + (root / "docs" / "guide.md").read_text()
    group = command()
    checked = 0
    wrong = []
    for match in re.finditer(r"nsfix ([a-z]+)((?: [^`\n#|]*)?)", text):
        cmd = group.commands.get(match.group(1))
        if cmd is None:
            continue
        known = {o for p in cmd.params for o in (*p.opts, *getattr(p, "secondary_opts", []))}
        for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", match.group(2)):
            checked += 1
            if option not in known | {"-h", "--help"}:
                wrong.append(f"{match.group(0).strip()}: {option}")
    assert wrong == []
    assert checked > 40
