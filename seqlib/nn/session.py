"""DSIN's session layers: bias encoding, session interest extractor, interacting Bi-LSTM and the
session activation (Feng et al. 2019, section 4; book chapter 4, "The four layers").

Session tensors follow :class:`~seqlib.data.batch.Batch`: ``K`` session slots in chronological
order, right-padded (slot ``n_sess - 1`` is the most recent session), each holding ``T``
behaviours oldest first, right-padded. Every layer takes the masks and gives exact zeros, never
NaN, for empty sessions and for samples without sessions.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlib.checks import check_float, non_negative_float, positive_int
from seqlib.nn.dien_attention import BilinearAttention
from seqlib.nn.layers import masked_mean

Combine = Literal["concat", "sum"]


def bias_encoding(w_k: torch.Tensor, w_t: torch.Tensor, w_c: torch.Tensor) -> torch.Tensor:
    """``BE[k, t, c] = wK[k] + wT[t] + wC[c]`` (DSIN Eq. 2, chapter 4 "Bias encoding").

    Args:
        w_k: one bias per session position.  # [K]
        w_t: one bias per behaviour position inside a session.  # [T]
        w_c: one bias per embedding unit.  # [d]

    Returns:
        The bias tensor.  # [K, T, d]
    """
    return w_k[:, None, None] + w_t[None, :, None] + w_c[None, None, :]  # [K, T, d]


class BiasEncoding(nn.Module):
    """Adds ``BE[k, t, c] = wK[k] + wT[t] + wC[c]`` to the session behaviour vectors (DSIN 4.2).

    ``k`` counts sessions back from the most recent one (``k = 0`` is the latest session before
    the sample), so a position bias means the same thing for users with few and many sessions
    even though slots are right-padded; ``t`` is the position inside the session (oldest first).
    Initialised like the reference code (std 1e-4): at the embeddings' own scale (std 0.05) the
    random ``wC`` and the position biases add an offset as large as the behaviour vectors to
    every behaviour, and DSIN lost about 0.04 AUC after one epoch on the synthetic data. The
    biases still learn quickly from near zero. (The reference's NaN came from softmax over empty
    sets, which every layer here avoids.)

    Args:
        n_sessions: ``K``.
        session_len: ``T``.
        dim: behaviour vector width ``d``.
        std: standard deviation of the initial biases.
    """

    def __init__(self, n_sessions: int, session_len: int, dim: int, std: float = 1e-4) -> None:
        super().__init__()
        n_sessions, session_len = positive_int("n_sessions", n_sessions), positive_int("session_len", session_len)
        dim, std = positive_int("dim", dim), non_negative_float("std", std)
        self.w_k = nn.Parameter(torch.randn(n_sessions) * std)
        self.w_t = nn.Parameter(torch.randn(session_len) * std)
        self.w_c = nn.Parameter(torch.randn(dim) * std)

    def forward(self, x: torch.Tensor, n_sess: torch.Tensor) -> torch.Tensor:
        """Add the biases.

        Args:
            x: session behaviour vectors.  # [B, K, T, d]
            n_sess: non-empty sessions per sample.  # [B]

        Returns:
            ``x + BE`` with ``k`` = sessions before the most recent (empty slots get ``k`` of their
            own slot, irrelevant since they are masked).  # [B, K, T, d]
        """
        n_slots = x.shape[1]
        slot = torch.arange(n_slots, device=x.device)  # [K]
        back = n_sess.unsqueeze(1) - 1 - slot  # [B, K]
        back = torch.where(back >= 0, back, slot)  # [B, K]
        be = bias_encoding(self.w_k, self.w_t, self.w_c)  # [K, T, d]
        # be[back] as a one-hot product: the same values, and a backward pass that is a matmul
        # (the backward of advanced indexing accumulates in a thread-dependent order on CPU, so
        # training was not bit-for-bit repeatable under a seed with 2 threads).
        pick = F.one_hot(back, n_slots).to(x.dtype)  # [B, K, K]
        return x + torch.einsum("bkj,jtd->bktd", pick, be)  # [B, K, T, d]


class SessionExtractor(nn.Module):
    """Session interest extractor (DSIN 4.3): one Transformer encoder layer shared by all sessions,
    then ``I_k = mean`` over the session's valid positions.

    ``Q = K = V = X_k``; ``head_h = softmax(Q W_Q^h (K W_K^h)^T / sqrt(d_h)) V W_V^h`` over valid
    keys; ``X'_k = LN(X_k + [head_1..head_H] W_O)``; ``I'_k = LN(X'_k + FFN(X'_k))``;
    ``I_k = Avg(I'_k)`` (post-norm, as in the Transformer the paper cites). All ``B * K``
    sessions form one batch. An empty session attends to nothing: its query rows get no valid key,
    so the softmax would be 0/0; we let it attend to its first position and then drop it by the
    mask, so ``I_k = 0`` for an empty session.

    Args:
        dim: behaviour width ``d`` (16 at the reference shape).
        heads: attention heads (``d`` must divide; 2 by default, 8 wide each).
        ffn_dim: hidden width of the feed-forward network (``4 * d`` by default).
        dropout: dropout on the attention output and the FFN (0: the book's data are small).
    """

    def __init__(self, dim: int, heads: int = 2, ffn_dim: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        dim, heads = positive_int("dim", dim), positive_int("heads", heads)
        ffn_dim = None if ffn_dim is None else positive_int("ffn_dim", ffn_dim)
        dropout = check_float("dropout", dropout, minimum=0.0, maximum=1.0)
        if dim % heads != 0:
            raise ValueError(f"heads must divide dim, got dim={dim}, heads={heads}")
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim or 4 * dim), nn.ReLU(), nn.Linear(ffn_dim or 4 * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The Transformer encoder layer over each session.

        Args:
            x: behaviour vectors (with bias encoding).  # [B, K, T, d]
            mask: 0/1 float mask of valid behaviours.  # [B, K, T]

        Returns:
            Per-position outputs; values at padded positions are meaningless.  # [B, K, T, d]
        """
        b, k, t, d = x.shape
        flat = x.reshape(b * k, t, d)  # [N, T, d]
        keys = mask.reshape(b * k, t) > 0  # [N, T]
        keys[:, 0] |= ~keys.any(dim=1)  # empty session: a dummy key, dropped later by the mask
        q, kk, v = self.qkv(flat).view(b * k, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)  # [N, h, T, dh]
        # softmax(Q K^T / sqrt(d_h)) V over the valid keys, in torch's fused kernel
        heads = F.scaled_dot_product_attention(q, kk, v, attn_mask=keys[:, None, None, :])  # [N, h, T, dh]
        heads = heads.transpose(1, 2).reshape(b * k, t, d)  # [N, T, d]
        h = self.norm1(flat + self.dropout(self.out(heads)))  # [N, T, d]
        h = self.norm2(h + self.dropout(self.ffn(h)))  # [N, T, d]
        return h.view(b, k, t, d)  # [B, K, T, d]

    @torch.no_grad()
    def attention_weights(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The self-attention weights :meth:`encode` applies: ``softmax(Q K^T / sqrt(d_h))`` over
        the valid keys of each session, per head (for explanations and plots; no gradient).

        Args:
            x: behaviour vectors (with bias encoding).  # [B, K, T, d]
            mask: 0/1 float mask of valid behaviours.  # [B, K, T]

        Returns:
            Weights of each query position over the key positions, 0 on padded keys; each row
            of a non-empty session sums to 1 (rows of padded queries are meaningless).  # [B, K, h, T, T]
        """
        b, k, t, d = x.shape
        keys = mask.reshape(b * k, t) > 0  # [N, T]
        q, kk, _ = self.qkv(x.reshape(b * k, t, d)).view(b * k, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        scores = q @ kk.transpose(-1, -2) / self.head_dim**0.5  # [N, h, T, T]
        weights = torch.softmax(scores.masked_fill(~keys[:, None, None, :], float("-inf")), dim=-1)
        weights = torch.nan_to_num(weights, nan=0.0)  # an empty session: no valid key, all zeros
        return weights.view(b, k, self.heads, t, t)  # [B, K, h, T, T]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Session interests ``I_k``.

        Args:
            x: behaviour vectors.  # [B, K, T, d]
            mask: 0/1 float mask of valid behaviours.  # [B, K, T]

        Returns:
            Masked mean per session; zeros for empty sessions.  # [B, K, d]
        """
        b, k, t, d = x.shape
        lengths = mask.sum(dim=-1).reshape(b * k)  # [B * K]
        rows = (lengths > 0).nonzero().squeeze(1)  # [S]: only the non-empty sessions are encoded
        longest = max(int(lengths.max()), 1)  # positions past every session's end are padding
        x = x.reshape(b * k, t, d)[rows, :longest].unsqueeze(0)  # [1, S, T', d]
        mask = mask.reshape(b * k, t)[rows, :longest].unsqueeze(0)  # [1, S, T']
        interests = masked_mean(self.encode(x, mask), mask).squeeze(0)  # [S, d]
        return x.new_zeros(b * k, d).index_copy(0, rows, interests).view(b, k, d)  # [B, K, d]


class SessionInteracting(nn.Module):
    """Session interest interacting (DSIN 4.4): a Bi-LSTM over ``I_1..I_K`` that skips empty slots.

    Sessions are right-padded, so the valid sessions are the prefix ``0..n_sess - 1``; packed
    sequences run the forward LSTM over that prefix and the backward LSTM from slot
    ``n_sess - 1`` down to 0. ``H_k = [h_fwd_k, h_bwd_k]`` (``combine="concat"``, the paper's
    ``⊕``) or ``h_fwd_k + h_bwd_k`` (``"sum"``). Empty slots and samples without sessions get
    ``H_k = 0``.

    Args:
        dim: session interest width ``d``.
        hidden: LSTM state width per direction (``d`` by default).
        combine: ``"concat"`` (output ``2 * hidden`` wide) or ``"sum"`` (``hidden`` wide).
    """

    def __init__(self, dim: int, hidden: int | None = None, combine: Combine = "concat") -> None:
        super().__init__()
        if combine not in ("concat", "sum"):
            raise ValueError(f"combine must be 'concat' or 'sum', got {combine!r}")
        dim = positive_int("dim", dim)
        self.hidden, self.combine = dim if hidden is None else positive_int("hidden", hidden), combine
        self.lstm = nn.LSTM(dim, self.hidden, batch_first=True, bidirectional=True)
        self.out_dim = 2 * self.hidden if combine == "concat" else self.hidden

    def forward(self, interests: torch.Tensor, n_sess: torch.Tensor) -> torch.Tensor:
        """Hidden states ``H_k``.

        Args:
            interests: session interests ``I_k``.  # [B, K, d]
            n_sess: non-empty sessions per sample.  # [B]

        Returns:
            Combined states; zero on empty slots.  # [B, K, out_dim]
        """
        k = interests.shape[1]
        lengths = n_sess.clamp(min=1).cpu()  # [B]
        packed = pack_padded_sequence(interests, lengths, batch_first=True, enforce_sorted=False)
        states, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=k)  # [B, K, 2h]
        if self.combine == "sum":
            states = states[..., : self.hidden] + states[..., self.hidden :]  # [B, K, h]
        valid = (torch.arange(k, device=n_sess.device) < n_sess.unsqueeze(1)).to(states.dtype)  # [B, K]
        return states * valid.unsqueeze(-1)  # [B, K, out_dim]


class SessionActivation(nn.Module):
    """Session interest activating (DSIN 4.5): ``a_k = softmax_k(I_k W X_I)`` over non-empty
    sessions, ``U = sum_k a_k I_k``; zero weights and ``U = 0`` without sessions.

    The bilinear form and its masked softmax are DIEN's :class:`BilinearAttention`.

    Args:
        state_dim: width of the session states (``I_k`` or ``H_k``).
        target_dim: width of the target item vector ``X_I``.
    """

    def __init__(self, state_dim: int, target_dim: int) -> None:
        super().__init__()
        self.attention = BilinearAttention(state_dim, target_dim)

    def forward(
        self, states: torch.Tensor, target: torch.Tensor, valid: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool the session states for the target.

        Args:
            states: session states.  # [B, K, S]
            target: target item vectors.  # [B, D]
            valid: 0/1 float mask of non-empty sessions.  # [B, K]

        Returns:
            ``(U, a)``: the pooled vector and the weights.  # [B, S], [B, K]
        """
        weights = self.attention(states, target, valid)  # [B, K]
        pooled = torch.bmm(weights.unsqueeze(1), states).squeeze(1)  # [B, S]
        return pooled, weights


__all__ = ["BiasEncoding", "SessionActivation", "SessionExtractor", "SessionInteracting", "bias_encoding"]
