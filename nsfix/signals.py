"""SIGTERM and SIGHUP stop nsfix the way Ctrl-C does, so a run always ends by its own rules."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# systemd stops a unit with SIGTERM; a closed SSH session sends SIGHUP. Both must roll back
# an apply and log out, as Ctrl-C does, instead of killing the process mid-change.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """A stop signal, raised where the program is, like Ctrl-C's KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While inside: the first SIGTERM or SIGHUP interrupts like Ctrl-C; later ones are ignored,
    so the rollback the first one started is not cut short (Ctrl-C still can)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; it owns the run
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        for each in STOP_SIGNALS:
            signal.signal(each, signal.SIG_IGN)
        raise Stopped(signum)

    previous = {each: signal.signal(each, stop) for each in STOP_SIGNALS}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)
