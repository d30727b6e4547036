"""Checkers for chapter 5 (comparing the models): RelaImpr, GAUC, a random test slice, and
embedding norms of seen and unseen items, and a fourth model to build: BST.

The same checks run in ``tests/test_exercises_compare.py`` against seqlib's own
:func:`seqlib.metrics.rela_impr` and :func:`seqlib.metrics.gauc` and against reference
implementations of the other two.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from seqlib.data.batch import Batch
from seqlib.evaluation import compare_models
from seqlib.exercises import _train
from seqlib.exercises._check import Case, check_cases
from seqlib.exercises._predict import Prediction
from seqlib.exercises.din import with_padding_junk
from seqlib.i18n import N_, tr
from seqlib.metrics import gauc
from seqlib.models.base import CTRModel
from seqlib.models.registry import registered_name


def _close(actual: object, expected: float, what: str, tol: float = 1e-6) -> None:
    """Assert that a student's number is a finite real close to ``expected``."""
    assert isinstance(actual, (int, float, np.floating, np.integer)) and not isinstance(actual, bool), tr(
        "{what}: expected a number, got {type}", what=what, type=type(actual).__name__
    )
    assert math.isfinite(float(actual)), tr("{what}: expected {expected}, got {actual}", what=what, expected=expected,
                                            actual=actual)
    assert abs(float(actual) - expected) <= tol, tr("{what}: expected {expected}, got {actual}", what=what,
                                                    expected=expected, actual=float(actual))


# ---------------------------------------------------------------- RelaImpr
def relaimpr_cases() -> list[Case]:
    """Checks for ``relative_improvement(auc_model, auc_base) -> percent`` (DIN's RelaImpr)."""

    def hand_values(fn: Callable[..., object]) -> None:
        _close(fn(0.75, 0.70), 25.0, tr("AUC 0.75 against a base of 0.70: (0.25 / 0.20 - 1) * 100 = 25 (percent)"))
        _close(fn(0.65, 0.70), -25.0, tr("AUC 0.65 against a base of 0.70: a model worse than the base gives -25"))

    def percent(fn: Callable[..., object]) -> None:
        _close(fn(0.8, 0.6), 200.0, tr("AUC 0.8 against 0.6: RelaImpr is in percent (200), not a fraction (2.0)"))
        _close(fn(0.7, 0.7), 0.0, tr("the base model against itself gains 0 percent"))

    def chance_base(fn: Callable[..., object]) -> None:
        try:
            value = fn(0.7, 0.5)
        except ValueError:
            return
        raise AssertionError(tr(
            "a base AUC of exactly 0.5 has no distance from chance to divide by: raise ValueError, got {value!r}",
            value=value
        ))

    return [(tr("hand-computed values"), hand_values), (tr("percent, not a fraction"), percent),
            (tr("a base at chance"), chance_base)]


def check_relative_improvement(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``relative_improvement(auc_model, auc_base)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(relaimpr_cases(), fn, verbose)


# ---------------------------------------------------------------- GAUC
def _gauc_result(actual: object, what: str) -> tuple[float, int]:
    """The ``(value, n_valid_users)`` pair a GAUC implementation returned, checked for its form."""
    assert isinstance(actual, tuple) and len(actual) == 2, tr(
        "{what}: return a pair (gauc, number of valid users), got {actual!r}", what=what, actual=actual
    )
    value, n_valid = actual
    assert isinstance(n_valid, (int, np.integer)) and not isinstance(n_valid, bool), tr(
        "{what}: the number of valid users should be an int, got {type}", what=what, type=type(n_valid).__name__
    )
    return float(value), int(n_valid)


def gauc_cases() -> list[Case]:
    """Checks for ``group_auc(user, y, p) -> (gauc, n_valid_users)`` (impression-weighted, DIN Eq. 10)."""
    # User 1: 3 impressions ranked perfectly (AUC 1); user 2: 2 impressions ranked backwards (AUC 0);
    # user 3: only clicks, so no AUC. Weighted by impressions: (3 * 1 + 2 * 0) / 5 = 0.6.
    user = np.array([1, 1, 1, 2, 2, 3, 3])
    y = np.array([1, 0, 0, 1, 0, 1, 1])
    p = np.array([0.9, 0.5, 0.1, 0.2, 0.8, 0.3, 0.6])

    def hand_value(fn: Callable[..., object]) -> None:
        value, n_valid = _gauc_result(fn(user, y, p), tr("three users"))
        assert n_valid == 2, tr("user 3 has only clicks and has no AUC: expected 2 valid users, got {n}", n=n_valid)
        _close(value, 0.6, tr("AUC 1 for user 1 (3 impressions) and 0 for user 2 (2 impressions), weighted by "
                              "impressions"))

    def ties(fn: Callable[..., object]) -> None:
        value, n_valid = _gauc_result(fn(np.array([7, 7]), np.array([1, 0]), np.array([0.3, 0.3])), tr("a tie"))
        assert n_valid == 1, tr("one user with a click and a non-click: expected 1 valid user, got {n}", n=n_valid)
        _close(value, 0.5, tr("a click and a non-click with the same score count as half a correct pair"))

    def no_valid_user(fn: Callable[..., object]) -> None:
        value, n_valid = _gauc_result(fn(np.array([1, 2]), np.array([1, 0]), np.array([0.4, 0.6])), tr("one class each"))
        assert n_valid == 0 and math.isnan(value), tr(
            "no user has both a click and a non-click: expected (nan, 0), got ({value}, {n})", value=value, n=n_valid
        )

    def matches_seqlib(fn: Callable[..., object]) -> None:
        rng = np.random.default_rng(0)
        users = rng.integers(0, 40, size=600)
        labels = rng.integers(0, 2, size=600)
        scores = np.round(rng.random(600), 2)  # rounded: some ties inside a user
        expected, expected_valid = gauc(users, labels, scores)
        value, n_valid = _gauc_result(fn(users, labels, scores), tr("600 random impressions of 40 users"))
        assert n_valid == expected_valid, tr("600 random impressions: expected {expected} valid users, got {n}",
                                             expected=expected_valid, n=n_valid)
        _close(value, expected, tr("600 random impressions of 40 users (with ties)"), tol=1e-9)

    return [(tr("hand-computed value"), hand_value), (tr("ties count half"), ties),
            (tr("no valid user"), no_valid_user), (tr("random data"), matches_seqlib)]


def check_group_auc(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``group_auc(user, y, p)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(gauc_cases(), fn, verbose)


# ---------------------------------------------------------------- a random test slice
def _rows(actual: object, n_rows: int, what: str) -> np.ndarray:
    """A student's row indices as an int array, checked for range, order and duplicates."""
    rows = np.asarray(actual)
    assert rows.ndim == 1 and (rows.size == 0 or np.issubdtype(rows.dtype, np.integer)), tr(
        "{what}: expected a 1-d array of row indices, got {dtype} of shape {shape}", what=what, dtype=rows.dtype,
        shape=rows.shape
    )
    assert ((rows >= 0) & (rows < n_rows)).all(), tr("{what}: row indices must lie in 0..{last}, got {rows}", what=what,
                                                     last=n_rows - 1, rows=rows.tolist())
    assert (np.diff(rows) > 0).all(), tr("{what}: return each row once, in increasing order (time order), got {rows}",
                                         what=what, rows=rows.tolist())
    return rows


def sample_users_cases() -> list[Case]:
    """Checks for ``sample_users(user_ids, n_users, seed=0) -> row indices`` (all rows of random users)."""
    user_ids = np.array([5, 5, 7, 9, 9, 9, 7, 3])

    def whole_users(fn: Callable[..., object]) -> None:
        rows = _rows(fn(user_ids, 2, seed=0), len(user_ids), tr("2 of 4 users"))
        chosen = set(user_ids[rows].tolist())
        assert len(chosen) == 2, tr("2 of 4 users: expected the rows of 2 distinct users, got users {users}",
                                    users=sorted(chosen))
        expected = np.flatnonzero(np.isin(user_ids, list(chosen)))
        assert rows.tolist() == expected.tolist(), tr(
            "keep every row of a chosen user (users {users}): expected rows {expected}, got {rows}",
            users=sorted(chosen), expected=expected.tolist(), rows=rows.tolist()
        )

    def seeded(fn: Callable[..., object]) -> None:
        many = np.repeat(np.arange(10), 3)  # 10 users, 3 rows each
        first = _rows(fn(many, 3, seed=1), len(many), tr("seed {seed}", seed=1)).tolist()
        assert _rows(fn(many, 3, seed=1), len(many), tr("seed 1 again")).tolist() == first, (
            tr("the same seed must give the same slice")
        )
        picks = {tuple(sorted(set(many[_rows(fn(many, 3, seed=s), len(many), tr("seed {seed}", seed=s))].tolist())))
                 for s in range(10)}
        assert len(picks) > 1, tr("seeds 0..9 all picked the users {users}: the users should depend on the seed",
                                  users=sorted(picks)[0])

    def every_user(fn: Callable[..., object]) -> None:
        counts = dict.fromkeys((3, 5, 7, 9), 0)
        for seed in range(400):
            rows = _rows(fn(user_ids, 1, seed=seed), len(user_ids), tr("1 user, seed {seed}", seed=seed))
            for user in set(user_ids[rows].tolist()):
                counts[user] += 1
        assert all(50 <= c <= 150 for c in counts.values()), tr(
            "1 of 4 users over 400 seeds: each user should be drawn about 100 times, got {counts}", counts=counts
        )

    def all_users(fn: Callable[..., object]) -> None:
        rows = _rows(fn(user_ids, 4, seed=3), len(user_ids), tr("all 4 users"))
        assert rows.tolist() == list(range(len(user_ids))), tr("all 4 users: expected every row, got {rows}",
                                                               rows=rows.tolist())

    def bad_count(fn: Callable[..., object]) -> None:
        for n_users in (0, 5):
            try:
                rows = fn(user_ids, n_users, seed=0)
            except ValueError:
                continue
            raise AssertionError(tr("n_users={n_users} with 4 users: raise ValueError, got {rows!r}", n_users=n_users,
                                    rows=rows))

    return [(tr("whole users"), whole_users), (tr("seeded"), seeded), (tr("every user can be drawn"), every_user),
            (tr("all users"), all_users), (tr("impossible counts"), bad_count)]


def check_sample_users(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``sample_users(user_ids, n_users, seed=0)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(sample_users_cases(), fn, verbose)


# ---------------------------------------------------------------- norms of seen and unseen items
def norms_cases() -> list[Case]:
    """Checks for ``seen_unseen_norms(weight, candidates, seen) -> (mean norm seen, mean norm unseen)``."""
    weight = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [1.0, 0.0], [0.0, 2.0]])  # norms 0, 5, 10, 1, 2

    def hand_value(fn: Callable[..., object]) -> None:
        result = fn(weight, torch.tensor([1, 2, 3]), torch.tensor([1, 4]))
        assert isinstance(result, tuple) and len(result) == 2, tr("return a pair (seen, unseen), got {result!r}",
                                                                  result=result)
        _close(result[0], 5.0, tr("candidates 1, 2, 3 with item 1 seen: the seen group is item 1 (norm 5)"))
        _close(result[1], 5.5, tr("candidates 1, 2, 3 with item 1 seen: the unseen group is items 2 and 3 (norms 10 "
                                  "and 1)"))

    def distinct_items(fn: Callable[..., object]) -> None:
        seen, unseen = fn(weight, torch.tensor([2, 2, 2, 3, 1]), torch.tensor([1]))
        _close(unseen, 5.5, tr("item 2 is a candidate three times but one item: average over distinct items (10 and 1)"))
        _close(seen, 5.0, tr("item 1 is the only seen candidate"))

    def padding(fn: Callable[..., object]) -> None:
        seen, unseen = fn(weight, torch.tensor([0, 4, 3]), torch.tensor([0, 4]))
        _close(seen, 2.0, tr("id 0 is padding: it is neither a seen nor an unseen item (seen: item 4, norm 2)"))
        _close(unseen, 1.0, tr("id 0 is padding: it is neither a seen nor an unseen item (unseen: item 3, norm 1)"))

    def empty_group(fn: Callable[..., object]) -> None:
        seen, unseen = fn(weight, torch.tensor([1, 2]), torch.tensor([1, 2]))
        assert math.isnan(float(unseen)), tr("no unseen candidate: the unseen mean should be nan, got {unseen}",
                                             unseen=unseen)
        _close(seen, 7.5, tr("candidates 1 and 2, both seen"))

    return [(tr("hand-computed value"), hand_value), (tr("distinct items"), distinct_items),
            (tr("padding"), padding), (tr("an empty group"), empty_group)]


def check_seen_unseen_norms(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``seen_unseen_norms(weight, candidates, seen)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(norms_cases(), fn, verbose)


# ---------------------------------------------------------------- a fourth model: BST
BST_DATA = "synthetic"
BST_USERS = 500  # a quarter of the planted log's users: the comparison stays near a minute


def bst_cases() -> list[Case]:
    """Checks for a registered model class ``BST(vocab)``: a Transformer over the behaviours and
    the candidate, with ``explain``."""
    batch = _train.probe_batch(BST_DATA)
    vocab = _train.planted(BST_DATA)[0].vocab

    def registered(cls: Callable[..., object]) -> None:
        name = registered_name(cls) if isinstance(cls, type) else None
        assert name is not None, tr("register the class: put @register(\"bst\") (from seqlib.models) above it")
        model = _train.build(cls, vocab)
        assert isinstance(model, CTRModel), tr("subclass seqlib.models.CTRModel (got {type})", type=type(model).__name__)
        _train.assert_logits(model.eval(), batch)

    def ignores_padding(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab).eval()
        with torch.no_grad():
            _train.assert_same_logits(model(with_padding_junk(batch, 0)), model(batch),
                                      tr("other ids on the padded history positions"),
                                      tr("padding must neither be attended to nor reach the candidate's slot"))

    def explains(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab).train()
        weights = model.explain(batch)
        mask = model.explain_mask(batch)
        assert isinstance(weights, torch.Tensor) and weights.shape == mask.shape, tr(
            "explain(batch) should give one weight per history position, shape {expected}, got {actual}",
            expected=tuple(mask.shape), actual=getattr(weights, "shape", weights)
        )
        assert torch.isfinite(weights).all() and not weights.requires_grad, tr("explain: finite weights, no gradient")
        assert (weights[mask == 0] == 0).all(), tr("explain must give exactly 0 on padded positions")
        assert (weights >= 0).all() and (weights.sum(1) <= 1 + 1e-5).all(), tr(
            "explain: attention weights of the candidate over the behaviours are >= 0 and sum to at most 1"
        )
        assert model.training, tr("explain must leave the model in the mode it found it (use self.in_eval)")
        swapped = Batch(**{**batch.__dict__, "item": batch.item.flip(0), "cate": batch.cate.flip(0)})
        assert not torch.allclose(weights, model.explain(swapped)), tr(
            "explain gives the same weights for other candidates: the candidate's attention row should depend on it"
        )

    def gradient(cls: Callable[..., object]) -> None:
        _train.assert_embeddings_learn(cls, vocab, batch)

    def compared(cls: Callable[..., object]) -> None:
        name = registered_name(cls)
        with _train.one_thread():
            results, table = compare_models({"base": "base", "DIN": "din", "yours": name},
                                            data=_train.planted_users(BST_DATA, BST_USERS), seeds=_train.CHECK_SEEDS,
                                            epochs=_train.CHECK_EPOCHS, workers=1, progress=False)
        runs = results.attrs["runs"].pivot(index="seed", columns="model", values="auc")
        margin = runs["yours"] - runs["base"]
        assert (margin >= 0.01).all(), tr(
            "test AUC after {epochs} epochs on {users} users of the planted log: your model should "
            "beat the base model by 0.01 on every seed (margins {margins}):\n{table}", epochs=_train.CHECK_EPOCHS,
            users=BST_USERS, margins=margin.round(4).tolist(), table=table
        )
        print(tr("compare_models, {epochs} epochs on {users} users of the planted log:\n{table}",
                 epochs=_train.CHECK_EPOCHS, users=BST_USERS, table=table))

    return [(tr("registered, one logit per sample"), registered), (tr("padding is ignored"), ignores_padding),
            (tr("explain(batch)"), explains), (tr("gradient reaches the embeddings"), gradient),
            (tr("compare_models against base and DIN"), compared)]


def check_bst(cls: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``BST``: registered, shapes, padding, ``explain``, gradient, then
    ``compare_models`` against the base model and DIN on a quarter of the planted log (about a
    minute on one core).

    Args:
        cls: the candidate model class, registered with ``@register(name)``.
        verbose: print the result (and the comparison table when the model trains).

    Returns:
        True when all checks pass.
    """
    return check_cases(bst_cases(), cls, verbose)


CHECKERS = {
    "relative_improvement": check_relative_improvement,
    "group_auc": check_group_auc,
    "sample_users": check_sample_users,
    "seen_unseen_norms": check_seen_unseen_norms,
    "BST": check_bst,
}

PREDICTIONS = {
    "relaimpr-base": Prediction(
        question=N_("Model A reaches AUC 0.75 over a base of 0.70, model B 0.85 over a base of 0.80: both gain 0.05. "
                    "Which has the larger RelaImpr?"),
        options={"a": N_("A"), "b": N_("B"), "c": N_("neither: the same gain gives the same RelaImpr")},
        correct="a",
        why=N_("RelaImpr divides the gain by the base's distance from chance: A gains 0.05 on 0.20 (25%), B gains "
               "0.05 on 0.30 (about 16.7%). The same AUC gain counts for more over a weaker base; compare RelaImpr "
               "only across models on the same base."),
    ),
}
