"""Scores against outcomes: ranking, calibration and alert-volume figures, in plain numpy.

Every function takes a score (or probability) vector and a 0/1 label vector of the same length;
censored rows must be dropped by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _arrays(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=float)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(f"scores and labels must be vectors of one length: {scores.shape} vs {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1 (drop censored rows first)")
    if np.isnan(scores).any():
        raise ValueError("scores must not be NaN")
    return scores, labels


def _midranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    last = np.r_[first[1:], len(values)]
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((first + last + 1) / 2, last - first)
    return ranks


def auc(scores, labels) -> float:
    """Area under the ROC curve: P(a random positive scores above a random negative), ties count ½."""
    scores, labels = _arrays(scores, labels)
    positives = labels.sum()
    negatives = len(labels) - positives
    if not positives or not negatives:
        return float("nan")
    rank_sum = _midranks(scores)[labels == 1].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


def subset_auc(scores, labels, positives_kept) -> float:
    """AUC of the positives in `positives_kept` against all negatives (e.g. contagion-only churners)."""
    scores, labels = _arrays(scores, labels)
    keep = (labels == 0) | np.asarray(positives_kept, dtype=bool)
    return auc(scores[keep], labels[keep])


def pr_auc(scores, labels) -> float:
    """Average precision: the precision at each distinct threshold weighted by the recall it adds."""
    scores, labels = _arrays(scores, labels)
    positives = labels.sum()
    if not positives:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    ordered, hits = scores[order], labels[order]
    last_of_tie = np.r_[ordered[1:] != ordered[:-1], True]
    true_positives = np.cumsum(hits)[last_of_tie]
    flagged = (np.arange(1, len(scores) + 1))[last_of_tie]
    recall_added = np.diff(np.r_[0.0, true_positives]) / positives
    return float(np.sum(recall_added * true_positives / flagged))


def brier(probabilities, labels) -> float:
    """Mean squared error of the probabilities."""
    probabilities, labels = _arrays(probabilities, labels)
    return float(np.mean((probabilities - labels) ** 2))


def brier_skill(probabilities, labels, base_rate: float | None = None) -> float:
    """1 − Brier / Brier of always predicting the base rate (by default the labels' own rate):
    > 0 beats the base rate, 1 is perfect."""
    probabilities, labels = _arrays(probabilities, labels)
    rate = labels.mean() if base_rate is None else base_rate
    reference = float(np.mean((rate - labels) ** 2))
    return float("nan") if reference == 0 else 1 - brier(probabilities, labels) / reference


@dataclass(frozen=True)
class Bin:
    lower: float
    upper: float
    count: int
    mean_predicted: float  # NaN when empty
    observed_rate: float  # NaN when empty

    def z(self) -> float:
        """Distance of the observed rate from the mean prediction in binomial standard errors."""
        if not self.count:
            return float("nan")
        p = min(max(self.mean_predicted, 1e-9), 1 - 1e-9)
        return (self.observed_rate - p) / np.sqrt(p * (1 - p) / self.count)


def reliability(probabilities, labels, bins: int = 10) -> list[Bin]:
    """Equal-width bins over [0, 1] (the last one closed): count, mean prediction, observed rate."""
    probabilities, labels = _arrays(probabilities, labels)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.searchsorted(edges, probabilities, side="right") - 1, 0, bins - 1)
    table = []
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        table.append(Bin(
            lower=float(edges[b]), upper=float(edges[b + 1]), count=count,
            mean_predicted=float(probabilities[members].mean()) if count else float("nan"),
            observed_rate=float(labels[members].mean()) if count else float("nan"),
        ))  # fmt: skip
    return table


def top_capture(scores, labels, share: float = 0.1) -> float:
    """Share of all positives found among the top `share` of rows by score; rows tied at the cut
    count by the fraction of them that fits (the expectation under random tie-breaking)."""
    scores, labels = _arrays(scores, labels)
    positives = labels.sum()
    if not positives:
        return float("nan")
    room = share * len(scores)
    order = np.argsort(-scores, kind="stable")
    ordered, hits = scores[order], labels[order]
    cut = ordered[min(max(int(np.ceil(room)), 1), len(scores)) - 1]
    above, tied = ordered > cut, ordered == cut
    caught = hits[above].sum() + hits[tied].sum() * (room - above.sum()) / tied.sum()
    return float(caught / positives)


def share_above(scores, threshold: float) -> float:
    """Share of rows scoring at or above `threshold` (e.g. accounts that would be alerted)."""
    scores = np.asarray(scores, dtype=float)
    return float(np.mean(scores >= threshold)) if len(scores) else float("nan")


def summary(
    probabilities, labels, *, contagion_only=None, threshold: float = 0.5, base_rate: float | None = None
) -> dict[str, float]:
    """All figures of one score vector, by name."""
    result = {
        "rows": float(len(labels)),
        "base_rate": float(np.mean(labels)),
        "auc": auc(probabilities, labels),
        "pr_auc": pr_auc(probabilities, labels),
        "brier": brier(probabilities, labels),
        "brier_skill": brier_skill(probabilities, labels, base_rate),
        "top_decile_capture": top_capture(probabilities, labels),
        "share_above": share_above(probabilities, threshold),
    }
    if contagion_only is not None:
        result["contagion_auc"] = subset_auc(probabilities, labels, contagion_only)
    return result
