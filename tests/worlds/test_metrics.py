"""The metrics on crafted cases whose figures are computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.worlds import metrics

# The classic four-row example: positives score 0.35 and 0.8, negatives 0.1 and 0.4.
SCORES, LABELS = [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]


def test_auc_counts_the_pairs_a_positive_wins():
    # 0.35 beats 0.1 but not 0.4; 0.8 beats both: 3 of 4 pairs.
    assert metrics.auc(SCORES, LABELS) == 0.75


def test_auc_counts_a_tie_as_half_and_is_nan_without_both_classes():
    assert metrics.auc([0.5, 0.5, 0.2], [1, 0, 0]) == 0.75  # tie ½ + win 1, over 2 pairs
    assert math.isnan(metrics.auc([0.1, 0.2], [1, 1]))


@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=30))
def test_auc_equals_the_pairwise_count_and_flips_with_the_score(rows):
    scores = np.array([score for score, _ in rows], dtype=float)
    labels = np.array([label for _, label in rows], dtype=float)
    positives, negatives = scores[labels == 1], scores[labels == 0]
    if not len(positives) or not len(negatives):
        return
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    assert metrics.auc(scores, labels) == pytest.approx(wins / (len(positives) * len(negatives)))
    assert metrics.auc(-scores, labels) == pytest.approx(1 - wins / (len(positives) * len(negatives)))


def test_subset_auc_keeps_only_the_chosen_positives():
    # The kept positive (0.9) beats both negatives; the dropped one (0.2) would lose to 0.6.
    assert metrics.subset_auc([0.9, 0.2, 0.6, 0.1], [1, 1, 0, 0], [True, False, False, False]) == 1.0
    assert metrics.auc([0.9, 0.2, 0.6, 0.1], [1, 1, 0, 0]) == 0.75


def test_pr_auc_weighs_each_threshold_precision_by_the_recall_it_adds():
    # Thresholds 0.8 (P 1, R ½), 0.4 (P ½, R ½), 0.35 (P ⅔, R 1): ½·1 + ½·⅔.
    assert metrics.pr_auc(SCORES, LABELS) == pytest.approx(0.5 + 1 / 3)
    # Tied rows are one threshold: 0.9 flags two rows, one positive (P ½, R ½); then P ⅔, R 1.
    assert metrics.pr_auc([0.9, 0.9, 0.1], [1, 0, 1]) == pytest.approx(0.25 + 1 / 3)


def test_brier_and_its_skill_against_the_base_rate():
    assert metrics.brier([0.2, 0.7], [0, 1]) == pytest.approx((0.04 + 0.09) / 2)
    # Reference: the labels' own rate ½ scores ¼.
    assert metrics.brier_skill([0.2, 0.7], [0, 1]) == pytest.approx(1 - 0.065 / 0.25)
    # A given base rate 0.2 scores (0.04 + 0.64) / 2 = 0.34.
    assert metrics.brier_skill([0.2, 0.7], [0, 1], base_rate=0.2) == pytest.approx(1 - 0.065 / 0.34)
    assert metrics.brier_skill([0.5, 0.5], [0, 1]) == pytest.approx(0.0)


def test_reliability_bins_are_equal_width_and_the_last_is_closed():
    table = metrics.reliability([0.05, 0.1, 0.15, 0.95, 1.0], [0, 1, 0, 1, 1])
    assert len(table) == 10
    assert [b.count for b in table] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert (table[0].mean_predicted, table[0].observed_rate) == (0.05, 0.0)
    assert table[1].mean_predicted == pytest.approx(0.125) and table[1].observed_rate == 0.5
    assert table[9].mean_predicted == pytest.approx(0.975) and table[9].observed_rate == 1.0
    assert math.isnan(table[5].mean_predicted) and math.isnan(table[5].z())
    assert table[1].z() == pytest.approx((0.5 - 0.125) / math.sqrt(0.125 * 0.875 / 2))


def test_top_capture_counts_rows_tied_at_the_cut_by_the_fraction_that_fits():
    scores = [1, 1, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2]
    labels = [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    # Top 10 % = 1 row, but two rows tie at 1 with one positive: ½ of a positive, of 2.
    assert metrics.top_capture(scores, labels, 0.1) == pytest.approx(0.25)
    # Top 30 %: both 1s (one positive) and one of the three tied 0.5s (one positive among them).
    assert metrics.top_capture(scores, labels, 0.3) == pytest.approx((1 + 1 / 3) / 2)
    assert metrics.top_capture(list(range(10)), [0] * 9 + [1], 0.1) == 1.0


def test_share_above_includes_the_threshold():
    assert metrics.share_above([0.1, 0.5, 0.7], 0.5) == pytest.approx(2 / 3)


def test_summary_holds_every_figure():
    summary = metrics.summary(SCORES, LABELS, contagion_only=[False, False, True, False], threshold=0.5)
    assert summary["auc"] == 0.75 and summary["share_above"] == 0.25 and summary["base_rate"] == 0.5
    assert summary["contagion_auc"] == 0.5  # 0.35 against 0.1 and 0.4


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [([0.1, 0.2], [0, 0.5], "labels must be 0 or 1"), ([0.1, float("nan")], [0, 1], "must not be NaN"),
     ([0.1, 0.2], [0, 1, 1], "one length")],
)  # fmt: skip
def test_bad_input_is_refused_with_the_reason(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        metrics.auc(scores, labels)
