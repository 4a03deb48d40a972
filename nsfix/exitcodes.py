"""The exit codes of every nsfix command: stable, documented, and what a scheduled job keys on."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit status. Values never change meaning once released (README, "Exit codes")."""

    OK = 0
    """The command did what it was asked; for audit: no finding at or above --fail-on."""
    ERROR = 1
    """Could not run: unreachable appliance, refused login, broken reply, bad input file."""
    FINDINGS = 2
    """Audit found something at or above --fail-on (the compliance job's "act on this")."""
    PARTIAL = 3
    """Some appliances or partitions could not be read; the rest were."""
    USAGE = 64
    """Bad command line (sysexits EX_USAGE); kept apart from 2, which means findings."""
    INTERRUPTED = 130
    """Ctrl-C; the session was logged out on the way out."""
