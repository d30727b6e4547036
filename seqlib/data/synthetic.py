"""A synthetic click log with planted ground truth (book chapter 1, "Three data sets").

Every idea of the three models is planted in the data so that the book can measure whether a
model found it:

* **topics and categories** — items belong to categories, categories to hidden *topics*
  (interests): a mouse and a monitor are different categories of one "computer" topic;
* **multi-interest users whose interests drift** (DIEN) — each user has a start and an end
  mixture over topics and moves linearly from one to the other over their timeline;
* **sessions** (DSIN) — behaviour comes in sessions with short inner gaps (about a minute) and
  long outer gaps (hours); each session follows one topic drawn from the current mixture;
* **local activation** (DIN) — each event is an impression whose click probability is
  ``sigmoid(bias + a_hist * share + a_sess * same_topic)``, where ``share`` is the fraction of the
  user's last ``window`` clicks whose topic equals the candidate's topic (those clicks are the
  *relevant behaviours*), and ``same_topic`` says whether the candidate matches the session topic.

Generation is vectorised over users; only the click feedback loop steps through time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from seqlib.data.batch import Batch
from seqlib.data.samples import Vocab


@dataclass
class SyntheticData:
    """A synthetic log and its planted ground truth.

    Attributes:
        log: ``user_id, item_id, cate_id, timestamp, label`` sorted by user and time.
        truth: aligned with ``log`` rows: ``topic`` (the item's topic), ``session`` (planted
            session number within the user), ``session_topic``, ``current_interest`` (the user's
            strongest topic at that time) and ``share`` (the planted relevance that drove the click).
        topic_of_cate: topic of each raw category id (index = ``cate_id``; entry 0 unused).  # [C + 1]
        window: how many recent clicks the click rule looks at.
        history: which rows are behaviours for :func:`build_samples` (``"positive"``: clicks).
    """

    log: pd.DataFrame
    truth: pd.DataFrame
    topic_of_cate: np.ndarray
    window: int
    history: str = "positive"

    def relevant_mask(self, batch: Batch, vocab: Vocab) -> torch.Tensor:
        """The planted relevant behaviours of each sample: clicks among the last ``window``
        behaviours whose topic equals the target's topic.

        Args:
            batch: a batch built from this log (``history="positive"``).
            vocab: the vocabulary of the sample set the batch came from.

        Returns:
            Boolean mask of relevant history positions.  # [B, L]
        """
        topic = torch.from_numpy(self.topic_of_cate[vocab.cate_ids.clip(min=0)])  # [C]
        topic[0] = -1  # padding has no topic
        hist_topic = topic[batch.hist_cate]  # [B, L]
        target_topic = topic[batch.cate].unsqueeze(1)  # [B, 1]
        pos = torch.arange(batch.hist_item.shape[1]).unsqueeze(0)  # [1, L]
        in_window = (pos < batch.hist_len.unsqueeze(1)) & (pos >= batch.hist_len.unsqueeze(1) - self.window)
        return in_window & (hist_topic == target_topic)  # [B, L]


def make_synthetic(
    n_users: int = 2000,
    n_topics: int = 8,
    cates_per_topic: int = 4,
    items_per_cate: int = 40,
    sessions_per_user: float = 8.0,
    events_per_session: float = 6.0,
    window: int = 20,
    noise: float = 1.0,
    seed: int = 0,
) -> SyntheticData:
    """Generate a synthetic click log with planted topics, sessions, drift and relevance.

    Args:
        n_users: number of users.
        n_topics: hidden interests; categories are grouped into topics.
        cates_per_topic: categories per topic.
        items_per_cate: items per category (popularity within a category is Zipf-like).
        sessions_per_user: mean number of sessions per user (at least 2 each).
        events_per_session: mean impressions per session (at least 2 each).
        window: number of recent clicks the click rule reads.
        noise: scale of the logistic noise on the click logit (larger = harder).
        seed: random seed; the same seed gives the same log.

    Returns:
        A :class:`SyntheticData` with the log and its ground truth.
    """
    for name, value in (
        ("n_users", n_users), ("n_topics", n_topics), ("cates_per_topic", cates_per_topic),
        ("items_per_cate", items_per_cate), ("window", window),
    ):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    n_cates = n_topics * cates_per_topic
    topic_of_cate = np.concatenate([[-1], np.repeat(np.arange(n_topics), cates_per_topic)])
    zipf = 1.0 / np.arange(1, items_per_cate + 1) ** 0.8
    zipf /= zipf.sum()

    # Users: start and end interest mixtures (sparse Dirichlet) -> drift.
    w_start = rng.dirichlet(np.full(n_topics, 0.3), size=n_users)  # [U, P]
    w_end = rng.dirichlet(np.full(n_topics, 0.3), size=n_users)  # [U, P]
    n_sess = 2 + rng.poisson(sessions_per_user - 2, size=n_users)  # [U]

    # Sessions (flat): owner, order within user, size, topic at that point of the drift.
    s_user = np.repeat(np.arange(n_users), n_sess)  # [S]
    s_first = np.repeat(np.cumsum(n_sess) - n_sess, n_sess)
    s_rank = np.arange(len(s_user)) - s_first
    frac = s_rank / np.maximum(n_sess[s_user] - 1, 1)  # position on the user's timeline in [0, 1]
    mix = (1 - frac)[:, None] * w_start[s_user] + frac[:, None] * w_end[s_user]  # [S, P]
    s_topic = _categorical(mix, rng)
    s_interest = mix.argmax(axis=1)
    s_size = 2 + rng.poisson(events_per_session - 2, size=len(s_user))
    outer_gap = rng.lognormal(np.log(6 * 3600), 0.8, size=len(s_user))  # hours between sessions
    outer_gap[s_rank == 0] = rng.uniform(0, 30 * 86400, size=int((s_rank == 0).sum()))  # start day

    # Events (flat): times, candidate topic/category/item.
    e_sess = np.repeat(np.arange(len(s_user)), s_size)  # [E]
    e_user = s_user[e_sess]
    e_first = np.repeat(np.cumsum(s_size) - s_size, s_size)
    e_pos = np.arange(len(e_sess)) - e_first  # position within the session
    inner_gap = np.maximum(1.0, rng.lognormal(np.log(60), 1.0, size=len(e_sess)))
    step = np.where(e_pos == 0, outer_gap[e_sess], inner_gap)
    counts = np.bincount(e_user, minlength=n_users)  # events per user
    user_first_event = np.repeat(np.cumsum(counts) - counts, counts)  # [E]
    e_time = _segment_cumsum(np.floor(step), user_first_event) + 1_500_000_000
    in_topic = rng.random(len(e_sess)) < 0.7
    e_topic = np.where(in_topic, s_topic[e_sess], rng.integers(0, n_topics, size=len(e_sess)))
    e_cate = 1 + e_topic * cates_per_topic + rng.integers(0, cates_per_topic, size=len(e_sess))
    e_item = (e_cate - 1) * items_per_cate + 1 + rng.choice(items_per_cate, size=len(e_sess), p=zipf)

    # Clicks: the feedback loop over each user's event index, vectorised across users.
    e_idx = np.arange(len(e_sess)) - user_first_event  # index within the user
    grid = np.full((n_users, counts.max()), -1, dtype=np.int64)
    grid[e_user, e_idx] = np.arange(len(e_sess))
    recent = np.full((n_users, window), -1, dtype=np.int64)  # topics of the last clicks
    label = np.zeros(len(e_sess), dtype=np.int64)
    share = np.zeros(len(e_sess))
    logistic = rng.logistic(0.0, 1.0, size=len(e_sess)) * noise
    for t in range(grid.shape[1]):
        ev = grid[:, t]
        live = ev >= 0
        idx = ev[live]
        buf = recent[live]  # [U_live, W]
        topic = e_topic[idx]
        n_clicks = (buf >= 0).sum(axis=1)
        hits = (buf == topic[:, None]).sum(axis=1)
        share[idx] = np.where(n_clicks > 0, hits / np.maximum(n_clicks, 1), 0.0)
        logit = -2.5 + 4.0 * share[idx] + 1.5 * (topic == s_topic[e_sess[idx]]) + logistic[idx]
        clicked = logit > 0
        label[idx] = clicked
        rows = np.flatnonzero(live)[clicked]
        recent[rows, :-1] = recent[rows, 1:]
        recent[rows, -1] = topic[clicked]

    log = pd.DataFrame(
        {
            "user_id": e_user + 1,
            "item_id": e_item,
            "cate_id": e_cate,
            "timestamp": e_time.astype(np.int64),
            "label": label,
        }
    )
    truth = pd.DataFrame(
        {
            "topic": e_topic,
            "session": s_rank[e_sess],
            "session_topic": s_topic[e_sess],
            "current_interest": s_interest[e_sess],
            "share": share,
        }
    )
    return SyntheticData(log=log, truth=truth, topic_of_cate=topic_of_cate, window=window)


def _categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row from row-wise categorical distributions.  # [N, P] -> [N]"""
    u = rng.random(len(probs))[:, None]
    return np.minimum((probs.cumsum(axis=1) < u).sum(axis=1), probs.shape[1] - 1)


def _segment_cumsum(values: np.ndarray, segment_start: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each segment (``segment_start`` = first index per element)."""
    total = np.cumsum(values)
    return total - (total[segment_start] - values[segment_start])
