"""Shared building blocks: the item embedding, the MLP tower and masked pooling."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from seqlib.checks import check_float, check_int, positive_int, positive_sizes


class ItemEmbedding(nn.Module):
    """An item is the concatenation of its id embedding and its category embedding (DIN 6.1).

    Behaviours and the target share these tables; id 0 is padding and embeds to zeros. When the
    data carry a behaviour-feedback feature (a MovieLens rating, a Taobao behaviour type), a
    behaviour's vector also gets the embedding of its feedback level added; the target has no
    feedback and gets nothing added.

    Args:
        n_items: item vocabulary size (padding included).
        n_cates: category vocabulary size (padding included).
        dim: embedding size per field, so an item vector has ``2 * dim`` entries.
        n_feedback: feedback levels ("none" included); 0 for no feedback table.
    """

    def __init__(self, n_items: int, n_cates: int, dim: int = 8, n_feedback: int = 0) -> None:
        super().__init__()
        n_items, n_cates, dim = positive_int("n_items", n_items), positive_int("n_cates", n_cates), positive_int("dim", dim)
        n_feedback = check_int("n_feedback", n_feedback, minimum=0)
        self.item = nn.Embedding(n_items, dim, padding_idx=0)
        self.cate = nn.Embedding(n_cates, dim, padding_idx=0)
        self.feedback = nn.Embedding(n_feedback, 2 * dim, padding_idx=0) if n_feedback > 0 else None
        for table in (self.item, self.cate, self.feedback):
            if table is not None:
                nn.init.normal_(table.weight, std=0.05)
                with torch.no_grad():
                    table.weight[0].zero_()
        self.out_dim = 2 * dim

    def forward(self, item: torch.Tensor, cate: torch.Tensor, feedback: torch.Tensor | None = None) -> torch.Tensor:
        """Embed items (and add the behaviour feedback, when given and the model has a table).

        Args:
            item: item ids, any shape ``S``.  # [*S]
            cate: category ids, same shape.  # [*S]
            feedback: feedback levels, same shape, 0 = none; or None.  # [*S]

        Returns:
            ``[e_item, e_cate]`` (``+ e_feedback``).  # [*S, 2 * dim]
        """
        vectors = torch.cat([self.item(item), self.cate(cate)], dim=-1)  # [*S, 2 * dim]
        if feedback is None or self.feedback is None:
            return vectors
        return vectors + self.feedback(feedback)  # [*S, 2 * dim]


class MLP(nn.Module):
    """Fully connected layers with an activation after each hidden layer.

    Args:
        in_dim: input size.
        hidden: sizes of the hidden layers, e.g. ``(200, 80)`` for the DIN tower.
        out_dim: output size (``None`` to end at the last hidden layer).
        activation: builds the activation module for a layer width (e.g. ``nn.PReLU``-like
            factories or DIN's Dice). Defaults to a per-unit PReLU.
        dropout: dropout probability after each activation.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int | None = 1,
        activation: Callable[[int], nn.Module] | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        in_dim, hidden = positive_int("in_dim", in_dim), positive_sizes("hidden", hidden)
        if out_dim is not None:
            out_dim = positive_int("out_dim", out_dim)
        dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0)
        make_act = activation or (lambda width: nn.PReLU(width, init=0.25))
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers += [nn.Linear(width, size), make_act(size)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        if out_dim is not None:
            layers.append(nn.Linear(width, out_dim))
            width = out_dim
        self.net = nn.Sequential(*layers)
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layers to the last axis.  # [*, in_dim] -> [*, out_dim]"""
        return self.net(x)


def masked_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum over positions where ``mask`` is 1 (sum pooling of the "bag of items").

    Args:
        values: per-position vectors.  # [B, L, D]
        mask: 0/1 float mask of valid positions.  # [B, L]

    Returns:
        The pooled vector; all zeros for an empty history.  # [B, D]
    """
    return (values * mask.unsqueeze(-1)).sum(dim=1)  # [B, D]


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average over positions where ``mask`` is 1; all zeros (not NaN) when nothing is valid.

    Args:
        values: per-position vectors.  # [*, L, D]
        mask: 0/1 float mask of valid positions.  # [*, L]

    Returns:
        The mean vector.  # [*, D]
    """
    total = (values * mask.unsqueeze(-1)).sum(dim=-2)  # [*, D]
    count = mask.sum(dim=-1, keepdim=True).clamp(min=1.0)  # [*, 1]
    return total / count


# Added to padded scores before a softmax: exp() of it is exactly 0 next to any real score, and an
# all-padding row stays finite (its weights are then zeroed by the mask).
_PAD_SCORE = -1e9


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the valid positions; 0 on padding and an all-zero row for an empty history.

    Args:
        scores: raw scores.  # [B, L]
        mask: 0/1 float mask of valid positions.  # [B, L]

    Returns:
        Weights summing to 1 over the valid positions of each non-empty row.  # [B, L]
    """
    return torch.softmax(scores.masked_fill(mask == 0, _PAD_SCORE), dim=-1) * mask
