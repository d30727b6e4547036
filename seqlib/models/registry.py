"""Models by name: ``create("din", vocab)`` builds any registered model."""

from __future__ import annotations

import importlib.util
import inspect
from typing import Any, Callable, TypeVar

from torch import nn

from seqlib.data.samples import SampleSet, Vocab

_MODELS: dict[str, type[nn.Module]] = {}
M = TypeVar("M", bound=type[nn.Module])


def register(name: str) -> Callable[[M], M]:
    """Class decorator adding a model to the registry under ``name``.

    A model defined in a notebook registers the same way (book chapter 5); running its cell again
    replaces the earlier definition. ``compare_models`` trains such a model in-process
    (``workers=1``), see :func:`importable`.

    Args:
        name: the lower-case name ``create`` and ``compare_models`` know it by.

    Raises:
        ValueError: ``name`` is empty or not lower-case, or another class already holds it.
    """

    if not isinstance(name, str) or not name or name != name.lower():
        raise ValueError(f"register(name): name must be a non-empty lower-case string (create() lowercases), got {name!r}")

    def add(cls: M) -> M:
        old = _MODELS.get(name)
        if old is not None and old is not cls and _where(old) != _where(cls):
            raise ValueError(
                f"model name {name!r} is already registered to {_where(old)}; pick another name for {_where(cls)}"
            )
        _MODELS[name] = cls  # a class redefined in place (a notebook cell run again) replaces itself
        return cls

    return add


def _where(cls: type) -> str:
    """``module.QualifiedName`` of a class, e.g. ``seqlib.models.din.DIN`` or ``__main__.BST``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def importable(name: str) -> bool:
    """Whether a fresh Python process can import the class registered as ``name``.

    A class defined in a notebook or a script (module ``__main__``) or inside a function lives
    only in the process that ran it, so ``compare_models``' worker processes (started with
    ``spawn``) cannot build it; such a model trains in-process (``workers=1``).

    Args:
        name: a registered name.

    Returns:
        True for a class defined at the top level of an importable module.
    """
    cls = _MODELS[name.lower()]
    if "<locals>" in cls.__qualname__ or cls.__module__ == "__main__":
        return False
    try:
        return importlib.util.find_spec(cls.__module__) is not None
    except (ImportError, ValueError):
        return False


def registered_name(cls: type) -> str | None:
    """The name ``cls`` is registered under (the first, if several), or None."""
    return next((name for name, model in _MODELS.items() if model is cls), None)


def relative_cost(name: str) -> float:
    """The registered model's ``relative_cost`` (1.0 for a class that does not set one)."""
    return float(getattr(_MODELS[name.lower()], "relative_cost", 1.0))


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


# The constructor arguments that describe the shape of the samples' session tensors (DSIN's K, T).
SESSION_SHAPE = ("n_sessions", "session_len")


def create_for(name: str, samples: SampleSet, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` for ``samples``.

    Like ``create(name, samples.vocab, **kwargs)``, and a model whose constructor takes the session
    shape (``n_sessions`` and ``session_len``, as DSIN's does) gets the one ``samples`` were built
    with, so that it reads their sessions whatever the data set's session length (MovieLens' is
    not the released code's ``T = 10``, see ``seqlib.evaluation.DATASETS``). An option given in
    ``kwargs`` wins.

    Args:
        name: a registered name.
        samples: the sample set the model will train on (its vocabulary and session shape).
        **kwargs: model options (see each model's constructor).

    Returns:
        The model.

    Raises:
        TypeError: ``samples`` is not a :class:`SampleSet` (or as :func:`create`).
        ValueError: as :func:`create`.
    """
    if not isinstance(samples, SampleSet):
        raise TypeError(
            f"create_for({name!r}, samples): samples must be a seqlib.data.SampleSet (e.g. the train set of "
            f"load_samples or build_samples), got {type(samples).__name__}; for a bare vocabulary use create()"
        )
    shape = {key: getattr(samples, key) for key in SESSION_SHAPE if key not in kwargs and _takes(name, key)}
    return create(name, samples.vocab, **shape, **kwargs)


def _takes(name: str, argument: str) -> bool:
    """Whether the constructor of the model registered as ``name`` takes ``argument``.

    A constructor that passes ``**options`` on (``class MeanDSIN(DSIN)`` with
    ``__init__(self, vocab, **options)``) takes what its parent's takes.
    """
    cls = _MODELS.get(name.lower()) if isinstance(name, str) else None
    for klass in cls.__mro__ if cls is not None else ():
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(vars(klass)["__init__"]).parameters
        if argument in parameters:
            return True
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return False
    return False
