"""DIEN's auxiliary loss: each interest state must predict the next behaviour (book chapter 3)."""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from seqlib.checks import positive_int, positive_sizes
from seqlib.nn.layers import MLP

AuxScale = Literal["pairs", "paper"]


class AuxiliaryMLP(nn.Module):
    """The authors' code's scorer: a small MLP on ``[h_t, e]`` with sigmoid activations.

    Args:
        state_dim: width of ``h_t``.
        item_dim: width of the behaviour vectors.
        hidden: hidden sizes (the authors' code uses 100-50).
    """

    def __init__(self, state_dim: int, item_dim: int, hidden: Sequence[int] = (100, 50)) -> None:
        super().__init__()
        width = positive_int("state_dim", state_dim) + positive_int("item_dim", item_dim)
        self.mlp = MLP(width, positive_sizes("hidden", hidden), out_dim=1, activation=lambda width: nn.Sigmoid())

    def forward(self, states: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits of "``items`` is the next behaviour after ``states``".

        Args:
            states: interest states.  # [B, L, H]
            items: behaviour vectors.  # [B, L, D]

        Returns:
            One logit per pair.  # [B, L]
        """
        return self.mlp(torch.cat([states, items], dim=-1)).squeeze(-1)  # [B, L]


def inner_product(states: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """The paper's scorer ``<h_t, e>`` (needs state width = behaviour width).

    Args:
        states: interest states.  # [B, L, H]
        items: behaviour vectors.  # [B, L, H]

    Returns:
        One logit per pair.  # [B, L]
    """
    if states.shape[-1] != items.shape[-1]:
        raise ValueError(
            f"the inner-product scorer needs state width == behaviour width, got {states.shape[-1]} "
            f"and {items.shape[-1]}; use AuxiliaryMLP as the scorer"
        )
    return (states * items).sum(dim=-1)  # [B, L]


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
    summed over the pairs whose steps ``t`` and ``t + 1`` are both valid:

    * ``scale="pairs"`` (default): ``L_aux = -(1/P) sum_{i,t} l_it``, the mean over the ``P`` valid
      pairs of the batch, so one pair weighs ``1/P`` whatever the history lengths;
    * ``scale="paper"``: ``L_aux = -(1/N) sum_i sum_t l_it``, Eq. 8 as printed: the sum over time
      steps divided by the number of samples ``N`` (the batch size). It equals ``P/N`` times the
      ``"pairs"`` value (the mean number of pairs per sample, e.g. about 36 with ML-1M's 50-step
      histories), so ``alpha = 1`` weighs the auxiliary loss that much more.

    Histories of length 0 or 1 have no pairs; with no pairs at all the loss is 0.

    Args:
        states: extractor states ``h_1..h_L``.  # [B, L, H]
        positives: behaviour vectors ``e_1..e_L``.  # [B, L, D]
        negatives: negative vectors ``ê_1..ê_L`` (``ê_t != e_t``).  # [B, L, D]
        mask: 0/1 float mask of valid steps.  # [B, L]
        scorer: maps ``(states, items)`` to logits; ``None`` is the paper's inner product,
            :class:`AuxiliaryMLP` the authors' code.
        scale: ``"pairs"`` or ``"paper"`` (above).

    Returns:
        The scalar loss.

    Raises:
        ValueError: an unknown ``scale``.
    """
    check_aux_scale(scale)
    score = scorer if scorer is not None else inner_product
    h = states[:, :-1]  # [B, L-1, H]
    pairs = mask[:, :-1] * mask[:, 1:]  # [B, L-1]
    pos = F.logsigmoid(score(h, positives[:, 1:]))  # [B, L-1]
    neg = F.logsigmoid(-score(h, negatives[:, 1:]))  # [B, L-1]
    total = -((pos + neg) * pairs).sum()
    if scale == "paper":
        return total / max(states.shape[0], 1)
    return total / pairs.sum().clamp(min=1.0)


def check_aux_scale(scale: str) -> AuxScale:
    """Return ``scale`` if it names an auxiliary-loss scale, else raise a ValueError naming the choices."""
    if scale not in ("pairs", "paper"):
        raise ValueError(f"aux_scale must be 'pairs' (mean over valid pairs) or 'paper' (Eq. 8: sum over steps / N), "
                         f"got {scale!r}")
    return scale  # type: ignore[return-value]
