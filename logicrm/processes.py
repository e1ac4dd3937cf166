"""Which process on which host runs a job, and whether it still lives (abandoned-run detection)."""

from __future__ import annotations

import os
import socket


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
