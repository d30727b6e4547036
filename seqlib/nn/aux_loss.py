"""DIEN's auxiliary loss: each interest state must predict the next behaviour (book chapter 3)."""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from seqlib.checks import positive_int, positive_sizes
from seqlib.nn.layers import MLP

AuxScale = Literal["pairs", "paper", "positions"]


class AuxiliaryMLP(nn.Module):
    """The released code's scorer: a small MLP on ``[h_t, e]`` with sigmoid activations.

    The released code (``auxiliary_net``) also puts a batch normalisation in front, called without
    ``training=True``: it then normalises with its initial statistics (mean 0, variance 1) for the
    whole run, an affine map the first layer already contains, so it is left out here. Its two-way
    softmax output equals a sigmoid of one logit.

    Args:
        state_dim: width of ``h_t``.
        item_dim: width of the behaviour vectors.
        hidden: hidden sizes (the released code uses 100-50).
    """

    def __init__(self, state_dim: int, item_dim: int, hidden: Sequence[int] = (100, 50)) -> None:
        super().__init__()
        self.state_dim = positive_int("state_dim", state_dim)
        width = self.state_dim + positive_int("item_dim", item_dim)
        self.mlp = MLP(width, positive_sizes("hidden", hidden), out_dim=1, activation=lambda width: nn.Sigmoid())

    def forward(self, states: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of "``items`` is the next behaviour after ``states``".

        Args:
            states: interest states.  # [*, H]
            items: behaviour vectors.  # [*, D]

        Returns:
            One logit per pair.  # [*]
        """
        return self.mlp(torch.cat([states, items], dim=-1)).squeeze(-1)  # [*]

    def pair_logits(
        self, states: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` for a positive and a negative sharing each state, the state's part of the
        first layer computed once (``W [h, e] = W_h h + W_e e``).

        Args:
            states: interest states.  # [N, H]
            positives: next behaviours.  # [N, D]
            negatives: sampled negatives.  # [N, D]

        Returns:
            ``(positive logits, negative logits)``.  # [N], [N]
        """
        first, rest = self.mlp.net[0], self.mlp.net[1:]
        w_h, w_e = first.weight.split((self.state_dim, first.in_features - self.state_dim), dim=1)  # [H1, H], [H1, D]
        shared = F.linear(states, w_h, first.bias)  # [N, H1]
        pos = rest(shared + F.linear(positives, w_e)).squeeze(-1)  # [N]
        neg = rest(shared + F.linear(negatives, w_e)).squeeze(-1)  # [N]
        return pos, neg


def inner_product(states: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """The paper's scorer ``<h_t, e>`` (needs state width = behaviour width).

    Args:
        states: interest states.  # [*, H]
        items: behaviour vectors.  # [*, H]

    Returns:
        One logit per pair.  # [*]
    """
    if states.shape[-1] != items.shape[-1]:
        raise ValueError(
            f"the inner-product scorer needs state width == behaviour width, got {states.shape[-1]} "
            f"and {items.shape[-1]}; use AuxiliaryMLP as the scorer"
        )
    return (states * items).sum(dim=-1)  # [*]


def auxiliary_loss(
    states: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    mask: torch.Tensor,
    scorer: nn.Module | None = None,
    scale: AuxScale = "pairs",
) -> torch.Tensor:
    """DIEN's auxiliary loss (DIEN 4.2, Eq. 8) over the valid ``(t, t+1)`` pairs.

    With ``l_it = log sigma(<h_t, e_{t+1}>) + log(1 - sigma(<h_t, ê_{t+1}>))``, where ``e_{t+1}`` is
    the next behaviour and ``ê_{t+1}`` a sampled negative for that position (``Batch.neg_item``),
    summed over the ``P`` pairs whose steps ``t`` and ``t + 1`` are both valid:

    * ``scale="pairs"``: ``L_aux = -(1/P) sum_{i,t} l_it``, the mean over the valid pairs of the
      batch, so one pair weighs ``1/P`` whatever the history lengths;
    * ``scale="paper"``: ``L_aux = -(1/N) sum_i sum_t l_it``, Eq. 8 as printed: the sum over time
      steps divided by the number of samples ``N`` (the batch size). It equals ``P/N`` times the
      ``"pairs"`` value (the mean number of pairs per sample, e.g. about 36 with ML-1M's 50-step
      histories), so ``alpha = 1`` weighs the auxiliary loss that much more;
    * ``scale="positions"``: the released code's ``reduce_mean`` over all ``N * (T - 1)`` positions
      of the batch, ``T`` its longest history (padded pairs count in the denominator with loss 0):
      ``P / (N (T - 1))`` times the ``"pairs"`` value.

    Only the valid pairs are scored (gathered into one ``[P, H]`` matrix), so padding costs nothing.
    Histories of length 0 or 1 have no pairs; with no pairs at all the loss is 0.

    Args:
        states: extractor states ``h_1..h_L``.  # [B, L, H]
        positives: behaviour vectors ``e_1..e_L``.  # [B, L, D]
        negatives: negative vectors ``ê_1..ê_L`` (``ê_t != e_t``).  # [B, L, D]
        mask: 0/1 float mask of valid steps, right-padded.  # [B, L]
        scorer: maps ``(states, items)`` to logits; ``None`` is the paper's inner product,
            :class:`AuxiliaryMLP` the released code's MLP.
        scale: ``"pairs"``, ``"paper"`` or ``"positions"`` (above).

    Returns:
        The scalar loss.

    Raises:
        ValueError: an unknown ``scale``.
    """
    check_aux_scale(scale)
    pairs = (mask[:, :-1] * mask[:, 1:]) > 0  # [B, L-1]
    h = states[:, :-1][pairs]  # [P, H]: h_t of every valid pair
    pos_items, neg_items = positives[:, 1:][pairs], negatives[:, 1:][pairs]  # [P, D] each
    if isinstance(scorer, AuxiliaryMLP):
        pos, neg = scorer.pair_logits(h, pos_items, neg_items)  # [P] each
    else:
        score = scorer if scorer is not None else inner_product
        pos, neg = score(h, pos_items), score(h, neg_items)  # [P] each
    total = -(F.logsigmoid(pos) + F.logsigmoid(-neg)).sum()
    if scale == "paper":
        return total / max(states.shape[0], 1)
    if scale == "positions":
        longest = int(mask.sum(dim=1).max()) if mask.numel() else 0
        return total / max(states.shape[0] * (longest - 1), 1)
    return total / max(h.shape[0], 1)


def check_aux_scale(scale: str) -> AuxScale:
    """Return ``scale`` if it names an auxiliary-loss scale, else raise a ValueError naming the choices."""
    if scale not in ("pairs", "paper", "positions"):
        raise ValueError(f"aux_scale must be 'pairs' (mean over valid pairs), 'paper' (Eq. 8: sum over steps / N) "
                         f"or 'positions' (released code: mean over N * (T - 1) positions), got {scale!r}")
    return scale  # type: ignore[return-value]
