"""DIEN's attention between interest states and the target (book chapter 3).

Two score functions and two normalisations, combined freely:

* :class:`BilinearAttention` -- the paper's score ``h_t W e_a`` (DIEN 4.3, Eq. 13);
* :class:`MLPAttention` -- DIN's activation unit on ``[h_t, q, h_t - q, h_t * q]``: with the
  query ``q = e_a`` and Dice (DeepCTR's form), or with ``q = PReLU(W_q e_a + b_q)`` and sigmoid
  activations (the authors' released code);
* ``normalize="softmax"`` (paper, and every public implementation): ``a_t`` sums to 1 over the
  valid steps, so with ``L`` behaviours a typical ``a_t`` is about ``1/L``;
* ``normalize="sigmoid"``: each ``a_t = sigma(score_t)`` in (0, 1) on its own, so several
  behaviours can all be fully relevant (DIN's argument against the softmax, bounded so that
  ``a_t`` still works as AUGRU's gate).
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import torch
from torch import nn

from seqlib.checks import check_float, positive_int
from seqlib.nn.attention import LocalActivationUnit
from seqlib.nn.layers import masked_softmax

AttentionNorm = Literal["softmax", "sigmoid"]


def normalize_scores(scores: torch.Tensor, mask: torch.Tensor, normalize: AttentionNorm = "softmax") -> torch.Tensor:
    """Attention weights from raw scores; exactly 0 on padding and for an empty history.

    Args:
        scores: raw scores.  # [B, L]
        mask: 0/1 float mask of valid steps.  # [B, L]
        normalize: ``"softmax"`` (masked softmax over the valid steps) or ``"sigmoid"``
            (``sigma(score)`` per step).

    Returns:
        Weights.  # [B, L]

    Raises:
        ValueError: an unknown ``normalize``.
    """
    if check_normalize(normalize) == "softmax":
        return masked_softmax(scores, mask)  # [B, L]
    return torch.sigmoid(scores) * mask  # [B, L]


def check_normalize(normalize: str) -> AttentionNorm:
    """Return ``normalize`` if it names a normalisation, else raise a ValueError naming the choices."""
    if normalize not in ("softmax", "sigmoid"):
        raise ValueError(f"normalize must be 'softmax' or 'sigmoid', got {normalize!r}")
    return normalize  # type: ignore[return-value]


class BilinearAttention(nn.Module):
    """``a_t = exp(h_t W e_a) / sum_j exp(h_j W e_a)`` over valid steps (DIEN 4.3, Eq. 13).

    Args:
        state_dim: width of the interest states ``h_t``.
        target_dim: width of the target item vector ``e_a``.
        normalize: ``"softmax"`` (paper) or ``"sigmoid"`` (see :func:`normalize_scores`).
    """

    def __init__(self, state_dim: int, target_dim: int, normalize: AttentionNorm = "softmax") -> None:
        super().__init__()
        state_dim, target_dim = positive_int("state_dim", state_dim), positive_int("target_dim", target_dim)
        self.normalize = check_normalize(normalize)
        self.weight = nn.Parameter(torch.empty(state_dim, target_dim))
        nn.init.uniform_(self.weight, -1.0 / math.sqrt(state_dim), 1.0 / math.sqrt(state_dim))

    def scores(self, states: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Bilinear scores ``h_t W e_a``.

        Args:
            states: interest states.  # [B, L, H]
            target: target item vectors.  # [B, D]
            mask: 0/1 float mask of valid steps (unused: every step costs the same here).  # [B, L]

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
            Weights (with the softmax: summing to 1 over the valid steps of each non-empty
            row).  # [B, L]

        Raises:
            ValueError: ``temperature`` is not a finite number > 0 (0 would give NaN weights).
        """
        temperature = check_float("temperature", temperature, minimum=0.0, strict_minimum=True)
        return normalize_scores(self.scores(states, target, mask) / temperature, mask, self.normalize)  # [B, L]


class MLPAttention(nn.Module):
    """DIN's activation unit as DIEN's attention: an MLP on ``[h_t, q, h_t - q, h_t * q]``.

    The score of each valid step is the unit's linear output (``seqlib.nn.attention``); padded
    steps are never scored. The query ``q`` is the target vector ``e_a`` itself
    (``project_query=False``, needs ``h_t`` and ``e_a`` of the same width) or, as in the authors'
    released code (``din_fcn_attention``), ``q = PReLU(W_q e_a + b_q)``, the target projected to
    the state width (``project_query=True``). The released code uses sigmoid activations in the
    80-40 MLP; DIN's chapter uses Dice.

    Args:
        dim: width of the interest states ``h_t``.
        hidden: hidden sizes of the unit's MLP (80-40, as DIN and the released code).
        activation: ``"dice"``, ``"prelu"`` or ``"sigmoid"`` after each hidden layer.
        normalize: ``"softmax"`` (as the public code) or ``"sigmoid"``.
        target_dim: width of ``e_a`` when the query is projected (``None``: ``dim``).
        project_query: project the target to the query (above).
    """

    def __init__(
        self,
        dim: int,
        hidden: Sequence[int] = (80, 40),
        activation: Literal["dice", "prelu", "sigmoid"] = "dice",
        normalize: AttentionNorm = "softmax",
        target_dim: int | None = None,
        project_query: bool = False,
    ) -> None:
        super().__init__()
        self.normalize = check_normalize(normalize)
        dim = positive_int("dim", dim)
        target_dim = dim if target_dim is None else positive_int("target_dim", target_dim)
        if not project_query and target_dim != dim:
            raise ValueError(
                f"MLPAttention without project_query compares h_t with the target element-wise, so it needs "
                f"target_dim ({target_dim}) == dim ({dim}); pass project_query=True to project the target"
            )
        self.query = nn.Sequential(nn.Linear(target_dim, dim), nn.PReLU(dim, init=0.25)) if project_query else None
        self.unit = LocalActivationUnit(dim, hidden, activation, normalize=None)

    def scores(self, states: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The unit's score of each valid step, 0 on padding.

        Args:
            states: interest states.  # [B, L, H]
            target: target item vectors.  # [B, D]
            mask: 0/1 float mask of valid steps.  # [B, L]

        Returns:
            Scores.  # [B, L]
        """
        query = target if self.query is None else self.query(target)  # [B, H]
        return self.unit(states, query, mask)  # [B, L]

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
            Weights.  # [B, L]
        """
        temperature = check_float("temperature", temperature, minimum=0.0, strict_minimum=True)
        return normalize_scores(self.scores(states, target, mask) / temperature, mask, self.normalize)  # [B, L]


AttentionKind = Literal["bilinear", "mlp", "released"]


def make_attention(
    kind: AttentionKind, state_dim: int, target_dim: int, normalize: AttentionNorm = "softmax"
) -> BilinearAttention | MLPAttention:
    """DIEN's attention by name.

    Args:
        kind: ``"bilinear"`` (paper, Eq. 13: ``h_t W e_a``), ``"mlp"`` (DIN's activation unit with
            Dice on ``[h_t, e_a, ...]``, DeepCTR's form) or ``"released"`` (the authors' released
            code: the target projected to the state width with a PReLU, then an 80-40 MLP with
            sigmoid activations).
        state_dim: width of the interest states.
        target_dim: width of the target vector (``"mlp"`` needs it equal to ``state_dim``).
        normalize: ``"softmax"`` or ``"sigmoid"``.

    Returns:
        The attention module.

    Raises:
        ValueError: an unknown ``kind`` or ``normalize``, or ``"mlp"`` with unequal widths.
    """
    if kind == "bilinear":
        return BilinearAttention(state_dim, target_dim, normalize)
    if kind == "released":
        return MLPAttention(state_dim, activation="sigmoid", normalize=normalize, target_dim=target_dim,
                            project_query=True)
    if kind != "mlp":
        raise ValueError(f"attention must be 'bilinear', 'mlp' or 'released', got {kind!r}")
    if state_dim != target_dim:
        raise ValueError(
            f"attention='mlp' compares h_t with the target element-wise, so it needs the state width "
            f"({state_dim}) equal to the item vector width ({target_dim}); leave hidden_size at its default"
        )
    return MLPAttention(state_dim, normalize=normalize)
