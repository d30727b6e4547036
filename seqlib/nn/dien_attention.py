"""DIEN's attention: a bilinear score between interest states and the target, softmax over valid
steps (book chapter 3)."""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlib.checks import check_float, positive_int
from seqlib.nn.layers import masked_softmax


class BilinearAttention(nn.Module):
    """``a_t = exp(h_t W e_a) / sum_j exp(h_j W e_a)`` over valid steps (DIEN 4.3, Eq. 13).

    Args:
        state_dim: width of the interest states ``h_t``.
        target_dim: width of the target item vector ``e_a``.
    """

    def __init__(self, state_dim: int, target_dim: int) -> None:
        super().__init__()
        state_dim, target_dim = positive_int("state_dim", state_dim), positive_int("target_dim", target_dim)
        self.weight = nn.Parameter(torch.empty(state_dim, target_dim))
        nn.init.uniform_(self.weight, -1.0 / math.sqrt(state_dim), 1.0 / math.sqrt(state_dim))

    def scores(self, states: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Bilinear scores ``h_t W e_a``.

        Args:
            states: interest states.  # [B, L, H]
            target: target item vectors.  # [B, D]

        Returns:
            Scores.  # [B, L]
        """
        query = target @ self.weight.t()  # [B, H]
        return torch.bmm(states, query.unsqueeze(-1)).squeeze(-1)  # [B, L]

    def forward(
        self, states: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """Attention weights; zero on padding, all zero for an empty history.

        Args:
            states: interest states.  # [B, L, H]
            target: target item vectors.  # [B, D]
            mask: 0/1 float mask of valid steps.  # [B, L]
            temperature: divides the scores (1 in the model; the widget varies it).

        Returns:
            Weights summing to 1 over the valid steps of each non-empty row.  # [B, L]

        Raises:
            ValueError: ``temperature`` is not a finite number > 0 (0 would give NaN weights).
        """
        temperature = check_float("temperature", temperature, minimum=0.0, strict_minimum=True)
        return masked_softmax(self.scores(states, target) / temperature, mask)  # [B, L]
