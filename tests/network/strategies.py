"""Hypothesis strategies for the scoring tests: any finite number, and networks whose links carry them."""

import sys

from hypothesis import strategies as st

from logicrm.network.graph import CONSIGNEE, SHIPPER, LinkRecord, NodeRecord

LARGEST = sys.float_info.max
# the sizes that broke scoring (issue 10) and their neighbours; small integers; then any finite float
HUGE = (1e300, 1e307, 1e308, 1.7e308, LARGEST)
ROLES = (frozenset({SHIPPER}), frozenset({CONSIGNEE}), frozenset({SHIPPER, CONSIGNEE}))


def finite(low: float = -LARGEST, high: float = LARGEST) -> st.SearchStrategy[float]:
    """Any finite float in [low, high], with the huge values of issue 10 and ordinary ones drawn often."""
    special = [x for x in (*HUGE, *(-h for h in HUGE), *range(-100, 101)) if low <= x <= high]
    anything = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return st.one_of(st.sampled_from(special).map(float), anything) if special else anything


amounts = finite(0.0)


@st.composite
def networks(draw, *, max_customers: int = 7, max_links: int = 12):
    """Customers and links (parallel and reciprocal ones too) whose volumes and money are any finite ≥ 0."""
    n = draw(st.integers(2, max_customers))
    nodes = [NodeRecord(i, f"customer {i}", draw(st.sampled_from(ROLES))) for i in range(n)]
    pairs = [(s, c) for s in range(n) for c in range(n) if s != c]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=max_links))
    links = [
        LinkRecord(
            k,
            s,
            c,
            draw(amounts),
            declared_monthly_volume=draw(st.none() | amounts),
            shipments_per_month=draw(amounts),
            revenue_per_month=draw(amounts),
        )
        for k, (s, c) in enumerate(chosen)
    ]
    return nodes, links
