"""The `nsfix` command line: a thin shell that reads settings, calls the core and renders results.

Every failure ends in one clear line on stderr and a documented exit code (`nsfix.exitcodes`),
never a traceback. The commands live in the modules below; importing them registers them.
"""

from __future__ import annotations

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
        result = app(args=argv, prog_name="nsfix", standalone_mode=False)
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


def is_usage_error(exc: BaseException) -> bool:
    """Click's usage errors (vendored by newer typer) all carry exit code 2 and a show()."""
    return getattr(exc, "exit_code", None) == 2 and callable(getattr(exc, "show", None))
