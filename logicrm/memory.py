"""Bulk objects: keeping Python's cycle collector out of their making, and pickling them lightly."""

import dataclasses
import gc
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

_Class = TypeVar("_Class", bound=type)


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


def pickled_by_fields(cls: _Class) -> _Class:
    """Pickle a frozen dataclass's instances as a call of the class with its fields' values.

    A slotted frozen dataclass otherwise pickles its fields as a list and unpickles through a Python loop
    over `dataclasses.fields()`; the published scores hold about a million of these objects, which this
    pickles and unpickles in about half the time. Every field must be an argument of `__init__`.
    """
    names = [f.name for f in dataclasses.fields(cls)]
    if any(not f.init for f in dataclasses.fields(cls)):
        raise TypeError(f"{cls.__name__} has fields that __init__ does not take")
    values = operator.attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))

    def __reduce__(self):
        return type(self), values(self)

    cls.__reduce__ = __reduce__
    return cls
