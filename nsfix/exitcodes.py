"""The exit codes of every nsfix command: stable, documented, and what a scheduled job keys on."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit status. Values never change meaning once released (README, "Exit codes")."""

    OK = 0
    """The command did what it was asked; for audit: no finding at or above --fail-on."""
    ERROR = 1
    """Could not run: unreachable appliance, refused login, broken reply, bad input file."""
    FINDINGS = 2
    """Audit: every partition was read and something is at or above --fail-on (the compliance
    job's "act on this"); plan --detailed-exitcode: changes pending, as Terraform's 2."""
    PARTIAL = 3
    """Some appliances or partitions could not be read; the rest were (and, for audit, have no
    finding at or above --fail-on)."""
    REFUSED = 4
    """apply/rollback refused in preflight: nothing was written (edited plan, drift, HA
    secondary, wrong target, lock held, unsaved changes with --save, no confirmation)."""
    ROLLED_BACK = 5
    """apply failed (or was not confirmed in time) and every change was rolled back and verified."""
    ROLLBACK_INCOMPLETE = 6
    """apply or rollback failed and some objects could not be restored: operator action needed;
    the final report and the journal say which, and the exact command to finish."""
    NOTHING_TO_DO = 7
    """apply: every change of the plan is already in place (or the plan is empty)."""
    PARTIAL_FINDINGS = 8
    """Audit: some appliances or partitions could not be read AND the rest have findings at or
    above --fail-on. Its own code so that findings never hide a dead appliance from a job that
    stays quiet on 2 (the cron line mails on anything but 0 and 2)."""
    USAGE = 64
    """Bad command line (sysexits EX_USAGE); kept apart from 2, which means findings."""
    INTERRUPTED = 130
    """Ctrl-C; the session was logged out on the way out."""

    @property
    def words(self) -> str:
        """The name as reports print it: `partial findings`."""
        return self.name.lower().replace("_", " ")
