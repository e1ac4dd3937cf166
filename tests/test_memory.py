"""Bulk objects' helpers (logicrm/memory.py)."""

import copy
import dataclasses
import pickle
import pickletools

import pytest

from logicrm.memory import pickled_by_fields
from logicrm.network.satisfaction import DimensionGap


@pickled_by_fields
@dataclasses.dataclass(frozen=True, slots=True)
class _One:
    only: float


def test_an_object_pickled_by_its_fields_unpickles_equal_through_its_class():
    gap = DimensionGap("timeliness", 0.25, "below expectations", 1.5)
    payload = pickle.dumps(gap, protocol=pickle.HIGHEST_PROTOCOL)
    assert pickle.loads(payload) == gap and copy.deepcopy(gap) == gap
    assert pickle.loads(pickle.dumps(_One(0.5))) == _One(0.5)
    # a call of the class, not an empty object whose state is set field by field afterwards
    assert "BUILD" not in {op.name for op, _arg, _pos in pickletools.genops(payload)}


def test_a_field_init_does_not_take_is_refused():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived:
        given: float
        derived: float = dataclasses.field(init=False, default=0.0)

    with pytest.raises(TypeError, match="Derived"):
        pickled_by_fields(Derived)
