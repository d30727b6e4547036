"""DSIN: Deep Session Interest Network (Feng et al., IJCAI 2019; book chapter 4).

Behaviours are homogeneous inside a session and heterogeneous across sessions. DSIN divides a
user's behaviours into sessions (30-minute rule, done in :func:`~seqlib.data.build_samples`),
adds a bias encoding, extracts one interest per session with a shared Transformer encoder layer,
lets the session interests interact through a Bi-LSTM, and activates both with bilinear
attention against the candidate. The tower reads ``[user, item, U^I, U^H]`` (DSIN paper, section 4).
"""

from __future__ import annotations

from typing import Sequence

import torch

from seqlib.checks import positive_int, positive_sizes
from seqlib.data.batch import Batch
from seqlib.data.samples import Vocab
from seqlib.models.base import CTRModel
from seqlib.models.registry import register
from seqlib.nn.layers import MLP
from seqlib.nn.session import BiasEncoding, Combine, SessionActivation, SessionExtractor, SessionInteracting


@register("dsin")
class DSIN(CTRModel):
    """Session division (in the data) + bias encoding + extractor + Bi-LSTM + two activations.

    Args:
        vocab: vocabulary sizes.
        dim: embedding size per field (behaviour vectors are ``2 * dim`` wide).
        n_sessions: session slots ``K`` of the batches (the bias encoding's size).
        session_len: behaviours per session ``T``.
        heads: attention heads of the extractor (2 heads of 8 at ``dim=8``).
        tower: tower sizes (200-80).
        bias_encoding: add ``BE`` (False is a DSIN-PE-like ablation: no position information
            at all, since the extractor itself has none).
        interacting: use the Bi-LSTM and ``U^H`` (False is the paper's "DSIN-BE without
            Bi-LSTM").
        combine: how ``H_k`` joins the Bi-LSTM directions: ``"concat"`` (paper) or ``"sum"``.

    Raises:
        TypeError: ``vocab`` is not a Vocab.
        ValueError: an option out of range (the message names it), e.g. ``dim=0``,
            ``session_len=0`` or ``heads`` not dividing ``2 * dim``.
    """

    relative_cost = 2.5  # see CTRModel.relative_cost

    def __init__(
        self,
        vocab: Vocab,
        dim: int = 8,
        n_sessions: int = 5,
        session_len: int = 10,
        heads: int = 2,
        tower: Sequence[int] = (200, 80),
        bias_encoding: bool = True,
        interacting: bool = True,
        combine: Combine = "concat",
    ) -> None:
        super().__init__(vocab, dim)
        d = self.embed.out_dim
        n_sessions, session_len = positive_int("n_sessions", n_sessions), positive_int("session_len", session_len)
        heads, tower = positive_int("heads", heads), positive_sizes("tower", tower)
        if d % heads:
            divisors = [h for h in range(1, d + 1) if d % h == 0]
            raise ValueError(f"heads={heads} must divide the behaviour width 2 * dim = {d}; use one of {divisors}")
        for name, flag in (("bias_encoding", bias_encoding), ("interacting", interacting)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        self.n_sessions, self.session_len = n_sessions, session_len
        self.bias = BiasEncoding(n_sessions, session_len, d) if bias_encoding else None
        self.extractor = SessionExtractor(d, heads)
        self.interacting = SessionInteracting(d, combine=combine) if interacting else None
        self.activate_i = SessionActivation(d, d)
        self.activate_h = SessionActivation(self.interacting.out_dim, d) if interacting else None
        h = self.interacting.out_dim if interacting else 0
        self.tower = MLP(dim + 2 * d + h, tower, out_dim=1)

    def interests(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Everything between the embeddings and the tower.

        Args:
            batch: a batch with ``K = n_sessions`` slots of ``T = session_len`` behaviours.

        Returns:
            ``target`` [B, D]; ``I`` session interests [B, K, D]; ``a_I`` [B, K] and ``U_I``
            [B, D]; with the Bi-LSTM also ``H`` [B, K, H], ``a_H`` [B, K] and ``U_H`` [B, H].

        Raises:
            ValueError: the batch's session shape differs from the model's.
        """
        self.check_batch(batch)
        if batch.sess_item.shape[1:] != (self.n_sessions, self.session_len):
            raise ValueError(
                f"batch has sessions of shape {tuple(batch.sess_item.shape[1:])}, "
                f"the model expects (n_sessions, session_len) = ({self.n_sessions}, {self.session_len}); build the "
                f"model with create_for('dsin', train), which takes the samples' shape, or pass n_sessions and "
                f"session_len (MovieLens' samples have sessions of up to 20)"
            )
        target = self.embed(batch.item, batch.cate)  # [B, D]
        x = self.embed(batch.sess_item, batch.sess_cate, batch.sess_feedback)  # [B, K, T, D]
        if self.bias is not None:
            x = self.bias(x, batch.n_sess)  # [B, K, T, D]
        valid = batch.sess_valid  # [B, K]
        interests = self.extractor(x, batch.sess_mask)  # [B, K, D]
        u_i, a_i = self.activate_i(interests, target, valid)  # [B, D], [B, K]
        out = {"target": target, "I": interests, "a_I": a_i, "U_I": u_i}
        if self.interacting is not None:
            states = self.interacting(interests, batch.n_sess)  # [B, K, H]
            u_h, a_h = self.activate_h(states, target, valid)  # [B, H], [B, K]
            out.update(H=states, a_H=a_h, U_H=u_h)
        return out

    def forward(self, batch: Batch) -> torch.Tensor:
        """Click logits.  # [B]"""
        parts = self.interests(batch)
        pooled = [parts["U_I"]] + ([parts["U_H"]] if "U_H" in parts else [])
        x = torch.cat([self.user(batch.user), parts["target"], *pooled], dim=-1)  # [B, dim + D + D (+ H)]
        return self.tower(x).squeeze(-1)  # [B]

    def explain_mask(self, batch: Batch) -> torch.Tensor:
        """The valid positions :meth:`explain` scores: ``batch.sess_mask``.  # [B, K, T]"""
        return batch.sess_mask

    def explain(self, batch: Batch) -> torch.Tensor:
        """The first activation's session weight ``a_k`` (of ``U^I``) shared equally by the
        behaviours of session ``k``, in eval mode without gradients: sums to 1 over the valid
        behaviours of a sample with sessions, 0 on padding and without sessions.  # [B, K, T]"""
        a_i = self.in_eval(lambda b: self.interests(b)["a_I"], batch)  # [B, K]
        share = a_i / batch.sess_len.clamp(min=1).to(a_i.dtype)  # [B, K]: a_k / |session k|
        return share.unsqueeze(-1) * batch.sess_mask  # [B, K, T]

    @torch.no_grad()
    def session_attention(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Session boundaries and per-session attention for a batch (eval mode, for plots).

        Args:
            batch: a batch.

        Returns:
            ``sess_len`` [B, K] and ``n_sess`` [B] (which behaviours form which session; slot
            ``n_sess - 1`` is the most recent), ``start`` [B, K] (index of each session's first
            behaviour when the sessions are laid end to end), ``a_I`` [B, K] and ``a_H`` [B, K]
            (zeros without the Bi-LSTM).
        """
        was_training = self.training
        self.eval()
        parts = self.interests(batch)
        self.train(was_training)
        start = torch.cumsum(batch.sess_len, dim=1) - batch.sess_len  # [B, K]
        return {
            "sess_len": batch.sess_len,
            "n_sess": batch.n_sess,
            "start": start,
            "a_I": parts["a_I"],
            "a_H": parts.get("a_H", torch.zeros_like(parts["a_I"])),
        }
