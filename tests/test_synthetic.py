"""The planted synthetic data: click rule by hand, oracle, alignment, determinism, variants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from seqlib.data import boundary_precision_recall, build_samples, make_synthetic, split_sessions
from seqlib.data.synthetic import VARIANTS, ClickRule, SyntheticData
from seqlib.metrics import auc, gauc
from seqlib.models import create
from seqlib.train import evaluate, fit


def rule(**overrides: float) -> ClickRule:
    values = dict(bias=-1.0, din_strength=2.0, dien_strength=3.0, dsin_strength=4.0, din_scale=2.0,
                  dien_decay=0.5, window=4, session_window=2, noise=1.0)
    return ClickRule(**{**values, **overrides})


@pytest.fixture(scope="module")
def default() -> tuple[SyntheticData, object, object]:
    syn = make_synthetic(n_users=300, seed=0)
    return (syn, *build_samples(syn.log, history="positive", max_len=20))


# ---------------------------------------------------------------- the click rule by hand
def test_click_rule_effects_by_hand() -> None:
    # history (oldest first) of topics 7, 3, 7, 7, 5; window 4 reads the last four: 3, 7, 7, 5
    hist_topic = np.array([[7, 3, 7, 7, 5], [-1, -1, -1, -1, -1]])
    hist_age = np.array([[4, 3, 2, 1, 0], [4, 3, 2, 1, 0]])
    sess_topic = np.array([[-1, 7, 5], [-1, -1, -1]])  # latest session's last two clicks: 7, 5
    effects = rule().effects(hist_topic, hist_age, sess_topic, np.array([7, 7]))
    assert effects["relevant"].tolist() == [2, 0]  # the 7 at age 4 is outside the window
    np.testing.assert_allclose(effects["din"], [1 - math.exp(-2 / 2.0), 0.0])
    # recency weights 0.5^age over ages 0..3: 1, 0.5, 0.25, 0.125; topic 7 at ages 1 and 2
    np.testing.assert_allclose(effects["dien"], [(0.5 + 0.25) / (1 + 0.5 + 0.25 + 0.125), 0.0])
    np.testing.assert_allclose(effects["dsin"], [0.5, 0.0])
    logit = rule().logit(effects)
    np.testing.assert_allclose(logit[1], -1.0)
    expected = -1.0 + 2.0 * effects["din"][0] + 3.0 * effects["dien"][0] + 4.0 * 0.5
    np.testing.assert_allclose(logit[0], expected)
    np.testing.assert_allclose(rule().probability(logit), 1 / (1 + np.exp(-logit)))
    np.testing.assert_allclose(rule(noise=2.0).probability(logit), 1 / (1 + np.exp(-logit / 2.0)))
    assert rule(noise=0.0).probability(np.array([-0.5, 0.5])).tolist() == [0.0, 1.0]


def test_latest_dien_effect_by_hand() -> None:
    # history (oldest first) of topics 7, 3, 7, 5, 2; window 4 reads the last four: 3, 7, 5, 2
    hist_topic = np.array([[7, 3, 7, 5, 2]] * 4)
    hist_age = np.array([[4, 3, 2, 1, 0]] * 4)
    none = np.full((4, 1), -1)
    effects = rule(dien_effect="latest").effects(hist_topic, hist_age, none, np.array([7, 3, 2, 9]))
    # topic 7 last clicked 2 clicks ago, topic 3 3 ago, topic 2 just now, topic 9 never: 0.5^k or 0
    np.testing.assert_allclose(effects["dien"], [0.25, 0.125, 1.0, 0.0])
    # a click outside the window does not count: with window 2, topic 7 (2 clicks ago) is idle
    np.testing.assert_allclose(rule(dien_effect="latest", window=2).effects(
        hist_topic, hist_age, none, np.array([7, 3, 2, 5]))["dien"], [0.0, 0.0, 1.0, 0.5])
    # only the latest click of the topic matters: an extra older one changes nothing
    again = rule(dien_effect="latest").effects(np.array([[7, 7, 7, 5, 2]]), hist_age[:1], none[:1], np.array([7]))
    np.testing.assert_allclose(again["dien"], [0.25])
    # the other effects do not depend on the DIEN form
    profile = rule().effects(hist_topic, hist_age, none, np.array([7, 3, 2, 9]))
    for name in ("relevant", "din", "dsin"):
        np.testing.assert_array_equal(effects[name], profile[name])


def test_latest_effect_oracle_is_recomputed_from_batches_and_needs_order() -> None:
    syn = make_synthetic("dien", n_users=300, seed=0, dien_effect="latest", dien_decay=0.75, interests_per_user=6)
    assert syn.rule.dien_effect == "latest"
    train, test = build_samples(syn.log, history="positive", max_len=20)
    for part in (train, test):
        np.testing.assert_allclose(syn.oracle_from_batch(part.full(), part.vocab), syn.oracle_scores(part))
    batch = test.full()
    generator = torch.Generator().manual_seed(0)
    order = torch.argsort(torch.rand(batch.hist_item.shape, generator=generator) + 1 - batch.hist_mask, dim=1)
    shuffled = batch.select(slice(None))
    shuffled.hist_cate = batch.hist_cate.gather(1, order)
    y = test.frame["label"].to_numpy()
    assert auc(y, syn.oracle_from_batch(shuffled, test.vocab)) < syn.oracle_metrics(test)["auc"] - 0.02


def test_din_effect_is_a_count_not_a_share() -> None:
    # three relevant clicks in a history of three or in a history of twenty: the same effect
    short = np.array([[1, 1, 1] + [-1] * 17])
    long = np.array([[2] * 17 + [1, 1, 1]])
    age = np.arange(20)[::-1][None, :]
    r = rule(window=20)
    none = np.full((1, 1), -1)
    a = r.effects(short, np.array([[2, 1, 0] + [0] * 17]), none, np.array([1]))
    b = r.effects(long, age, none, np.array([1]))
    assert a["relevant"][0] == b["relevant"][0] == 3
    assert a["din"][0] == b["din"][0]


def test_oracle_scores_and_metrics_on_a_hand_log() -> None:
    log = pd.DataFrame({
        "user_id": [1, 1, 1, 2, 2, 2],
        "item_id": [10, 11, 12, 10, 13, 11],
        "cate_id": [1, 2, 1, 1, 2, 2],
        "timestamp": [0, 10, 20, 0, 10, 20],
        "label": [1, 0, 1, 1, 1, 0],
    })
    truth = pd.DataFrame({"oracle_p": [0.1, 0.2, 0.9, 0.3, 0.8, 0.4]})
    syn = SyntheticData(log=log, truth=truth, topic_of_cate=np.array([-1, 0, 1]), window=4, rule=rule())
    train, test = build_samples(log, history="positive", test_frac=0.4, min_hist=1)
    for part in (train, test):
        np.testing.assert_allclose(syn.oracle_scores(part), truth["oracle_p"].to_numpy()[part.frame["row"]])
    # train: rows 1 (user 1, t=10) and 4 (user 2, t=10); test: rows 2 and 5
    assert sorted(train.frame["row"]) == [1, 4] and sorted(test.frame["row"]) == [2, 5]
    metrics = syn.oracle_metrics(train)
    assert metrics["auc"] == 1.0  # label 0 at p=0.2, label 1 at p=0.8
    assert math.isnan(metrics["gauc"]) and metrics["valid_users"] == 0  # one sample per user
    with pytest.raises(ValueError, match="not in this synthetic log"):
        SyntheticData(log=log, truth=truth.iloc[:3], topic_of_cate=np.array([-1, 0, 1]), window=4,
                      rule=rule()).oracle_scores(test)


# ---------------------------------------------------------------- alignment with the log
def test_truth_is_aligned_with_the_log(default) -> None:
    syn, train, test = default
    log, truth = syn.log, syn.truth
    assert list(log.columns) == ["user_id", "item_id", "cate_id", "timestamp", "label"]
    assert truth.index.equals(log.index)
    assert {"topic", "session", "session_topic", "current_interest", "relevant", "din", "dien", "dsin",
            "oracle_p"} <= set(truth.columns)
    np.testing.assert_array_equal(truth["topic"], syn.topic_of_cate[log["cate_id"]])
    assert (log.groupby("user_id")["timestamp"].diff().dropna() > 0).all()  # strictly increasing per user
    # the recorded effects give the recorded probability
    np.testing.assert_allclose(truth["oracle_p"], syn.rule.probability(syn.rule.logit(truth)))
    # the oracle is a function of what the models see: recomputed from the batches it is identical
    for part in (train, test):
        np.testing.assert_allclose(syn.oracle_from_batch(part.full(), part.vocab), syn.oracle_scores(part))
    # the relevant behaviours the DIN effect counted are the ones relevant_mask marks
    batch = test.full()
    counts = syn.relevant_mask(batch, test.vocab).sum(1).numpy()
    np.testing.assert_array_equal(counts, truth["relevant"].to_numpy()[test.frame["row"]])


def test_planted_sessions_are_what_the_30_minute_rule_cuts(default) -> None:
    syn, _, _ = default
    log = syn.log
    users, ts = log["user_id"].to_numpy(), log["timestamp"].to_numpy()
    assert boundary_precision_recall(ts, syn.truth["session"].to_numpy(), 1800, users) == (1.0, 1.0)
    one = log[log["user_id"] == 1]
    np.testing.assert_array_equal(split_sessions(one["timestamp"].to_numpy()),
                                  syn.truth.loc[one.index, "session"].to_numpy())
    # homogeneous inside: at least half of each session's impressions show its topic
    same = (syn.truth["topic"] == syn.truth["session_topic"]).groupby([log["user_id"], syn.truth["session"]]).mean()
    assert same.mean() > 0.5


def test_current_interest_is_the_top_of_the_recency_profile() -> None:
    syn = make_synthetic(n_users=20, seed=3)
    log, truth = syn.log, syn.truth
    decay = syn.rule.dien_decay
    for user in (1, 2, 3):
        rows = log.index[log["user_id"] == user]
        clicked: list[int] = []
        for row in rows:
            if not clicked:
                assert truth.at[row, "current_interest"] == -1
            else:
                recent = clicked[-syn.window:]
                profile = np.zeros(len(syn.topic_of_cate))
                for age, topic in enumerate(reversed(recent)):
                    profile[topic] += decay**age
                assert truth.at[row, "current_interest"] == profile.argmax()
            if log.at[row, "label"] == 1:
                clicked.append(int(truth.at[row, "topic"]))


# ---------------------------------------------------------------- order matters for DIEN only
def test_permuted_history_lowers_the_dien_oracle() -> None:
    syn = make_synthetic("dien", n_users=400, seed=0)
    _, test = build_samples(syn.log, history="positive", max_len=20)
    batch = test.full()
    y = test.frame["label"].to_numpy()
    true_auc = auc(y, syn.oracle_from_batch(batch, test.vocab))
    generator = torch.Generator().manual_seed(0)
    order = torch.argsort(torch.rand(batch.hist_item.shape, generator=generator) + 1 - batch.hist_mask, dim=1)
    shuffled = batch.select(slice(None))
    shuffled.hist_item = batch.hist_item.gather(1, order)  # valid positions shuffled among themselves
    shuffled.hist_cate = batch.hist_cate.gather(1, order)
    assert (shuffled.hist_cate != 0).sum() == (batch.hist_cate != 0).sum()
    permuted_auc = auc(y, syn.oracle_from_batch(shuffled, test.vocab))
    assert permuted_auc < true_auc - 0.02, (true_auc, permuted_auc)
    # the DIN effect reads a count: the same under any order
    din = make_synthetic("din", n_users=100, seed=0)
    _, din_test = build_samples(din.log, history="positive", max_len=20)
    b = din_test.full()
    mixed = b.select(slice(None))
    order = torch.argsort(torch.rand(b.hist_item.shape, generator=generator) + 1 - b.hist_mask, dim=1)
    mixed.hist_cate = b.hist_cate.gather(1, order)
    np.testing.assert_allclose(din.oracle_from_batch(mixed, din_test.vocab), din.oracle_scores(din_test))


# ---------------------------------------------------------------- determinism, variants, strengths
def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b = make_synthetic(n_users=150, seed=5), make_synthetic(n_users=150, seed=5)
    pd.testing.assert_frame_equal(a.log, b.log)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not make_synthetic(n_users=150, seed=6).log.equals(a.log)


def test_strength_zero_switches_an_effect_off() -> None:
    syn = make_synthetic("din", n_users=200, seed=1)
    assert (syn.rule.dien_strength, syn.rule.dsin_strength) == (0.0, 0.0)
    t = syn.truth
    np.testing.assert_allclose(t["logit"], syn.rule.bias + syn.rule.din_strength * t["din"])
    off = make_synthetic(n_users=200, seed=1, din_strength=0, dien_strength=0, dsin_strength=0)
    assert off.truth["oracle_p"].nunique() == 1  # nothing planted: every impression alike
    # only the strengths differ: the impressions are the same, the clicks are not
    same = make_synthetic(n_users=200, seed=1)
    pd.testing.assert_frame_equal(off.log.drop(columns="label"), same.log.drop(columns="label"))
    for name, strengths in VARIANTS.items():
        data = make_synthetic(name, n_users=50, seed=0)
        assert {k: getattr(data.rule, k) for k in strengths} == strengths
    assert make_synthetic("dien", n_users=50, seed=0, dien_strength=1.5).rule.dien_strength == 1.5


def test_label_follows_the_planted_probability(default) -> None:
    syn, _, _ = default
    t, y = syn.truth, syn.log["label"]
    assert 0.2 < y.mean() < 0.5
    bins = pd.cut(t["oracle_p"], [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    observed = y.groupby(bins, observed=True).mean()
    expected = t["oracle_p"].groupby(bins, observed=True).mean()
    np.testing.assert_allclose(observed, expected, atol=0.05)
    assert y[t["relevant"] >= 3].mean() > y[t["relevant"] == 0].mean() + 0.3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "deep"}, "variant must be one of"),
        ({"n_users": 0}, "n_users must be >= 1, got 0"),
        ({"window": 2.5}, "window must be an integer, got 2.5"),
        ({"interests_per_user": 40}, "interests_per_user"),
        ({"events_per_session": 20}, "events_per_session must be <= 12, got 20"),
        ({"din_strength": -1}, "din_strength must be >= 0"),
        ({"dien_decay": 1.0}, "dien_decay must be < 1, got 1.0"),
        ({"dien_effect": "recent"}, "dien_effect must be 'profile' .* or 'latest' .*, got 'recent'"),
        ({"noise": -0.1}, "noise must be >= 0, got -0.1"),
        ({"bias": float("nan")}, "bias must be a finite number, got nan"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_synthetic(**kwargs)


# ---------------------------------------------------------------- the idea is decisive
def test_din_beats_base_on_the_din_variant() -> None:
    torch.set_num_threads(1)
    syn = make_synthetic("din", n_users=500, seed=0)
    train, test = build_samples(syn.log, history="positive", max_len=20)
    scores = {}
    for name in ("base", "din"):
        torch.manual_seed(0)
        model = create(name, train.vocab)
        fit(model, train, epochs=3, batch_size=256, seed=0, progress=False)
        scores[name] = evaluate(model, test)["auc"]
    oracle = syn.oracle_metrics(test)["auc"]
    assert scores["din"] > scores["base"] + 0.03, scores
    assert scores["din"] < oracle, (scores, oracle)
