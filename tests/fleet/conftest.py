"""The CLI fixtures of tests/cli, for the scheduled-job tests that run nsfix end to end."""

from tests.cli.conftest import appliance, no_backoff, nsfix

__all__ = ["appliance", "no_backoff", "nsfix"]
