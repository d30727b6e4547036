"""DIEN: Deep Interest Evolution Network (Zhou et al., AAAI 2019; book chapter 3).

Behaviours are the surface; interests are a latent state that evolves. An extractor GRU turns
behaviours ``e_t`` into interest states ``h_t`` (trained to predict the next behaviour by the
auxiliary loss); an attention scores each ``h_t`` against the candidate; an attentional GRU
(AUGRU) evolves the interests relevant to the candidate. The tower reads
``[user, target, pooled history, h'_T]`` (and, in the released form, ``target * pooled``).

Two complete configurations (:data:`FORMS`), every element also an option of its own:

* ``form="released"`` (default): what the authors' released code computes (the DIEN repository's
  ``Model_DIN_V2_Gru_Vec_attGru_Neg``, whose runs gave the published tables): the keep-gate AUGRU
  with TensorFlow's reset placement and gate bias 1 (``VecAttGRUCell``), the attention MLP on the
  projected target with sigmoid activations and a masked softmax (``din_fcn_attention``), the
  100-50 MLP auxiliary scorer averaged over all ``N * (T - 1)`` positions;
* ``form="paper"``: the forms printed in the paper: ``u~ = a_t * u`` (Eq. 16), the bilinear
  softmax attention (Eq. 13), the inner-product auxiliary scorer (Eq. 8, mean over valid pairs).

Two departures from the released code are on by default, each an option that restores it:

* ``target_product=False``: the released tower also reads ``target * pooled``; on the planted DIEN
  log of chapter 3 that holds the model near a bag of items (both departures undone: test AUC
  0.808 ± 0.004 against the default's 0.872 ± 0.006, three seeds; the tower settles on the
  product's count of similar items before the evolving layer is of use). On all of MovieLens-1M
  the term alone moves the test AUC by -0.0001 to +0.0015 across three seeds (book chapter 5).
* ``aux_moves_items=False``: the auxiliary loss scores the next behaviour and its negative with
  their item vectors detached, so it trains the extractor (and, through its states, the embeddings
  of the history) and its scorer, but does not move the item vectors it scores against, which the
  candidate shares. The paper and the released code let it move them (``aux_moves_items=True``).
  On the Taobao slice that makes DIEN fit the training period's items: a validation AUC far above
  its test AUC, which falls below the base model's on every seed; with the vectors detached DIEN
  ranks the test period above the base model, and on the planted DIEN log the two are level
  (book chapters 3 and 5). On all of MovieLens-1M, whose test candidates were all candidates in
  training (a third of them on the Taobao slice), moving them is worth 0.003 AUC and brings DIEN
  level with DIN (book chapter 5).

Other differences from the released code: the extractor is PyTorch's GRU (reset gate after the
recurrent matmul; the released extractor is TensorFlow's); the tower uses PReLU by default, where
the released tower uses Dice (``tower_activation="dice"``, DIN's activation as chapter 2 builds it,
with running statistics at inference where the released Dice always reads the batch's; on all of
MovieLens-1M, added to both departures undone, it moves the test AUC by -0.0012 to +0.0020 across
three seeds, book chapter 5), and no
batch normalisation (the released code's runs in inference mode with its initial statistics, an
affine map); the auxiliary negatives are redrawn for every batch by :func:`~seqlib.train.fit`
(the released data iterator draws them as it reads each batch too).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal, Sequence

import torch
from torch.nn import functional as F

from seqlib.checks import non_negative_float, positive_int, positive_sizes
from seqlib.data.batch import Batch
from seqlib.data.samples import Vocab
from seqlib.models.base import CTRModel
from seqlib.models.registry import register
from seqlib.nn.aux_loss import AuxiliaryMLP, AuxScale, auxiliary_loss, check_aux_scale
from seqlib.nn.dice import activation as make_activation
from seqlib.nn.dien_attention import AttentionKind, AttentionNorm, make_attention
from seqlib.nn.gru import Gate, InterestExtractor, Reset, evolve, make_cell
from seqlib.nn.layers import MLP, masked_sum

Form = Literal["released", "paper"]

# The options each form sets; an option given to DIEN(...) overrides its form's value.
FORMS: dict[str, dict[str, Any]] = {
    "released": {"gate": "tf-keep", "reset": "before", "gate_bias": 1.0, "attention": "released",
                 "aux_scorer": "mlp", "aux_scale": "positions"},
    "paper": {"gate": "paper", "reset": "after", "gate_bias": None, "attention": "bilinear",
              "aux_scorer": "inner", "aux_scale": "pairs"},
}


@register("dien")
class DIEN(CTRModel):
    """Interest extractor + auxiliary loss + attention + interest evolving layer.

    ``loss(batch) = L_target + alpha * L_aux`` (DIEN Eq. 9), ``alpha = aux_weight``.

    Args:
        vocab: vocabulary sizes.
        dim: embedding size per field (behaviour vectors are ``2 * dim`` wide).
        form: ``"released"`` (default, the authors' released code) or ``"paper"`` (the printed
            equations); sets every option below that is left at ``None`` (:data:`FORMS`).
        hidden_size: GRU state width; defaults to the behaviour width (needed by the
            inner-product auxiliary scorer).
        tower: tower sizes (200-80).
        gru_type: evolving cell: ``"augru"`` (both forms), ``"agru"``, ``"aigru"`` or ``"gru"``.
        gate: AUGRU's gate form: ``"paper"`` (``u~ = a u``) or ``"tf-keep"`` (released).
        reset: the evolving cell's reset placement, ``"after"`` (PyTorch) or ``"before"`` (TF).
        gate_bias: start value of the evolving cell's gate bias (``None``: uniform; 1.0: TF).
        fused: the evolving cell's update as one ``torch.lerp`` (same values, faster).
        aux_weight: alpha; 1 in the paper and the released code, 0 switches the auxiliary loss off.
        aux_scorer: ``"inner"`` (paper text) or ``"mlp"`` (released code).
        aux_scale: ``"pairs"``, ``"paper"`` or ``"positions"`` (see
            :func:`~seqlib.nn.aux_loss.auxiliary_loss`).
        attention: ``"bilinear"`` (paper, Eq. 13), ``"released"`` (MLP on the projected target,
            sigmoid activations) or ``"mlp"`` (DIN's unit with Dice, DeepCTR).
        attention_norm: ``"softmax"`` over the valid steps (paper and public code) or
            ``"sigmoid"`` per step (each ``a_t`` in (0, 1) on its own; departs from both).
        target_product: feed ``target * pooled`` to the tower too, as the released code does (off by
            default, a named departure: see the module docstring).
        aux_moves_items: let the auxiliary loss move the item vectors it scores (the next behaviour
            and its negative), as the paper and the released code do; False (default, a named
            departure) detaches them (see the module docstring).
        tower_activation: ``"prelu"`` (default) or ``"dice"`` (the released code's tower) after each
            hidden layer of the tower.

    Raises:
        TypeError: ``vocab`` is not a Vocab.
        ValueError: an option out of range (the message names it), e.g. ``dim=0``,
            ``aux_weight=nan``, ``hidden_size=0`` or ``form="tf"``.
    """

    relative_cost = 4.0  # see CTRModel.relative_cost

    def __init__(
        self,
        vocab: Vocab,
        dim: int = 8,
        form: Form = "released",
        hidden_size: int | None = None,
        tower: Sequence[int] = (200, 80),
        gru_type: Literal["augru", "agru", "aigru", "gru"] = "augru",
        gate: Gate | None = None,
        reset: Reset | None = None,
        gate_bias: float | None = None,
        fused: bool = True,
        aux_weight: float = 1.0,
        aux_scorer: Literal["inner", "mlp"] | None = None,
        aux_scale: AuxScale | None = None,
        attention: AttentionKind | None = None,
        attention_norm: AttentionNorm = "softmax",
        target_product: bool = False,
        aux_moves_items: bool = False,
        tower_activation: Literal["prelu", "dice"] = "prelu",
    ) -> None:
        super().__init__(vocab, dim)
        if form not in FORMS:
            raise ValueError(f"form must be 'released' (the authors' released code) or 'paper' (the printed "
                             f"equations), got {form!r}")
        given = {"gate": gate, "reset": reset, "gate_bias": gate_bias, "attention": attention,
                 "aux_scorer": aux_scorer, "aux_scale": aux_scale}
        options = {**FORMS[form], **{k: v for k, v in given.items() if v is not None}}
        for name, flag in (("target_product", target_product), ("fused", fused), ("aux_moves_items", aux_moves_items)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, got {flag!r} ({type(flag).__name__})")
        if gate not in (None, "paper") and gru_type != "augru":
            raise ValueError(f"gate={gate!r} only applies to gru_type='augru', got gru_type={gru_type!r}")
        if tower_activation not in ("prelu", "dice"):
            raise ValueError(f"tower_activation must be 'prelu' (default) or 'dice' (the released code's tower), "
                             f"got {tower_activation!r}")
        if options["aux_scorer"] not in ("inner", "mlp"):
            raise ValueError(f"aux_scorer must be 'inner' or 'mlp', got {options['aux_scorer']!r}")
        aux_weight = non_negative_float("aux_weight", aux_weight)
        tower = positive_sizes("tower", tower)
        d = self.embed.out_dim
        h = d if hidden_size is None else positive_int("hidden_size", hidden_size)
        if options["aux_scorer"] == "inner" and h != d:
            raise ValueError(f"aux_scorer='inner' needs hidden_size == {d} (the behaviour width), got {h}")
        self.form, self.options = form, options
        self.gru_type, self.gate, self.aux_weight = gru_type, options["gate"], aux_weight
        self.extractor = InterestExtractor(d, h)
        self.attention = make_attention(options["attention"], h, d, attention_norm)
        self.evolving = make_cell(gru_type, h, h, options["gate"] if gru_type == "augru" else "paper",
                                  options["reset"], options["gate_bias"], fused)
        self.aux_scorer = AuxiliaryMLP(h, d) if options["aux_scorer"] == "mlp" else None
        self.aux_scale = check_aux_scale(options["aux_scale"])
        self.target_product, self.aux_moves_items = target_product, aux_moves_items
        self.tower_activation = tower_activation
        self.tower = MLP(dim + (3 if self.target_product else 2) * d + h, tower, out_dim=1,
                         activation=partial(make_activation, tower_activation))

    def interests(self, batch: Batch, temperature: float = 1.0, trace: bool = False) -> dict[str, torch.Tensor]:
        """Everything between the embeddings and the tower.

        Args:
            batch: a batch.
            temperature: divides the attention scores (1 in training; the widget varies it).
            trace: also return the evolving layer's per-step states and gates.

        Returns:
            ``target [B, D]``, ``behaviours [B, L, D]``, ``mask [B, L]``, ``states [B, L, H]``
            (extractor), ``attention [B, L]``, ``final [B, H]`` (evolved ``h'_T``) and, with
            ``trace``, ``evolved``, ``update``, ``scaled`` (``[B, L, H]`` each).
        """
        target = self.embed(batch.item, batch.cate)  # [B, D]
        behaviours = self.history(batch)  # [B, L, D]
        mask = batch.hist_mask  # [B, L]
        states, _ = self.extractor(behaviours, batch.hist_len)  # [B, L, H]
        attention = self.attention(states, target, mask, temperature)  # [B, L]
        final, steps = evolve(self.evolving, states, attention, mask, trace=trace)  # [B, H]
        out = {"target": target, "behaviours": behaviours, "mask": mask, "states": states,
               "attention": attention, "final": final}
        if trace:
            out.update(evolved=steps["states"], update=steps["update"], scaled=steps["scaled"])
        return out

    def _logits(self, batch: Batch, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        target = parts["target"]  # [B, D]
        pooled = masked_sum(parts["behaviours"], parts["mask"])  # [B, D]
        inputs = [self.user(batch.user), target, pooled] + ([target * pooled] if self.target_product else [])
        x = torch.cat(inputs + [parts["final"]], dim=-1)  # [B, dim + 2D (+ D) + H]
        return self.tower(x).squeeze(-1)  # [B]

    def forward(self, batch: Batch) -> torch.Tensor:
        """Click logits.  # [B]"""
        return self._logits(batch, self.interests(batch))

    def aux_loss(self, batch: Batch, parts: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The auxiliary loss: ``h_t`` against the next behaviour and its sampled negative.

        The next behaviour and the negative are both plain item vectors (no feedback feature:
        a negative has none, so it would give the answer away).

        Args:
            batch: a batch.
            parts: the output of :meth:`interests` for this batch, if already computed.

        Returns:
            The scalar loss.
        """
        if parts is None:
            behaviours = self.history(batch)  # [B, L, D]
            parts = {"mask": batch.hist_mask, "behaviours": behaviours,
                     "states": self.extractor(behaviours, batch.hist_len)[0]}
        if batch.hist_feedback is None or self.embed.feedback is None:
            positives = parts["behaviours"]  # [B, L, D]: already the plain item vectors
        else:
            positives = self.embed(batch.hist_item, batch.hist_cate)  # [B, L, D]
        negatives = self.embed(batch.neg_item, batch.neg_cate)  # [B, L, D]
        if not self.aux_moves_items:  # score against the item vectors without moving them
            positives, negatives = positives.detach(), negatives.detach()
        return auxiliary_loss(parts["states"], positives, negatives, parts["mask"], self.aux_scorer, self.aux_scale)

    def loss(self, batch: Batch) -> torch.Tensor:
        """``L = L_target + alpha * L_aux`` (DIEN Eq. 9)."""
        parts = self.interests(batch)
        target_loss = F.binary_cross_entropy_with_logits(self._logits(batch, parts), batch.label)
        if self.aux_weight == 0:
            return target_loss
        return target_loss + self.aux_weight * self.aux_loss(batch, parts)

    @torch.no_grad()
    def gate_trace(self, batch: Batch, temperature: float = 1.0) -> dict[str, torch.Tensor]:
        """Per-step attention and gates of the evolving layer, in eval mode (for the widget).

        Args:
            batch: a batch.
            temperature: divides the attention scores before the softmax.

        Returns:
            ``attention [B, L]``, ``update [B, L, H]`` (raw ``u_t``), ``scaled [B, L, H]`` (the
            gate applied, e.g. ``a_t * u_t``), ``evolved [B, L, H]`` (states ``h'_t``), ``mask``.
        """
        was_training = self.training
        self.eval()
        parts = self.interests(batch, temperature=temperature, trace=True)
        self.train(was_training)
        return {k: parts[k] for k in ("attention", "update", "scaled", "evolved", "mask")}

    def explain(self, batch: Batch) -> torch.Tensor:
        """The attention ``a_t`` on the extractor's states (softmax over the valid steps by
        default), in eval mode without gradients; 0 on padding.  # [B, L]"""
        return self.in_eval(lambda b: self.interests(b)["attention"], batch)
