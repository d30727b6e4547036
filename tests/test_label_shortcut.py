"""Labels without shortcuts: how often the candidate is already in the history, per label.

Sampled negatives that are never an earlier item of the user make "the candidate is in the
history" mean "positive" (the first Taobao rule, kept as ``negatives="popularity-unseen"``); the
default rule draws negatives from the history as often as the positives occur there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqlib.data import build_samples
from seqlib.data.samples import in_history_rates
from seqlib.evaluation import load_samples
from seqlib.metrics import auc


def hand_log() -> pd.DataFrame:
    """One user, six rows at t = 0..5 (items 1, 2, 1, 3, 2, 4; labels 1, 1, 1, 0, 0, 1)."""
    return pd.DataFrame({
        "user_id": [1] * 6, "item_id": [1, 2, 1, 3, 2, 4], "cate_id": [1, 1, 1, 2, 1, 2],
        "timestamp": [0, 1, 2, 3, 4, 5], "label": [1, 1, 1, 0, 0, 1],
    })


def test_in_history_rates_by_hand() -> None:
    train, test = build_samples(hand_log(), history="all", test_frac=0.5, min_hist=0)
    rates = in_history_rates({"train": train, "test": test})
    # train: t=0 (item 1, no history), t=1 (item 2: history [1]), t=2 (item 1: history [1, 2]) -> 1 of 3
    assert rates.loc["train", "positives"] == pytest.approx(1 / 3)
    assert np.isnan(rates.loc["train", "negatives"]) and rates.loc["train", "n_negatives"] == 0
    # test: t=3 (item 3, label 0: no), t=4 (item 2, label 0: yes), t=5 (item 4, label 1: no)
    assert rates.loc["test", "positives"] == 0.0 and rates.loc["test", "negatives"] == 0.5
    assert rates.loc["test", "gap"] == -0.5
    assert rates.loc["test", ["n_positives", "n_negatives"]].tolist() == [1, 2]
    # only the history a model sees counts: with max_len=1, t=4 sees item 3 alone
    train, test = build_samples(hand_log(), history="all", test_frac=0.5, min_hist=0, max_len=1)
    assert in_history_rates({"test": test}).loc["test", "negatives"] == 0.0
    assert in_history_rates({"train": train}).loc["train", "positives"] == 0.0  # t=2 sees item 2 alone


def test_in_history_rates_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="splits must be a non-empty dict"):
        in_history_rates({})
    with pytest.raises(ValueError, match=r"splits\['test'\] must be a SampleSet, got DataFrame"):
        in_history_rates({"test": hand_log()})


def revisit_log(n_users: int = 60, seed: int = 0) -> pd.DataFrame:
    """A label-free log where about a third of the behaviours revisit one of the user's last items."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, n_users + 1):
        items: list[int] = []
        for k in range(40):
            item = int(rng.choice(items[-5:])) if items and rng.random() < 0.35 else int(rng.integers(1, 400))
            items.append(item)
            rows.append((user, item, item // 40 + 1, user * 100_000 + 60 * k))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "cate_id", "timestamp"])


def _pairs(part) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = part.frame
    return frame[~frame.sampled].reset_index(drop=True), frame[frame.sampled].reset_index(drop=True)


def test_default_negatives_are_in_the_history_as_often_as_positives() -> None:
    log = revisit_log()
    new = build_samples(log, negatives="popularity", seed=3)
    old = build_samples(log, negatives="popularity-unseen", seed=3)
    new_rates = in_history_rates(dict(zip(("train", "test"), new)))
    old_rates = in_history_rates(dict(zip(("train", "test"), old)))
    assert (old_rates["positives"] > 0.25).all() and (old_rates["negatives"] == 0).all()  # the shortcut
    pd.testing.assert_series_equal(new_rates["positives"], old_rates["positives"])  # same positives
    assert (new_rates["gap"].abs() < 0.05).all(), new_rates
    for part in new:
        pos, neg = _pairs(part)
        assert (pos.timestamp.to_numpy() == neg.timestamp.to_numpy()).all()  # pairs share the time
        assert (pos.item_id.to_numpy() != neg.item_id.to_numpy()).all()  # never the positive


def test_default_negatives_are_deterministic_under_the_seed() -> None:
    log = revisit_log(n_users=30)
    first = build_samples(log, negatives="popularity", seed=5)
    again = build_samples(log, negatives="popularity", seed=5)
    other = build_samples(log, negatives="popularity", seed=6)
    for a, b, c in zip(first, again, other):
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert not a.frame.item_id.equals(c.frame.item_id)


def test_negatives_option_names_the_rules() -> None:
    with pytest.raises(ValueError, match="negatives must be one of 'uniform', 'popularity', 'uniform-unseen', "
                                         "'popularity-unseen', got 'unseen'"):
        build_samples(revisit_log(n_users=5), negatives="unseen")  # type: ignore[arg-type]


@pytest.mark.requires_taobao
@pytest.mark.parametrize("negatives", ["popularity", "popularity-unseen"])
def test_taobao_slice_rates(negatives: str) -> None:
    train, test = load_samples("taobao", negatives=negatives)
    rates = in_history_rates({"train": train, "test": test})
    assert (rates["positives"] > 0.15).all()  # shoppers come back to items: about a fifth of positives
    if negatives == "popularity":
        assert (rates["gap"].abs() < 0.02).all(), rates  # no shortcut: within 2 points
    else:
        assert (rates["negatives"] == 0).all()  # the old rule's shortcut
    for part in (train, test):
        pos, neg = _pairs(part)
        assert (pos.item_id.to_numpy() != neg.item_id.to_numpy()).all()
    # popularity (the training positives' count of each item) alone ranks test samples near chance
    full = train.full()
    counts = np.bincount(full.item[full.label == 1].numpy(), minlength=train.vocab.n_items).astype(float)
    batch = test.full()
    score = counts[batch.item.numpy()] + 1e-6 * np.random.default_rng(0).random(len(test))  # break ties
    assert abs(auc(batch.label.numpy(), score) - 0.5) < 0.03
