"""``CTRModel.explain(batch)``: one explanation every model gives, checked model by model.

The contract (``seqlib/models/base.py``): the weight each behaviour gets for the candidate,
shaped like ``explain_mask(batch)`` (``[B, L]`` history positions, ``[B, K, T]`` session
positions for DSIN), exactly 0 on padding, computed in eval mode without gradients and without
changing the model's mode.
"""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from seqlib.data.batch import Batch
from seqlib.data.samples import build_samples
from seqlib.data.synthetic import make_synthetic
from seqlib.models import CTRModel, available, create
from seqlib.nn.session import SessionExtractor

LIBRARY_MODELS = ["base", "din", "dien", "dsin"]


@pytest.fixture(scope="module")
def data():
    syn = make_synthetic(n_users=200, seed=0)
    return build_samples(syn.log, max_len=20, history="positive", seed=0)


@pytest.fixture(scope="module")
def batch(data) -> Batch:
    train, _ = data
    picked = train[torch.arange(48)]
    # one sample with an empty history and no sessions, to check that nothing is NaN there
    empty = torch.zeros_like(picked.hist_len[:1])
    fields = {
        "hist_len": torch.cat([empty, picked.hist_len[1:]]),
        "hist_item": torch.cat([torch.zeros_like(picked.hist_item[:1]), picked.hist_item[1:]]),
        "hist_cate": torch.cat([torch.zeros_like(picked.hist_cate[:1]), picked.hist_cate[1:]]),
        "sess_len": torch.cat([torch.zeros_like(picked.sess_len[:1]), picked.sess_len[1:]]),
        "sess_item": torch.cat([torch.zeros_like(picked.sess_item[:1]), picked.sess_item[1:]]),
        "sess_cate": torch.cat([torch.zeros_like(picked.sess_cate[:1]), picked.sess_cate[1:]]),
        "n_sess": torch.cat([torch.zeros_like(picked.n_sess[:1]), picked.n_sess[1:]]),
    }
    return Batch(**{**picked.__dict__, **fields})


def model(name: str, train, **kw) -> CTRModel:
    torch.manual_seed(0)
    return create(name, train.vocab, **kw)


def test_every_registered_library_model_is_tested() -> None:
    assert set(LIBRARY_MODELS) <= set(available())


@pytest.mark.parametrize("name", LIBRARY_MODELS)
def test_shape_padding_mode_and_no_gradient(data, batch, name) -> None:
    train, _ = data
    net = model(name, train).train()
    weights = net.explain(batch)
    mask = net.explain_mask(batch)
    assert weights.shape == mask.shape, f"{name}: explain gives {tuple(weights.shape)}, mask {tuple(mask.shape)}"
    assert torch.isfinite(weights).all()
    assert (weights[mask == 0] == 0).all(), f"{name}: explain must be exactly 0 on padding"
    assert (weights[0] == 0).all(), f"{name}: an empty history gets all-zero weights"
    assert not weights.requires_grad
    assert net.training, f"{name}: explain must restore training mode"
    assert weights[mask > 0].abs().sum() > 0, f"{name}: explain gives only zeros"


def test_base_sum_weights_are_one_per_behaviour(data, batch) -> None:
    train, _ = data
    assert_close(model("base", train).explain(batch), batch.hist_mask)
    mean = model("base", train, pooling="mean").explain(batch)
    lengths = batch.hist_len.clamp(min=1).float().unsqueeze(1)
    assert_close(mean, batch.hist_mask / lengths)


def test_base_weights_do_not_depend_on_the_candidate(data, batch) -> None:
    train, _ = data
    net = model("base", train)
    other = Batch(**{**batch.__dict__, "item": batch.item.flip(0), "cate": batch.cate.flip(0)})
    assert_close(net.explain(batch), net.explain(other))


@pytest.mark.parametrize("normalize", [None, "softmax"])
def test_din_explain_is_its_attention_in_eval(data, batch, normalize) -> None:
    train, _ = data
    net = model("din", train, normalize=normalize)
    with torch.no_grad():
        expected = net.eval().attention(batch)
    net.train()
    assert_close(net.explain(batch), expected)
    if normalize == "softmax":
        sums = net.explain(batch).sum(1)[batch.hist_len > 0]
        assert_close(sums, torch.ones_like(sums))


def test_din_explain_depends_on_the_candidate(data, batch) -> None:
    train, _ = data
    net = model("din", train)
    other = Batch(**{**batch.__dict__, "item": batch.item.flip(0), "cate": batch.cate.flip(0)})
    assert not torch.allclose(net.explain(batch), net.explain(other))


def test_dien_explain_is_its_softmax_attention(data, batch) -> None:
    train, _ = data
    net = model("dien", train)
    weights = net.explain(batch)
    with torch.no_grad():
        expected = net.eval().interests(batch)["attention"]
    assert_close(weights, expected)
    sums = weights.sum(1)[batch.hist_len > 0]
    assert_close(sums, torch.ones_like(sums))


def test_dsin_explain_shares_session_weights_over_behaviours(data, batch) -> None:
    train, _ = data
    net = model("dsin", train)
    weights = net.explain(batch)  # [B, K, T]
    assert weights.shape == batch.sess_item.shape
    has_sessions = batch.n_sess > 0
    sums = weights.sum((1, 2))[has_sessions]
    assert_close(sums, torch.ones_like(sums))
    with torch.no_grad():
        a_i = net.eval().interests(batch)["a_I"]  # [B, K]
    assert_close(weights.sum(2), a_i)
    # equal shares inside a session: every valid behaviour of session k gets a_k / len_k
    b, k = torch.nonzero(batch.sess_len >= 2)[0].tolist()
    n = int(batch.sess_len[b, k])
    assert_close(weights[b, k, :n], torch.full((n,), float(a_i[b, k]) / n))


def test_explain_is_required_by_the_base_class(data, batch) -> None:
    train, _ = data

    class NoExplain(CTRModel):
        def forward(self, batch: Batch) -> torch.Tensor:
            return torch.zeros(len(batch))

    with pytest.raises(NotImplementedError, match="NoExplain does not implement explain"):
        NoExplain(train.vocab).explain(batch)


def test_session_extractor_attention_weights_rows_sum_to_one_over_valid_keys() -> None:
    torch.manual_seed(0)
    extractor = SessionExtractor(8, heads=2)
    x = torch.randn(2, 3, 4, 8)
    mask = torch.tensor([[[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]],
                         [[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]]])
    weights = extractor.attention_weights(x, mask)  # [B, K, h, T, T]
    assert weights.shape == (2, 3, 2, 4, 4)
    assert (weights * (1 - mask)[:, :, None, None, :] == 0).all(), "padded keys get no weight"
    sums = weights.sum(-1)  # [B, K, h, T]
    nonempty = mask.sum(-1) > 0  # [B, K]
    assert_close(sums[nonempty], torch.ones_like(sums[nonempty]))
    assert (weights[0, 2] == 0).all(), "an empty session attends to nothing"
    # the weights are the ones encode() applies: weights @ V, then the output projection and the
    # first residual + LayerNorm, give encode's first sub-layer on the valid positions
    flat = x.reshape(6, 4, 8)
    _, _, v = extractor.qkv(flat).view(6, 4, 3, 2, 4).permute(2, 0, 3, 1, 4)  # [N, h, T, dh]
    heads = (weights.reshape(6, 2, 4, 4) @ v).transpose(1, 2).reshape(6, 4, 8)
    h = extractor.norm1(flat + extractor.out(heads))
    expected = extractor.norm2(h + extractor.ffn(h)).view(2, 3, 4, 8)
    with torch.no_grad():
        encoded = extractor.encode(x, mask)
    valid = mask > 0
    valid[0, 2] = False  # encode gives a dummy key to empty sessions; they are dropped later
    assert_close(encoded[valid], expected.detach()[valid])
