"""DIN: Deep Interest Network (Zhou et al., KDD 2018; book chapter 2).

The base model squeezes a user's history into one fixed vector whatever the candidate. DIN
pools the history with weights that depend on the candidate (the local activation unit), without
a softmax, so the pooled vector's size also carries how strongly the history supports the
candidate. The tower reads ``[user, candidate, v_U(A)]`` (DIN paper, section 4).
"""

from __future__ import annotations

from functools import partial
from typing import Literal, Sequence

import torch
from torch.nn import functional as F

from seqlib.checks import check_float, non_negative_float, positive_sizes
from seqlib.data.batch import Batch
from seqlib.data.samples import SampleSet, Vocab
from seqlib.models.base import CTRModel
from seqlib.models.registry import register
from seqlib.nn.attention import LocalActivationUnit, Normalize, pool_valid
from seqlib.nn.dice import activation as make_activation
from seqlib.nn.layers import MLP
from seqlib.nn.regularization import l2_penalty, mba_penalty


@register("din")
class DIN(CTRModel):
    """Embeddings, local activation pooling of the history by the candidate, MLP tower.

    ``loss(batch) = BCE + penalty``, where the optional penalty on the item id table is the
    mini-batch aware L2 (``regularization="mba"``, DIN 4.1) or plain L2 on the whole table
    (``"l2"``), both with strength ``reg_lambda``.

    Args:
        vocab: vocabulary sizes.
        dim: embedding size per field (behaviour vectors are ``2 * dim`` wide).
        attention_hidden: hidden sizes of the activation unit's MLP (80-40).
        tower: tower sizes (200-80), then one logit.
        activation: ``"dice"`` (paper) or ``"prelu"``, in the tower and the activation unit.
        normalize: ``None`` (paper: no softmax) or ``"softmax"``.
        attention_start: ``None`` (default) for the activation unit's usual initialisation, or a
            weight every behaviour starts with (``1.0``: the base model's sum pooling), see
            :class:`~seqlib.nn.attention.LocalActivationUnit`.
        regularization: ``None``, ``"mba"`` or ``"l2"``.
        reg_lambda: the penalty's ``lambda``.
        item_counts: ``n_j`` per item id (``train.item_counts()``), needed by ``"mba"``.  # [n_items]

    Raises:
        TypeError: ``vocab`` is not a Vocab or ``item_counts`` not a tensor.
        ValueError: an option out of range (the message names it), e.g. ``dim=0``,
            ``reg_lambda=nan`` or a layer size of 0.
    """

    relative_cost = 2.0  # see CTRModel.relative_cost

    def __init__(
        self,
        vocab: Vocab,
        dim: int = 8,
        attention_hidden: Sequence[int] = (80, 40),
        tower: Sequence[int] = (200, 80),
        activation: Literal["dice", "prelu"] = "dice",
        normalize: Normalize = None,
        attention_start: float | None = None,
        regularization: Literal["mba", "l2"] | None = None,
        reg_lambda: float = 0.0,
        item_counts: torch.Tensor | None = None,
    ) -> None:
        super().__init__(vocab, dim)
        if regularization not in (None, "mba", "l2"):
            raise ValueError(f"regularization must be None, 'mba' or 'l2', got {regularization!r}")
        if activation not in ("dice", "prelu"):
            raise ValueError(f"activation must be 'dice' or 'prelu', got {activation!r}")
        reg_lambda = non_negative_float("reg_lambda", reg_lambda)
        attention_hidden, tower = positive_sizes("attention_hidden", attention_hidden), positive_sizes("tower", tower)
        if item_counts is not None and not isinstance(item_counts, torch.Tensor):
            raise TypeError(f"item_counts must be a torch.Tensor (train.item_counts()), got {type(item_counts).__name__}")
        if regularization == "mba":
            if item_counts is None:
                raise ValueError("regularization='mba' needs item_counts (e.g. train.item_counts())")
            if item_counts.shape != (vocab.n_items,):
                raise ValueError(f"item_counts must have shape ({vocab.n_items},), got {tuple(item_counts.shape)}")
            if not bool((item_counts.float() >= 0).all()):  # False for NaN too
                raise ValueError("item_counts must hold counts >= 0 (no NaN); pass train.item_counts()")
        self.regularization, self.reg_lambda = regularization, reg_lambda
        self.register_buffer("item_counts", None if item_counts is None else item_counts.float(), persistent=False)
        d = self.embed.out_dim
        self.activation_unit = LocalActivationUnit(
            d, attention_hidden, activation, normalize,
            start=None if attention_start is None else check_float("attention_start", attention_start),
        )
        self.tower = MLP(dim + 2 * d, tower, out_dim=1, activation=partial(make_activation, activation))

    def attention(self, batch: Batch, normalize: Normalize | str = "default") -> torch.Tensor:
        """The activation unit's weights ``w_j`` of each behaviour for the batch's candidates.

        Args:
            batch: a batch; its ``item``/``cate`` are the candidates.
            normalize: ``"default"`` (the model's setting), ``None`` (raw) or ``"softmax"``.

        Returns:
            Weights, 0 on padding.  # [B, L]
        """
        target = self.embed(batch.item, batch.cate)  # [B, D]
        behaviours = self.history(batch)  # [B, L, D]
        return self.activation_unit(behaviours, target, batch.hist_mask, normalize)

    def explain(self, batch: Batch) -> torch.Tensor:
        """The activation weights ``w_j`` of :meth:`attention` (the model's own normalisation),
        in eval mode without gradients; 0 on padding.  # [B, L]"""
        return self.in_eval(self.attention, batch)

    def forward(self, batch: Batch) -> torch.Tensor:
        """Click logits.  # [B]"""
        target = self.embed(batch.item, batch.cate)  # [B, D]: v_A
        rows, cols = batch.hist_mask.nonzero(as_tuple=True)  # [N]: the valid behaviours only
        feedback = None if batch.hist_feedback is None else batch.hist_feedback[rows, cols]  # [N]
        behaviours = self.embed(batch.hist_item[rows, cols], batch.hist_cate[rows, cols], feedback)  # [N, D]: e_j
        weights = self.activation_unit.packed_weights(behaviours, target, rows, cols, batch.hist_mask)  # [N]
        interest = pool_valid(weights, behaviours, rows, len(batch))  # [B, D]: v_U(A)
        x = torch.cat([self.user(batch.user), target, interest], dim=-1)  # [B, dim + 2D]
        return self.tower(x).squeeze(-1)  # [B]

    @torch.no_grad()
    def orient_attention_(self, batch: Batch) -> bool:
        """Choose the sign of the raw weights: more total weight, a higher predicted click.

        Without a softmax, flipping the sign of every ``w_j`` (the activation unit's score layer)
        together with the tower's first-layer columns that read ``v_U(A) = sum_j w_j e_j`` gives
        exactly the same click logits, so training can end on either sign. The logits do not
        change under the flip but the total weight ``sum_j w_j`` of a sample does, so the sign
        is fixed by asking that the two rise together over ``batch`` (a positive covariance):
        a large weight then means "this behaviour speaks for the candidate", the interest
        intensity of DIN 4.3. ``fit`` calls it after training. With a softmax every total is 1
        and nothing is done.

        Args:
            batch: samples to measure on (``fit`` uses up to 2,048 training samples).

        Returns:
            Whether the sign was flipped.
        """
        if self.activation_unit.normalize is not None or not bool(batch.hist_mask.any()):
            return False
        training = self.training
        self.eval()
        totals = self.attention(batch, normalize=None).sum(1)  # [B]: sum_j w_j, 0 on padding
        logits = self(batch)  # [B]
        self.train(training)
        covariance = float(((totals - totals.mean()) * (logits - logits.mean())).mean())
        if not covariance < 0:
            return False
        self.flip_attention_sign_()
        return True

    @torch.no_grad()
    def flip_attention_sign_(self) -> None:
        """The same model with every raw weight ``w_j`` of the other sign: negates the activation
        unit's score layer and the tower's first-layer columns that read ``v_U(A)``."""
        score = self.activation_unit.mlp[-1]  # the score layer: w_j = score(hidden)
        score.weight.neg_()
        score.bias.neg_()
        first = self.tower.net[0]  # reads [user, v_A, v_U(A)]
        first.weight[:, first.in_features - self.embed.out_dim:].neg_()

    def after_fit(self, train: SampleSet) -> None:
        """Called by ``fit`` after training: :meth:`orient_attention_` on the first training samples."""
        batch = train.subset(torch.arange(min(len(train), 2048))).full()
        self.orient_attention_(batch.to(self.embed.item.weight.device))

    def penalty(self, batch: Batch) -> torch.Tensor:
        """The regularisation term on the item id table for this batch (0 without one)."""
        table = self.embed.item.weight  # [n_items, dim]
        if self.regularization == "mba":
            ids = torch.cat([batch.item, batch.hist_item.flatten()])  # padding (0) is dropped inside
            return mba_penalty(table, ids, self.item_counts, self.reg_lambda)
        if self.regularization == "l2":
            return l2_penalty(table, self.reg_lambda)
        return table.new_zeros(())

    def loss(self, batch: Batch) -> torch.Tensor:
        """Binary cross-entropy plus the optional embedding penalty."""
        bce = F.binary_cross_entropy_with_logits(self(batch), batch.label)
        if self.regularization is None:
            return bce
        return bce + self.penalty(batch)
