"""Which process on which host runs a job, whether it still lives (abandoned-run detection), and how a
long-running command learns it should stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def here() -> tuple[str, int]:
    """Return (host name, process id) of this process."""
    return socket.gethostname(), os.getpid()


def gone(host: str | None, pid: int | None) -> bool:
    """Tell whether the process `pid` on `host` is known to be dead (only this host can be checked)."""
    if host != socket.gethostname() or pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Stop(threading.Event):
    """Set when the process should stop; `signal_name` says which signal asked (None: no signal)."""

    signal_name: str | None = None


@contextlib.contextmanager
def stopped_by_signals() -> Iterator[Stop]:
    """Within the block, SIGTERM or SIGINT set the yielded Stop; the previous handlers come back after.

    The handler only records the signal: the caller stops outside it, where no loop or transaction is
    interrupted half way. Once set, a second signal ends the process at once (the default action). A
    signal ignored at start stays ignored: scripts/run starts us in the background with SIGINT ignored
    and stops us with SIGTERM, so a Ctrl-C meant for the script does not count.
    """
    stop = Stop()
    handled = [number for number in STOP_SIGNALS if signal.getsignal(number) != signal.SIG_IGN]

    def record(signum, _frame):
        stop.signal_name = signal.Signals(signum).name
        stop.set()
        for number in handled:
            signal.signal(number, signal.SIG_DFL)

    previous = {number: signal.signal(number, record) for number in handled}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
