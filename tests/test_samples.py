"""build_samples, split_sessions, the synthetic generator and log validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqlib.data import build_samples, length_mask, make_synthetic, split_sessions, validate_log


def tiny_log() -> pd.DataFrame:
    """Two users; user 1 has a tie at t=100 and a 40-minute gap; user 2 has three events."""
    return pd.DataFrame(
        {
            "user_id": [1, 1, 1, 1, 1, 2, 2, 2],
            "item_id": [10, 11, 12, 13, 14, 10, 12, 15],
            "cate_id": [1, 1, 2, 2, 3, 1, 2, 3],
            "timestamp": [0, 100, 100, 2500, 2600, 50, 60, 70],
            "label": [1, 0, 1, 1, 0, 1, 1, 0],
        }
    )


def test_length_mask() -> None:
    mask = length_mask(torch.tensor([0, 2, 3]), 3)
    torch.testing.assert_close(mask, torch.tensor([[0.0, 0, 0], [1, 1, 0], [1, 1, 1]]))


def test_split_sessions_breaks_only_above_gap() -> None:
    ts = np.array([0, 1800, 3601, 3602, 10000])
    np.testing.assert_array_equal(split_sessions(ts, gap=1800), [0, 0, 1, 1, 2])
    np.testing.assert_array_equal(split_sessions(ts, gap=1799), [0, 1, 2, 2, 3])
    assert split_sessions(np.array([]), gap=10).shape == (0,)


@pytest.mark.parametrize(
    "ts, gap, message",
    [([0, 5, 3], 1800, "not sorted"), ([0, 1], 0, "gap must be > 0"), ([-1, 2], 10, ">= 0"),
     ([0, np.nan], 10, "NaN")],
)
def test_split_sessions_bad_input(ts: list[float], gap: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_sessions(np.array(ts, dtype=float), gap=gap)


def test_histories_are_strictly_earlier_and_right_padded() -> None:
    train, test = build_samples(tiny_log(), max_len=3, test_frac=0.4, min_hist=0)
    both = [train.full(), test.full()]
    frames = [train.frame, test.frame]
    log = tiny_log()
    for batch, frame in zip(both, frames):
        for i in range(len(batch)):
            user, t = frame["user_id"].iloc[i], frame["timestamp"].iloc[i]
            earlier = log[(log.user_id == user) & (log.timestamp < t)].sort_values("timestamp", kind="stable")
            expected = batch.hist_item.new_tensor(train.vocab.encode("item", earlier.item_id.to_numpy()[-3:]))
            n = int(batch.hist_len[i])
            assert n == len(expected)
            torch.testing.assert_close(batch.hist_item[i, :n], expected)
            assert (batch.hist_item[i, n:] == 0).all()
            assert (batch.hist_time[i, :n] < t).all()
    # the tie: the event at t=100 (item 12) must not see item 11, also at t=100
    row = pd.concat(frames).reset_index(drop=True)
    assert ((row.item_id == 12) & (row.timestamp == 100)).sum() == 1


def test_chronological_split_puts_later_events_in_test() -> None:
    data = make_synthetic(n_users=50, seed=1)
    train, test = build_samples(data.log, history="positive")
    last_train = train.frame.groupby("user_id")["timestamp"].max()
    first_test = test.frame.groupby("user_id")["timestamp"].min()
    common = last_train.index.intersection(first_test.index)
    assert len(common) > 40
    assert (last_train[common] <= first_test[common]).all()


def test_negatives_never_equal_the_behaviour() -> None:
    data = make_synthetic(n_users=100, seed=2)
    train, _ = build_samples(data.log, history="positive", seed=3)
    batch = train.full()
    valid = batch.hist_mask.bool()
    assert (batch.neg_item[valid] != batch.hist_item[valid]).all()
    assert (batch.neg_item[valid] > 0).all()
    item_cate = torch.from_numpy(train.vocab.item_cate)
    torch.testing.assert_close(batch.neg_cate[valid], item_cate[batch.neg_item[valid]])


def test_session_tensors_are_causal_and_split_at_gaps() -> None:
    train, test = build_samples(tiny_log(), max_len=5, n_sessions=3, session_len=2, test_frac=0.4, min_hist=0)
    batch = test.full()
    # user 1's last sample (t=2600): behaviours before it are t=0,100,100 (session A) and 2500 (B)
    i = int(np.flatnonzero((test.frame.user_id == 1) & (test.frame.timestamp == 2600))[0])
    assert int(batch.n_sess[i]) == 2
    torch.testing.assert_close(batch.sess_len[i], torch.tensor([2, 1, 0]))
    items = test.vocab.encode("item", np.array([11, 12, 13]))
    torch.testing.assert_close(batch.sess_item[i, 0], torch.tensor([items[0], items[1]]))  # 2 most recent
    torch.testing.assert_close(batch.sess_item[i, 1], torch.tensor([items[2], 0]))
    assert (batch.sess_item[i, 2] == 0).all()


def test_label_free_logs_get_sampled_negatives() -> None:
    log = make_synthetic(n_users=60, seed=0).log.drop(columns="label")
    train, test = build_samples(log, test_frac=0.3)
    frame = pd.concat([train.frame, test.frame])
    assert (frame[frame.sampled].label == 0).all()
    assert (frame[~frame.sampled].label == 1).all()
    assert frame.sampled.sum() == (~frame.sampled).sum()


def test_max_samples_per_user_keeps_the_latest() -> None:
    data = make_synthetic(n_users=30, seed=0)
    train, test = build_samples(data.log, history="positive", max_samples_per_user=5)
    frame = pd.concat([train.frame, test.frame])
    assert frame.groupby("user_id").size().max() == 5
    full_train, full_test = build_samples(data.log, history="positive")
    full = pd.concat([full_train.frame, full_test.frame])
    latest = full.groupby("user_id")["timestamp"].max()
    assert (frame.groupby("user_id")["timestamp"].max() == latest).all()


def test_synthetic_is_deterministic_and_planted() -> None:
    a, b = make_synthetic(n_users=200, seed=5), make_synthetic(n_users=200, seed=5)
    pd.testing.assert_frame_equal(a.log, b.log)
    assert not make_synthetic(n_users=200, seed=6).log.equals(a.log)
    assert list(a.log.columns) == ["user_id", "item_id", "cate_id", "timestamp", "label"]
    assert 0.2 < a.log.label.mean() < 0.7
    # inside planted sessions gaps are short, between them long
    gaps = a.log.groupby("user_id")["timestamp"].diff()
    new_session = a.truth.session.diff().fillna(1) != 0
    same_user = a.log.user_id.diff() == 0
    inner, outer = gaps[same_user & ~new_session], gaps[same_user & new_session]
    assert inner.median() < 300 < 3600 < outer.median()
    # the label follows the planted relevance count
    assert a.log.label[a.truth.relevant >= 3].mean() > a.log.label[a.truth.relevant == 0].mean() + 0.3


def test_relevant_mask_matches_topics() -> None:
    data = make_synthetic(n_users=100, seed=0)
    train, _ = build_samples(data.log, history="positive")
    batch = train[:500]
    mask = data.relevant_mask(batch, train.vocab)
    topic = data.topic_of_cate[train.vocab.cate_ids[batch.hist_cate.numpy()]]
    target_topic = data.topic_of_cate[train.vocab.cate_ids[batch.cate.numpy()]]
    assert mask.any()
    assert (topic[mask.numpy()] == np.broadcast_to(target_topic[:, None], topic.shape)[mask.numpy()]).all()
    assert not mask[~batch.hist_mask.bool()].any()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.drop(columns="cate_id"), "missing column"),
        (lambda d: d.iloc[:0], "empty"),
        (lambda d: d.assign(item_id=d.item_id - 20), "negative id"),
        (lambda d: d.assign(label=d.label.astype(float).where(d.index != 2)), "NaN"),
        (lambda d: d.assign(timestamp=d.timestamp - 1000), "negative value"),
        (lambda d: d.assign(user_id=d.user_id.astype(str)), "integer ids"),
    ],
)
def test_bad_logs_are_named(change, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_samples(change(tiny_log()))


@pytest.mark.parametrize(
    "kwargs, message",
    [({"max_len": 0}, "max_len must be >= 1"), ({"gap": 0}, "gap must be > 0, got 0"),
     ({"test_frac": 1.0}, "test_frac"), ({"history": "clicks"}, "history")],
)
def test_bad_parameters_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_samples(tiny_log(), **kwargs)


def test_validate_log_rejects_non_frames() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        validate_log([[1, 2, 3, 4]])


def test_item_counts_count_samples_containing_each_item() -> None:
    train, _ = build_samples(tiny_log(), max_len=5, test_frac=0.4, min_hist=0)
    counts = train.item_counts()
    batch = train.full()
    for item in range(1, train.vocab.n_items):
        present = ((batch.item == item) | (batch.hist_item == item).any(dim=1)).sum()
        assert counts[item] == present
    assert counts[0] == 0


def _same_batches(a, b) -> None:
    from dataclasses import fields

    for field in fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, torch.Tensor):
            assert torch.equal(x, y), field.name
        else:
            assert x == y, field.name


@pytest.mark.parametrize("fresh_negatives", [False, True])
def test_deferred_batches_hold_the_eager_values(fresh_negatives: bool) -> None:
    """``batches(deferred=True)`` (what fit and predict use) gives the same values field by field,
    the fresh auxiliary negatives included, and leaves the generator where the eager path does."""
    train, _ = build_samples(make_synthetic(n_users=60, seed=0).log, max_len=8, n_sessions=3, session_len=4)
    g_eager = torch.Generator().manual_seed(3) if fresh_negatives else None
    g_lazy = torch.Generator().manual_seed(3) if fresh_negatives else None
    eager = list(train.batches(64, shuffle=fresh_negatives, generator=g_eager))
    lazy = list(train.batches(64, shuffle=fresh_negatives, generator=g_lazy, deferred=True))
    assert len(eager) == len(lazy) > 1
    for a, b in zip(eager, lazy):
        _same_batches(a, b)
    if fresh_negatives:  # the next epoch's shuffle is the same: both passes took the same draws up front
        assert torch.equal(torch.randperm(10, generator=g_eager), torch.randperm(10, generator=g_lazy))


def test_an_epochs_order_does_not_depend_on_whether_its_negatives_are_read() -> None:
    """A pass takes its order and its negatives' seed from the generator up front: a model that
    never reads the auxiliary negatives (base, DIN, DSIN) never draws them, and the next pass's
    order is the same for every model."""
    train, _ = build_samples(make_synthetic(n_users=60, seed=0).log, max_len=8, n_sessions=3, session_len=4)
    g_read, g_skip = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    read = [batch.neg_item for batch in train.batches(64, shuffle=True, generator=g_read, deferred=True)]
    skipped = list(train.batches(64, shuffle=True, generator=g_skip, deferred=True))
    assert len(read) == len(skipped) > 1
    assert all("neg_item" in batch._deferred for batch in skipped)  # never drawn
    assert not torch.equal(read[0], read[1][: len(read[0])])  # fresh draws per batch
    for a, b in zip(train.batches(64, shuffle=True, generator=g_read), train.batches(64, shuffle=True, generator=g_skip)):
        assert torch.equal(a.item, b.item) and torch.equal(a.user, b.user)
        assert torch.equal(a.neg_item, b.neg_item)


@pytest.mark.parametrize(("name", "value"), [("deferred", "no"), ("deferred", 1), ("shuffle", "yes"), ("shuffle", None)])
def test_batches_refuse_a_flag_that_is_not_a_bool(name: str, value: object) -> None:
    train, _ = build_samples(make_synthetic(n_users=30, seed=0).log, max_len=5, history="positive", seed=0)
    with pytest.raises(ValueError, match=rf"{name} must be True or False, got {value!r}"):
        next(train.batches(8, **{name: value}))


def test_deferred_parts_are_built_only_when_read() -> None:
    """The base model and DIN never pay for the session tensors; DSIN builds them once; ``to``
    keeps a part deferred; a deferred batch must name every field."""
    from seqlib.data.batch import Batch
    from seqlib.models import create

    train, _ = build_samples(make_synthetic(n_users=60, seed=0).log, max_len=8, n_sessions=3, session_len=4)
    for name, reads_sessions in (("base", False), ("din", False), ("dsin", True)):
        batch = next(train.batches(32, deferred=True)).to("cpu")
        assert "sess_item" in batch._deferred
        options = {"n_sessions": 3, "session_len": 4} if name == "dsin" else {}
        create(name, train.vocab, **options)(batch)
        assert ("sess_item" in batch.__dict__) == reads_sessions, name
        if reads_sessions:
            assert not any(k.startswith("sess") or k == "n_sess" for k in batch._deferred)
    eager = train[:32]
    _same_batches(eager, next(train.batches(32, deferred=True)).to("cpu"))
    with pytest.raises(ValueError, match="needs every field, missing.*sess_item"):
        Batch.deferred({k: v for k, v in eager.__dict__.items() if k != "sess_item"}, {})
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        next(train.batches(32, deferred=True)).nothing
