"""Keeping Python's cycle collector out of bulk work."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector: building millions of acyclic containers would trigger it again and again.

    Reference counting still frees everything that is not a cycle; cycles made meanwhile are collected
    after the pause.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
