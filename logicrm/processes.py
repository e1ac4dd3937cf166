"""Which process on which host runs a job, whether it still lives (abandoned-run detection), and how a
long-running command learns it should stop."""

from __future__ import annotations

import os
import signal
import socket
import threading

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


def stop_on_signals() -> threading.Event:
    """Return an event set by SIGTERM or SIGINT (call from the main thread)."""
    stop = threading.Event()
    for handled in STOP_SIGNALS:
        # a signal ignored at start stays ignored (scripts/run starts us in the background, SIGINT ignored)
        if signal.getsignal(handled) != signal.SIG_IGN:
            signal.signal(handled, lambda _signum, _frame: stop.set())
    return stop
