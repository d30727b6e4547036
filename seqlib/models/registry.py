"""Models by name: ``create("din", vocab)`` builds any registered model."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from torch import nn

from seqlib.data.samples import Vocab

_MODELS: dict[str, type[nn.Module]] = {}
M = TypeVar("M", bound=type[nn.Module])


def register(name: str) -> Callable[[M], M]:
    """Class decorator adding a model to the registry under ``name``."""

    def add(cls: M) -> M:
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered to {_MODELS[name].__name__}")
        _MODELS[name] = cls
        return cls

    return add


def available() -> list[str]:
    """Names of the registered models, sorted."""
    return sorted(_MODELS)


def create(name: str, vocab: Vocab, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name``.

    Args:
        name: a registered name such as ``"base"``, ``"din"``, ``"dien"``, ``"dsin"``.
        vocab: the vocabulary of the sample sets (sizes of the embedding tables).
        **kwargs: model options (see each model's constructor).

    Raises:
        TypeError: ``name`` is not a string or ``vocab`` is not a :class:`Vocab`.
        ValueError: unknown name; the message lists the known ones.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a model name (a string), got {name!r}; known models: {', '.join(available())}")
    if not isinstance(vocab, Vocab):
        raise TypeError(
            f"create({name!r}, vocab): vocab must be a seqlib.data.Vocab (e.g. train.vocab of "
            f"build_samples' sample sets), got {type(vocab).__name__}"
        )
    key = name.lower()
    if key not in _MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(available())}")
    return _MODELS[key](vocab, **kwargs)
