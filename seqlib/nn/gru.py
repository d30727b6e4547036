"""DIEN's recurrent parts: the interest extractor and the attentional GRU cells (book chapter 3).

The extractor is a plain GRU over the behaviour sequence. The interest evolving layer runs one of
four cells over the extractor states ``h_t`` with the attention ``a_t`` (DIEN section 4.3):

* ``GRUCell``  -- no attention (the baseline the widget compares against);
* ``AIGRUCell`` -- the input is scaled, ``i'_t = a_t * h_t``, then a standard GRU;
* ``AGRUCell``  -- attention replaces the update gate, ``h'_t = (1 - a_t) * h'_{t-1} + a_t * h~'_t``;
* ``AUGRUCell`` -- attention scales the update gate: ``u~'_t = a_t * u'_t`` as printed in the paper
  (``gate="paper"``), or the keep-gate form the authors' released code computes
  (``gate="tf-keep"``: ``u~'_t = 1 - (1 - a_t)(1 - u'_t)``, see :func:`scale_update_gate`).

Each step is written as the paper prints it -- ``r``, ``u``, ``h~`` and the update
``h' = (1 - u~) * h + u~ * h~`` (:func:`gru_update`); ``fused=True`` computes the same update with one
``torch.lerp`` (the fast path, equal up to rounding). Two details of the released TensorFlow code are
options of every cell: ``reset="before"`` applies the reset gate to the state *before* the recurrent
matmul (``h~ = tanh(W_h x + U_h (r * h) + b)``, TensorFlow's ``GRUCell``; PyTorch and cuDNN apply it
after, ``r * (U_h h + b)``), and ``gate_bias=1.0`` starts the bias of the reset gate and of the keep
gate ``1 - u`` at 1 (TensorFlow's default: the state is mostly kept at the start of training).

Every cell splits its work in two: ``project`` computes the input projections of all time steps
in one matmul, ``step`` does the sequential part (the recurrent matmuls plus element-wise ops).
:func:`evolve` runs the time loop; padded steps never change the state.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from seqlib.checks import check_float, positive_int
from seqlib.data.batch import length_mask

Gate = Literal["paper", "tf-keep"]
Reset = Literal["after", "before"]


def gru_update(h: torch.Tensor, h_tilde: torch.Tensor, u_tilde: torch.Tensor, fused: bool = False) -> torch.Tensor:
    """The GRU state update ``h' = (1 - u~) * h + u~ * h~`` (DIEN Eq. 16 with ``u~``, Eq. 4 with ``u``).

    Args:
        h: previous state.  # [B, H]
        h_tilde: candidate state ``h~``.  # [B, H]
        u_tilde: the update gate actually applied (``u``, ``a * u``, ...).  # [B, H]
        fused: compute it as ``torch.lerp(h, h~, u~)`` (one kernel; equal up to rounding).

    Returns:
        The new state.  # [B, H]
    """
    if fused:
        return torch.lerp(h, h_tilde, u_tilde)  # [B, H]
    return (1 - u_tilde) * h + u_tilde * h_tilde  # [B, H]


def scale_update_gate(u: torch.Tensor, a: torch.Tensor, gate: Gate = "paper") -> torch.Tensor:
    """AUGRU's attention-scaled update gate (the weight of the candidate state).

    Paper (``gate="paper"``): ``u~ = a * u``, so ``a = 0`` keeps the state and ``a = 1`` is the GRU
    update. TensorFlow keep-gate (``gate="tf-keep"``, the authors' and DeepCTR's code, which scale
    TF's keep gate ``1 - u`` by ``1 - a``): ``u~ = 1 - (1 - a) * (1 - u)``, so ``a = 0`` gives a
    plain GRU and ``a = 1`` replaces the state by the candidate.

    Args:
        u: raw update gate in (0, 1).  # [B, H]
        a: attention score per sample.  # [B, 1]
        gate: ``"paper"`` or ``"tf-keep"``.

    Returns:
        The scaled gate ``u~``; the state update is ``h' = (1 - u~) * h + u~ * h~``.  # [B, H]
    """
    return a * u if gate == "paper" else 1.0 - (1.0 - a) * (1.0 - u)  # [B, H]


class GRUCell(nn.Module):
    """A GRU cell split into ``project`` (all steps at once) and ``step`` (the recurrence).

    ``r = sigma(W_r x + U_r h + b_r)``, ``u = sigma(W_u x + U_u h + b_u)``,
    ``h~ = tanh(W_h x + r * (U_h h + b_hh) + b_ih)`` (``reset="after"``) or
    ``h~ = tanh(W_h x + U_h (r * h) + b)`` (``reset="before"``), ``h' = (1 - u) * h + u * h~``
    (``torch.nn.GRUCell``'s equations with ``u = 1 - z``). Ignores the attention.

    Args:
        input_size: width of the inputs ``x_t``.
        hidden_size: width of the state.
        reset: where the reset gate acts: ``"after"`` the recurrent matmul (PyTorch, cuDNN) or
            ``"before"`` it (TensorFlow's ``GRUCell``, the authors' released code).
        gate_bias: start value of the bias of the reset gate ``r`` and of the keep gate ``1 - u``
            (``None``: PyTorch's uniform initialisation like every other parameter; ``1.0``:
            TensorFlow's ``GRUCell``, so ``r`` starts near ``sigma(1) = 0.73`` and ``u`` near 0.27).
        fused: compute the update with ``torch.lerp`` (see :func:`gru_update`).
    """

    n_gates = 3  # reset, update, candidate

    def __init__(
        self, input_size: int, hidden_size: int, reset: Reset = "after", gate_bias: float | None = None,
        fused: bool = False,
    ) -> None:
        super().__init__()
        input_size, hidden_size = positive_int("input_size", input_size), positive_int("hidden_size", hidden_size)
        if reset not in ("after", "before"):
            raise ValueError(f"reset must be 'after' (PyTorch) or 'before' (TensorFlow), got {reset!r}")
        g = self.n_gates * hidden_size
        self.hidden_size, self.reset, self.fused = hidden_size, reset, bool(fused)
        self.weight_ih = nn.Parameter(torch.empty(g, input_size))
        self.weight_hh = nn.Parameter(torch.empty(g, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(g))
        self.bias_hh = nn.Parameter(torch.empty(g))
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        if gate_bias is not None:
            gate_bias = check_float("gate_bias", gate_bias)
            with torch.no_grad():
                self.bias_hh[: (self.n_gates - 1) * hidden_size] = 0.0  # the gates before the candidate
                self.bias_ih[:hidden_size] = gate_bias  # reset gate r
                if self.n_gates == 3:
                    self.bias_ih[hidden_size: 2 * hidden_size] = -gate_bias  # u = 1 - keep

    def project(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Input projections ``W x + b_ih`` of every step in one matmul.

        Args:
            x: inputs.  # [*, I]
            a: attention (unused here; AIGRU scales the input with it).  # [*, 1]

        Returns:
            Gate pre-activations from the input.  # [*, G * H]
        """
        return F.linear(x, self.weight_ih, self.bias_ih)  # [*, G * H]

    def gates(self, gi: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Update gate ``u`` and candidate state ``h~`` of one step.

        Args:
            gi: input projections of this step.  # [B, 3H]
            h: previous state.  # [B, H]

        Returns:
            ``(u, h~)``.  # [B, H] each
        """
        n = self.hidden_size
        gi_ru, gi_h = gi.split((2 * n, n), dim=1)  # [B, 2H], [B, H]
        if self.reset == "after":  # one recurrent matmul for all three parts
            gh_ru, gh_h = F.linear(h, self.weight_hh, self.bias_hh).split((2 * n, n), dim=1)  # [B, 2H], [B, H]
            r, u = torch.sigmoid(gi_ru + gh_ru).chunk(2, dim=1)  # [B, H] each
            h_tilde = torch.tanh(gi_h + r * gh_h)  # [B, H]
        else:  # the candidate's matmul waits for the reset gate
            w_ru, w_h = self.weight_hh.split((2 * n, n))  # [2H, H], [H, H]
            b_ru, b_h = self.bias_hh.split((2 * n, n))  # [2H], [H]
            r, u = torch.sigmoid(gi_ru + F.linear(h, w_ru, b_ru)).chunk(2, dim=1)  # [B, H] each
            h_tilde = torch.tanh(gi_h + F.linear(r * h, w_h, b_h))  # [B, H]
        return u, h_tilde

    def step(self, gi: torch.Tensor, h: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One recurrent step.

        Args:
            gi: input projections of this step.  # [B, G * H]
            h: previous state.  # [B, H]
            a: attention of this step.  # [B, 1]

        Returns:
            ``(h', u, u~)``: new state, raw update gate, gate actually applied.  # [B, H] each
        """
        u, h_tilde = self.gates(gi, h)
        return gru_update(h, h_tilde, u, self.fused), u, u

    def forward(self, x: torch.Tensor, h: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """One step from raw inputs: ``h' = cell(x, h, a)``.

        Args:
            x: input.  # [B, I]
            h: previous state.  # [B, H]
            a: attention per sample.  # [B] or [B, 1]

        Returns:
            The new state.  # [B, H]
        """
        a = a.reshape(-1, 1)  # [B, 1]
        return self.step(self.project(x, a), h, a)[0]


class AIGRUCell(GRUCell):
    """AIGRU: a standard GRU on the attention-scaled input ``i'_t = a_t * h_t`` (DIEN 4.3)."""

    def project(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Input projections of the scaled input ``a * x``.  # [*, I] -> [*, 3H]"""
        return F.linear(a * x, self.weight_ih, self.bias_ih)  # [*, 3H]


class AUGRUCell(GRUCell):
    """AUGRU: the attention scales the update gate (DIEN 4.3, Eq. 15-16).

    ``u~'_t = a_t * u'_t`` and ``h'_t = (1 - u~'_t) * h'_{t-1} + u~'_t * h~'_t`` as printed
    (``gate="paper"``): with ``a_t -> 0`` the state is carried unchanged, so behaviours of a
    drifting interest are skipped. The authors' released code scales TensorFlow's keep gate
    instead (``gate="tf-keep"``, :func:`scale_update_gate`): ``a_t -> 0`` gives a plain GRU step
    and ``a_t -> 1`` replaces the state by the candidate.

    Args:
        input_size: width of the inputs.
        hidden_size: width of the state.
        gate: ``"paper"`` (default) or ``"tf-keep"``.
        reset, gate_bias, fused: as in :class:`GRUCell`.
    """

    def __init__(
        self, input_size: int, hidden_size: int, gate: Gate = "paper", reset: Reset = "after",
        gate_bias: float | None = None, fused: bool = False,
    ) -> None:
        super().__init__(input_size, hidden_size, reset, gate_bias, fused)
        if gate not in ("paper", "tf-keep"):
            raise ValueError(f"gate must be 'paper' or 'tf-keep', got {gate!r}")
        self.gate = gate

    def step(self, gi: torch.Tensor, h: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One AUGRU step; returns ``(h', u, u~)``.  # [B, H] each"""
        u, h_tilde = self.gates(gi, h)  # [B, H] each
        u_tilde = scale_update_gate(u, a, self.gate)  # [B, H]
        return gru_update(h, h_tilde, u_tilde, self.fused), u, u_tilde


class AGRUCell(GRUCell):
    """AGRU: the attention replaces the update gate, ``h'_t = (1 - a_t) * h'_{t-1} + a_t * h~'_t``.

    The cell has no update gate of its own (reset and candidate only); ``step`` reports ``u = 1``
    and ``u~ = a`` so its trace lines up with the other cells'.
    """

    n_gates = 2  # reset, candidate

    def gates(self, gi: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(u = 1, h~)``; the candidate uses the reset gate only.  # [B, H] each"""
        n = self.hidden_size
        gi_r, gi_h = gi.chunk(2, dim=1)  # [B, H] each
        w_r, w_h = self.weight_hh.split(n)  # [H, H] each
        b_r, b_h = self.bias_hh.split(n)  # [H] each
        r = torch.sigmoid(gi_r + F.linear(h, w_r, b_r))  # [B, H]
        if self.reset == "after":
            h_tilde = torch.tanh(gi_h + r * F.linear(h, w_h, b_h))  # [B, H]
        else:
            h_tilde = torch.tanh(gi_h + F.linear(r * h, w_h, b_h))  # [B, H]
        return torch.ones_like(h_tilde), h_tilde

    def step(self, gi: torch.Tensor, h: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One AGRU step; returns ``(h', 1, a)``.  # [B, H] each"""
        u, h_tilde = self.gates(gi, h)
        u_tilde = a.expand_as(h)  # [B, H]
        return gru_update(h, h_tilde, u_tilde, self.fused), u, u_tilde


CELLS: dict[str, type[GRUCell]] = {"gru": GRUCell, "aigru": AIGRUCell, "agru": AGRUCell, "augru": AUGRUCell}


def make_cell(
    gru_type: str, input_size: int, hidden_size: int, gate: Gate = "paper", reset: Reset = "after",
    gate_bias: float | None = None, fused: bool = False,
) -> GRUCell:
    """Build an evolving-layer cell by name.

    Args:
        gru_type: ``"gru"``, ``"aigru"``, ``"agru"`` or ``"augru"``.
        input_size: width of the inputs.
        hidden_size: width of the state.
        gate: AUGRU's gate form (``"paper"`` or ``"tf-keep"``); only ``"augru"`` accepts ``"tf-keep"``.
        reset, gate_bias, fused: as in :class:`GRUCell`.

    Returns:
        The cell.
    """
    if gru_type not in CELLS:
        raise ValueError(f"gru_type must be one of {sorted(CELLS)}, got {gru_type!r}")
    if gru_type == "augru":
        return AUGRUCell(input_size, hidden_size, gate, reset, gate_bias, fused)
    if gate != "paper":
        raise ValueError(f"gate={gate!r} only applies to gru_type='augru'")
    return CELLS[gru_type](input_size, hidden_size, reset, gate_bias, fused)


def evolve(
    cell: GRUCell, x: torch.Tensor, attention: torch.Tensor, mask: torch.Tensor, trace: bool = False
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run ``cell`` over a right-padded sequence; the result is the state at the last valid step.

    The input projections of all steps come from one matmul; the loop over time does one small
    matmul per step and stops at the longest sequence of the batch. Rows are not masked inside
    the loop: each row's result is read at its own last valid step, so padded steps reach
    neither the result nor its gradient (an empty sequence gives the zero initial state).

    Args:
        cell: a :class:`GRUCell` (or subclass).
        x: inputs, e.g. the extractor states.  # [B, L, I]
        attention: attention per step (zero on padding).  # [B, L]
        mask: 0/1 float mask of valid steps, right-padded.  # [B, L]
        trace: also return the per-step states and gates (for plots).

    Returns:
        ``(final state, trace)``; the trace maps ``"states"`` (the final state carried over
        padding), ``"update"`` (raw ``u_t``) and ``"scaled"`` (the gate applied), both zero on
        padding, to ``[B, L, H]`` tensors, or is empty.  # [B, H]
    """
    lengths = mask.sum(dim=1).long()  # [B]
    n_steps = int(lengths.max()) if len(lengths) else 0
    a = attention[:, :n_steps].unsqueeze(-1)  # [B, n, 1]
    gi = cell.project(x[:, :n_steps], a)  # [B, n, G * H]
    h = x.new_zeros(x.shape[0], cell.hidden_size)  # [B, H]
    states, update, scaled = [h], [], []
    for gi_t, a_t in zip(gi.unbind(1), a.unbind(1)):
        h, u, u_applied = cell.step(gi_t, h, a_t)  # [B, H] each
        states.append(h)
        if trace:
            update.append(u)
            scaled.append(u_applied)
    path = torch.stack(states, dim=1)  # [B, n + 1, H]: the state after 0..n steps
    final = path.gather(1, lengths.view(-1, 1, 1).expand(-1, 1, cell.hidden_size)).squeeze(1)  # [B, H]
    if not trace:
        return final, {}
    valid = mask.unsqueeze(-1)  # [B, L, 1]
    pad = x.new_zeros(x.shape[0], x.shape[1] - n_steps, cell.hidden_size)  # [B, L - n, H]

    def all_steps(per_step: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([pad[:, :0], *(v.unsqueeze(1) for v in per_step), pad], dim=1)  # [B, L, H]

    return final, {
        "states": torch.where(valid > 0, all_steps(states[1:]), final.unsqueeze(1)),  # [B, L, H]
        "update": all_steps(update) * valid,  # [B, L, H]
        "scaled": all_steps(scaled) * valid,  # [B, L, H]
    }


class InterestExtractor(nn.Module):
    """DIEN's interest extractor: a GRU over the behaviours, ``h_t = GRU(e_t, h_{t-1})`` (DIEN 4.2).

    Runs ``torch.nn.GRU`` on the right-padded sequence up to the batch's longest history:
    padding comes after the valid steps, so the states at valid steps are exact; states at padded
    steps are zero.

    Args:
        input_size: behaviour vector width.
        hidden_size: state width.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        input_size, hidden_size = positive_int("input_size", input_size), positive_int("hidden_size", hidden_size)
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True)

    def forward(self, behaviours: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Interest states ``h_1..h_L`` and the state at the last valid step.

        Args:
            behaviours: behaviour embeddings, right-padded.  # [B, L, D]
            lengths: valid steps per sequence.  # [B]

        Returns:
            ``(states, final)``: states are zero on padding; ``final`` is zero for an empty
            history.  # [B, L, H], [B, H]
        """
        n_steps = int(lengths.max()) if len(lengths) else 0
        states, _ = self.gru(behaviours[:, : max(n_steps, 1)])  # [B, n, H]
        states = states * length_mask(lengths, states.shape[1]).unsqueeze(-1)  # [B, n, H]
        states = F.pad(states, (0, 0, 0, behaviours.shape[1] - states.shape[1]))  # [B, L, H]
        return states, last_valid(states, lengths)


def last_valid(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The state at the last valid step of each right-padded sequence (zeros when empty).

    Args:
        states: per-step states.  # [B, L, H]
        lengths: valid steps per sequence.  # [B]

    Returns:
        ``states[b, lengths[b] - 1]``.  # [B, H]
    """
    index = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, states.shape[-1])  # [B, 1, H]
    final = states.gather(1, index).squeeze(1)  # [B, H]
    return final * (lengths > 0).unsqueeze(-1).to(states.dtype)  # [B, H]
