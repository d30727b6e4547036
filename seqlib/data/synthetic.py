"""A synthetic click log with planted ground truth (book chapter 1, "Three data sets").

Each model's idea is planted as an effect on the click that a bag of items cannot represent, and
every effect is a deterministic function of what the models see: the user's **observed clicks**
before the impression (the history of ``build_samples(log, history="positive", max_len=20)``) and
the candidate. The noise-free click probability of every impression is returned
(``truth["oracle_p"]``): scored with it, a test set gives the ceiling no model can pass
(:meth:`SyntheticData.oracle_metrics`), and :meth:`SyntheticData.oracle_from_batch` recomputes it
from a batch's own tensors.

The world:

* **topics and categories** — items (5 per category, Zipf popularity) belong to categories,
  categories (2 per topic) to 32 hidden *topics*. There are more topics than an item vector has
  entries (16), so a sum of embeddings cannot keep apart which topics a history holds, nor how
  often each;
* **users with several interests that drift** — each user holds 3 interest topics with weights;
  before each session one of them may be replaced by a new topic;
* **sessions** — behaviour comes in sessions of 2 to 12 impressions, 5 seconds to 2.5 minutes
  apart (a session spans less than 30 minutes), separated by hours; each session follows one
  topic drawn from the user's current interests: homogeneous inside, heterogeneous across, and
  exactly what :func:`~seqlib.data.split_sessions` (30 minutes) cuts;
* **impressions** — half show the session's topic, 35% one of the user's other interests and
  15% a random topic. A click is a Bernoulli draw from ``sigmoid(logit)`` with

  ``logit = bias + din_strength * din + dien_strength * dien + dsin_strength * dsin``

  three planted effects of the observed clicks ``h`` (most recent last) on a candidate of
  topic ``z``:

  - **DIN, interest intensity**: ``din = 1 - exp(-n / din_scale)``, where ``n`` counts the
    clicks of topic ``z`` among the last ``window`` clicks (the *relevant behaviours*). A count
    that saturates, not a share: three relevant clicks weigh the same in a history of 3 clicks
    or of 20. DIN's unnormalised weighted sum can carry it; a softmax, which keeps only
    proportions, cannot;
  - **DIEN, the current point of a drifting interest**, in one of two forms (``dien_effect``):
    ``"profile"`` (the default), ``dien = sum_j decay^age_j [topic_j = z] / sum_j decay^age_j``
    over the last ``window`` clicks (``age`` 0 = the most recent): the candidate's weight in a
    recency-weighted topic profile; or ``"latest"``, ``dien = decay^k`` with ``k`` the clicks
    since the user's latest click of topic ``z`` (0 when the last ``window`` clicks hold none):
    how long the candidate's own interest has been idle, whatever the other topics did
    meanwhile. Either way order matters: the same clicks in another order give another value,
    which no bag of items (nor DIN) can see;
  - **DSIN, the current session's intent**: ``dsin`` = the share of topic ``z`` among the last
    ``session_window`` clicks of the most recent session before the impression (sessions cut at
    gaps of more than 30 minutes, as ``build_samples(gap=1800)`` cuts them).

:data:`VARIANTS` switch the effects on one at a time (``"din"``, ``"dien"``, ``"dsin"``) or all
together (``"all"``, the default); each strength can also be set by hand, 0 switching its effect
off. Generation is vectorised over users; only the click feedback loop steps through each user's
impressions (the default set takes well under a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd
import torch

from seqlib.checks import check_float, check_int, positive_int
from seqlib.data.batch import Batch
from seqlib.data.samples import SampleSet, Vocab
from seqlib.metrics import auc, gauc

Variant = Literal["all", "din", "dien", "dsin"]
DienEffect = Literal["profile", "latest"]
DIEN_EFFECTS = get_args(DienEffect)

# Effect strengths (logit units) of each named variant. "all" is sized so that each sequence model
# beats the base model by more than 0.03 test AUC on every seed (3 seeds: DIN +0.038..+0.056, DIEN
# +0.033..+0.042, DSIN +0.051..+0.059; with DIN 3.0 and DIEN 4.5, DIN's margin fell to +0.028).
VARIANTS: dict[str, dict[str, float]] = {
    "all": {"din_strength": 4.0, "dien_strength": 5.5, "dsin_strength": 0.5},
    "din": {"din_strength": 3.5, "dien_strength": 0.0, "dsin_strength": 0.0},
    "dien": {"din_strength": 0.0, "dien_strength": 4.5, "dsin_strength": 0.0},
    "dsin": {"din_strength": 0.0, "dien_strength": 0.0, "dsin_strength": 3.5},
}

_MAX_SESSION_SIZE = 12  # impressions; with inner gaps <= _MAX_INNER_GAP a session spans < 30 min
_MAX_INNER_GAP = 150.0  # seconds
_MIN_OUTER_GAP = 3600.0  # seconds between sessions, well above DSIN's 30 minutes


@dataclass(frozen=True)
class ClickRule:
    """The planted click rule: effect definitions and their strengths.

    Attributes:
        bias: logit of a candidate no effect supports.
        din_strength: weight of the DIN effect (interest intensity).
        dien_strength: weight of the DIEN effect (current point of the drifting interest).
        dsin_strength: weight of the DSIN effect (intent of the most recent session).
        din_scale: clicks at which the DIN effect reaches ``1 - 1/e`` of its maximum.
        dien_decay: per-click decay of the DIEN effect, in (0, 1).
        window: how many recent clicks the DIN and DIEN effects read.
        session_window: how many recent clicks of the latest session the DSIN effect reads.
        noise: scale of the logistic noise on the logit (1 = a Bernoulli draw from
            ``sigmoid(logit)``; 0 = deterministic clicks).
        dien_effect: ``"profile"`` (the candidate's weight in the recency-weighted topic profile)
            or ``"latest"`` (``dien_decay`` to the power of the clicks since the latest click of
            the candidate's topic).
    """

    bias: float
    din_strength: float
    dien_strength: float
    dsin_strength: float
    din_scale: float
    dien_decay: float
    window: int
    session_window: int
    noise: float
    dien_effect: DienEffect = "profile"

    def effects(
        self, hist_topic: np.ndarray, hist_age: np.ndarray, sess_topic: np.ndarray, cand_topic: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The three planted effects of an observed click history on candidates.

        Args:
            hist_topic: topic of each history click, -1 where there is none.  # [N, L]
            hist_age: clicks since each one (0 = the most recent click).  # [N, L]
            sess_topic: topics of the most recent session's clicks (-1 = none); only the last
                ``session_window`` of them may be given as valid.  # [N, S]
            cand_topic: topic of each candidate.  # [N]

        Returns:
            ``relevant`` (count of relevant clicks), ``din``, ``dien``, ``dsin`` (each in [0, 1]).  # [N] each
        """
        valid = (hist_topic >= 0) & (hist_age < self.window)  # [N, L]
        same = valid & (hist_topic == cand_topic[:, None])  # [N, L]: the relevant behaviours
        relevant = same.sum(axis=1)  # [N]
        if self.dien_effect == "latest":
            idle = np.where(same, hist_age, self.window).min(axis=1)  # [N]: clicks since the latest of topic z
            dien = np.where(idle < self.window, self.dien_decay**idle, 0.0)  # [N]
        else:
            weight = np.where(valid, self.dien_decay ** np.where(valid, hist_age, 0), 0.0)  # [N, L]
            total = weight.sum(axis=1)  # [N]
            dien = np.divide((weight * same).sum(axis=1), total, out=np.zeros(len(total)), where=total > 0)  # [N]
        in_sess = sess_topic >= 0  # [N, S]
        n_sess = in_sess.sum(axis=1)  # [N]
        hits = (in_sess & (sess_topic == cand_topic[:, None])).sum(axis=1)  # [N]
        dsin = np.divide(hits, n_sess, out=np.zeros(len(n_sess)), where=n_sess > 0)  # [N]
        return {"relevant": relevant, "din": 1.0 - np.exp(-relevant / self.din_scale), "dien": dien, "dsin": dsin}

    def logit(self, effects: dict[str, np.ndarray]) -> np.ndarray:
        """``bias + din_strength * din + dien_strength * dien + dsin_strength * dsin``.  # [N]"""
        return (
            self.bias
            + self.din_strength * effects["din"]
            + self.dien_strength * effects["dien"]
            + self.dsin_strength * effects["dsin"]
        )

    def probability(self, logit: np.ndarray) -> np.ndarray:
        """The noise-free click probability ``P(logit + noise * eps > 0)``, ``eps`` logistic.  # [N]"""
        if self.noise == 0:
            return (logit > 0).astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logit / self.noise))


@dataclass
class SyntheticData:
    """A synthetic log, its planted ground truth and the click rule that made it.

    Attributes:
        log: ``user_id, item_id, cate_id, timestamp, label`` sorted by user and time.
        truth: aligned with ``log`` rows: ``topic`` (the item's topic), ``session`` (planted
            session number within the user), ``session_topic`` (the topic that session follows),
            ``current_interest`` (the top topic of the recency-weighted profile of the clicks
            before the row, -1 before the first click), ``relevant`` (clicks of the row's topic
            among the last ``window``), the effects ``din``, ``dien``, ``dsin`` (each in [0, 1]),
            ``logit`` and ``oracle_p`` (the noise-free click probability).
        topic_of_cate: topic of each raw category id (index = ``cate_id``; entry 0 unused).  # [C + 1]
        window: how many recent clicks the DIN and DIEN effects read.
        rule: the click rule (strengths and effect parameters).
        history: which rows are behaviours for :func:`build_samples` (``"positive"``: clicks).
    """

    log: pd.DataFrame
    truth: pd.DataFrame
    topic_of_cate: np.ndarray
    window: int
    rule: ClickRule
    history: str = "positive"

    def oracle_scores(self, samples: SampleSet) -> np.ndarray:
        """The planted click probability of each sample: the best score any model can give.

        Args:
            samples: a sample set built from this log (``frame["row"]`` = index label in ``log``).

        Returns:
            ``truth["oracle_p"]`` of each sample's row, in the set's order.  # [N]

        Raises:
            ValueError: the set holds rows that are not in this log.
        """
        rows = samples.frame["row"].to_numpy()
        missing = ~np.isin(rows, self.truth.index.to_numpy())
        if missing.any():
            raise ValueError(
                f"samples hold row {rows[missing][0]} that is not in this synthetic log; "
                "score sample sets built from this SyntheticData's log"
            )
        return self.truth["oracle_p"].loc[rows].to_numpy()

    def oracle_metrics(self, samples: SampleSet) -> dict[str, float]:
        """AUC and GAUC of the oracle scores on ``samples`` (the ceiling for any model).

        Returns:
            ``{"auc", "gauc", "valid_users"}``.
        """
        p = self.oracle_scores(samples)
        y = samples.frame["label"].to_numpy()
        g, n_valid = gauc(samples.frame["user_id"].to_numpy(), y, p)
        return {"auc": auc(y, p), "gauc": g, "valid_users": n_valid}

    def oracle_from_batch(self, batch: Batch, vocab: Vocab) -> np.ndarray:
        """The planted click probability recomputed from a batch's own tensors.

        Shows that the ceiling is reachable from what a model sees: for a batch built with
        ``history="positive"``, ``max_len >= window``, ``session_len >= session_window`` and the
        30-minute gap it equals :meth:`oracle_scores`. Permuting the history changes the DIEN
        effect (and not the DIN one), which is how the tests check that order matters.

        Args:
            batch: a batch from a sample set built from this log.
            vocab: the vocabulary of that sample set.

        Returns:
            Probabilities.  # [B]
        """
        topic = self._topic_of_index(vocab)  # [C]
        hist_len = batch.hist_len.numpy()  # [B]
        pos = np.arange(batch.hist_cate.shape[1])[None, :]  # [1, L]
        hist_topic = np.where(pos < hist_len[:, None], topic[batch.hist_cate.numpy()], -1)  # [B, L]
        hist_age = hist_len[:, None] - 1 - pos  # [B, L]
        rows = np.arange(len(hist_len))
        last = np.maximum(batch.n_sess.numpy() - 1, 0)  # [B] slot of the most recent session
        sess_len = np.where(batch.n_sess.numpy() > 0, batch.sess_len.numpy()[rows, last], 0)  # [B]
        spos = np.arange(batch.sess_cate.shape[2])[None, :]  # [1, T]
        keep = (spos < sess_len[:, None]) & (spos >= sess_len[:, None] - self.rule.session_window)  # [B, T]
        sess_topic = np.where(keep, topic[batch.sess_cate.numpy()[rows, last]], -1)  # [B, T]
        effects = self.rule.effects(hist_topic, hist_age, sess_topic, topic[batch.cate.numpy()])
        return self.rule.probability(self.rule.logit(effects))

    def relevant_mask(self, batch: Batch, vocab: Vocab) -> torch.Tensor:
        """The planted relevant behaviours of each sample (what the DIN effect counts): clicks
        among the last ``window`` behaviours whose topic equals the candidate's topic.

        Args:
            batch: a batch built from this log (``history="positive"``).
            vocab: the vocabulary of the sample set the batch came from.

        Returns:
            Boolean mask of relevant history positions.  # [B, L]
        """
        topic = torch.from_numpy(self._topic_of_index(vocab))  # [C]
        hist_topic = topic[batch.hist_cate]  # [B, L]
        target_topic = topic[batch.cate].unsqueeze(1)  # [B, 1]
        pos = torch.arange(batch.hist_item.shape[1]).unsqueeze(0)  # [1, L]
        length = batch.hist_len.unsqueeze(1)  # [B, 1]
        in_window = (pos < length) & (pos >= length - self.window)  # [B, L]
        return in_window & (hist_topic == target_topic) & (hist_topic >= 0)  # [B, L]

    def _topic_of_index(self, vocab: Vocab) -> np.ndarray:
        """Topic of each category index of ``vocab`` (-1 for padding).  # [C]"""
        topic = self.topic_of_cate[vocab.cate_ids.clip(min=0)].copy()  # [C]
        topic[0] = -1
        return topic


def make_synthetic(
    variant: Variant = "all",
    *,
    din_strength: float | None = None,
    dien_strength: float | None = None,
    dsin_strength: float | None = None,
    n_users: int = 2000,
    n_topics: int = 32,
    cates_per_topic: int = 2,
    items_per_cate: int = 5,
    interests_per_user: int = 3,
    sessions_per_user: float = 8.0,
    events_per_session: float = 6.0,
    window: int = 20,
    session_window: int = 10,
    din_scale: float = 3.0,
    dien_decay: float = 0.3,
    dien_effect: DienEffect = "profile",
    bias: float = -2.5,
    interest_drift: float = 0.15,
    explore: float = 0.15,
    noise: float = 1.0,
    seed: int = 0,
) -> SyntheticData:
    """Generate a synthetic click log whose clicks follow planted DIN, DIEN and DSIN effects.

    Args:
        variant: which effects are on: ``"all"`` (default), or ``"din"``, ``"dien"``, ``"dsin"``
            alone; strengths from :data:`VARIANTS`.
        din_strength: overrides the variant's DIN strength (0 switches the effect off).
        dien_strength: overrides the variant's DIEN strength.
        dsin_strength: overrides the variant's DSIN strength.
        n_users: number of users.
        n_topics: hidden topics; categories are grouped into topics.
        cates_per_topic: categories per topic.
        items_per_cate: items per category (popularity within a category is Zipf-like).
        interests_per_user: topics a user is interested in at any time.
        sessions_per_user: mean number of sessions per user (at least 2 each).
        events_per_session: mean impressions per session (2 to 12 each).
        window: recent clicks read by the DIN and DIEN effects (build samples with
            ``max_len >= window`` for the oracle to be reachable).
        session_window: recent clicks of the latest session read by the DSIN effect (keep
            ``session_len >= session_window``).
        din_scale: clicks at which the DIN effect reaches ``1 - 1/e`` of its maximum.
        dien_decay: per-click decay of the DIEN effect, in (0, 1).
        dien_effect: the DIEN effect's form: ``"profile"`` (the candidate's weight in the
            recency-weighted topic profile of the last ``window`` clicks) or ``"latest"``
            (``dien_decay ** k``, ``k`` the clicks since the latest click of the candidate's topic).
        bias: logit of a candidate no effect supports.
        interest_drift: probability per session that one of the user's interests is replaced.
        explore: share of impressions showing a random topic (half show the session's topic,
            the rest one of the user's current interests).
        noise: scale of the logistic noise on the click logit (1 = Bernoulli(sigmoid(logit))).
        seed: random seed; the same arguments give the same data.

    Returns:
        A :class:`SyntheticData` with the log, the ground truth and the click rule.

    Raises:
        ValueError: an unknown variant or an argument out of range (the message names it).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    if dien_effect not in DIEN_EFFECTS:
        raise ValueError(f"dien_effect must be 'profile' (the recency-weighted topic profile) or 'latest' (the "
                         f"clicks since the candidate's topic was last clicked), got {dien_effect!r}")
    strengths = dict(VARIANTS[variant])
    given = {"din_strength": din_strength, "dien_strength": dien_strength, "dsin_strength": dsin_strength}
    strengths.update({name: value for name, value in given.items() if value is not None})
    _check_arguments(
        n_users=n_users, n_topics=n_topics, cates_per_topic=cates_per_topic, items_per_cate=items_per_cate,
        interests_per_user=interests_per_user, window=window, session_window=session_window,
        sessions_per_user=sessions_per_user, events_per_session=events_per_session, din_scale=din_scale,
        dien_decay=dien_decay, interest_drift=interest_drift, explore=explore, noise=noise, seed=seed,
        bias=bias, **strengths,
    )
    rule = ClickRule(bias=bias, din_scale=din_scale, dien_decay=dien_decay, window=window,
                     session_window=session_window, noise=noise, dien_effect=dien_effect, **strengths)
    rng = np.random.default_rng(seed)
    topic_of_cate = np.concatenate([[-1], np.repeat(np.arange(n_topics), cates_per_topic)])  # [C + 1]

    sessions = _plant_sessions(rng, n_users, n_topics, interests_per_user, sessions_per_user, interest_drift)
    events = _plant_events(rng, sessions, n_users, n_topics, events_per_session, explore)
    e_topic = events["topic"]  # [E]
    e_cate = 1 + e_topic * cates_per_topic + rng.integers(0, cates_per_topic, size=len(e_topic))  # [E]
    zipf = 1.0 / np.arange(1, items_per_cate + 1) ** 0.8
    e_item = (e_cate - 1) * items_per_cate + 1 + rng.choice(items_per_cate, size=len(e_topic), p=zipf / zipf.sum())
    clicks = _click_loop(rng, rule, events, n_users, n_topics)

    log = pd.DataFrame(
        {
            "user_id": events["user"] + 1,
            "item_id": e_item,
            "cate_id": e_cate,
            "timestamp": events["time"],
            "label": clicks["label"],
        }
    )
    truth = pd.DataFrame(
        {
            "topic": e_topic,
            "session": sessions["rank"][events["session"]],
            "session_topic": sessions["topic"][events["session"]],
            "current_interest": clicks["current_interest"],
            "relevant": clicks["relevant"],
            "din": clicks["din"],
            "dien": clicks["dien"],
            "dsin": clicks["dsin"],
            "logit": clicks["logit"],
            "oracle_p": rule.probability(clicks["logit"]),
        }
    )
    return SyntheticData(log=log, truth=truth, topic_of_cate=topic_of_cate, window=window, rule=rule)


def _check_arguments(**values: float) -> None:
    """Raise a ValueError naming the first argument that is not a number in its range."""
    for name in ("n_users", "n_topics", "cates_per_topic", "items_per_cate", "interests_per_user", "window",
                 "session_window"):
        positive_int(name, values[name])
    check_int("seed", values["seed"], minimum=0)
    if values["interests_per_user"] > values["n_topics"]:
        raise ValueError(
            f"interests_per_user ({values['interests_per_user']}) must not exceed n_topics ({values['n_topics']})"
        )
    check_float("sessions_per_user", values["sessions_per_user"], minimum=2.0)
    check_float("events_per_session", values["events_per_session"], minimum=2.0, maximum=_MAX_SESSION_SIZE)
    for name in ("din_strength", "dien_strength", "dsin_strength", "noise"):
        check_float(name, values[name], minimum=0.0)
    check_float("bias", values["bias"])
    check_float("din_scale", values["din_scale"], minimum=0.0, strict_minimum=True)
    check_float("dien_decay", values["dien_decay"], minimum=0.0, maximum=1.0, strict_minimum=True)
    if values["dien_decay"] >= 1:
        raise ValueError(f"dien_decay must be < 1, got {values['dien_decay']}")
    check_float("interest_drift", values["interest_drift"], minimum=0.0, maximum=1.0)
    check_float("explore", values["explore"], minimum=0.0, maximum=0.5)


def _plant_sessions(
    rng: np.random.Generator, n_users: int, n_topics: int, k: int, sessions_per_user: float, drift: float
) -> dict[str, np.ndarray]:
    """Each user's sessions in order: owner, rank, topic and the interests held at that time.

    Every user holds ``k`` interest topics with Dirichlet weights; before each session one of
    them is replaced by a random topic with probability ``drift``; the session's topic is drawn
    from the interests by weight.

    Returns:
        Flat arrays over sessions ``S``: ``user``, ``rank``, ``topic`` ([S] each) and
        ``interests`` ([S, k]).
    """
    n_sess = 2 + rng.poisson(sessions_per_user - 2, size=n_users)  # [U]
    interests = np.argsort(rng.random((n_users, n_topics)), axis=1)[:, :k]  # [U, k] distinct topics
    weights = rng.dirichlet(np.ones(k), size=n_users)  # [U, k]
    users = np.arange(n_users)
    topic = np.zeros((n_users, n_sess.max()), dtype=np.int64)  # [U, S_max]
    held = np.zeros((n_users, n_sess.max(), k), dtype=np.int64)  # [U, S_max, k]
    for s in range(n_sess.max()):
        slot = rng.integers(0, k, size=n_users)  # [U]
        new = rng.integers(0, n_topics, size=n_users)  # [U]
        swap = (rng.random(n_users) < drift) & ~(interests == new[:, None]).any(axis=1)
        interests[swap, slot[swap]] = new[swap]
        topic[:, s] = interests[users, _categorical(weights, rng)]
        held[:, s] = interests
    real = np.arange(n_sess.max())[None, :] < n_sess[:, None]  # [U, S_max]
    return {
        "user": np.repeat(users, n_sess),
        "rank": np.concatenate([np.arange(n) for n in n_sess]),
        "topic": topic[real],
        "interests": held[real],
    }


def _plant_events(
    rng: np.random.Generator,
    sessions: dict[str, np.ndarray],
    n_users: int,
    n_topics: int,
    events_per_session: float,
    explore: float,
) -> dict[str, np.ndarray]:
    """Impressions: session sizes, times (short gaps inside sessions, hours between) and topics.

    Half of a session's impressions show its topic, a share ``explore`` a random topic and the
    rest one of the user's current interests.

    Returns:
        Flat arrays over events ``E`` in user-then-time order: ``session``, ``user``, ``time``,
        ``topic`` and ``index`` (position within the user).  # [E] each
    """
    n_s = len(sessions["user"])
    size = np.clip(2 + rng.poisson(events_per_session - 2, size=n_s), 2, _MAX_SESSION_SIZE)  # [S]
    outer = _MIN_OUTER_GAP + rng.lognormal(np.log(6 * 3600), 0.8, size=n_s)  # [S] seconds before each session
    first = sessions["rank"] == 0
    outer[first] = rng.uniform(0, 30 * 86400, size=int(first.sum()))  # the user's start time
    e_sess = np.repeat(np.arange(n_s), size)  # [E]
    e_user = sessions["user"][e_sess]  # [E]
    n_e = len(e_sess)
    e_pos = np.arange(n_e) - np.repeat(np.cumsum(size) - size, size)  # [E] position in the session
    inner = np.clip(rng.lognormal(np.log(60), 0.7, size=n_e), 5, _MAX_INNER_GAP)  # [E]
    step = np.floor(np.where(e_pos == 0, outer[e_sess], inner))  # [E]
    counts = np.bincount(e_user, minlength=n_users)  # [U]
    user_first = np.repeat(np.cumsum(counts) - counts, counts)  # [E]
    total = np.cumsum(step)
    time = (total - (total[user_first] - step[user_first])).astype(np.int64) + 1_500_000_000  # [E]
    k = sessions["interests"].shape[1]
    draw = rng.random(n_e)
    other = sessions["interests"][e_sess, rng.integers(0, k, size=n_e)]  # [E]
    random_topic = rng.integers(0, n_topics, size=n_e)  # [E]
    topic = np.where(draw < 0.5, sessions["topic"][e_sess], np.where(draw < 1.0 - explore, other, random_topic))
    return {"session": e_sess, "user": e_user, "time": time, "topic": topic, "index": np.arange(n_e) - user_first}


def _click_loop(
    rng: np.random.Generator, rule: ClickRule, events: dict[str, np.ndarray], n_users: int, n_topics: int
) -> dict[str, np.ndarray]:
    """Draw the clicks impression by impression (vectorised across users).

    Each user carries the topics and sessions of their last ``window`` clicks; the effects of
    each impression are computed from them (:meth:`ClickRule.effects`), then the click is drawn
    and, if it happens, pushed into the user's buffer.

    Returns:
        Per event: ``label``, ``relevant``, ``din``, ``dien``, ``dsin``, ``logit`` and
        ``current_interest``.  # [E] each
    """
    n_e = len(events["user"])
    width = rule.window
    grid = np.full((n_users, int(events["index"].max()) + 1), -1, dtype=np.int64)  # [U, max events]
    grid[events["user"], events["index"]] = np.arange(n_e)
    buf_topic = np.full((n_users, width), -1, dtype=np.int64)  # [U, W] most recent click last
    buf_sess = np.full((n_users, width), -1, dtype=np.int64)  # [U, W]
    age = np.arange(width)[::-1][None, :]  # [1, W]
    noise = rng.logistic(0.0, 1.0, size=n_e) * rule.noise  # [E]
    out = {name: np.zeros(n_e) for name in ("din", "dien", "dsin", "logit")}
    out.update(label=np.zeros(n_e, dtype=np.int64), relevant=np.zeros(n_e, dtype=np.int64),
               current_interest=np.full(n_e, -1, dtype=np.int64))
    profile_weight = rule.dien_decay ** age  # [1, W]
    for t in range(grid.shape[1]):
        live = np.flatnonzero(grid[:, t] >= 0)  # users with a t-th impression
        idx = grid[live, t]
        hist_topic, hist_sess = buf_topic[live], buf_sess[live]  # [N, W]
        latest = hist_sess[:, -1:]  # [N, 1]
        in_latest = (hist_sess == latest) & (latest >= 0) & (age < rule.session_window)  # [N, W]
        effects = rule.effects(hist_topic, np.broadcast_to(age, hist_topic.shape), np.where(in_latest, hist_topic, -1),
                               events["topic"][idx])
        logit = rule.logit(effects)
        for name in ("din", "dien", "dsin"):
            out[name][idx] = effects[name]
        out["relevant"][idx] = effects["relevant"]
        out["logit"][idx] = logit
        out["current_interest"][idx] = _top_topic(hist_topic, profile_weight, n_topics)
        clicked = logit + noise[idx] > 0
        out["label"][idx] = clicked
        rows = live[clicked]
        for buf, value in ((buf_topic, events["topic"][idx]), (buf_sess, events["session"][idx])):
            buf[rows, :-1] = buf[rows, 1:]
            buf[rows, -1] = value[clicked]
    return out


def _top_topic(hist_topic: np.ndarray, weight: np.ndarray, n_topics: int) -> np.ndarray:
    """Top topic of the recency-weighted profile of each history (-1 for an empty one).

    Args:
        hist_topic: click topics, -1 where there is none.  # [N, W]
        weight: recency weight of each position.  # [1, W]

    Returns:
        The topic with the largest total weight.  # [N]
    """
    n = len(hist_topic)
    profile = np.zeros((n, n_topics + 1))  # [N, P + 1]; the last column collects the empty slots
    rows = np.repeat(np.arange(n), hist_topic.shape[1])
    np.add.at(profile, (rows, np.where(hist_topic >= 0, hist_topic, n_topics).ravel()),
              np.broadcast_to(weight, hist_topic.shape).ravel())
    top = profile[:, :n_topics].argmax(axis=1)
    return np.where((hist_topic >= 0).any(axis=1), top, -1)


def _categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row from row-wise categorical distributions.  # [N, P] -> [N]"""
    u = rng.random(len(probs))[:, None]
    return np.minimum((probs.cumsum(axis=1) < u).sum(axis=1), probs.shape[1] - 1)
