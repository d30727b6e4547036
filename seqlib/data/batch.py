"""The one batch type every model reads (book chapter 1, "Samples, padding and masks").

Conventions (book chapter 1):

* id 0 is padding in every vocabulary; real ids start at 1;
* histories are **right-padded**: position ``j < hist_len`` holds a real behaviour, oldest first,
  so ``hist_item[b, hist_len[b] - 1]`` is the most recent behaviour before the sample;
* DSIN session tensors hold the ``K`` most recent sessions before the sample in chronological
  order, right-padded (``sess_item[b, k]`` is real for ``k < n_sess[b]``; the most recent session
  is ``k = n_sess[b] - 1``), and inside each session the ``T`` most recent behaviours, oldest first,
  right-padded (``t < sess_len[b, k]``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

import torch


@dataclass
class Batch:
    """A mini-batch of named tensors; ``B`` samples, histories of length ``L``.

    Attributes:
        user: user ids.  # [B]
        item: target (candidate) item ids.  # [B]
        cate: target category ids.  # [B]
        time: sample timestamps in seconds.  # [B]
        hist_item: behaviour item ids, right-padded with 0.  # [B, L]
        hist_cate: behaviour category ids.  # [B, L]
        hist_time: behaviour timestamps (0 on padding).  # [B, L]
        hist_len: number of valid behaviours.  # [B]
        neg_item: a sampled item for each history position, never equal to ``hist_item``
            at that position (DIEN's auxiliary loss pairs ``h_t`` with ``neg_item[:, t + 1]``).  # [B, L]
        neg_cate: categories of ``neg_item``.  # [B, L]
        sess_item: items of the K most recent sessions, T behaviours each.  # [B, K, T]
        sess_cate: categories in the session tensor.  # [B, K, T]
        sess_len: behaviours per session (0 for an empty session slot).  # [B, K]
        n_sess: number of non-empty sessions.  # [B]
        label: click label as float 0/1.  # [B]
        hist_feedback: behaviour-feedback level of each history position (e.g. the rating),
            0 on padding; None when the data carry no feedback feature.  # [B, L]
        sess_feedback: feedback levels in the session tensor, or None.  # [B, K, T]
        vocab: the fingerprint of the id tables the ids index (:attr:`Vocab.id_fingerprint`), set by
            the sample set that made the batch; a model refuses a batch of another vocabulary.
            None for a batch made by hand (the model then checks only that the ids fit its tables).
    """

    user: torch.Tensor
    item: torch.Tensor
    cate: torch.Tensor
    time: torch.Tensor
    hist_item: torch.Tensor
    hist_cate: torch.Tensor
    hist_time: torch.Tensor
    hist_len: torch.Tensor
    neg_item: torch.Tensor
    neg_cate: torch.Tensor
    sess_item: torch.Tensor
    sess_cate: torch.Tensor
    sess_len: torch.Tensor
    n_sess: torch.Tensor
    label: torch.Tensor
    hist_feedback: torch.Tensor | None = None
    sess_feedback: torch.Tensor | None = None
    vocab: str | None = None

    @property
    def hist_mask(self) -> torch.Tensor:
        """Float 0/1 mask of valid history positions.  # [B, L]"""
        return length_mask(self.hist_len, self.hist_item.shape[1])

    @property
    def sess_mask(self) -> torch.Tensor:
        """Float 0/1 mask of valid behaviours inside each session.  # [B, K, T]"""
        return length_mask(self.sess_len, self.sess_item.shape[2])

    @property
    def sess_valid(self) -> torch.Tensor:
        """Float 0/1 mask of non-empty session slots.  # [B, K]"""
        return length_mask(self.n_sess, self.sess_item.shape[1])

    def __len__(self) -> int:
        return int(self.label.shape[0])

    @classmethod
    def deferred(cls, ready: dict[str, torch.Tensor | str | None], parts: dict[str, Callable[[], dict]]) -> "Batch":
        """A batch whose fields in ``parts`` are computed on first access (used by the training loop).

        A model then pays only for the fields it reads: the base model and DIN never gather the
        session tensors. Reading a deferred field computes its whole part once (e.g. ``sess_item``
        and ``sess_len`` come from one gather) and keeps it.

        Args:
            ready: the fields computed now.
            parts: field name -> a function returning the fields of its part, ``{name: value}``
                (fields of one part share the function).

        Returns:
            The batch; ``ready`` and ``parts`` together must name every field.
        """
        missing = {f.name for f in fields(cls)} - set(ready) - set(parts)
        if missing:
            raise ValueError(f"a deferred batch needs every field, missing {sorted(missing)}")
        batch = cls.__new__(cls)
        batch.__dict__.update(ready)
        batch.__dict__["_deferred"] = dict(parts)
        return batch

    def __getattr__(self, name: str) -> torch.Tensor | None:
        """Compute a deferred field's part on first access (see :meth:`deferred`)."""
        deferred = self.__dict__.get("_deferred")
        if not deferred or name not in deferred:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        values = deferred[name]()
        for field, value in values.items():
            self.__dict__[field] = value
            deferred.pop(field, None)
        return values[name]

    def ready_fields(self) -> set[str]:
        """The names of the fields computed so far (all of them unless the batch is deferred)."""
        return {f.name for f in fields(self)} - set(self.__dict__.get("_deferred") or ())

    def to(self, device: torch.device | str) -> "Batch":
        """Return a copy with every tensor on ``device`` (a deferred field stays deferred)."""
        deferred = self.__dict__.get("_deferred")
        if deferred:
            moved = {name: _apply(value, lambda t: t.to(device)) for name, value in self.__dict__.items()
                     if name != "_deferred"}
            return Batch.deferred(moved, {name: _moved(make, device) for name, make in deferred.items()})
        return Batch(**{f.name: _apply(getattr(self, f.name), lambda t: t.to(device)) for f in fields(self)})

    def select(self, index: torch.Tensor | slice) -> "Batch":
        """Return the sub-batch at ``index`` (a slice, bool mask or index tensor)."""
        return Batch(**{f.name: _apply(getattr(self, f.name), lambda t: t[index]) for f in fields(self)})


def _moved(make: Callable[[], dict], device: torch.device | str) -> Callable[[], dict]:
    """A deferred part's function whose tensors land on ``device``."""
    return lambda: {name: _apply(value, lambda t: t.to(device)) for name, value in make().items()}


def _apply(value: torch.Tensor | str | None, op: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor | str | None:
    """``op(value)`` for a tensor; other fields (None, the vocabulary fingerprint) as they are."""
    return op(value) if isinstance(value, torch.Tensor) else value


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Turn lengths into a right-padded 0/1 float mask.

    Args:
        lengths: number of valid positions, any shape ``S``.  # [*S]
        max_len: size of the padded axis.

    Returns:
        ``mask[..., j] = 1.0`` where ``j < lengths[...]``, else ``0.0``.  # [*S, max_len]

    Raises:
        ValueError: a length below 0 or above ``max_len``.
    """
    if lengths.numel() and (int(lengths.min()) < 0 or int(lengths.max()) > max_len):
        raise ValueError(
            f"lengths must lie in [0, max_len={max_len}], got values from {int(lengths.min())} to {int(lengths.max())}"
        )
    positions = torch.arange(max_len, device=lengths.device)  # [max_len]
    return (positions < lengths.unsqueeze(-1)).float()  # [*S, max_len]
