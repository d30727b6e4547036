"""Mini-batch aware L2 regularisation (DIN section 4.1; book chapter 2).

Plain L2 on an embedding table touches every row at every step, although a mini-batch uses only
a few of them: slow for large vocabularies, and it shrinks the rows of items that were not even
seen. The paper's approximation penalises only the rows present in the mini-batch, each scaled by
``1 / n_j`` (``n_j`` = the number of training samples containing id ``j``), so that over one epoch
every row is penalised about ``lambda * ||w_j||^2`` in total, and rare ids relatively more per
occurrence than frequent ones.
"""

from __future__ import annotations

import torch


def mba_penalty(weight: torch.Tensor, ids: torch.Tensor, counts: torch.Tensor, lam: float) -> torch.Tensor:
    """``lambda * sum_{j in batch} ||w_j||^2 / n_j`` over the distinct non-padding ids of a batch.

    Args:
        weight: the embedding table.  # [V, d]
        ids: every id the mini-batch uses (targets and behaviours), any shape; 0 is padding.  # [*]
        counts: ``n_j``, training samples containing each id (e.g. ``SampleSet.item_counts()``);
            ids never seen in training count as 1.  # [V]
        lam: the regularisation strength ``lambda``.

    Returns:
        The penalty (a scalar).
    """
    if counts.shape != weight.shape[:1]:
        raise ValueError(f"counts has shape {tuple(counts.shape)}, expected ({weight.shape[0]},) (one per row)")
    present = torch.unique(ids)  # [M]: each row once per mini-batch
    present = present[present > 0]
    rows = weight[present]  # [M, d]
    return lam * (rows.square().sum(dim=-1) / counts[present].clamp(min=1.0)).sum()


def l2_penalty(weight: torch.Tensor, lam: float) -> torch.Tensor:
    """Plain L2 on the whole table: ``lambda * sum_j ||w_j||^2`` (padding row included, it is 0).

    Args:
        weight: the embedding table.  # [V, d]
        lam: the regularisation strength.

    Returns:
        The penalty (a scalar).
    """
    return lam * weight.square().sum()
