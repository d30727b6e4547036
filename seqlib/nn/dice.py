"""Dice, DIN's data-adaptive activation (Zhou et al. 2018, section 4.3; book chapter 2).

PReLU switches from slope ``alpha`` to slope 1 at ``s = 0``, whatever the data. Dice moves the
switch to where the inputs are: a smooth indicator ``p(s)`` of "above the batch mean", with the
input standardised by the batch statistics (running averages at inference, like BatchNorm without
an affine part).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from seqlib.checks import check_float, non_negative_float, positive_int


def masked_moments(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit mean and (biased) variance over every leading position where ``mask`` is 1.

    Args:
        x: inputs.  # [*, H]
        mask: 0/1 mask of the positions that count.  # [*]

    Returns:
        ``(mean, var)``; both 0 when no position counts.  # [H], [H]
    """
    flat = x.reshape(-1, x.shape[-1])  # [N, H]
    if mask.shape != x.shape[:-1]:
        raise ValueError(f"mask shape {tuple(mask.shape)} must equal the input's leading shape {tuple(x.shape[:-1])}")
    w = mask.reshape(-1, 1).to(x.dtype)  # [N, 1]
    count = w.sum().clamp(min=1.0)
    mean = (flat * w).sum(dim=0) / count  # [H]
    var = ((flat - mean).square() * w).sum(dim=0) / count  # [H]
    return mean, var


class Dice(nn.Module):
    """``f(s) = p(s) * s + (1 - p(s)) * alpha * s``, ``p(s) = sigmoid((s - E[s]) / sqrt(Var[s] + eps))``
    (DIN Eq. 9-10).

    Per-unit ``alpha``; batch statistics in training (only over positions where ``mask`` is 1, so
    padding never enters them), running averages in eval. With ``E[s] = 0`` and ``Var[s] = 0``
    the gate is a step at 0 and Dice is PReLU.

    Args:
        dim: number of units ``H`` (the last axis of the input).
        eps: added to the variance (1e-8 in the paper).
        momentum: weight of the current batch in the running averages.
        alpha_init: initial slope below the switch point, for every unit.
    """

    def __init__(self, dim: int, eps: float = 1e-8, momentum: float = 0.1, alpha_init: float = 0.25) -> None:
        super().__init__()
        dim = positive_int("dim", dim)
        self.eps = non_negative_float("eps", eps)
        self.momentum = check_float("momentum", momentum, minimum=0.0, maximum=1.0)
        self.alpha = nn.Parameter(torch.full((dim,), check_float("alpha_init", alpha_init)))
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Apply Dice along the last axis.

        Args:
            x: inputs.  # [*, H]
            mask: 0/1 mask of valid positions (padding excluded from the statistics).  # [*]

        Returns:
            Activations (padded positions are computed too; mask them downstream).  # [*, H]
        """
        p = torch.sigmoid(self.standardize(x, mask))  # [*, H]: the gate p(s)
        return x * torch.addcmul(self.alpha, p, 1 - self.alpha)  # p * s + (1 - p) * alpha * s

    def standardize(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(s - E[s]) / sqrt(Var[s] + eps)``: batch statistics over the valid positions in
        training (updating the running averages), the running averages in eval.

        Args:
            x: inputs.  # [*, H]
            mask: 0/1 mask of valid positions, or None for all.  # [*]

        Returns:
            The standardised inputs.  # [*, H]
        """
        flat = x.reshape(-1, x.shape[-1])  # [N, H]
        if mask is None and (not self.training or flat.shape[0] > 1):
            # The fused BatchNorm kernel (no affine) computes exactly this, and fast.
            z = F.batch_norm(flat, self.running_mean, self.running_var, training=self.training,
                             momentum=self.momentum, eps=self.eps)  # [N, H]
            return z.reshape(x.shape)
        if not self.training:
            return (x - self.running_mean) * torch.rsqrt(self.running_var + self.eps)
        if mask is None:  # a batch of one (or none): the general path handles it without NaN
            mask = x.new_ones(x.shape[:-1])
        mean, var = masked_moments(x, mask)  # [H], [H]
        self._update_running(mean, var, mask)
        return (x - mean) * torch.rsqrt(var + self.eps)

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, mask: torch.Tensor) -> None:
        """Move the running averages towards this batch's statistics, with the unbiased variance
        as BatchNorm does; a batch with fewer than 2 valid positions leaves them unchanged."""
        count = float(mask.sum())
        if count < 2:
            return
        self.running_mean.lerp_(mean, self.momentum)
        self.running_var.lerp_(var * count / (count - 1), self.momentum)


def activation(name: Literal["dice", "prelu", "sigmoid"], dim: int) -> nn.Module:
    """The activation module a DIN layer of width ``dim`` uses.

    Args:
        name: ``"dice"`` (:class:`Dice`), ``"prelu"`` (per-unit ``torch.nn.PReLU``, slope 0.25) or
            ``"sigmoid"`` (what the DIEN authors' released attention MLP uses).
        dim: layer width.

    Returns:
        The module.

    Raises:
        ValueError: unknown name.
    """
    if name == "dice":
        return Dice(dim)
    if name == "prelu":
        return nn.PReLU(dim, init=0.25)
    if name == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(f"activation must be 'dice', 'prelu' or 'sigmoid', got {name!r}")
