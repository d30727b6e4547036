"""DSIN (MODEL_SPEC DSIN 1-5): session tensors, bias encoding, masks, no NaN, registry."""

from __future__ import annotations

import numpy as np
import torch

from seqlib.data.samples import build_samples
from seqlib.data.sessions import split_sessions
from seqlib.data.synthetic import make_synthetic
from seqlib.models import DSIN, create
from seqlib.nn.session import BiasEncoding, SessionExtractor, bias_encoding


def _samples():
    syn = make_synthetic(n_users=60, seed=0)
    return syn, *build_samples(syn.log, history="positive", seed=0)


def test_split_sessions_breaks_strictly_above_gap() -> None:
    ts = np.array([0, 1800, 3601, 3602, 10000])
    np.testing.assert_array_equal(split_sessions(ts, gap=1800), [0, 0, 1, 1, 2])


def test_session_tensors_are_causal_and_split_at_gaps() -> None:
    _, train, _ = _samples()
    times = train._events["time"].numpy()
    start, length = train._samples["sess_start"].numpy(), train._samples["sess_len"].numpy()
    sample_time = train._samples["time"].numpy()
    for i in range(0, len(train), 7):
        spans = [times[s : s + n] for s, n in zip(start[i], length[i]) if n > 0]
        for k, span in enumerate(spans):
            assert (span < sample_time[i]).all(), "a session holds a behaviour at or after the sample"
            assert (np.diff(span) <= 1800).all() and (np.diff(span) >= 0).all()
            if k > 0:
                assert span[0] - spans[k - 1][-1] > 1800


def test_bias_encoding_values_and_shape() -> None:
    be = bias_encoding(torch.tensor([1.0, 2.0]), torch.tensor([10.0, 20.0, 30.0]), torch.tensor([100.0, 200.0]))
    assert be.shape == (2, 3, 2)
    torch.testing.assert_close(be[1, 2], torch.tensor([132.0, 232.0]))
    enc = BiasEncoding(2, 3, 2)
    out = enc(torch.zeros(1, 2, 3, 2), torch.tensor([1]))
    torch.testing.assert_close(out[0, 0], bias_encoding(enc.w_k, enc.w_t, enc.w_c)[0])


def test_extractor_ignores_padding_and_empty_sessions() -> None:
    torch.manual_seed(0)
    ext = SessionExtractor(4, heads=2).eval()
    x = torch.randn(2, 3, 5, 4)
    mask = torch.tensor([[[1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [0] * 5]] * 2).float()
    noisy = x.clone()
    noisy[mask == 0] = 9.0
    a, b = ext(x, mask), ext(noisy, mask)
    torch.testing.assert_close(a, b)
    assert torch.isfinite(a).all() and (a[:, 2] == 0).all()


def test_no_nan_and_invariance_with_0_and_1_sessions() -> None:
    _, train, _ = _samples()
    batch = train[torch.arange(64)]
    batch.n_sess[:4] = torch.tensor([0, 1, 1, 0])
    batch.sess_len[:4] = torch.tensor([[0] * 5, [1, 0, 0, 0, 0], [3, 0, 0, 0, 0], [0] * 5])
    torch.manual_seed(0)
    model = create("dsin", train.vocab)
    loss = model.loss(batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    model.eval()
    before = model(batch)
    batch.sess_item[batch.sess_mask == 0] = 5
    torch.testing.assert_close(model(batch), before)
    att = model.session_attention(batch)
    torch.testing.assert_close(att["a_I"][0], torch.zeros(5))
    torch.testing.assert_close(att["a_H"][1].sum(), torch.tensor(1.0))


def test_ablations_build_and_run() -> None:
    _, train, _ = _samples()
    batch = train[torch.arange(32)]
    for kw in ({"bias_encoding": False}, {"interacting": False}, {"combine": "sum"}):
        assert isinstance(create("dsin", train.vocab, **kw), DSIN)
        assert torch.isfinite(create("dsin", train.vocab, **kw)(batch)).all()
