"""The `nsfix` command line: a thin shell that reads settings, calls the core and renders results.

Every failure ends in one clear line on stderr and a documented exit code (`nsfix.exitcodes`),
never a traceback. The commands live in the modules below; importing them registers them.
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Annotated

import typer

from nsfix import __version__

# Commands appear in --help in the order their modules register them: the operator's order.
from nsfix.cli import look

# isort: split
from nsfix.cli import change

# isort: split
from nsfix.cli import demo_command

# isort: split
from nsfix.cli import automation

# isort: split
from nsfix.cli.common import app, result_document
from nsfix.exitcodes import ExitCode

__all__ = ["app", "automation", "change", "demo_command", "look", "main", "result_document"]


def version_callback(value: bool) -> None:
    if value:
        print(f"nsfix {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Print version."),
    ] = False,
) -> None:
    """nsfix: audit, plan and safely fix DSR source-IP set-ups on NetScaler ADC."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps usage errors to EX_USAGE so that exit 2 keeps meaning findings."""
    if os.environ.get("NO_COLOR"):
        os.environ.setdefault("TERM", "dumb")
    try:
        # Without standalone mode a typer.Exit's code is returned instead of exiting.
        result = command()(args=argv, prog_name="nsfix", standalone_mode=False)
    except typer.Abort:
        print("nsfix: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:
        if not is_usage_error(exc):
            raise
        exc.show()  # type: ignore[attr-defined]
        # A monitoring plugin's bad command line is UNKNOWN (3), by the plugin guidelines.
        words = sys.argv[1:] if argv is None else argv
        sys.exit(3 if words[:1] == ["check"] else int(ExitCode.USAGE))
    sys.exit(result if isinstance(result, int) else int(ExitCode.OK))


HELP_OPTIONS = ["-h", "--help"]


def command() -> typer.core.TyperGroup:
    """The command tree typer builds, with two conventions it leaves to the application:
    `nsfix COMMAND --version` works as `nsfix --version` does, and help names what an option
    takes in words (SECONDS, FILE, NAME) rather than Python types (<float range>, <list[str]>)."""
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    [root_version] = [p for p in group.params if p.name == "version"]
    for cmd in (group, *group.commands.values()):
        if cmd is not group:
            version = copy.copy(root_version)
            version.expose_value = False  # the commands' functions do not take it
            cmd.params.append(version)
        context = typer.Context(cmd, info_name=cmd.name, help_option_names=HELP_OPTIONS)
        # click makes the help option once per command and keeps it: readable from here on.
        for param in (*cmd.params, cmd.get_help_option(context)):
            if param is None:
                continue
            if param.metavar is not None:
                continue
            if isinstance(param, typer.core.TyperOption):
                param.metavar = readable_metavar(param, context)
            elif isinstance(param, typer.core.TyperArgument) and param.name:
                param.metavar = param.name.upper()  # PLAN_FILE, not {plan_file}
    return group


# typer's labels for what an option takes, in the words of a Unix manual page.
_METAVARS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "directory": "DIR"}


def readable_metavar(option: typer.core.TyperOption, context: typer.Context) -> str:
    """`--insecure` takes nothing, `--timeout` a NUMBER, `--partition` a NAME (repeatable)."""
    if option.is_flag or option.count:
        return ""
    label = option.display_type(context).strip("<>").removesuffix(" range")
    if label.startswith("list[") and label.endswith("]"):
        label = label[len("list[") : -1]
    if "|" in label:
        return f"[{label}]"
    return _METAVARS.get(label, label.upper())


def is_usage_error(exc: BaseException) -> bool:
    """Click's usage errors (vendored by newer typer) all carry exit code 2 and a show()."""
    return getattr(exc, "exit_code", None) == 2 and callable(getattr(exc, "show", None))
