"""What the model-building checkers share: a tiny batch to probe a model, and short seeded
training runs on a chapter's planted log, with the unmodified model's runs under the same budget
as the reference (computed once per process)."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlib.data.batch import Batch
from seqlib.data.samples import SampleSet, Vocab
from seqlib.evaluation import load_samples
from seqlib.i18n import tr
from seqlib.models.registry import create
from seqlib.nbsetup import available_cpus
from seqlib.train import evaluate, fit

# The budget of every checker run: a fixed number of passes over the chapter's planted log, two
# seeds, one thread (each run takes seconds on one core; the chapters' converged runs take minutes).
CHECK_EPOCHS = 3
CHECK_SEEDS = (0, 1)


def planted(dataset: str) -> tuple[SampleSet, SampleSet]:
    """The chapter's planted ``(train, test)`` samples (``load_samples(dataset)``, cached)."""
    return load_samples(dataset)


@functools.lru_cache(maxsize=4)
def planted_users(dataset: str, n_users: int) -> tuple[SampleSet, SampleSet]:
    """``(train, test)`` of ``dataset`` restricted to its first ``n_users`` users (by id), for
    comparisons that must stay within a minute; the vocabulary is the full one.

    Args:
        dataset: a standard data set's name.
        n_users: how many users to keep.

    Returns:
        The two sample sets.
    """
    train, test = planted(dataset)
    kept = np.unique(train.frame["user_id"].to_numpy())[:n_users]

    def keep(data: SampleSet) -> SampleSet:
        rows = np.flatnonzero(np.isin(data.frame["user_id"].to_numpy(), kept))
        return data.subset(torch.from_numpy(rows))

    return keep(train), keep(test)


def probe_batch(dataset: str, n: int = 64) -> Batch:
    """The first ``n`` training samples of ``dataset``: a batch to probe a model's shapes."""
    train, _ = planted(dataset)
    return train[torch.arange(n)]


def build(cls: Callable[..., nn.Module], vocab: Vocab, seed: int = 0) -> nn.Module:
    """``cls(vocab)`` under ``torch.manual_seed(seed)``, checked to be a module with ``loss``.

    Raises:
        AssertionError: the class does not build an ``nn.Module`` with a ``loss(batch)`` method.
    """
    torch.manual_seed(seed)
    model = cls(vocab)
    assert isinstance(model, nn.Module), tr("{cls}(vocab) should build an nn.Module, got {type}",
                                            cls=getattr(cls, "__name__", cls), type=type(model).__name__)
    assert callable(getattr(model, "loss", None)), tr("the model needs loss(batch): subclass seqlib.models.CTRModel")
    return model


def assert_logits(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Assert that ``model(batch)`` gives one finite logit per sample; return them.  # [B]"""
    logits = model(batch)
    assert isinstance(logits, torch.Tensor), tr("forward should return a tensor, got {type}", type=type(logits).__name__)
    assert logits.shape == (len(batch),), tr(
        "forward should return one logit per sample, shape ({n},), got {shape}", n=len(batch), shape=tuple(logits.shape)
    )
    assert torch.isfinite(logits).all(), tr("forward returned NaN or inf logits")
    return logits


def assert_same_logits(actual: torch.Tensor, expected: torch.Tensor, what: str, hint: str = "") -> None:
    """Assert two logit vectors agree to 1e-5, naming the largest difference (not every value).

    Args:
        actual: logits of the changed batch.  # [B]
        expected: logits of the original batch.  # [B]
        what: the change in words (translated).
        hint: what a difference suggests (translated).
    """
    gap = float((actual - expected).abs().max())
    assert gap <= 1e-5, (tr("{what}: the logits changed by up to {gap:.3g}", what=what, gap=gap)
                         + (tr("; {hint}", hint=hint) if hint else ""))


def assert_gradient_flows(model: nn.Module, batch: Batch, parts: dict[str, nn.Parameter]) -> None:
    """Assert that ``model.loss(batch)`` sends a non-zero gradient to every named parameter.

    Args:
        model: the model (its gradients are cleared afterwards).
        batch: a batch.
        parts: what the gradient must reach (translated), e.g.
            ``{tr("the item embeddings"): model.embed.item.weight}``.
    """
    model.zero_grad()
    model.train()
    loss = model.loss(batch)
    assert isinstance(loss, torch.Tensor) and loss.dim() == 0, tr("loss(batch) should return a scalar tensor")
    loss.backward()
    for what, param in parts.items():
        assert param.grad is not None and param.grad.abs().sum() > 0, tr(
            "no gradient reaches {what}: is that part used in forward (and not detached)?", what=what
        )
    model.zero_grad()


def assert_embeddings_learn(cls: Callable[..., nn.Module], vocab: Vocab, batch: Batch) -> None:
    """Build ``cls(vocab)`` and assert that its loss reaches the item and user embeddings.

    Args:
        cls: the student's model class.
        vocab: the vocabulary to build it with.
        batch: a batch of that vocabulary.
    """
    model = build(cls, vocab)
    assert_gradient_flows(model, batch, {tr("the item embeddings"): model.embed.item.weight,
                                         tr("the user embeddings"): model.user.weight})


def train_auc(cls: Callable[..., nn.Module], dataset: str, seed: int) -> float:
    """Test AUC of ``cls(vocab)`` trained for :data:`CHECK_EPOCHS` passes with ``seed`` (1 thread).

    Args:
        cls: a model class taking the vocabulary.
        dataset: the planted data set's name.
        seed: the run's seed (initialisation and sample order).

    Returns:
        The test AUC.
    """
    train, test = planted(dataset)
    with one_thread():
        model = build(cls, train.vocab, seed)
        fit(model, train, epochs=CHECK_EPOCHS, seed=seed, progress=False)
        return float(evaluate(model, test)["auc"])


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Train with one torch thread inside the block (the checkers' runs are small: a second
    thread only waits, and on a busy machine it slows every step down), then restore."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# Test AUC of the registered models' checker runs: {(name, data set, seed, options): AUC}.
_REFERENCES: dict[tuple[str, str, int, tuple[tuple[str, Any], ...]], float] = {}


def reference_auc(name: str, dataset: str, seed: int, options: tuple[tuple[str, Any], ...] = ()) -> float:
    """:func:`train_auc` of the registered model ``name`` (with ``options``), once per process."""
    key = (name, dataset, seed, options)
    if key not in _REFERENCES:
        _REFERENCES[key] = train_auc(functools.partial(create, name, **dict(options)), dataset, seed)
    return _REFERENCES[key]


def runs_against(cls: Callable[..., nn.Module], dataset: str, reference: str,
                 label: str) -> tuple[list[float], list[float], list[float], str]:
    """A student's model beside the registered ``reference`` and the base model, each trained with
    :func:`train_auc` for every seed of :data:`CHECK_SEEDS` (the references once per process).

    With two CPUs or more, the references not yet trained train in a worker process while this
    one trains the student's model (the student's class may live in a notebook, which a worker
    cannot import); every run has one thread either way, so the AUCs are the same.

    Args:
        cls: the student's model class.
        dataset: the planted data set's name.
        reference: the registered model the variant is built from (e.g. ``"din"``).
        label: its name in the table (e.g. ``"DIN"``).

    Returns:
        ``(yours, reference, base, table)``: test AUC per seed of each, and :func:`auc_table`.
    """
    # each reference run once (the reference may be the base model itself), in order
    keys = dict.fromkeys((name, dataset, seed, ()) for name in (reference, "base") for seed in CHECK_SEEDS)
    missing = [key for key in keys if key not in _REFERENCES]
    if missing and available_cpus() > 1:
        pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = {key: pool.submit(reference_auc, *key) for key in missing}
            yours = [train_auc(cls, dataset, seed) for seed in CHECK_SEEDS]
            _REFERENCES.update({key: future.result() for key, future in futures.items()})
        except BaseException:  # an error in the student's model: do not wait for the references
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()  # the worker exits now, not when the kernel does
    else:
        yours = [train_auc(cls, dataset, seed) for seed in CHECK_SEEDS]
    ref = [reference_auc(reference, dataset, seed) for seed in CHECK_SEEDS]
    base = [reference_auc("base", dataset, seed) for seed in CHECK_SEEDS]
    return yours, ref, base, auc_table({label: ref, tr("yours"): yours, "base": base})


def auc_table(rows: dict[str, list[float]]) -> str:
    """``"seed 0: DIN 0.7694, yours 0.7253, ..."`` lines, one per seed (labels as given; the
    model names stay as registered, ``yours`` is translated by :func:`runs_against`)."""
    lines = []
    for i, seed in enumerate(CHECK_SEEDS):
        runs = ", ".join(f"{label} {aucs[i]:.4f}" for label, aucs in rows.items())
        lines.append("  " + tr("seed {seed}: {runs}", seed=seed, runs=runs))
    return "\n".join(lines)
