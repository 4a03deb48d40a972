"""The one root of the failures nsfix expects; each carries the exit code a command ends with."""

from __future__ import annotations

from nsfix.exitcodes import ExitCode


class NsfixError(Exception):
    """An expected failure: the command line prints it on one line and exits with `exit_code`.

    A subclass sets its own `exit_code`; an instance may set another. Any other exception that
    reaches the command line is a bug and keeps its traceback.
    """

    exit_code: ExitCode = ExitCode.ERROR
