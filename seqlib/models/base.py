"""The Embedding & MLP base model: a user's history as a bag of items (book chapter 1)."""

from __future__ import annotations

from typing import Callable, Literal, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from seqlib.checks import positive_int, positive_sizes
from seqlib.data.batch import Batch
from seqlib.data.samples import Vocab
from seqlib.models.registry import register
from seqlib.nn.layers import MLP, ItemEmbedding, masked_sum


class CTRModel(nn.Module):
    """What every model shares: embeddings of user, item and category, and the output tower.

    Subclasses build ``self.tower`` over their own features and implement ``forward``.

    Args:
        vocab: vocabulary sizes for the embedding tables.
        dim: embedding size per field (item vectors are ``2 * dim`` wide).

    Raises:
        TypeError: ``vocab`` is not a :class:`~seqlib.data.Vocab`.
        ValueError: ``dim`` is not a positive integer.
    """

    # Rough cost of a training run relative to the base model's. Only the order matters:
    # compare_models and benchmarks/quality.py start the slowest runs first so that two workers
    # finish together.
    relative_cost: float = 1.0

    def __init__(self, vocab: Vocab, dim: int = 8) -> None:
        super().__init__()
        if not isinstance(vocab, Vocab):
            raise TypeError(
                f"vocab must be a seqlib.data.Vocab (the .vocab of the sample sets, e.g. train.vocab), "
                f"got {type(vocab).__name__}"
            )
        self.dim = dim = positive_int("dim", dim)
        self.embed = ItemEmbedding(vocab.n_items, vocab.n_cates, dim, vocab.n_feedback)
        self.user = nn.Embedding(vocab.n_users, dim)
        nn.init.normal_(self.user.weight, std=0.05)
        self.vocab_fingerprint = vocab.fingerprint
        self.vocab_ids = vocab.id_fingerprint  # what a batch's ``vocab`` must equal
        self.register_forward_pre_hook(_check_batch_hook)  # every model(batch) checks its batch first
        self.embed.register_forward_pre_hook(_check_embedding_ids)  # and every lookup, whatever the path

    def forward(self, batch: Batch) -> torch.Tensor:
        """Click logits.  # [B]"""
        raise NotImplementedError

    def explain(self, batch: Batch) -> torch.Tensor:
        """How much each behaviour counted for each sample's candidate: one method, every model.

        The weight is the one the model itself gives the behaviour when it pools the history
        for the candidate, read in eval mode without gradients: the base model's pooling weights
        (1 each for the sum, ``1 / n`` for the mean, the same for every candidate); DIN's
        activation weights ``w_j`` (:meth:`DIN.attention`: raw, of any sign, unless the model
        was built with ``normalize="softmax"``); DIEN's
        attention ``a_t`` (softmax over the valid steps); DSIN's session attention ``a_k`` of
        ``U^I`` shared equally by the behaviours of session ``k`` (sums to 1 over the sessions'
        behaviours). A new model implements it for its own pooling (chapter 5's exercise).

        Args:
            batch: a batch; its ``item``/``cate`` are the candidates.

        Returns:
            One weight per behaviour position of the tensor the model reads, exactly 0 where
            that position is padding: ``[B, L]`` over ``batch.hist_item`` for models that read
            the history, ``[B, K, T]`` over ``batch.sess_item`` for DSIN (see
            :meth:`explain_mask`).

        Raises:
            NotImplementedError: the model does not define it (the message names the class).
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement explain(batch): return the weight each behaviour gets "
            "for the candidate, shaped like explain_mask(batch) and 0 on padding"
        )

    def explain_mask(self, batch: Batch) -> torch.Tensor:
        """The valid positions :meth:`explain` scores: ``batch.hist_mask`` here.  # [B, L]"""
        return batch.hist_mask

    def in_eval(self, fn: Callable[[Batch], torch.Tensor], batch: Batch) -> torch.Tensor:
        """``fn(batch)`` in eval mode without gradients; the model's mode is restored afterwards."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return fn(batch)
        finally:
            self.train(was_training)

    def history(self, batch: Batch) -> torch.Tensor:
        """The behaviour vectors ``e_j`` of the history (with the feedback feature, if any).  # [B, L, D]"""
        self.check_batch(batch)  # the explanation methods (attention, interests) come through here
        return self.embed(batch.hist_item, batch.hist_cate, batch.hist_feedback)

    def loss(self, batch: Batch) -> torch.Tensor:
        """Binary cross-entropy of the click logits (models add their own terms)."""
        return F.binary_cross_entropy_with_logits(self(batch), batch.label)

    def check_batch(self, batch: Batch) -> None:
        """Refuse a batch this model cannot score: not a :class:`Batch`, made from another
        vocabulary (the fingerprint the batch carries differs from the model's), or holding ids
        beyond the embedding tables (:meth:`check_ids`). Runs before every ``model(batch)``.

        Args:
            batch: a batch about to be scored.

        Raises:
            TypeError: ``batch`` is not a Batch.
            ValueError: the batch comes from another vocabulary, or an id does not fit a table.
        """
        if not isinstance(batch, Batch):
            raise TypeError(
                f"a model takes a seqlib Batch (e.g. train[:64] or next(train.batches(512))), got {type(batch).__name__}"
            )
        if batch.vocab is not None and batch.vocab != self.vocab_ids:
            raise ValueError(
                f"the batch was built with another vocabulary (id fingerprint {batch.vocab}) than the model "
                f"({self.vocab_ids}): its ids would index the wrong embedding rows. Score batches of "
                "the sample sets whose vocab built the model (create(name, train.vocab))."
            )
        self.check_ids(batch)

    def check_ids(self, batch: Batch) -> None:
        """Raise a ValueError naming the field when a batch holds ids beyond the embedding tables.

        Args:
            batch: a batch about to be scored.

        Raises:
            ValueError: an id is negative or not below its table's size (the batch was built
                with another vocabulary).
        """
        # A part of a deferred batch that no one has read yet is skipped: the batch came from a
        # sample set of this vocabulary (check_batch), and the item embedding checks its ids
        # when a model reads and embeds it.
        ready = batch.ready_fields()
        tables = {
            "user": (self.user.num_embeddings, ["user"]),
            "item": (self.embed.item.num_embeddings, ["item", "hist_item", "sess_item"]),
            "cate": (self.embed.cate.num_embeddings, ["cate", "hist_cate", "sess_cate"]),
        }
        if self.embed.feedback is not None:
            tables["feedback"] = (self.embed.feedback.num_embeddings, ["hist_feedback", "sess_feedback"])
        for field, (size, names) in tables.items():
            for name in names:
                values = getattr(batch, name) if name in ready else None
                if values is not None:
                    _check_range(field, values, size)

    @torch.no_grad()
    def predict(self, batch: Batch) -> torch.Tensor:
        """Click probabilities in eval mode (the model's mode is restored afterwards).  # [B]"""
        self.check_ids(batch)
        was_training = self.training
        self.eval()
        try:
            return torch.sigmoid(self(batch))
        finally:
            self.train(was_training)


def _check_range(field: str, values: torch.Tensor, size: int) -> None:
    """``ValueError`` naming ``field`` when an id in ``values`` is negative or not below ``size``."""
    if values.numel() and (int(values.max()) >= size or int(values.min()) < 0):
        bad = int(values.max()) if int(values.max()) >= size else int(values.min())
        raise ValueError(
            f"the batch has {field} id {bad} but the model's {field} table has {size} rows: "
            "the samples were built with another vocabulary. Build the model from the same sample "
            "sets' vocab (create(name, train.vocab)) and score samples from that build."
        )


def _check_embedding_ids(embed: ItemEmbedding, args: tuple) -> None:
    """Forward pre-hook of a model's item embedding: ids beyond its tables get a named error
    (instead of torch's IndexError), on every path that embeds items."""
    if len(args) >= 2 and isinstance(args[0], torch.Tensor) and isinstance(args[1], torch.Tensor):
        _check_range("item", args[0], embed.item.num_embeddings)
        _check_range("cate", args[1], embed.cate.num_embeddings)


def _check_batch_hook(model: CTRModel, args: tuple) -> None:
    """Forward pre-hook: ``model.check_batch`` on the batch passed to ``model(batch)``."""
    if args:
        model.check_batch(args[0])


@register("base")
class BaseModel(CTRModel):
    """Embedding & MLP: ``MLP([e_user, e_target, sum_j e_j])`` (DIN paper section 4.2).

    The history is pooled by a masked sum, so the user vector is the same whatever the candidate:
    the fixed-length bottleneck DIN removes.

    Args:
        vocab: vocabulary sizes.
        dim: embedding size per field.
        hidden: tower sizes (DIN uses 200-80).
        pooling: ``"sum"`` (the paper's base model) or ``"mean"``.

    Raises:
        TypeError: ``vocab`` is not a Vocab.
        ValueError: ``dim``, ``hidden`` or ``pooling`` out of range (the message names it).
    """

    def __init__(
        self,
        vocab: Vocab,
        dim: int = 8,
        hidden: Sequence[int] = (200, 80),
        pooling: Literal["sum", "mean"] = "sum",
    ) -> None:
        super().__init__(vocab, dim)
        if pooling not in ("sum", "mean"):
            raise ValueError(f"pooling must be 'sum' or 'mean', got {pooling!r}")
        self.pooling = pooling
        d = self.embed.out_dim
        self.tower = MLP(self.dim + 2 * d, positive_sizes("hidden", hidden), out_dim=1)

    def forward(self, batch: Batch) -> torch.Tensor:
        """Click logits.  # [B]"""
        target = self.embed(batch.item, batch.cate)  # [B, D]
        hist = self.history(batch)  # [B, L, D]
        mask = batch.hist_mask  # [B, L]
        pooled = masked_sum(hist, mask)  # [B, D]
        if self.pooling == "mean":
            pooled = pooled / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        x = torch.cat([self.user(batch.user), target, pooled], dim=-1)  # [B, dim + 2D]
        return self.tower(x).squeeze(-1)  # [B]

    def explain(self, batch: Batch) -> torch.Tensor:
        """The pooling weights: 1 per valid behaviour (sum) or ``1 / n`` (mean), whatever the
        candidate (the bottleneck DIN removes).  # [B, L]"""
        mask = batch.hist_mask  # [B, L]
        if self.pooling == "mean":
            return mask / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        return mask.clone()
