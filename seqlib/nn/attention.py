"""DIN's local activation unit: how much each past behaviour matters for this candidate
(Zhou et al. 2018, section 4.3; book chapter 2).

``v_U(A) = sum_j a(e_j, v_A) * e_j`` over the valid positions ``j``: the weights ``a(e_j, v_A)``
come from a small MLP and are **not** normalised, so ``sum_j w_j`` is free to carry the intensity
of the user's interest in the candidate. A masked softmax is offered as an option for comparison.
"""

from __future__ import annotations

from typing import Callable, Literal, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from seqlib.checks import check_float, positive_int, positive_sizes
from seqlib.nn.dice import activation
from seqlib.nn.layers import masked_softmax

Normalize = Literal["softmax"] | None

def activation_features(behaviours: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The activation unit's input ``[e_j, v_A, e_j - v_A, e_j * v_A]`` (element-wise product).

    Args:
        behaviours: behaviour vectors ``e_j``.  # [*, D]
        target: candidate vectors ``v_A``, broadcastable to ``behaviours``.  # [*, D]

    Returns:
        The concatenation.  # [*, 4D]
    """
    target = target.expand_as(behaviours)
    return torch.cat([behaviours, target, behaviours - target, behaviours * target], dim=-1)


def local_activation(
    behaviours: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    score: Callable[[torch.Tensor], torch.Tensor],
    normalize: Normalize = None,
) -> torch.Tensor:
    """Attention weights ``w_j = a(e_j, v_A) * mask_j`` (no softmax unless asked).

    Only the valid positions are scored: they are gathered into one ``[N, 4D]`` matrix (``N`` =
    number of real behaviours in the batch), so padding costs nothing and never reaches the
    scorer (nor the batch statistics of a Dice inside it). Each sample's candidate is repeated
    for its behaviours with ``index_select``, whose backward adds in a fixed order; the
    equivalent ``target[rows]`` backs up through an ``index_put`` that adds the repeated rows in
    thread order, so two seeded runs with 2 threads would differ in their last bits.

    Args:
        behaviours: behaviour vectors ``e_j``.  # [B, L, D]
        target: candidate vectors ``v_A``.  # [B, D]
        mask: 0/1 float mask of valid positions.  # [B, L]
        score: maps activation features to one score per row.  # [N, 4D] -> [N, 1]
        normalize: ``None`` (paper: raw weights) or ``"softmax"`` (masked softmax).

    Returns:
        Weights, exactly 0 on padding and for empty histories.  # [B, L]
    """
    rows, cols = mask.nonzero(as_tuple=True)  # [N], [N]
    features = activation_features(behaviours[rows, cols], target.index_select(0, rows))  # [N, 4D]
    return scatter_weights(score(features).squeeze(-1), rows, cols, mask, normalize)


def scatter_weights(
    scores: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, mask: torch.Tensor, normalize: Normalize = None
) -> torch.Tensor:
    """Put the scores of the valid positions back into a ``[B, L]`` grid and normalise if asked.

    Args:
        scores: one score per valid position.  # [N]
        rows: sample index of each valid position.  # [N]
        cols: history position of each valid position.  # [N]
        mask: 0/1 float mask of valid positions.  # [B, L]
        normalize: ``None`` (raw scores, 0 on padding) or ``"softmax"`` (masked softmax).

    Returns:
        Weights.  # [B, L]
    """
    if normalize not in (None, "softmax"):
        raise ValueError(f"normalize must be None or 'softmax', got {normalize!r}")
    grid = scores.new_zeros(mask.shape).index_put((rows, cols), scores)  # [B, L]
    return masked_softmax(grid, mask) if normalize == "softmax" else grid


def attention_pool(weights: torch.Tensor, behaviours: torch.Tensor) -> torch.Tensor:
    """``v_U(A) = sum_j w_j e_j`` (DIN Eq. 3).

    Args:
        weights: attention weights, 0 on padding.  # [B, L]
        behaviours: behaviour vectors.  # [B, L, D]

    Returns:
        The user's interest in the candidate.  # [B, D]
    """
    return torch.bmm(weights.unsqueeze(1), behaviours).squeeze(1)  # [B, D]


def pool_valid(weights: torch.Tensor, behaviours: torch.Tensor, rows: torch.Tensor, batch_size: int) -> torch.Tensor:
    """:func:`attention_pool` on the valid positions only, given as a packed list.

    Args:
        weights: weight of each valid behaviour.  # [N]
        behaviours: the valid behaviour vectors.  # [N, D]
        rows: sample index of each valid behaviour.  # [N]
        batch_size: number of samples ``B`` (samples without behaviours pool to zeros).

    Returns:
        ``v_U(A) = sum_j w_j e_j`` per sample.  # [B, D]

    ``index_add`` adds the rows in index order on CPU, so the sum is repeatable with any number
    of threads (and its backward is a plain ``index_select``).
    """
    pooled = behaviours.new_zeros(batch_size, behaviours.shape[-1])  # [B, D]
    return pooled.index_add(0, rows, weights.unsqueeze(-1) * behaviours)


class LocalActivationUnit(nn.Module):
    """DIN's activation unit: an MLP on :func:`activation_features` giving one linear score per
    behaviour; the weights are those scores on the valid positions (:func:`local_activation`).

    Args:
        dim: width ``D`` of behaviour and candidate vectors.
        hidden: hidden sizes of the MLP (80-40 in the public code; 36 in the paper's figure).
        activation_name: ``"dice"``, ``"prelu"`` or ``"sigmoid"`` after each hidden layer.
        normalize: ``None`` (paper) or ``"softmax"`` (authors' code, fun-rec).
        start: how the score layer starts. ``None`` (default): PyTorch's usual initialisation,
            so every weight starts near 0, as in the public code (the paper does not say). A
            number: every behaviour starts with that weight (the score layer's bias is ``start``,
            its weights a tenth of their usual scale); ``1.0`` starts the unit as the base
            model's sum pooling. Flipping every ``w_j`` together with the tower's first-layer
            columns for ``v_U(A)`` gives the same model, so from a start near 0 a run may end
            with the relevant behaviours at large *negative* weights; ``fit`` then picks the
            positive sign (:meth:`seqlib.models.DIN.orient_attention_`, book chapter 2). On
            the Taobao slice the two starts end level: test AUC 0.628 ± 0.008 from the
            sum-pooling start against 0.626 ± 0.021 from the usual one (seeds 0-2, the
            chapters' budget, the default negatives).
    """

    def __init__(
        self,
        dim: int,
        hidden: Sequence[int] = (80, 40),
        activation_name: Literal["dice", "prelu", "sigmoid"] = "dice",
        normalize: Normalize = None,
        start: float | None = None,
    ) -> None:
        super().__init__()
        if normalize not in (None, "softmax"):
            raise ValueError(f"normalize must be None or 'softmax', got {normalize!r}")
        if activation_name not in ("dice", "prelu", "sigmoid"):
            raise ValueError(f"activation_name must be 'dice', 'prelu' or 'sigmoid', got {activation_name!r}")
        layers: list[nn.Module] = []
        width = 4 * positive_int("dim", dim)
        for size in positive_sizes("hidden", hidden):
            layers += [nn.Linear(width, size), activation(activation_name, size)]
            width = size
        score = nn.Linear(width, 1)
        if start is not None:
            with torch.no_grad():
                score.weight.mul_(0.1)
                score.bias.fill_(check_float("start", start))
        self.mlp = nn.Sequential(*layers, score)
        self.normalize = normalize

    def forward(
        self, behaviours: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, normalize: Normalize | str = "default"
    ) -> torch.Tensor:
        """Attention weights of each behaviour for the candidate.

        Args:
            behaviours: behaviour vectors ``e_j``.  # [B, L, D]
            target: candidate vectors ``v_A``.  # [B, D]
            mask: 0/1 float mask of valid positions.  # [B, L]
            normalize: ``"default"`` for the unit's own setting, or ``None`` / ``"softmax"`` to
                override it (the chapter compares both on one trained model).

        Returns:
            Weights.  # [B, L]
        """
        rows, cols = mask.nonzero(as_tuple=True)  # [N], [N]: the valid positions only
        scores = self.scores(behaviours[rows, cols], target, rows)  # [N]
        return scatter_weights(scores, rows, cols, mask, self._mode(normalize))

    def packed_weights(
        self,
        behaviours: torch.Tensor,
        target: torch.Tensor,
        rows: torch.Tensor,
        cols: torch.Tensor,
        mask: torch.Tensor,
        normalize: Normalize | str = "default",
    ) -> torch.Tensor:
        """The weights of the valid behaviours only, given as a packed list (what DIN trains on:
        padded positions are never embedded nor scored).

        Args:
            behaviours: the valid behaviour vectors, ``mask.nonzero()`` order.  # [N, D]
            target: candidate vectors.  # [B, D]
            rows: sample index of each behaviour.  # [N]
            cols: history position of each behaviour.  # [N]
            mask: 0/1 float mask of valid positions (for the softmax option).  # [B, L]
            normalize: as in :meth:`forward`.

        Returns:
            Weights.  # [N]
        """
        scores = self.scores(behaviours, target, rows)  # [N]
        mode = self._mode(normalize)
        if mode is None:
            return scores
        return scatter_weights(scores, rows, cols, mask, mode)[rows, cols]

    def scores(self, behaviours: torch.Tensor, target: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """``a(e_j, v_A)``: the MLP's linear score of each behaviour for its sample's candidate.

        Args:
            behaviours: behaviour vectors.  # [N, D]
            target: candidate vectors.  # [B, D]
            rows: sample index of each behaviour.  # [N]

        Returns:
            Scores.  # [N]
        """
        return self.mlp[1:](self.first_layer(behaviours, target, rows)).squeeze(-1)  # [N]

    def _mode(self, normalize: Normalize | str) -> Normalize:
        """The unit's own normalisation for ``"default"``, else ``normalize``."""
        return self.normalize if normalize == "default" else normalize  # type: ignore[return-value]

    def first_layer(self, behaviours: torch.Tensor, target: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """``W [e_j, v_A, e_j - v_A, e_j * v_A] + b`` without building the four-part concatenation.

        The layer is linear, so with ``W = [W_e, W_v, W_d, W_p]`` it equals
        ``(W_e + W_d) e_j + W_p (e_j * v_A) + (W_v - W_d) v_A + b``: one matmul on
        ``[e_j, e_j * v_A, v_A]``, three quarters of the work (same result as
        ``self.mlp[0](activation_features(e, v))``). The candidates are repeated with
        ``index_select`` (repeatable backward, see :func:`local_activation`).

        Args:
            behaviours: the valid behaviour vectors.  # [N, D]
            target: candidate vectors.  # [B, D]
            rows: sample index of each behaviour.  # [N]

        Returns:
            The first layer's pre-activations.  # [N, H1]
        """
        linear = self.mlp[0]
        w_e, w_v, w_d, w_p = linear.weight.split(behaviours.shape[-1], dim=1)  # [H1, D] each
        v = target.index_select(0, rows)  # [N, D]
        inputs = torch.cat([behaviours, behaviours * v, v], dim=-1)  # [N, 3D]
        return F.linear(inputs, torch.cat([w_e + w_d, w_p, w_v - w_d], dim=1), linear.bias)  # [N, H1]
