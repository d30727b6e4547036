"""Negatives that cannot leak the split, the validation split, and the behaviour-feedback feature.

Each leak test builds a small label-free log where the old sampler (uniform over the whole
vocabulary, drawn before the split) leaked, and checks the rule that now holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqlib.data import build_samples, make_synthetic
from seqlib.data.samples import NegativeSampler, split_validation
from seqlib.models import create


def drifting_log(n_users: int = 80, seed: int = 0) -> pd.DataFrame:
    """A label-free log whose catalogue changes over time: items 1000+ appear only late.

    Every user has 30 early events on items 1..200 and 10 late events on items 1000..1100, so
    with ``test_frac=0.26`` (10 of the 39 samples with a history) the test period holds the new items and the training period never
    does (the situation of the Taobao slice, where new items keep arriving).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, n_users + 1):
        t0 = user * 10_000
        early = rng.integers(1, 200, size=30)
        late = rng.integers(1000, 1100, size=10)
        for k, item in enumerate(np.concatenate([early, late])):
            rows.append((user, int(item), int(item) // 50 + 1, t0 + 60 * k))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "cate_id", "timestamp"])


@pytest.fixture(scope="module")
def split_sets() -> tuple:
    log = drifting_log()
    train, test = build_samples(log, test_frac=0.26, max_len=40, seed=1)
    return log, train, test


def _raw(frame: pd.DataFrame, sampled: bool) -> pd.Series:
    return frame.loc[frame.sampled == sampled, "item_id"]


def test_training_negatives_never_come_from_the_test_period(split_sets: tuple) -> None:
    _, train, test = split_sets
    late_only = set(range(1000, 1100))
    assert not set(_raw(train.frame, True)) & late_only  # the old sampler: 5.8 % on Taobao
    # and the test period's negatives come from the test period's behaviours
    assert set(_raw(test.frame, True)) <= set(_raw(test.frame, False)) | set(
        test.vocab.item_ids[test.full().hist_item[test.full().hist_mask.bool()].unique().numpy()]
    )


def test_every_training_negative_is_also_a_training_positive(split_sets: tuple) -> None:
    _, train, _ = split_sets
    positives = set(_raw(train.frame, False))
    history_items = set(train.vocab.item_ids[train.full().hist_item.unique().numpy()]) - {0}
    # no item is seen in training only as a negative (41.3 % of Taobao's training negatives were)
    assert set(_raw(train.frame, True)) <= positives | history_items


def test_unseen_negatives_avoid_the_positive_and_the_users_history() -> None:
    log = drifting_log()
    for part in build_samples(log, test_frac=0.26, max_len=40, negatives="uniform-unseen", seed=1):
        frame = part.frame
        pos = frame[~frame.sampled].reset_index(drop=True)
        neg = frame[frame.sampled].reset_index(drop=True)
        assert (pos.timestamp.to_numpy() == neg.timestamp.to_numpy()).all()  # pairs share time
        assert (pos.item_id.to_numpy() != neg.item_id.to_numpy()).all()
        for user, t, item in zip(neg.user_id, neg.timestamp, neg.item_id):
            earlier = log[(log.user_id == user) & (log.timestamp < t)].item_id
            assert item not in set(earlier)


def test_aux_negatives_come_from_the_training_period_and_are_redrawn_per_batch(split_sets: tuple) -> None:
    _, train, _ = split_sets
    pool = set(train.aux_sampler.pool.tolist())
    assert not {int(i) for i in train.vocab.encode("item", np.arange(1000, 1100)) if i} & pool
    draws = []
    for seed in (0, 0, 1):
        gen = torch.Generator().manual_seed(seed)
        batch = next(train.batches(64, shuffle=False, generator=gen))
        valid = batch.hist_mask.bool()
        assert (batch.neg_item[valid] != batch.hist_item[valid]).all()
        assert set(batch.neg_item[valid].tolist()) <= pool
        assert (batch.neg_item[~valid] == 0).all()
        torch.testing.assert_close(batch.neg_cate, torch.from_numpy(train.vocab.item_cate)[batch.neg_item])
        draws.append(batch.neg_item)
    assert torch.equal(draws[0], draws[1])  # seeded: repeatable
    assert not torch.equal(draws[0], draws[2])  # another epoch's generator state: fresh draws
    # without a generator (evaluation, plots) the frozen build-time negatives come back
    assert torch.equal(next(train.batches(64)).neg_item, train[:64].neg_item)


def test_popularity_sampling_follows_behaviour_counts() -> None:
    items = np.array([1] * 80 + [2] * 15 + [3] * 5)
    gen = torch.Generator().manual_seed(0)
    positives = torch.full((20_000,), 9)
    uniform = NegativeSampler(items, "uniform").draw(positives, gen)
    popular = NegativeSampler(items, "popularity").draw(positives, gen)
    assert torch.bincount(uniform, minlength=4)[1:].float().div(20_000).sub(1 / 3).abs().max() < 0.02
    np.testing.assert_allclose(torch.bincount(popular, minlength=4)[1:].numpy() / 20_000, [0.8, 0.15, 0.05], atol=0.02)
    with pytest.raises(ValueError, match="negatives must be 'uniform' or 'popularity', got 'zipf'"):
        NegativeSampler(items, "zipf")  # type: ignore[arg-type]


def test_a_negative_never_equals_its_positive() -> None:
    gen = torch.Generator().manual_seed(0)
    positives = torch.tensor([[1, 2, 0], [2, 1, 0]])
    neg = NegativeSampler(np.array([1, 2]), "uniform").draw(positives, gen)
    torch.testing.assert_close(neg, torch.tensor([[2, 1, 0], [1, 2, 0]]))


def test_validation_split_holds_out_each_users_latest_training_samples() -> None:
    data = make_synthetic(n_users=80, seed=0)
    train, _ = build_samples(data.log, history="positive")
    fit_part, valid = split_validation(train, 0.1)
    assert len(fit_part) + len(valid) == len(train)
    last_fit = fit_part.frame.groupby("user_id").timestamp.max()
    first_valid = valid.frame.groupby("user_id").timestamp.min()
    common = last_fit.index.intersection(first_valid.index)
    assert len(common) > 60
    assert (last_fit[common] < first_valid[common]).all()  # strictly: equal times stay together
    with pytest.raises(ValueError, match="frac must be <= 1, got 1.5"):
        split_validation(train, 1.5)


def test_validation_split_keeps_a_positive_with_its_sampled_negative(split_sets: tuple) -> None:
    _, train, _ = split_sets
    _, valid = split_validation(train, 0.2)
    counts = valid.frame.groupby(["user_id", "timestamp"]).sampled.agg(["sum", "size"])
    assert (counts["size"] == 2 * counts["sum"]).all()


def test_fractional_timestamps_keep_their_order() -> None:
    log = pd.DataFrame({
        "user_id": [1, 1, 1, 1, 1, 1], "item_id": [1, 2, 3, 4, 5, 6], "cate_id": [1, 1, 2, 2, 3, 3],
        "timestamp": [10.2, 10.7, 11.0, 3000.5, 3000.9, 3001.0], "label": [1, 1, 1, 1, 1, 1],
    })
    train, test = build_samples(log, test_frac=0.4, min_hist=0)
    frame = pd.concat([train.frame, test.frame]).reset_index(drop=True)
    batch = torch.cat([train.full().hist_len, test.full().hist_len])
    # 10.7 sees 10.2 (it was lost when times were truncated to whole seconds)
    assert batch[frame.timestamp == 10.7].item() == 1
    assert batch.tolist() == [0, 1, 2, 3, 4, 5]
    assert test.full().time.dtype == torch.float64
    assert test.full().sess_len[-1].tolist()[:2] == [3, 2]  # the 30-minute rule on real gaps


def test_huge_unsigned_ids_stay_distinct() -> None:
    big = np.array([2**63 + 5, 2**63 + 9], dtype=np.uint64)
    log = pd.DataFrame({
        "user_id": np.repeat(big, 4), "item_id": np.array([1, 2, 3, 4] * 2, dtype=np.uint64),
        "cate_id": np.ones(8, dtype=np.uint64), "timestamp": np.tile(np.arange(4) * 10, 2), "label": np.ones(8, int),
    })
    train, test = build_samples(log, test_frac=0.25)
    assert train.vocab.user_ids.dtype == np.uint64
    assert train.vocab.n_users == 3  # placeholder + two users, not merged by a float cast
    assert set(pd.concat([train.frame, test.frame]).user_id) == {int(b) for b in big}


def test_max_len_is_capped_at_the_longest_history() -> None:
    data = make_synthetic(n_users=30, seed=0)
    train, test = build_samples(data.log, history="positive", max_len=10**8)
    assert train.max_len == test.max_len == int(test.full().hist_len.max())
    assert test.full().hist_item.shape[1] == test.max_len


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_len": 20.0}, "max_len must be an integer, got 20.0 \\(float\\); pass 20"),
        ({"session_len": 2.5}, "session_len must be an integer, got 2.5"),
        ({"n_sessions": 10**6}, "n_sessions must be <= 4096, got 1000000"),
        ({"gap": "1800"}, "gap must be a real number, got '1800' \\(str\\)"),
        ({"negatives": "zipf"}, "negatives must be one of .uniform., .popularity., .uniform-unseen., .popularity-unseen., got .zipf."),
        ({"feedback": "rating"}, "missing the column"),
        ({"max_samples_per_user": 0}, "max_samples_per_user must be >= 1, got 0"),
    ],
)
def test_bad_sample_arguments_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_samples(make_synthetic(n_users=20, seed=0).log, history="positive", **kwargs)


def test_feedback_feature_reaches_the_batches_and_the_models() -> None:
    log = make_synthetic(n_users=60, seed=0).log
    log = log.assign(rating=1 + (log.item_id % 5))
    train, _ = build_samples(log, feedback="rating", max_len=10)
    assert train.vocab.n_feedback == 6  # "none" + five levels
    batch = train[:32]
    valid = batch.hist_mask.bool()
    assert (batch.hist_feedback[valid] > 0).all() and (batch.hist_feedback[~valid] == 0).all()
    raw = train.vocab.item_ids[batch.hist_item[valid].numpy()]
    np.testing.assert_array_equal(train.vocab.feedback_levels[batch.hist_feedback[valid].numpy()], 1 + raw % 5)
    assert batch.sess_feedback.shape == batch.sess_item.shape
    for name in ("base", "din", "dien", "dsin"):
        torch.manual_seed(0)
        model = create(name, train.vocab)
        model.loss(batch).backward()
        grad = model.embed.feedback.weight.grad
        assert grad[1:].abs().sum() > 0, name  # the feature is read
        assert grad[0].abs().sum() == 0, name  # padding's row never learns
