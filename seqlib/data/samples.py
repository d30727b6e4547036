"""From an interaction log to model inputs (book chapter 1, "Samples, padding and masks").

``build_samples`` turns a tidy log into two :class:`SampleSet` datasets (train and test) that
yield the one :class:`~seqlib.data.batch.Batch` type every model reads. All work is vectorised
numpy done once; a batch is a handful of tensor gathers.

Negatives never reveal the split: the chronological split is decided first, then every sampled
item comes from the behaviours of its own period (see :class:`NegativeSampler`). Nor do they
reveal the label through the history: a sampled negative is an item of the user's history as
often as a positive is (see :func:`build_samples` and :func:`in_history_rates`).
"""

from __future__ import annotations

import functools
import hashlib
import numbers
from dataclasses import dataclass, field
from typing import Iterator, Literal

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from seqlib.checks import check_float, check_int, check_seed, positive_int
from seqlib.data.batch import Batch
from seqlib.data.sessions import session_breaks
from seqlib.data.validate import TimeUnit, time_scale, validate_log

NegativeMode = Literal["uniform", "popularity", "uniform-unseen", "popularity-unseen"]
NEGATIVE_MODES = ("uniform", "popularity", "uniform-unseen", "popularity-unseen")
_KEY_BITS = 34  # dense time ranks below 2**34 fit next to the user index in one int64
_MAX_SLOTS = 4096  # n_sessions and session_len above this are refused (DSIN uses K = 5, T = 10)
_MAX_DRAWS = 200  # redraw rounds before a negative sampler gives up


@dataclass(frozen=True)
class Vocab:
    """Id vocabularies shared by the train and test sets; index 0 is padding.

    Attributes:
        user_ids: raw user id of each user index (entry 0 is a placeholder).  # [n_users]
        item_ids: raw item id of each item index.  # [n_items]
        cate_ids: raw category id of each category index.  # [n_cates]
        item_cate: category index of each item index (0 for padding).  # [n_items]
        feedback_levels: raw value of each behaviour-feedback level (entry 0 is "none"; empty
            when the samples carry no feedback feature).  # [n_feedback]
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    cate_ids: np.ndarray
    item_cate: np.ndarray
    feedback_levels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_users(self) -> int:
        """Size of the user table, padding included."""
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        """Size of the item table, padding included."""
        return len(self.item_ids)

    @property
    def n_cates(self) -> int:
        """Size of the category table, padding included."""
        return len(self.cate_ids)

    @property
    def n_feedback(self) -> int:
        """Size of the feedback table, "none" included (0 when there is no feedback feature)."""
        return len(self.feedback_levels)

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short hash of every id table: two sample sets can share a model only if equal."""
        return _digest(self.user_ids, self.item_ids, self.cate_ids, self.item_cate, self.feedback_levels)

    @functools.cached_property
    def id_fingerprint(self) -> str:
        """A short hash of the tables that user, item and category ids index (computed once):
        every batch carries it (:attr:`Batch.vocab`), and a model refuses a batch whose ids
        index other rows than its own. Feedback levels are checked by range instead."""
        return _digest(self.user_ids, self.item_ids, self.cate_ids, self.item_cate)

    def encode(self, field: Literal["user", "item", "cate"], raw: np.ndarray) -> np.ndarray:
        """Map raw ids to indices (0 for ids not in the vocabulary)."""
        table = {"user": self.user_ids, "item": self.item_ids, "cate": self.cate_ids}[field]
        raw = np.asarray(raw)
        pos = np.searchsorted(table[1:], raw) + 1
        pos = np.minimum(pos, len(table) - 1)
        return np.where(table[pos] == raw, pos, 0)


def _digest(*tables: np.ndarray) -> str:
    """A short sha1 of the tables' dtypes and contents."""
    digest = hashlib.sha1()
    for table in tables:
        digest.update(str(table.dtype).encode())
        digest.update(np.ascontiguousarray(table).tobytes())
    return digest.hexdigest()[:16]


class NegativeSampler:
    """Draws negative items from the behaviours of one period of the split.

    ``"uniform"`` draws each distinct item of the pool with equal probability; ``"popularity"``
    draws an item in proportion to how often it occurs among the pool's behaviours (a random
    behaviour's item). A draw never equals the item it is a negative for.

    Args:
        items: item index of every behaviour in the period (repeats count for popularity).  # [E]
        mode: ``"uniform"`` or ``"popularity"``.
        period: what the pool is, for error messages (e.g. ``"training"``).

    Raises:
        ValueError: fewer than two distinct items in the pool (no negative can differ from
            every positive), or an unknown mode.
    """

    def __init__(self, items: np.ndarray, mode: NegativeMode = "uniform", period: str = "training") -> None:
        if mode not in ("uniform", "popularity"):
            raise ValueError(f"negatives must be 'uniform' or 'popularity', got {mode!r}")
        distinct = np.unique(items)
        if len(distinct) < 2:
            raise ValueError(
                f"the {period} period has {len(distinct)} distinct item(s); sampling negatives needs at "
                "least two. Use a log with more items."
            )
        self.mode, self.period = mode, period
        self.pool = torch.from_numpy(distinct if mode == "uniform" else np.sort(items))  # [P]

    def draw(self, positives: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One negative per positive, never equal to it.

        Args:
            positives: the items to draw negatives for; 0 (padding) gets 0.  # [*S]
            generator: torch random generator (None: torch's global one).

        Returns:
            Negative item indices.  # [*S]
        """
        neg = self.pool[torch.randint(len(self.pool), positives.shape, generator=generator)]  # [*S]
        for _ in range(_MAX_DRAWS):
            clash = (neg == positives) & (positives > 0)
            n = int(clash.sum())
            if n == 0:
                return torch.where(positives > 0, neg, 0)
            neg[clash] = self.pool[torch.randint(len(self.pool), (n,), generator=generator)]
        raise RuntimeError(f"could not draw negatives different from the positives in {_MAX_DRAWS} rounds")


class SampleSet(Dataset):
    """Samples of one split; indexing with an int, slice or index tensor returns a :class:`Batch`.

    The behaviour arrays are shared by train and test; each sample stores where its history and
    its sessions lie in them, and ``__getitem__`` gathers the padded tensors.

    DIEN's auxiliary negatives (``Batch.neg_item``): indexing returns the ones drawn once when the
    set was built (seeded, repeatable); :meth:`batches` with a ``generator`` draws fresh ones for
    every batch, as the authors' data iterator does, from the training period's behaviours.

    Attributes:
        vocab: the shared id vocabularies.
        max_len: history length ``L``.
        n_sessions: session slots ``K``.
        session_len: behaviours per session ``T``.
        frame: one row per sample: ``row`` (index label in the source log), raw ``user_id``,
            ``item_id``, ``timestamp``, ``label``, and ``sampled`` (a sampled negative target).
        aux_sampler: draws the auxiliary negatives (items of the training period).
    """

    def __init__(
        self,
        events: dict[str, torch.Tensor],
        samples: dict[str, torch.Tensor],
        frame: pd.DataFrame,
        vocab: Vocab,
        max_len: int,
        n_sessions: int,
        session_len: int,
        aux_sampler: NegativeSampler,
    ) -> None:
        self._events = events
        self._samples = samples
        self.frame = frame.reset_index(drop=True)
        self.vocab = vocab
        self.max_len = max_len
        self.n_sessions = n_sessions
        self.session_len = session_len
        self.aux_sampler = aux_sampler
        self._item_cate = torch.from_numpy(vocab.item_cate)  # [n_items]
        self._hist_offsets = torch.arange(max_len)  # [L]
        self._sess_offsets = torch.arange(session_len)  # [T]
        self._pad = int(events["item"].shape[0]) - 1  # index of the all-zero padding event

    def __len__(self) -> int:
        return int(self._samples["label"].shape[0])

    def __getitem__(self, index: int | slice | torch.Tensor) -> Batch:
        if isinstance(index, numbers.Integral):
            if not -len(self) <= int(index) < len(self):
                raise IndexError(f"sample index {index} is out of range for a set of {len(self)} samples")
            index = torch.tensor([int(index) % len(self)])
        return self._gather(index)

    def _gather(self, index: slice | torch.Tensor, generator: torch.Generator | None = None,
                deferred: bool = False, samples: dict[str, torch.Tensor] | None = None) -> Batch:
        """The batch of the samples at ``index`` (of ``samples``, default the set's own arrays):
        with a ``generator``, freshly drawn auxiliary negatives instead of the ones drawn at build
        time. ``deferred`` leaves the behaviour times, the session tensors and the auxiliary
        negatives to be gathered (or drawn) when a model first reads them (:meth:`Batch.deferred`);
        the values are the same either way, fresh negatives included as long as the batches'
        negatives are read in the order the batches come."""
        s = {k: v[index] for k, v in (self._samples if samples is None else samples).items()}
        ev = self._events
        hist_len = s["hist_len"]  # [B]
        pos = (s["hist_end"] - hist_len).unsqueeze(1) + self._hist_offsets  # [B, L]
        pos = torch.where(self._hist_offsets < hist_len.unsqueeze(1), pos, self._pad)  # [B, L]
        feedback = ev.get("feedback")
        hist_item = ev["item"][pos]  # [B, L]

        def negatives() -> dict[str, torch.Tensor]:
            if generator is None:
                return {"neg_item": ev["neg_item"][pos], "neg_cate": ev["neg_cate"][pos]}  # [B, L] each
            neg_item = self.aux_sampler.draw(hist_item, generator)  # [B, L]
            return {"neg_item": neg_item, "neg_cate": self._item_cate[neg_item]}

        def sessions() -> dict[str, torch.Tensor | None]:
            sess_len = s["sess_len"]  # [B, K]
            spos = s["sess_start"].unsqueeze(2) + self._sess_offsets  # [B, K, T]
            spos = torch.where(self._sess_offsets < sess_len.unsqueeze(2), spos, self._pad)  # [B, K, T]
            return {"sess_item": ev["item"][spos], "sess_cate": ev["cate"][spos], "sess_len": sess_len,
                    "n_sess": (sess_len > 0).sum(dim=1),
                    "sess_feedback": None if feedback is None else feedback[spos]}

        ready = {
            "user": s["user"], "item": s["item"], "cate": s["cate"], "time": s["time"],
            "hist_item": hist_item, "hist_cate": ev["cate"][pos],
            "hist_len": hist_len, "label": s["label"],
            "hist_feedback": None if feedback is None else feedback[pos], "vocab": self.vocab.id_fingerprint,
        }
        parts = {"sess_item": sessions, "sess_cate": sessions, "sess_len": sessions, "n_sess": sessions,
                 "sess_feedback": sessions, "neg_item": negatives, "neg_cate": negatives,
                 "hist_time": lambda: {"hist_time": ev["time"][pos]}}  # [B, L]: no model reads it
        if deferred:
            return Batch.deferred(ready, parts)
        return Batch(**ready, **{name: value for make in set(parts.values()) for name, value in make().items()})

    def batches(
        self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None,
        deferred: bool = False,
    ) -> Iterator[Batch]:
        """Yield mini-batches covering the set once.

        With a ``generator`` (training), the pass takes two things from it: the order (when
        ``shuffle``) and the seed of its own generator for the auxiliary negatives, which are drawn
        fresh for each batch from that one. A model that never reads the negatives (the base model,
        DIN, DSIN) then never pays for them, and every model sees the same order in every epoch.

        Args:
            batch_size: samples per batch (the last batch may be smaller).
            shuffle: draw a random order with ``generator`` (else the stored order).
            generator: torch random generator; when given, each batch also gets freshly drawn
                auxiliary negatives (training), else the ones drawn at build time.
            deferred: gather the behaviour times, the session tensors and the auxiliary negatives
                only when a model reads them (:meth:`Batch.deferred`; ``fit`` and ``predict`` use
                it): the base model and DIN never pay for them. The values are the same either way
                (fresh negatives: when each batch's are read before the next batch's).

        Raises:
            ValueError: ``batch_size`` is not a positive integer, ``generator`` is not a
                ``torch.Generator``, or ``shuffle``/``deferred`` is not a bool (on the first batch).
        """
        batch_size = positive_int("batch_size", batch_size)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator or None, got {generator!r}")
        for name, flag in (("shuffle", shuffle), ("deferred", deferred)):
            if not isinstance(flag, bool):  # a string such as "no" would otherwise read as True
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        n, step = len(self), int(batch_size)
        samples, order = self._samples, None
        if shuffle:  # the pass's order, applied once (a copy): each batch is then a slice of it
            permutation = torch.randperm(n, generator=generator)  # [N]
            samples = {k: v[permutation] for k, v in samples.items()}
        else:  # index tensors, so that a batch owns its tensors instead of viewing the set's arrays
            order = torch.arange(n)  # [N]
        negatives = None
        if generator is not None:
            negatives = torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        for start in range(0, n, step):
            index = slice(start, start + step) if order is None else order[start : start + step]
            yield self._gather(index, negatives, deferred, samples)

    def subset(self, index: torch.Tensor) -> "SampleSet":
        """A new set holding the samples at ``index`` (same behaviours and vocabulary)."""
        return SampleSet(
            self._events,
            {k: v[index] for k, v in self._samples.items()},
            self.frame.iloc[index.numpy()],
            self.vocab,
            self.max_len,
            self.n_sessions,
            self.session_len,
            self.aux_sampler,
        )

    def full(self) -> Batch:
        """The whole set as one batch (for small sets and plots)."""
        return self[torch.arange(len(self))]

    @property
    def nbytes(self) -> int:
        """Memory held by this set's arrays, the shared behaviour arrays included (bytes)."""
        tensors = [*self._events.values(), *self._samples.values()]
        return sum(t.element_size() * t.nelement() for t in tensors) + int(self.frame.memory_usage(deep=True).sum())

    def item_counts(self) -> torch.Tensor:
        """Number of samples of this set in which each item id occurs (as target or in history).

        Used by mini-batch aware regularisation (DIN section 4.1), where ``n_j`` counts the
        training samples that contain id ``j``. Returns a float tensor.  # [n_items]
        """
        counts = torch.zeros(self.vocab.n_items, dtype=torch.float64)
        for batch in self.batches(4096):
            ids = torch.cat([batch.item.unsqueeze(1), batch.hist_item], dim=1)  # [B, 1 + L]
            ids, _ = ids.sort(dim=1)  # [B, 1 + L]
            first = torch.ones_like(ids, dtype=torch.bool)
            first[:, 1:] = ids[:, 1:] != ids[:, :-1]  # count each id once per sample
            present = ids[first & (ids > 0)]
            counts += torch.bincount(present, minlength=self.vocab.n_items).double()
        return counts.float()


def build_samples(
    log: pd.DataFrame,
    max_len: int = 50,
    n_sessions: int = 5,
    session_len: int = 10,
    gap: float = 1800,
    history: Literal["all", "positive"] = "all",
    feedback: str | None = None,
    test_frac: float = 0.2,
    min_hist: int = 1,
    max_samples_per_user: int | None = None,
    negatives: NegativeMode = "uniform",
    seed: int = 0,
    time_unit: TimeUnit = "s",
) -> tuple[SampleSet, SampleSet]:
    """Build chronologically split train/test sample sets from an interaction log.

    Every log row becomes a sample (target = its item, label = its ``label``) whose history holds
    the user's behaviours **strictly earlier** than the row's timestamp (events at the same time
    are excluded, which matters for MovieLens' bulk ratings). Behaviours are all rows
    (``history="all"``) or only the clicked ones (``history="positive"``: for the synthetic data,
    where unclicked impressions are not behaviours, and for MovieLens' liked movies). Timestamps
    may be fractional seconds: order is exact, sessions use the real gaps.

    Split: within each user, the latest ``test_frac`` of the samples (by time, at least one when
    the user has two or more; samples at the same time as the first test sample go with it) form
    the test set; the rest form the train set. This also splits each user's log into a training
    period and a test period.

    Negatives never reveal the split. A log without a ``label`` column (Taobao UserBehavior:
    every row is an interaction) gives each row a positive sample and one negative sample at the
    same time with the same history, whose target (``frame.sampled`` is True) is never the positive
    and is drawn so that "the target is already in the history" says nothing about the label: in
    each period (training, test) a negative is an item of its history (the ``max_len`` most
    recent behaviours, at a distance back drawn from the positives') as often as the period's
    positives are, and otherwise an item that the period's positives visit for the first time
    (drawn by ``negatives``: by count or uniformly) and that the user never interacted with
    before (see :func:`_draw_matched`). With ``negatives="uniform-unseen"`` or ``"popularity-unseen"`` a
    negative is never an earlier item of the user (the rule of the first Taobao benchmarks: a
    candidate found in the history is then always a positive, a shortcut worth about 0.12 AUC on
    the Taobao slice). DIEN's auxiliary negatives come from the training period's behaviours only
    and never equal the behaviour they pair with. Both draw from the period's pool as
    :class:`NegativeSampler` does.

    DSIN sessions: the user's behaviours before the sample are split by :func:`split_sessions`
    with ``gap``; the ``n_sessions`` most recent sessions keep their ``session_len`` most recent
    behaviours. A session still running at the sample time keeps only its earlier part.

    Args:
        log: columns ``user_id, item_id, cate_id, timestamp`` and ``label`` (or no label).
        max_len: history length ``L`` (most recent behaviours kept); capped at the longest
            history in the log, so a huge value costs nothing.
        n_sessions: DSIN session slots ``K``.
        session_len: DSIN behaviours per session ``T``.
        gap: session break threshold in seconds.
        history: which rows are behaviours: ``"all"`` or ``"positive"`` (label 1).
        feedback: a log column whose value describes each behaviour (MovieLens ``"rating"``,
            Taobao ``"behavior"``); the batches then carry it as ``hist_feedback`` /
            ``sess_feedback`` (level indices, 0 for padding) and models add an embedding of it
            to each behaviour. None: no such feature.
        test_frac: fraction of each user's samples held out, in (0, 1).
        min_hist: drop samples with fewer behaviours before them than this.
        max_samples_per_user: keep only each user's most recent samples (log rows; history is
            unaffected).
        negatives: ``"uniform"`` or ``"popularity"`` sampling of negative items (see
            :class:`NegativeSampler`); ``"uniform-unseen"``, ``"popularity-unseen"``: the same,
            but a sampled negative is never an item the user interacted with before.
        seed: seed for negative sampling.
        time_unit: the unit of ``log.timestamp``: ``"s"`` (default) or ``"ms"``. Samples hold
            seconds either way (milliseconds become fractional seconds), and ``gap`` is in
            seconds. Timestamps beyond 1e11 s (the year 5138: Unix milliseconds read as seconds)
            are refused, so that a 30-minute gap is never read as 1.8 s.

    Returns:
        ``(train, test)`` sample sets sharing one :class:`Vocab`.

    Raises:
        ValueError: bad parameters (the message names the argument and the value) or a bad log
            (see :func:`validate_log`), or no samples left.
    """
    max_len = positive_int("max_len", max_len)
    n_sessions = check_int("n_sessions", n_sessions, maximum=_MAX_SLOTS)
    session_len = check_int("session_len", session_len, maximum=_MAX_SLOTS)
    min_hist = check_int("min_hist", min_hist, minimum=0)
    seed = check_seed("seed", seed)
    if max_samples_per_user is not None:
        max_samples_per_user = positive_int("max_samples_per_user", max_samples_per_user)
    gap = check_float("gap", gap, minimum=0.0, strict_minimum=True)
    test_frac = _fraction("test_frac", test_frac)
    if history not in ("all", "positive"):
        raise ValueError(f"history must be 'all' or 'positive', got {history!r}")
    if negatives not in NEGATIVE_MODES:
        raise ValueError(f"negatives must be one of {', '.join(map(repr, NEGATIVE_MODES))}, got {negatives!r}")
    pool_mode = negatives.removesuffix("-unseen")
    scale = time_scale(time_unit)
    validate_log(log, extra=() if feedback is None else (feedback,), time_unit=time_unit)
    has_label = "label" in log.columns
    if history == "positive" and not has_label:
        raise ValueError("history='positive' needs a 'label' column (which rows are clicks); use history='all'")
    rng = np.random.default_rng(seed)

    vocab = _make_vocab(log, feedback)
    ts = log["timestamp"].to_numpy()
    if scale != 1.0:
        ts = ts.astype(np.float64) * scale  # [N] seconds (fractional where the log had milliseconds)
    users = vocab.encode("user", log["user_id"].to_numpy())
    items = vocab.encode("item", log["item_id"].to_numpy())
    labels = log["label"].to_numpy(dtype=np.float32) if has_label else np.ones(len(log), np.float32)
    key = _order_key(users, ts)  # [N] (user, time) in one sortable int64; equal times share a key

    # Behaviour arrays sorted by (user, time), plus one all-zero padding event at the end.
    is_behaviour = labels == 1.0 if history == "positive" else np.ones(len(log), dtype=bool)
    b_idx = np.flatnonzero(is_behaviour)
    b_idx = b_idx[np.argsort(key[b_idx], kind="stable")]
    b_key, b_user, b_time, b_item = key[b_idx], users[b_idx], ts[b_idx], items[b_idx]

    # Samples: every row (label-free logs: every row is a positive), sorted by (user, time).
    order = np.argsort(key, kind="stable")
    s_row, s_user, s_time, s_item, s_label, s_key = (
        log.index.to_numpy()[order], users[order], ts[order], items[order], labels[order], key[order]
    )
    hist_end = np.searchsorted(b_key, s_key, side="left")  # behaviours strictly before
    user_start = np.searchsorted(b_key, s_user.astype(np.int64) << _KEY_BITS, side="left")
    keep = hist_end - user_start >= min_hist
    if max_samples_per_user is not None:
        keep &= _rank_within_user(s_user, keep, from_end=True) < max_samples_per_user
    if not keep.any():
        raise ValueError(
            f"no samples have at least min_hist={min_hist} earlier behaviours; lower min_hist or use a longer log"
        )
    sel = np.flatnonzero(keep)
    s_row, s_user, s_time, s_item, s_label, s_key, hist_end, user_start = (
        a[sel] for a in (s_row, s_user, s_time, s_item, s_label, s_key, hist_end, user_start)
    )
    is_test = _chronological_test_mask(s_user, s_key, test_frac)
    if not is_test.any() or is_test.all():
        raise ValueError(
            "the chronological split left the train or the test set empty: every user needs at least two "
            f"samples at different times ({len(s_user)} samples from {len(np.unique(s_user))} users); use more events"
        )

    # The two periods of each user's log: the test period starts at the user's first test sample.
    test_start = np.full(vocab.n_users, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(test_start, s_user[is_test], s_key[is_test])
    b_in_test = b_key >= test_start[b_user]
    train_pool = NegativeSampler(b_item[~b_in_test], pool_mode, "training")
    aux_gen = torch.Generator().manual_seed(seed)
    b_neg = train_pool.draw(torch.from_numpy(b_item), aux_gen).numpy()
    s_sampled = np.zeros(len(s_user), dtype=bool)

    if not has_label:  # one sampled negative per positive, from the pool of its own period
        neg_item = np.zeros(len(s_user), dtype=np.int64)
        window = np.minimum(hist_end - user_start, max_len)  # [S] behaviours the history shows
        for period, mask in (("training", ~is_test), ("test", is_test)):
            if negatives.endswith("-unseen"):
                pool = NegativeSampler(b_item[b_in_test == (period == "test")], pool_mode, period)
                neg_item[mask] = _draw_unseen(pool, s_user[mask], s_item[mask], s_key[mask], b_user, b_item, b_key, rng)
            else:
                neg_item[mask] = _draw_matched(pool_mode, period, s_user[mask], s_item[mask], s_key[mask],
                                               hist_end[mask], window[mask], (b_user, b_item, b_key), rng)
        dup = np.repeat(np.arange(len(s_user)), 2)  # each positive, then its negative
        s_row, s_user, s_time, s_key, hist_end, user_start, is_test = (
            a[dup] for a in (s_row, s_user, s_time, s_key, hist_end, user_start, is_test)
        )
        s_item = np.stack([s_item, neg_item], axis=1).reshape(-1)
        s_label = np.tile(np.array([1.0, 0.0], dtype=np.float32), len(neg_item))
        s_sampled = np.tile(np.array([False, True]), len(neg_item))

    longest = int((hist_end - user_start).max())
    max_len = max(1, min(max_len, longest))
    time_dtype = np.int64 if _is_integral(ts) else np.float64
    events = {
        "item": torch.from_numpy(np.append(b_item, 0)),
        "cate": torch.from_numpy(np.append(vocab.item_cate[b_item], 0)),
        "time": torch.from_numpy(np.append(b_time, 0).astype(time_dtype)),
        "neg_item": torch.from_numpy(np.append(b_neg, 0)),
        "neg_cate": torch.from_numpy(np.append(vocab.item_cate[b_neg], 0)),
    }
    if feedback is not None:
        levels = np.searchsorted(vocab.feedback_levels[1:], _feedback_values(log[feedback]).to_numpy()) + 1
        events["feedback"] = torch.from_numpy(np.append(levels[b_idx], 0).astype(np.int64))
    sess_start, sess_len = _session_slots(b_user, b_time, hist_end, user_start, gap, n_sessions, session_len)
    samples = {
        "user": torch.from_numpy(s_user),
        "item": torch.from_numpy(s_item),
        "cate": torch.from_numpy(vocab.item_cate[s_item]),
        "time": torch.from_numpy(s_time.astype(time_dtype)),
        "label": torch.from_numpy(s_label),
        "hist_end": torch.from_numpy(hist_end),
        "hist_len": torch.from_numpy(np.minimum(hist_end - user_start, max_len)),
        "sess_start": torch.from_numpy(sess_start),
        "sess_len": torch.from_numpy(sess_len),
    }
    frame = pd.DataFrame(
        {
            "row": s_row,
            "user_id": vocab.user_ids[s_user],
            "item_id": vocab.item_ids[s_item],
            "timestamp": s_time,
            "label": s_label,
            "sampled": s_sampled,
        }
    )
    parts = []
    for mask in (~is_test, is_test):
        idx = torch.from_numpy(np.flatnonzero(mask))
        parts.append(
            SampleSet(
                events, {k: v[idx] for k, v in samples.items()}, frame[mask], vocab,
                max_len, n_sessions, session_len, train_pool,
            )
        )
    return parts[0], parts[1]


def split_validation(train: SampleSet, frac: float = 0.1) -> tuple[SampleSet, SampleSet]:
    """Hold out the chronologically last ``frac`` of each user's training samples for validation.

    The same rule as the train/test split, applied inside the training set (samples at the same
    time stay together, so a positive and its sampled negative never straddle the cut). Early
    stopping reads the validation set; the test set is never looked at while training.

    Args:
        train: the training samples.
        frac: fraction of each user's samples held out, in (0, 1).

    Returns:
        ``(fit_part, valid_part)``.

    Raises:
        ValueError: ``frac`` out of range, or a part would be empty.
    """
    frac = _fraction("frac", frac)
    user = train._samples["user"].numpy()
    order = np.lexsort((train._samples["time"].numpy(), user))
    key = _order_key(user[order], train._samples["time"].numpy()[order])
    held = np.zeros(len(train), dtype=bool)
    held[order] = _chronological_test_mask(user[order], key, frac)
    if held.all() or not held.any():
        raise ValueError(
            f"a validation split of frac={frac} leaves one part empty ({len(train)} training samples); "
            "use a larger training set or another frac"
        )
    return train.subset(torch.from_numpy(np.flatnonzero(~held))), train.subset(torch.from_numpy(np.flatnonzero(held)))


def _fraction(name: str, value: object) -> float:
    """A share strictly between 0 and 1, or a ValueError naming ``name`` and the value."""
    value = check_float(name, value, minimum=0.0, maximum=1.0, strict_minimum=True)
    if value >= 1.0:
        raise ValueError(f"{name} must be < 1, got {value!r}")
    return value


def _is_integral(values: np.ndarray) -> bool:
    """Whether every value is a whole number (integer dtype, or floats without fractions)."""
    return values.dtype.kind in "iu" or bool(np.all(np.mod(values, 1) == 0))


def _order_key(users: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """``(user << 34) | dense rank of the timestamp``: one int64 that sorts by user, then time.

    Ranks keep the exact order of fractional or huge timestamps; equal times share a rank.
    """
    rank = np.unique(ts, return_inverse=True)[1].reshape(-1).astype(np.int64)  # [N]
    return (users.astype(np.int64) << _KEY_BITS) | rank


def _feedback_values(column: pd.Series) -> pd.Series:
    """A feedback column as sortable values (categories by their codes' labels)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.astype(str)
    return column


def _make_vocab(log: pd.DataFrame, feedback: str | None = None) -> Vocab:
    """Sorted id vocabularies and each item's category (the most frequent one for the item).

    Entry 0 of each table is a placeholder of the ids' own dtype (so uint64 ids stay exact).
    """

    def table(values: np.ndarray) -> np.ndarray:
        distinct = np.unique(values)
        return np.concatenate([np.zeros(1, dtype=distinct.dtype), distinct])

    user_ids = table(log["user_id"].to_numpy())
    item_ids = table(log["item_id"].to_numpy())
    cate_ids = table(log["cate_id"].to_numpy())
    pairs = log.groupby(["item_id", "cate_id"], sort=True).size().rename("n").reset_index()
    pairs = pairs.sort_values(["item_id", "n"], ascending=[True, False], kind="stable").drop_duplicates("item_id")
    item_cate = np.zeros(len(item_ids), dtype=np.int64)
    item_pos = np.searchsorted(item_ids[1:], pairs["item_id"].to_numpy()) + 1
    item_cate[item_pos] = np.searchsorted(cate_ids[1:], pairs["cate_id"].to_numpy()) + 1
    levels = np.zeros(0, dtype=np.int64)
    if feedback is not None:
        values = _feedback_values(log[feedback])
        if values.isna().any():
            raise ValueError(f"feedback column {feedback!r} has {int(values.isna().sum())} missing value(s)")
        levels = table(values.to_numpy())
        if len(levels) > 257:
            raise ValueError(
                f"feedback column {feedback!r} has {len(levels) - 1} distinct values; a behaviour feature "
                "should have a few levels (ratings, behaviour types)"
            )
    return Vocab(user_ids=user_ids, item_ids=item_ids, cate_ids=cate_ids, item_cate=item_cate, feedback_levels=levels)


def _draw_unseen(
    sampler: NegativeSampler,
    user: np.ndarray,
    positive: np.ndarray,
    key: np.ndarray,
    b_user: np.ndarray,
    b_item: np.ndarray,
    b_key: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Negative targets: drawn by ``sampler``, never the positive, never an earlier behaviour.

    Args:
        sampler: the pool of the samples' period.
        user: user index of each sample.  # [S]
        positive: the positive item of each sample.  # [S]
        key: order key of each sample (see :func:`_order_key`).  # [S]
        b_user: user of each behaviour.  # [E]
        b_item: item of each behaviour.  # [E]
        b_key: order key of each behaviour.  # [E]
        rng: numpy generator.

    Returns:
        One negative item per sample.  # [S]
    """
    if len(user) == 0:
        return np.zeros(0, dtype=np.int64)
    n_items = int(max(b_item.max(), positive.max())) + 1
    pair = b_user.astype(np.int64) * n_items + b_item  # [E]
    first_key = pd.Series(b_key).groupby(pair).min()  # earliest behaviour of each (user, item)
    pairs, firsts = first_key.index.to_numpy(), first_key.to_numpy()
    pool = sampler.pool.numpy()
    neg = pool[rng.integers(len(pool), size=len(user))]
    todo = np.arange(len(user))
    for _ in range(_MAX_DRAWS):
        cand = user[todo].astype(np.int64) * n_items + neg[todo]
        at = np.minimum(np.searchsorted(pairs, cand), len(pairs) - 1)
        seen = (pairs[at] == cand) & (firsts[at] < key[todo])
        bad = seen | (neg[todo] == positive[todo])
        todo = todo[bad]
        if len(todo) == 0:
            return neg
        neg[todo] = pool[rng.integers(len(pool), size=len(todo))]
    raise ValueError(
        f"{len(todo)} sample(s) of the {sampler.period} period have no item left to sample as a negative "
        "(their users interacted with nearly every item of the period); use a log with more items"
    )


def _match_offset(item: np.ndarray, hist_end: np.ndarray, window: np.ndarray, b_item: np.ndarray) -> np.ndarray:
    """How many behaviours back each item last occurs in its sample's history (0: the latest).

    Args:
        item: one item per sample.  # [S]
        hist_end: index of the first behaviour after each sample's history.  # [S]
        window: behaviours in each sample's history.  # [S]
        b_item: item of each behaviour.  # [E]

    Returns:
        The offset, or -1 where the item is not in the history.  # [S]
    """
    offset = np.full(len(item), -1, dtype=np.int64)
    for back in range(int(window.max(initial=0))):  # one pass per history slot, vectorised over samples
        todo = np.flatnonzero((offset < 0) & (back < window))
        offset[todo[b_item[hist_end[todo] - 1 - back] == item[todo]]] = back
    return offset


def _draw_matched(
    pool_mode: Literal["uniform", "popularity"],
    period: str,
    user: np.ndarray,
    positive: np.ndarray,
    key: np.ndarray,
    hist_end: np.ndarray,
    window: np.ndarray,
    behaviours: tuple[np.ndarray, np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """Negatives whose history membership matches the positives' (the default rule).

    With ``p`` the share of the period's positives found in their history, a negative is, with
    probability ``p``, the behaviour of its history at an offset drawn from the positives'
    offsets (how far back they occur, so a recent item as often as for the positives) that is
    not the positive; otherwise an item the user never interacted with before, drawn from the
    positives of the period that were not in their history (``pool_mode``: by their count, or
    each distinct item alike). A sample whose history yields no item other than its positive
    keeps the second kind of draw.

    Args:
        pool_mode: ``"uniform"`` or ``"popularity"``.
        period: the period's name, for error messages.
        user: user index of each sample.  # [S]
        positive: the positive item of each sample.  # [S]
        key: order key of each sample.  # [S]
        hist_end: index of the first behaviour after each sample's history.  # [S]
        window: behaviours in each sample's history (at most ``max_len``).  # [S]
        behaviours: user, item and order key of every behaviour.  # [E] each
        rng: numpy generator.

    Returns:
        One negative item per sample.  # [S]
    """
    if len(positive) == 0:
        return np.zeros(0, dtype=np.int64)
    b_user, b_item, b_key = behaviours
    offset = _match_offset(positive, hist_end, window, b_item)  # [S]
    seen = offset >= 0
    fresh = positive[~seen] if (~seen).sum() >= 2 and len(np.unique(positive[~seen])) >= 2 else positive
    neg = _draw_unseen(NegativeSampler(fresh, pool_mode, period), user, positive, key, b_user, b_item, b_key, rng)
    if not seen.any():
        return neg
    offsets = offset[seen]
    todo = np.flatnonzero(rng.random(len(positive)) < seen.mean())
    for _ in range(_MAX_DRAWS):
        back = offsets[rng.integers(len(offsets), size=len(todo))]
        ok = back < window[todo]
        pick = np.where(ok, b_item[hist_end[todo] - 1 - np.minimum(back, window[todo] - 1)], 0)
        ok &= pick != positive[todo]
        neg[todo[ok]] = pick[ok]
        todo = todo[~ok]
        if len(todo) == 0:
            break
    return neg  # the rest (histories holding only the positive): their unseen draw


def in_history_rates(splits: dict[str, SampleSet]) -> pd.DataFrame:
    """How often a sample's candidate item is already in its history, per split and label.

    When this share differs between positives and negatives, "the candidate is in the history"
    predicts the label by itself, a shortcut any model that matches items against the history
    can read. Logged impressions (MovieLens ratings, the synthetic log) show the natural gap;
    sampled negatives must not widen it (see :func:`build_samples`).

    Args:
        splits: named sample sets, e.g. ``{"train": train, "test": test}``.

    Returns:
        One row per split (index ``split``): ``positives`` and ``negatives`` (shares of samples
        with label 1 and 0 whose item is among their history's behaviours, the ``max_len``
        most recent ones a model sees; NaN when a split has no such samples), ``gap``
        (positives minus negatives), ``n_positives`` and ``n_negatives``.

    Raises:
        ValueError: ``splits`` is empty or holds something other than sample sets.
    """
    if not isinstance(splits, dict) or not splits:
        raise ValueError(f"splits must be a non-empty dict of name -> SampleSet, got {splits!r}")
    rows = []
    for name, part in splits.items():
        if not isinstance(part, SampleSet):
            raise ValueError(f"splits[{name!r}] must be a SampleSet, got {type(part).__name__}")
        s = part._samples
        offset = _match_offset(s["item"].numpy(), s["hist_end"].numpy(), s["hist_len"].numpy(),
                               part._events["item"].numpy())  # [N] the batches' history, hist_item
        hit, label = offset >= 0, s["label"].numpy()
        pos, neg = hit[label == 1], hit[label == 0]
        rates = [float(x.mean()) if len(x) else float("nan") for x in (pos, neg)]
        rows.append({"split": name, "positives": rates[0], "negatives": rates[1], "gap": rates[0] - rates[1],
                     "n_positives": len(pos), "n_negatives": len(neg)})
    return pd.DataFrame(rows).set_index("split")


def _rank_within_user(user: np.ndarray, keep: np.ndarray, from_end: bool) -> np.ndarray:
    """Rank of each kept sample among its user's kept samples (input sorted by user, time)."""
    kept_user = np.where(keep, user, -1)
    series = pd.Series(keep.astype(np.int64))
    if from_end:
        series = series[::-1]
        kept_user = kept_user[::-1]
    ranks = series.groupby(kept_user).cumsum().to_numpy() - 1
    ranks = ranks[::-1] if from_end else ranks
    return np.where(keep, ranks, np.iinfo(np.int64).max)


def _chronological_test_mask(user: np.ndarray, key: np.ndarray, test_frac: float) -> np.ndarray:
    """True for each user's latest ``test_frac`` samples (input sorted by user, then time).

    Samples at the same time as a user's first held-out sample are held out too.
    """
    counts = pd.Series(user).groupby(user).transform("size").to_numpy()
    rank = pd.Series(np.ones_like(user)).groupby(user).cumsum().to_numpy() - 1
    n_test = np.floor(counts * test_frac).astype(np.int64)
    n_test = np.where((n_test == 0) & (counts >= 2), 1, n_test)
    by_rank = rank >= counts - n_test
    first = pd.Series(np.where(by_rank, key, np.iinfo(np.int64).max)).groupby(user).transform("min").to_numpy()
    return key >= first


def _session_slots(
    b_user: np.ndarray,
    b_time: np.ndarray,
    hist_end: np.ndarray,
    user_start: np.ndarray,
    gap: float,
    n_sessions: int,
    session_len: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Start index and length of the K most recent sessions before each sample (chronological).

    Sessions come from :func:`~seqlib.data.sessions.session_breaks` (the rule of
    :func:`split_sessions`) applied to all users' behaviours at once.

    Returns:
        ``(start, length)``; empty slots come last with length 0.  # [N, K] each
    """
    n_events = len(b_time)
    new_session = session_breaks(b_time, gap, users=b_user)  # [E] the rule of split_sessions
    first_of_session = np.maximum.accumulate(np.where(new_session, np.arange(n_events), 0))
    n = len(hist_end)
    back_start = np.zeros((n, n_sessions), dtype=np.int64)  # j-th most recent session
    back_len = np.zeros((n, n_sessions), dtype=np.int64)
    cursor = hist_end.copy()  # exclusive end of the next session to take
    for j in range(n_sessions):
        valid = cursor > user_start
        last = np.where(valid, cursor - 1, 0)
        start = np.where(valid, np.maximum(first_of_session[last] if n_events else 0, user_start), cursor)
        length = np.minimum(cursor - start, session_len)
        back_start[:, j] = cursor - length
        back_len[:, j] = np.where(valid, length, 0)
        cursor = np.where(valid, start, cursor)
    count = (back_len > 0).sum(axis=1)  # [N]
    slot = count[:, None] - 1 - np.arange(n_sessions)[None, :]  # chronological slot of session j
    rows = np.repeat(np.arange(n), n_sessions).reshape(n, n_sessions)
    start_out = np.zeros_like(back_start)
    len_out = np.zeros_like(back_len)
    ok = slot >= 0
    start_out[rows[ok], slot[ok]] = back_start[ok]
    len_out[rows[ok], slot[ok]] = back_len[ok]
    return start_out, len_out
