"""From an interaction log to model inputs (book chapter 1, "Samples, padding and masks").

``build_samples`` turns a tidy log into two :class:`SampleSet` datasets (train and test) that
yield the one :class:`~seqlib.data.batch.Batch` type every model reads. All work is vectorised
numpy done once; a batch is a handful of tensor gathers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Literal

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from seqlib.data.batch import Batch
from seqlib.data.sessions import session_breaks
from seqlib.data.validate import validate_log

_TIME_BITS = 34  # timestamps below 2**34 s (year 2514) fit next to the user code in one int64


@dataclass(frozen=True)
class Vocab:
    """Id vocabularies shared by the train and test sets; index 0 is padding.

    Attributes:
        user_ids: raw user id of each user index (entry 0 is a placeholder).  # [n_users]
        item_ids: raw item id of each item index.  # [n_items]
        cate_ids: raw category id of each category index.  # [n_cates]
        item_cate: category index of each item index (0 for padding).  # [n_items]
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    cate_ids: np.ndarray
    item_cate: np.ndarray

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

    def encode(self, field: Literal["user", "item", "cate"], raw: np.ndarray) -> np.ndarray:
        """Map raw ids to indices (0 for ids not in the vocabulary)."""
        table = {"user": self.user_ids, "item": self.item_ids, "cate": self.cate_ids}[field]
        raw = np.asarray(raw)
        pos = np.searchsorted(table[1:], raw) + 1
        pos = np.minimum(pos, len(table) - 1)
        return np.where(table[pos] == raw, pos, 0)


class SampleSet(Dataset):
    """Samples of one split; indexing with an int, slice or index tensor returns a :class:`Batch`.

    The behaviour arrays are shared by train and test; each sample stores where its history and
    its sessions lie in them, and ``__getitem__`` gathers the padded tensors.

    Attributes:
        vocab: the shared id vocabularies.
        max_len: history length ``L``.
        n_sessions: session slots ``K``.
        session_len: behaviours per session ``T``.
        frame: one row per sample: ``row`` (index label in the source log), raw ``user_id``,
            ``item_id``, ``timestamp``, ``label``, and ``sampled`` (a sampled negative target).
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
    ) -> None:
        self._events = events
        self._samples = samples
        self.frame = frame.reset_index(drop=True)
        self.vocab = vocab
        self.max_len = max_len
        self.n_sessions = n_sessions
        self.session_len = session_len
        self._hist_offsets = torch.arange(max_len)  # [L]
        self._sess_offsets = torch.arange(session_len)  # [T]
        self._pad = int(events["item"].shape[0]) - 1  # index of the all-zero padding event

    def __len__(self) -> int:
        return int(self._samples["label"].shape[0])

    def __getitem__(self, index: int | slice | torch.Tensor) -> Batch:
        if isinstance(index, int):
            index = torch.tensor([index])
        s = {k: v[index] for k, v in self._samples.items()}
        ev = self._events
        hist_len = s["hist_len"]  # [B]
        pos = (s["hist_end"] - hist_len).unsqueeze(1) + self._hist_offsets  # [B, L]
        pos = torch.where(self._hist_offsets < hist_len.unsqueeze(1), pos, self._pad)  # [B, L]
        sess_len = s["sess_len"]  # [B, K]
        spos = s["sess_start"].unsqueeze(2) + self._sess_offsets  # [B, K, T]
        spos = torch.where(self._sess_offsets < sess_len.unsqueeze(2), spos, self._pad)  # [B, K, T]
        return Batch(
            user=s["user"],
            item=s["item"],
            cate=s["cate"],
            time=s["time"],
            hist_item=ev["item"][pos],
            hist_cate=ev["cate"][pos],
            hist_time=ev["time"][pos],
            hist_len=hist_len,
            neg_item=ev["neg_item"][pos],
            neg_cate=ev["neg_cate"][pos],
            sess_item=ev["item"][spos],
            sess_cate=ev["cate"][spos],
            sess_len=sess_len,
            n_sess=(sess_len > 0).sum(dim=1),
            label=s["label"],
        )

    def batches(
        self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[Batch]:
        """Yield mini-batches covering the set once.

        Args:
            batch_size: samples per batch (the last batch may be smaller).
            shuffle: draw a random order with ``generator`` (else the stored order).
            generator: torch random generator for the order, for reproducibility.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            yield self[order[start : start + batch_size]]

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
        )

    def full(self) -> Batch:
        """The whole set as one batch (for small sets and plots)."""
        return self[torch.arange(len(self))]

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
            counts.index_add_(0, present, torch.ones_like(present, dtype=torch.float64))
        return counts.float()


def build_samples(
    log: pd.DataFrame,
    max_len: int = 50,
    n_sessions: int = 5,
    session_len: int = 10,
    gap: float = 1800,
    history: Literal["all", "positive"] = "all",
    test_frac: float = 0.2,
    min_hist: int = 1,
    max_samples_per_user: int | None = None,
    seed: int = 0,
) -> tuple[SampleSet, SampleSet]:
    """Build chronologically split train/test sample sets from an interaction log.

    Every log row becomes a sample (target = its item, label = its ``label``) whose history holds
    the user's behaviours **strictly earlier** than the row's timestamp (events at the same second
    are excluded, which matters for MovieLens' bulk ratings). Behaviours are all rows
    (``history="all"``) or only the clicked ones (``history="positive"``, used for the synthetic
    data, where unclicked impressions are not behaviours).

    A log without a ``label`` column (Taobao UserBehavior: every row is an interaction) gives
    each row a positive sample and one negative sample at the same time with the same history,
    whose target is an item drawn uniformly from the vocabulary (``frame.sampled`` is True).

    Each history position also gets a sampled negative item (uniform over the vocabulary, never
    the item at that position) for DIEN's auxiliary loss; it is drawn once with ``seed``.

    DSIN sessions: the user's behaviours before the sample are split by :func:`split_sessions`
    with ``gap``; the ``n_sessions`` most recent sessions keep their ``session_len`` most recent
    behaviours. A session still running at the sample time keeps only its earlier part.

    Split: within each user, the latest ``test_frac`` of the samples (by time, at least one when
    the user has two or more) form the test set; the rest form the train set.

    Args:
        log: columns ``user_id, item_id, cate_id, timestamp`` and ``label`` (or no label).
        max_len: history length ``L`` (most recent behaviours kept).
        n_sessions: DSIN session slots ``K``.
        session_len: DSIN behaviours per session ``T``.
        gap: session break threshold in seconds.
        history: which rows are behaviours: ``"all"`` or ``"positive"`` (label 1).
        test_frac: fraction of each user's samples held out, in (0, 1).
        min_hist: drop samples with fewer behaviours before them than this.
        max_samples_per_user: keep only each user's most recent samples (history is unaffected).
        seed: seed for negative sampling.

    Returns:
        ``(train, test)`` sample sets sharing one :class:`Vocab`.

    Raises:
        ValueError: bad parameters or a bad log (see :func:`validate_log`), or no samples left.
    """
    for name, value in (("max_len", max_len), ("n_sessions", n_sessions), ("session_len", session_len)):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if not gap > 0:
        raise ValueError(f"gap must be > 0 seconds, got {gap}")
    if not 0.0 < test_frac < 1.0:
        raise ValueError(f"test_frac must be in (0, 1), got {test_frac}")
    if history not in ("all", "positive"):
        raise ValueError(f"history must be 'all' or 'positive', got {history!r}")
    if min_hist < 0:
        raise ValueError(f"min_hist must be >= 0, got {min_hist}")
    validate_log(log)
    has_label = "label" in log.columns
    if history == "positive" and not has_label:
        raise ValueError("history='positive' needs a 'label' column")
    if has_label:
        validate_log(log, require_label=True)
    rng = np.random.default_rng(seed)

    # Vocabularies: sorted raw ids, index 0 reserved for padding.
    vocab = _make_vocab(log)
    ts = log["timestamp"].to_numpy(dtype=np.int64)
    if ts.max() >= 2**_TIME_BITS:
        raise ValueError("timestamps must be seconds below 2**34")
    users = vocab.encode("user", log["user_id"].to_numpy())
    items = vocab.encode("item", log["item_id"].to_numpy())
    cates = vocab.item_cate[items]
    labels = log["label"].to_numpy(dtype=np.float32) if has_label else np.ones(len(log), np.float32)

    # Behaviour arrays sorted by (user, time), plus one all-zero padding event at the end.
    is_behaviour = labels == 1.0 if history == "positive" else np.ones(len(log), dtype=bool)
    key = (users.astype(np.int64) << _TIME_BITS) | ts
    b_idx = np.flatnonzero(is_behaviour)
    b_idx = b_idx[np.argsort(key[b_idx], kind="stable")]
    b_key, b_user, b_time, b_item = key[b_idx], users[b_idx], ts[b_idx], items[b_idx]
    b_neg = _sample_negatives(b_item, vocab.n_items, rng)
    events = {
        "item": torch.from_numpy(np.append(b_item, 0)),
        "cate": torch.from_numpy(np.append(vocab.item_cate[b_item], 0)),
        "time": torch.from_numpy(np.append(b_time, 0)),
        "neg_item": torch.from_numpy(np.append(b_neg, 0)),
        "neg_cate": torch.from_numpy(np.append(vocab.item_cate[b_neg], 0)),
    }

    # Samples: every row (plus a sampled negative per row for label-free logs).
    order = np.argsort(key, kind="stable")
    s_row = log.index.to_numpy()[order]
    s_user, s_time, s_item, s_label = users[order], ts[order], items[order], labels[order]
    s_sampled = np.zeros(len(order), dtype=bool)
    if not has_label:
        neg_item = rng.integers(1, vocab.n_items, size=len(order))
        s_row = np.concatenate([s_row, s_row])
        s_user, s_time = np.concatenate([s_user, s_user]), np.concatenate([s_time, s_time])
        s_item = np.concatenate([s_item, neg_item])
        s_label = np.concatenate([s_label, np.zeros(len(order), np.float32)])
        s_sampled = np.concatenate([s_sampled, np.ones(len(order), dtype=bool)])
        resort = np.lexsort((s_sampled, s_time, s_user))
        s_row, s_user, s_time, s_item, s_label, s_sampled = (
            a[resort] for a in (s_row, s_user, s_time, s_item, s_label, s_sampled)
        )

    s_key = (s_user.astype(np.int64) << _TIME_BITS) | s_time
    hist_end = np.searchsorted(b_key, s_key, side="left")  # behaviours strictly before
    user_start = np.searchsorted(b_key, s_user.astype(np.int64) << _TIME_BITS, side="left")
    n_before = hist_end - user_start
    keep = n_before >= min_hist
    if max_samples_per_user is not None:
        if max_samples_per_user < 1:
            raise ValueError(f"max_samples_per_user must be >= 1, got {max_samples_per_user}")
        rank_from_end = _rank_within_user(s_user, keep, from_end=True)
        keep &= rank_from_end < max_samples_per_user
    if not keep.any():
        raise ValueError(f"no samples have at least min_hist={min_hist} earlier behaviours")
    sel = np.flatnonzero(keep)
    hist_end, user_start = hist_end[sel], user_start[sel]
    sess_start, sess_len = _session_slots(b_user, b_time, hist_end, user_start, gap, n_sessions, session_len)
    samples = {
        "user": torch.from_numpy(s_user[sel]),
        "item": torch.from_numpy(s_item[sel]),
        "cate": torch.from_numpy(vocab.item_cate[s_item[sel]]),
        "time": torch.from_numpy(s_time[sel]),
        "label": torch.from_numpy(s_label[sel]),
        "hist_end": torch.from_numpy(hist_end),
        "hist_len": torch.from_numpy(np.minimum(hist_end - user_start, max_len)),
        "sess_start": torch.from_numpy(sess_start),
        "sess_len": torch.from_numpy(sess_len),
    }
    frame = pd.DataFrame(
        {
            "row": s_row[sel],
            "user_id": vocab.user_ids[s_user[sel]],
            "item_id": vocab.item_ids[s_item[sel]],
            "timestamp": s_time[sel],
            "label": s_label[sel],
            "sampled": s_sampled[sel],
        }
    )

    is_test = _chronological_test_mask(s_user[sel], test_frac)
    parts = []
    for mask in (~is_test, is_test):
        idx = torch.from_numpy(np.flatnonzero(mask))
        parts.append(
            SampleSet(
                events,
                {k: v[idx] for k, v in samples.items()},
                frame[mask],
                vocab,
                max_len,
                n_sessions,
                session_len,
            )
        )
    if len(parts[0]) == 0 or len(parts[1]) == 0:
        raise ValueError("the chronological split left the train or the test set empty; use more events")
    return parts[0], parts[1]


def _make_vocab(log: pd.DataFrame) -> Vocab:
    """Sorted id vocabularies and each item's category (the most frequent one for the item)."""
    user_ids = np.concatenate([[-1], np.unique(log["user_id"].to_numpy())])
    item_ids = np.concatenate([[-1], np.unique(log["item_id"].to_numpy())])
    cate_ids = np.concatenate([[-1], np.unique(log["cate_id"].to_numpy())])
    pairs = log.groupby(["item_id", "cate_id"], sort=True).size().rename("n").reset_index()
    pairs = pairs.sort_values(["item_id", "n"], ascending=[True, False]).drop_duplicates("item_id")
    item_cate = np.zeros(len(item_ids), dtype=np.int64)
    item_pos = np.searchsorted(item_ids[1:], pairs["item_id"].to_numpy()) + 1
    item_cate[item_pos] = np.searchsorted(cate_ids[1:], pairs["cate_id"].to_numpy()) + 1
    return Vocab(user_ids=user_ids, item_ids=item_ids, cate_ids=cate_ids, item_cate=item_cate)


def _sample_negatives(items: np.ndarray, n_items: int, rng: np.random.Generator) -> np.ndarray:
    """One uniform item per behaviour, never equal to that behaviour's item."""
    if n_items < 3:
        raise ValueError("need at least two distinct items to sample negatives")
    neg = rng.integers(1, n_items, size=len(items))
    clash = neg == items
    while clash.any():
        neg[clash] = rng.integers(1, n_items, size=int(clash.sum()))
        clash = neg == items
    return neg


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


def _chronological_test_mask(user: np.ndarray, test_frac: float) -> np.ndarray:
    """True for each user's latest ``test_frac`` samples (input sorted by user, then time)."""
    counts = pd.Series(user).groupby(user).transform("size").to_numpy()
    rank = pd.Series(np.ones_like(user)).groupby(user).cumsum().to_numpy() - 1
    n_test = np.floor(counts * test_frac).astype(np.int64)
    n_test = np.where((n_test == 0) & (counts >= 2), 1, n_test)
    return rank >= counts - n_test


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
