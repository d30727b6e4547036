"""Bad inputs against the public API, tried as a careful user would (issue 11).

Each case is one call, the exception type it must raise and words its message must contain:
the argument (or column) and the value, and where there is one, the remedy. No case may pass
silently. Cases that ``seqlib`` does not handle yet are marked ``xfail(strict=True)`` with the
owner in the reason, so that they turn into failures (and the mark must go) once fixed; their
expected words are kept to the argument's name and the value.

A second table lists inputs that look odd but are valid and must work (``np.int64`` counts,
nullable ``Int64`` ids without gaps, boolean labels, torch tensors in the metrics).
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
import torch

from seqlib.__main__ import main
from seqlib.data import (
    build_samples,
    load_movielens,
    load_taobao,
    make_synthetic,
    session_breaks,
    split_sessions,
    validate_log,
)
from seqlib.data import movielens
from seqlib.data.movielens import CacheConflict
from seqlib.data.sessions import boundary_curve, boundary_precision_recall
from seqlib.evaluation import compare_models, shrink_test
from seqlib.metrics import auc, gauc, rela_impr
from seqlib.models import create
from seqlib.models.dien import DIEN
from seqlib.models.din import DIN
from seqlib.models.dsin import DSIN
from seqlib.nn import (
    AGRUCell,
    AUGRUCell,
    AuxiliaryMLP,
    BiasEncoding,
    BilinearAttention,
    Dice,
    GRUCell,
    InterestExtractor,
    LocalActivationUnit,
    SessionExtractor,
    SessionInteracting,
    activation,
    mba_penalty,
)
from seqlib.nn.attention import scatter_weights
from seqlib.nn.gru import make_cell
from seqlib.nn.layers import MLP, ItemEmbedding
from seqlib.train import evaluate, fit, predict
from seqlib.exercises.basics import check_length_mask
from seqlib.exercises.dsin import check_split_sessions
from seqlib.viz.compare import plot_comparison, plot_runs, plot_slice_effect, plot_train_time
from seqlib.viz.din import attention_weights
from seqlib.viz.dsin import plot_boundary_curve, plot_session_stats, session_stats

ROOT = Path(__file__).resolve().parents[1]


def log(**columns: Any) -> pd.DataFrame:
    """A valid six-event log of two users, with any column replaced."""
    base = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 2],
            "item_id": [1, 2, 3, 2, 3, 4],
            "cate_id": [1, 1, 2, 1, 2, 2],
            "timestamp": [10, 20, 30, 15, 25, 35],
            "label": [1, 0, 1, 1, 1, 0],
        }
    )
    return base.assign(**columns)


_SETS: dict[str, Any] = {}


def sets() -> tuple:
    """``(train, test)`` of a small synthetic log, built once."""
    if "sets" not in _SETS:
        _SETS["sets"] = build_samples(make_synthetic(n_users=40, seed=0).log, history="positive", max_len=8)
    return _SETS["sets"]


def vocab():
    return sets()[0].vocab


def taobao_file(text: str) -> Callable[[Path], Path]:
    """A function writing ``text`` as a UserBehavior.csv in a folder."""

    def write(folder: Path) -> Path:
        path = folder / "UserBehavior.csv"
        path.write_text(text)
        return path

    return write


def other_batch():
    """Two samples of another vocabulary whose ids all fit the small synthetic log's tables."""
    other, _ = build_samples(log(), min_hist=0)
    return other[:2]


def ms_log() -> pd.DataFrame:
    """The six-event log with Unix times in milliseconds (2017)."""
    return log(timestamp=[1_500_000_000_000 + 1000 * t for t in (10, 20, 30, 15, 25, 35)])


def gz_file(folder: Path, broken: str) -> Path:
    """A Taobao ``.csv.gz`` that is cut in half (``"truncated"``) or plain text (``"mislabelled"``)."""
    import gzip

    path = folder / "UserBehavior.csv.gz"
    if broken == "mislabelled":
        path.write_text("1,2,3,pv,100\n")
        return path
    with gzip.open(path, "wt") as f:
        f.write("1,2,3,pv,100\n" * 2000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def binary_file(folder: Path) -> Path:
    """A gzip stream saved as ``UserBehavior.csv`` (compressed, but named as plain text)."""
    path = folder / "UserBehavior.csv"
    path.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe\x80\x81")
    return path


def create_small_vocab():
    """The vocabulary of the six-event log (5 items): the synthetic log's ids lie beyond it."""
    return build_samples(log(), min_hist=0)[0].vocab


def env_points_at_a_file(variable: str, call: Callable[[], Any]) -> Callable[[Path], Any]:
    """``call()`` with ``variable`` set to a file (the test fixture restores the environment)."""

    def run(tmp_path: Path) -> Any:
        import os

        file = tmp_path / "not-a-folder.txt"
        file.write_text("x")
        before = os.environ.get(variable)
        os.environ[variable] = str(file)
        try:
            return call()
        finally:
            if before is None:
                del os.environ[variable]
            else:
                os.environ[variable] = before

    return run


@dataclass
class Case:
    """One bad input: ``call()`` must raise ``error`` with every word of ``words`` in its message.

    ``call`` may take ``tmp_path`` (for files). ``owner`` marks a case not handled yet.
    """

    id: str
    call: Callable[..., Any]
    error: type[BaseException]
    words: tuple[str, ...]
    owner: str | None = None


def C(id: str, call: Callable[..., Any], error: type[BaseException], *words: str, owner: str | None = None) -> Case:
    return Case(id, call, error, words, owner)


NAN, INF = float("nan"), float("inf")
LEAD = "lead"  # samples.py, batch.py, train.py, evaluation.py, synthetic.py, nn/layers.py

CASES: list[Case] = [
    # --- interaction logs: validate_log (and build_samples, which calls it) -------------------
    C("log-not-a-frame", lambda: validate_log([[1, 2, 3, 4]]), TypeError, "DataFrame", "list"),
    C("log-a-dict", lambda: validate_log({"user_id": [1]}), TypeError, "DataFrame", "dict"),
    C("log-empty", lambda: validate_log(log().iloc[:0]), ValueError, "empty"),
    C("log-missing-column", lambda: validate_log(log().drop(columns="cate_id")), ValueError, "missing the column", "cate_id"),
    C("log-missing-label", lambda: validate_log(log().drop(columns="label"), require_label=True), ValueError, "missing the column", "label"),
    C("log-missing-extra", lambda: validate_log(log(), extra=("rating",)), ValueError, "missing the column", "rating"),
    C("log-repeated-column", lambda: validate_log(pd.concat([log(), log()[["user_id"]]], axis=1)), ValueError, "user_id", "more than once"),
    C("ids-Int64-with-NA", lambda: validate_log(log(user_id=pd.array([1, None, 1, 2, 2, 2], dtype="Int64"))),
      ValueError, "'user_id'", "1 missing value", "dropna"),
    C("ids-Int64-NA-via-build_samples", lambda: build_samples(log(item_id=pd.array([1, 2, None, 2, None, 4], dtype="Int64"))),
      ValueError, "'item_id'", "2 missing value", "dropna"),
    C("ids-float-NaN", lambda: validate_log(log(cate_id=[1.0, np.nan, 2, 1, 2, 2])), ValueError, "'cate_id'", "1 missing value"),
    C("ids-None-object", lambda: validate_log(log(user_id=[1, None, 1, 2, 2, 2])), ValueError, "'user_id'", "missing value"),
    C("ids-float-whole-numbers", lambda: validate_log(log(user_id=[1.0, 1, 1, 2, 2, 2])), ValueError,
      "'user_id'", "integer ids", "float64", "astype('int64')"),
    C("ids-float-fraction", lambda: validate_log(log(item_id=[1.5, 2, 3, 2, 3, 4])), ValueError, "'item_id'", "float64"),
    C("ids-strings", lambda: validate_log(log(user_id=["a", "a", "a", "b", "b", "b"])), ValueError, "'user_id'", "integer ids", "object"),
    C("ids-bool", lambda: validate_log(log(cate_id=[True, False, True, True, False, True])), ValueError, "'cate_id'", "bool"),
    C("ids-category", lambda: validate_log(log(user_id=pd.Categorical([1, 1, 1, 2, 2, 2]))), ValueError, "'user_id'", "category"),
    C("ids-negative", lambda: validate_log(log(cate_id=[1, -1, 2, 1, 2, 2])), ValueError, "'cate_id'", "-1", ">= 0"),
    C("label-strings-1-0", lambda: validate_log(log(label=["1", "0", "1", "1", "1", "0"])), ValueError, "'label'", "0/1 numbers", "object", "'1'"),
    C("label-strings-yes-no", lambda: build_samples(log(label=["yes", "no", "yes", "yes", "yes", "no"])), ValueError, "'label'", "'yes'"),
    C("label-2", lambda: validate_log(log(label=[1, 0, 2, 1, 1, 0])), ValueError, "'label'", "0 or 1", "2"),
    C("label-half", lambda: validate_log(log(label=[1, 0, 0.5, 1, 1, 0])), ValueError, "'label'", "0 or 1", "0.5"),
    C("label-NaN", lambda: validate_log(log(label=[1, 0, np.nan, 1, 1, 0])), ValueError, "'label'", "1 missing value"),
    C("label-Int64-NA", lambda: validate_log(log(label=pd.array([1, 0, None, 1, 1, 0], dtype="Int64"))), ValueError, "'label'", "missing value"),
    C("time-NaN", lambda: validate_log(log(timestamp=[10, 20, np.nan, 15, 25, 35])), ValueError, "'timestamp'", "1 missing value"),
    C("time-inf", lambda: validate_log(log(timestamp=[10, 20, INF, 15, 25, 35])), ValueError, "'timestamp'", "1 infinite"),
    C("time-negative", lambda: validate_log(log(timestamp=[10, 20, -5, 15, 25, 35])), ValueError, "'timestamp'", "-5", ">= 0"),
    C("time-strings", lambda: validate_log(log(timestamp=["10", "20", "30", "15", "25", "35"])), ValueError, "'timestamp'", "numeric seconds", "object"),
    C("time-datetime", lambda: validate_log(log(timestamp=pd.to_datetime([10, 20, 30, 15, 25, 35], unit="s"))), ValueError,
      "'timestamp'", "datetime64", "pd.Timedelta"),
    C("time-bool", lambda: validate_log(log(timestamp=[True] * 6)), ValueError, "'timestamp'", "bool"),
    # --- build_samples arguments (samples.py: lead) ----------------------------------------------
    C("bs-max_len-0", lambda: build_samples(log(), max_len=0), ValueError, "max_len", "0"),
    C("bs-test_frac-1", lambda: build_samples(log(), test_frac=1.0), ValueError, "test_frac", "1.0"),
    C("bs-test_frac-nan", lambda: build_samples(log(), test_frac=NAN), ValueError, "test_frac", "nan"),
    C("bs-history", lambda: build_samples(log(), history="clicks"), ValueError, "history", "'clicks'"),
    C("bs-gap-0", lambda: build_samples(log(), gap=0), ValueError, "gap", "0"),
    C("bs-min_hist-negative", lambda: build_samples(log(), min_hist=-1), ValueError, "min_hist", "-1"),
    C("bs-max_samples_per_user-0", lambda: build_samples(log(), max_samples_per_user=0, min_hist=0), ValueError, "max_samples_per_user", "0"),
    C("bs-positive-without-label", lambda: build_samples(log().drop(columns="label"), history="positive"), ValueError, "positive", "label"),
    C("bs-max_len-float", lambda: build_samples(log(), max_len=2.5), ValueError, "max_len", "2.5"),
    C("bs-max_len-bool", lambda: build_samples(log(), max_len=True), ValueError, "max_len", "True"),
    C("bs-session_len-float", lambda: build_samples(log(), session_len=2.5), ValueError, "session_len", "2.5"),
    C("bs-n_sessions-float", lambda: build_samples(log(), n_sessions=2.5), ValueError, "n_sessions", "2.5"),
    C("bs-gap-string", lambda: build_samples(log(), gap="1800"), ValueError, "gap", "1800"),
    C("bs-test_frac-string", lambda: build_samples(log(), test_frac="0.2"), ValueError, "test_frac", "0.2"),
    C("bs-min_hist-float", lambda: build_samples(log(), min_hist=0.5), ValueError, "min_hist", "0.5"),
    C("bs-min_hist-string", lambda: build_samples(log(), min_hist="1"), ValueError, "min_hist", "1"),
    C("bs-max_samples_per_user-float", lambda: build_samples(log(), max_samples_per_user=2.5), ValueError,
      "max_samples_per_user", "2.5"),
    C("bs-seed-string", lambda: build_samples(log(), seed="x"), ValueError, "seed", "x"),
    C("bs-seed-negative", lambda: build_samples(log(), seed=-1), ValueError, "seed", "-1"),
    C("batches-float-size", lambda: next(iter(sets()[0].batches(2.5))), ValueError, "batch_size", "2.5"),
    C("batches-int-generator", lambda: next(iter(sets()[0].batches(4, shuffle=True, generator=1))), ValueError,
      "generator", "1"),
    C("shrink_test-float", lambda: shrink_test(sets()[1], 2.5), ValueError, "n_rows", "2.5"),
    # --- sessions ---------------------------------------------------------------------------------
    C("sessions-gap-string", lambda: split_sessions([0, 10], gap="1800"), ValueError, "gap", "'1800'", "str"),
    C("sessions-gap-None", lambda: split_sessions([0, 10], gap=None), ValueError, "gap", "None"),
    C("sessions-gap-bool", lambda: split_sessions([0, 10], gap=True), ValueError, "gap", "True"),
    C("sessions-gap-nan", lambda: split_sessions([0, 10], gap=NAN), ValueError, "gap", "nan"),
    C("sessions-gap-0", lambda: split_sessions([0, 10], gap=0), ValueError, "gap", "> 0", "0"),
    C("sessions-gap-negative", lambda: session_breaks(np.array([0, 10]), gap=-5), ValueError, "gap", "-5"),
    C("sessions-ts-strings", lambda: split_sessions(["10", "20"]), ValueError, "timestamps", "numbers of seconds", "'10'"),
    C("sessions-ts-objects", lambda: split_sessions(np.array([10, None], dtype=object)), ValueError, "timestamps", "object"),
    C("sessions-ts-bool", lambda: split_sessions([True, False]), ValueError, "timestamps", "bool"),
    C("sessions-ts-datetime", lambda: split_sessions(np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[s]")),
      ValueError, "timestamps", "datetime64"),
    C("sessions-ts-NaN", lambda: split_sessions([0, np.nan]), ValueError, "timestamps", "1 NaN"),
    C("sessions-ts-inf", lambda: split_sessions([0, INF]), ValueError, "timestamps", "1 infinite"),
    C("sessions-ts-negative", lambda: split_sessions([-1, 2]), ValueError, "timestamps", ">= 0", "-1"),
    C("sessions-ts-unsorted", lambda: split_sessions([0, 5, 3]), ValueError, "not sorted", "position 2 (3)", "position 1 (5)"),
    C("sessions-ts-unsorted-uint64", lambda: split_sessions(np.array([5, 3], dtype=np.uint64)), ValueError, "not sorted"),
    C("sessions-ts-2d", lambda: split_sessions(np.zeros((2, 2))), ValueError, "timestamps", "one-dimensional", "(2, 2)"),
    C("sessions-users-length", lambda: session_breaks(np.array([0, 1, 2]), users=np.array([1, 1])), ValueError, "users", "(3,)", "(2,)"),
    C("sessions-users-NaN", lambda: session_breaks(np.array([0, 1, 2]), users=np.array([1, np.nan, 1])), ValueError,
      "users", "1 missing id"),
    C("sessions-truth-length", lambda: boundary_precision_recall(np.array([0, 1, 2]), np.array([0, 0])), ValueError,
      "true_sessions", "(3,)", "(2,)"),
    C("sessions-curve-bad-gap", lambda: boundary_curve(np.array([0, 1]), np.array([0, 0]), ["x"]), ValueError, "gap", "'x'"),
    # --- metrics ------------------------------------------------------------------------------------
    C("auc-2d-shapes", lambda: auc(np.zeros((3, 4)), np.zeros((4, 3))), ValueError, "y", "one-dimensional", "(3, 4)"),
    C("auc-column-scores", lambda: auc(np.array([1, 0]), np.array([[0.2], [0.1]])), ValueError, "p", "one-dimensional", "(2, 1)"),
    C("auc-scalar", lambda: auc(1, 0.5), ValueError, "y", "one-dimensional", "()"),
    C("auc-lengths", lambda: auc(np.array([1, 0]), np.array([0.1])), ValueError, "mismatched lengths", "'y': 2", "'p': 1"),
    C("auc-empty", lambda: auc(np.array([]), np.array([])), ValueError, "empty"),
    C("auc-label-strings", lambda: auc(np.array(["1", "0"]), np.array([0.2, 0.1])), ValueError, "y", "labels", "<U1", "'1'"),
    C("auc-label-objects", lambda: auc(np.array([1, None], dtype=object), np.array([0.2, 0.1])), ValueError, "y", "object"),
    C("auc-label-2", lambda: auc(np.array([1, 2]), np.array([0.2, 0.1])), ValueError, "y", "0 or 1", "2"),
    C("auc-label-NaN", lambda: auc(np.array([1, np.nan]), np.array([0.2, 0.1])), ValueError, "y", "1 NaN"),
    C("auc-score-NaN", lambda: auc(np.array([1, 0]), np.array([0.1, np.nan])), ValueError, "p", "1 NaN or infinite"),
    C("auc-score-inf", lambda: auc(np.array([1, 0]), np.array([0.1, -INF])), ValueError, "p", "infinite"),
    C("auc-score-strings", lambda: auc(np.array([1, 0]), np.array(["0.2", "0.1"])), ValueError, "p", "scores", "'0.2'"),
    C("auc-one-class", lambda: auc(np.array([1, 1]), np.array([0.2, 0.1])), ValueError, "one class", "y holds only 1"),
    C("gauc-user-NaN", lambda: gauc(np.array([1, np.nan, 2]), np.array([1, 0, 1]), np.array([0.3, 0.2, 0.1])), ValueError,
      "user", "1 missing id", "position 1"),
    C("gauc-user-None", lambda: gauc(np.array(["a", None, "b"], dtype=object), np.array([1, 0, 1]), np.array([0.3, 0.2, 0.1])),
      ValueError, "user", "missing id"),
    C("gauc-2d-user", lambda: gauc(np.ones((2, 1)), np.array([1, 0]), np.array([0.3, 0.2])), ValueError, "user", "one-dimensional"),
    C("gauc-lengths", lambda: gauc(np.array([1, 2, 3]), np.array([1, 0]), np.array([0.2, 0.1])), ValueError, "mismatched lengths", "'user': 3"),
    C("rela_impr-nan", lambda: rela_impr(NAN, 0.6), ValueError, "auc_model", "nan"),
    C("rela_impr-above-1", lambda: rela_impr(0.7, 1.5), ValueError, "auc_base", "1.5"),
    C("rela_impr-string", lambda: rela_impr("0.7", 0.6), ValueError, "auc_model", "'0.7'"),
    C("rela_impr-half", lambda: rela_impr(0.7, 0.5), ValueError, "0.5"),
    # --- models: the registry and the constructors -----------------------------------------------
    *[C(f"{name}-dim-0", lambda name=name: create(name, vocab(), dim=0), ValueError, "dim", ">= 1", "got 0")
      for name in ("base", "din", "dien", "dsin")],
    C("dim-negative", lambda: create("din", vocab(), dim=-3), ValueError, "dim", "-3"),
    C("dim-fraction", lambda: create("dien", vocab(), dim=2.5), ValueError, "dim", "integer", "2.5"),
    C("dim-whole-float", lambda: create("dsin", vocab(), dim=8.0), ValueError, "dim", "8.0", "pass 8"),
    C("dim-string", lambda: create("base", vocab(), dim="8"), ValueError, "dim", "'8'"),
    C("dim-bool", lambda: create("base", vocab(), dim=True), ValueError, "dim", "True"),
    C("create-vocab-None", lambda: create("din", None), TypeError, "vocab", "Vocab", "NoneType"),
    C("create-vocab-dict", lambda: create("din", {"n_items": 10}), TypeError, "vocab", "dict"),
    C("create-vocab-sampleset", lambda: create("din", sets()[0]), TypeError, "vocab", "SampleSet", "train.vocab"),
    C("constructor-vocab-None", lambda: DIN(None), TypeError, "vocab", "NoneType"),
    C("create-name-None", lambda: create(None, vocab()), TypeError, "name", "None", "known models"),
    C("create-name-unknown", lambda: create("transformer", vocab()), ValueError, "'transformer'", "known models", "din"),
    C("create-unknown-option", lambda: create("din", vocab(), heads=2), TypeError, "heads"),
    C("base-pooling", lambda: create("base", vocab(), pooling="max"), ValueError, "pooling", "'max'"),
    C("base-hidden-0", lambda: create("base", vocab(), hidden=(0,)), ValueError, "hidden[0]", ">= 1", "0"),
    C("din-reg_lambda-nan", lambda: create("din", vocab(), reg_lambda=NAN), ValueError, "reg_lambda", "finite", "nan"),
    C("din-reg_lambda-inf", lambda: create("din", vocab(), reg_lambda=INF), ValueError, "reg_lambda", "inf"),
    C("din-reg_lambda-negative", lambda: create("din", vocab(), reg_lambda=-1), ValueError, "reg_lambda", ">= 0", "-1"),
    C("din-reg_lambda-string", lambda: create("din", vocab(), reg_lambda="0.1"), ValueError, "reg_lambda", "'0.1'"),
    C("din-tower-0", lambda: create("din", vocab(), tower=(200, 0)), ValueError, "tower[1]", ">= 1", "0"),
    C("din-tower-int", lambda: create("din", vocab(), tower=200), ValueError, "tower", "sequence", "200"),
    C("din-tower-string", lambda: create("din", vocab(), tower="200"), ValueError, "tower", "'200'"),
    C("din-attention_hidden-negative", lambda: create("din", vocab(), attention_hidden=(80, -1)), ValueError, "attention_hidden[1]", "-1"),
    C("din-attention_hidden-float", lambda: create("din", vocab(), attention_hidden=(80.5,)), ValueError, "attention_hidden[0]", "80.5"),
    C("din-activation", lambda: create("din", vocab(), activation="relu"), ValueError, "activation", "'relu'"),
    C("din-activation-no-hidden", lambda: create("din", vocab(), attention_hidden=(), tower=(), activation="relu"),
      ValueError, "activation", "'relu'"),
    C("din-normalize", lambda: create("din", vocab(), normalize="sigmoid"), ValueError, "normalize", "'sigmoid'"),
    C("din-regularization", lambda: create("din", vocab(), regularization="l1"), ValueError, "regularization", "'l1'"),
    C("din-mba-no-counts", lambda: create("din", vocab(), regularization="mba"), ValueError, "item_counts", "mba"),
    C("din-mba-counts-shape", lambda: create("din", vocab(), regularization="mba", item_counts=torch.ones(3)), ValueError,
      "item_counts", "shape", "(3,)"),
    C("din-counts-numpy", lambda: create("din", vocab(), regularization="mba", item_counts=np.ones(vocab().n_items)), TypeError,
      "item_counts", "ndarray"),
    C("din-counts-NaN", lambda: create("din", vocab(), regularization="mba", item_counts=torch.full((vocab().n_items,), NAN)),
      ValueError, "item_counts", "NaN"),
    C("dien-aux_weight-nan", lambda: create("dien", vocab(), aux_weight=NAN), ValueError, "aux_weight", "nan"),
    C("dien-aux_weight-negative", lambda: DIEN(vocab(), aux_weight=-1), ValueError, "aux_weight", "-1"),
    C("dien-aux_weight-string", lambda: create("dien", vocab(), aux_weight="1"), ValueError, "aux_weight", "'1'"),
    C("dien-hidden_size-0", lambda: create("dien", vocab(), hidden_size=0, aux_scorer="mlp"), ValueError, "hidden_size", ">= 1", "0"),
    C("dien-hidden_size-float", lambda: create("dien", vocab(), hidden_size=2.5, aux_scorer="mlp"), ValueError, "hidden_size", "2.5"),
    C("dien-inner-width", lambda: create("dien", vocab(), form="paper", hidden_size=12), ValueError, "hidden_size", "16", "12"),
    C("dien-target_product-string", lambda: create("dien", vocab(), target_product="yes"), TypeError,
      "target_product", "True or False", "'yes'"),
    C("dien-aux_moves_items-string", lambda: create("dien", vocab(), aux_moves_items="no"), TypeError,
      "aux_moves_items", "True or False", "'no'"),
    C("dien-gate_bias-nan", lambda: create("dien", vocab(), gate_bias=NAN), ValueError, "gate_bias", "nan"),
    C("dien-form", lambda: create("dien", vocab(), form="tf"), ValueError, "form", "'released'", "'tf'"),
    C("dien-tower_activation", lambda: create("dien", vocab(), tower_activation="relu"), ValueError,
      "tower_activation", "'dice'", "'relu'"),
    C("dien-gru_type", lambda: create("dien", vocab(), gru_type="lstm"), ValueError, "gru_type", "'lstm'"),
    C("dien-gate", lambda: create("dien", vocab(), gate="keep"), ValueError, "gate", "'keep'"),
    C("dien-gate-agru", lambda: create("dien", vocab(), gru_type="agru", gate="tf-keep"), ValueError, "gate", "augru"),
    C("dien-aux_scorer", lambda: create("dien", vocab(), aux_scorer="dot"), ValueError, "aux_scorer", "'dot'"),
    C("dien-temperature-0", lambda: create("dien", vocab()).interests(sets()[0][:4], temperature=0), ValueError,
      "temperature", "> 0", "0"),
    C("dien-temperature-nan", lambda: create("dien", vocab()).gate_trace(sets()[0][:4], temperature=NAN), ValueError,
      "temperature", "nan"),
    C("dien-tower-0", lambda: create("dien", vocab(), tower=(0,)), ValueError, "tower[0]", "0"),
    C("dsin-n_sessions-0", lambda: create("dsin", vocab(), n_sessions=0), ValueError, "n_sessions", ">= 1", "0"),
    C("dsin-session_len-0", lambda: create("dsin", vocab(), session_len=0), ValueError, "session_len", "0"),
    C("dsin-session_len-float", lambda: create("dsin", vocab(), session_len=2.5), ValueError, "session_len", "2.5"),
    C("dsin-heads-3", lambda: create("dsin", vocab(), heads=3), ValueError, "heads=3", "2 * dim = 16", "[1, 2, 4, 8, 16]"),
    C("dsin-heads-0", lambda: DSIN(vocab(), heads=0), ValueError, "heads", "0"),
    C("dsin-combine", lambda: create("dsin", vocab(), combine="mean"), ValueError, "combine", "'mean'"),
    C("dsin-bias_encoding-string", lambda: create("dsin", vocab(), bias_encoding="no"), ValueError, "bias_encoding", "'no'"),
    C("dsin-interacting-int", lambda: create("dsin", vocab(), interacting=0), ValueError, "interacting", "0"),
    C("dsin-tower-0", lambda: create("dsin", vocab(), tower=(0,)), ValueError, "tower[0]", "0"),
    # --- nn parts -------------------------------------------------------------------------------------
    C("dice-dim-0", lambda: Dice(0), ValueError, "dim", "0"),
    C("dice-dim-float", lambda: Dice(2.5), ValueError, "dim", "2.5"),
    C("dice-eps-nan", lambda: Dice(4, eps=NAN), ValueError, "eps", "nan"),
    C("dice-momentum-above-1", lambda: Dice(4, momentum=1.5), ValueError, "momentum", "1.5"),
    C("dice-momentum-nan", lambda: Dice(4, momentum=NAN), ValueError, "momentum", "nan"),
    C("dice-alpha_init-string", lambda: Dice(4, alpha_init="x"), ValueError, "alpha_init", "'x'"),
    C("dice-mask-shape", lambda: Dice(4).train()(torch.zeros(2, 3, 4), torch.ones(3, 2)), ValueError, "mask shape", "(3, 2)", "(2, 3)"),
    C("activation-name", lambda: activation("relu", 4), ValueError, "activation", "'relu'"),
    C("lau-dim-0", lambda: LocalActivationUnit(0), ValueError, "dim", "0"),
    C("lau-hidden-0", lambda: LocalActivationUnit(8, hidden=(0,)), ValueError, "hidden[0]", "0"),
    C("lau-activation", lambda: LocalActivationUnit(8, hidden=(), activation_name="relu"), ValueError, "activation_name", "'relu'"),
    C("lau-normalize", lambda: LocalActivationUnit(8, normalize="max"), ValueError, "normalize", "'max'"),
    C("scatter-normalize", lambda: scatter_weights(torch.ones(1), torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long),
                                                   torch.ones(1, 1), "max"), ValueError, "normalize", "'max'"),
    C("gru-hidden-0", lambda: GRUCell(4, 0), ValueError, "hidden_size", "0"),
    C("gru-input-float", lambda: AGRUCell(4.5, 4), ValueError, "input_size", "4.5"),
    C("augru-gate", lambda: AUGRUCell(4, 4, gate="x"), ValueError, "gate", "'x'"),
    C("make_cell-type", lambda: make_cell("lstm", 4, 4), ValueError, "gru_type", "'lstm'"),
    C("extractor-hidden-0", lambda: InterestExtractor(4, 0), ValueError, "hidden_size", "0"),
    C("bilinear-dim-0", lambda: BilinearAttention(0, 4), ValueError, "state_dim", "0"),
    C("aux-mlp-hidden-0", lambda: AuxiliaryMLP(4, 4, hidden=(0,)), ValueError, "hidden[0]", "0"),
    C("aux-mlp-item_dim-string", lambda: AuxiliaryMLP(4, "4"), ValueError, "item_dim", "'4'"),
    C("bias-encoding-K-0", lambda: BiasEncoding(0, 10, 16), ValueError, "n_sessions", "0"),
    C("bias-encoding-std-nan", lambda: BiasEncoding(5, 10, 16, std=NAN), ValueError, "std", "nan"),
    C("session-extractor-heads", lambda: SessionExtractor(16, heads=3), ValueError, "heads", "dim=16", "heads=3"),
    C("session-extractor-dropout", lambda: SessionExtractor(16, dropout=1.5), ValueError, "dropout", "1.5"),
    C("session-extractor-ffn-0", lambda: SessionExtractor(16, ffn_dim=0), ValueError, "ffn_dim", "0"),
    C("session-interacting-combine", lambda: SessionInteracting(16, combine="max"), ValueError, "combine", "'max'"),
    C("session-interacting-hidden-0", lambda: SessionInteracting(16, hidden=0), ValueError, "hidden", "0"),
    C("mba-counts-shape", lambda: mba_penalty(torch.ones(5, 2), torch.tensor([1]), torch.ones(3), 0.1), ValueError, "counts", "(3,)", "(5,)"),
    C("layers-embedding-dim-0", lambda: ItemEmbedding(10, 5, dim=0), ValueError, "dim", "0"),
    C("layers-embedding-dim-float", lambda: ItemEmbedding(10, 5, dim=2.5), ValueError, "dim", "2.5"),
    C("layers-embedding-n_items-0", lambda: ItemEmbedding(0, 5, dim=4), ValueError, "n_items", "0"),
    C("layers-mlp-hidden-0", lambda: MLP(8, (0,)), ValueError, "hidden", "0"),
    C("layers-mlp-hidden-negative", lambda: MLP(8, (-1,)), ValueError, "hidden", "-1"),
    C("layers-mlp-in_dim-0", lambda: MLP(0, (4,)), ValueError, "in_dim", "0"),
    C("layers-mlp-dropout-nan", lambda: MLP(8, (4,), dropout=NAN), ValueError, "dropout", "nan"),
    C("layers-mlp-hidden-int", lambda: MLP(8, 200), ValueError, "hidden", "200"),
    # --- training and evaluation (train.py, evaluation.py, synthetic.py: lead) -------------------------
    C("fit-epochs-0", lambda: fit(create("base", vocab()), sets()[0], epochs=0), ValueError, "epochs", "0"),
    C("fit-valid-frame", lambda: fit(create("base", vocab()), sets()[0], log(), progress=False), TypeError, "valid", "DataFrame"),
    C("evaluate-batch_size-0", lambda: evaluate(create("base", vocab()), sets()[1], batch_size=0), ValueError, "batch_size", "0"),
    C("predict-batch_size-negative", lambda: predict(create("base", vocab()), sets()[1], batch_size=-5), ValueError, "batch_size", "-5"),
    C("compare-no-models", lambda: compare_models([], data=sets()), ValueError, "at least one model"),
    C("compare-no-seeds", lambda: compare_models(["base"], data=sets(), seeds=[]), ValueError, "at least one seed"),
    C("compare-unknown-model", lambda: compare_models(["nope"], data=sets()), ValueError, "nope", "known models"),
    C("compare-unknown-dataset", lambda: compare_models(["base"], dataset="imdb"), ValueError, "'imdb'", "synthetic"),
    C("compare-dim-0", lambda: compare_models(["base"], data=sets(), dim=0), ValueError, "dim", "0"),
    C("compare-epochs-0", lambda: compare_models(["base"], data=sets(), epochs=0), ValueError, "epochs", "0"),
    C("fit-batch_size-0", lambda: fit(create("base", vocab()), sets()[0], batch_size=0, progress=False), ValueError,
      "batch_size", "0"),
    C("fit-batch_size-float", lambda: fit(create("base", vocab()), sets()[0], batch_size=2.5, progress=False), ValueError,
      "batch_size", "2.5"),
    C("fit-epochs-float", lambda: fit(create("base", vocab()), sets()[0], epochs=2.5, progress=False), ValueError,
      "epochs", "2.5"),
    C("fit-epochs-string", lambda: fit(create("base", vocab()), sets()[0], epochs="2", progress=False), ValueError,
      "epochs", "2"),
    C("fit-lr-nan", lambda: fit(create("base", vocab()), sets()[0], lr=NAN, progress=False), ValueError, "lr", "nan"),
    C("fit-lr-0", lambda: fit(create("base", vocab()), sets()[0], epochs=1, lr=0, progress=False), ValueError, "lr", "0"),
    C("fit-lr-string", lambda: fit(create("base", vocab()), sets()[0], lr="0.1", progress=False), ValueError, "lr", "0.1"),
    C("fit-patience-0", lambda: fit(create("base", vocab()), *sets(), epochs=1, patience=0, progress=False), ValueError,
      "patience", "0"),
    C("fit-seed-float", lambda: fit(create("base", vocab()), sets()[0], epochs=1, seed=2.5, progress=False), ValueError,
      "seed", "2.5"),
    C("fit-device", lambda: fit(create("base", vocab()), sets()[0], device="gpu", progress=False), ValueError,
      "device", "gpu"),
    C("fit-train-frame", lambda: fit(create("base", vocab()), log(), progress=False), TypeError, "train", "DataFrame"),
    C("fit-model-None", lambda: fit(None, sets()[0], progress=False), TypeError, "model", "None"),
    C("compare-batch_size-0", lambda: compare_models(["base"], data=sets(), batch_size=0), ValueError, "batch_size", "0"),
    C("compare-seeds-int", lambda: compare_models(["base"], data=sets(), seeds=3), ValueError, "seeds", "3"),
    C("compare-models-string", lambda: compare_models("din", data=sets()), ValueError, "models", "'din'"),
    C("compare-kwargs-other-model", lambda: compare_models(["base"], data=sets(), epochs=1, model_kwargs={"din": {"dim": 4}}),
      ValueError, "model_kwargs", "din"),
    C("compare-data-one-set", lambda: compare_models(["base"], data=sets()[:1]), ValueError, "data", "(train, test)"),
    C("synthetic-n_users-float", lambda: make_synthetic(n_users=2.5), ValueError, "n_users", "2.5"),
    C("synthetic-noise-nan", lambda: make_synthetic(n_users=20, noise=NAN), ValueError, "noise", "nan"),
    C("synthetic-sessions-0", lambda: make_synthetic(n_users=20, sessions_per_user=0), ValueError, "sessions_per_user", "0"),
    C("synthetic-events-nan", lambda: make_synthetic(n_users=20, events_per_session=NAN), ValueError,
      "events_per_session", "nan"),
    C("synthetic-seed-string", lambda: make_synthetic(n_users=20, seed="x"), ValueError, "seed", "x"),
    # --- loaders ----------------------------------------------------------------------------------------
    C("movielens-unknown", lambda: load_movielens("ml-20m"), ValueError, "'ml-20m'", "ml-100k", "ml-1m"),
    C("movielens-name-None", lambda: load_movielens(None), ValueError, "None", "ml-1m"),
    C("movielens-name-list", lambda: load_movielens(["ml-1m"]), ValueError, "['ml-1m']", "known"),
    C("movielens-download-string", lambda: load_movielens("ml-1m", download="no"), ValueError, "download", "'no'"),
    C("movielens-progress-int", lambda: load_movielens("ml-1m", progress=0), ValueError, "progress", "0"),
    C("movielens-data_dir-empty", lambda tmp_path: load_movielens("ml-100k", data_dir=tmp_path), FileNotFoundError,
      "neither", "ml-100k", "u.data"),
    C("taobao-missing-file", lambda tmp_path: load_taobao(tmp_path / "none.csv"), FileNotFoundError, "none.csv"),
    C("taobao-max_users-0", lambda tmp_path: load_taobao(tmp_path / "none.csv", max_users=0), ValueError, "max_users", ">= 1", "0"),
    C("taobao-max_users-float", lambda tmp_path: load_taobao(tmp_path / "none.csv", max_users=2.5), ValueError, "max_users", "2.5"),
    C("taobao-max_users-bool", lambda tmp_path: load_taobao(tmp_path / "none.csv", max_users=True), ValueError, "max_users", "True"),
    C("taobao-max_users-string", lambda tmp_path: load_taobao(tmp_path / "none.csv", max_users="10"), ValueError, "max_users", "'10'"),
    *[
        C(f"taobao-line-{label}", lambda tmp_path, text=text: load_taobao(taobao_file(text)(tmp_path)), ValueError,
          "UserBehavior.csv", *words)
        for label, text, words in [
            ("empty-timestamp", "1,2,3,pv,100\n1,2,3,pv,\n", ("line 2", "missing fields", "timestamp")),
            ("empty-category", "1,2,3,pv,100\n1,2,,pv,100\n", ("line 2", "missing fields", "category_id")),
            ("three-fields", "1,2,3,pv,100\n1,2,3\n", ("line 2", "missing fields")),
            ("empty-behavior", "1,2,3,pv,100\n1,2,3,,100\n", ("line 2", "missing fields")),
            ("id-2-pow-63", "1,2,3,pv,100\n9223372036854775808,2,3,pv,100\n", ("line 2", "user_id", "9223372036854775808", "int64")),
            ("id-2-pow-64", "1,2,3,pv,100\n1,99999999999999999999,3,pv,100\n", ("line 2", "item_id", "99999999999999999999", "int64")),
            ("id-negative", "1,2,3,pv,100\n1,2,-3,pv,100\n", ("line 2", "category_id", "-3", ">= 0")),
            ("time-negative", "1,2,3,pv,100\n1,2,3,pv,-100\n", ("line 2", "timestamp", "-100")),
            ("id-fraction", "1,2,3,pv,100\n1.5,2,3,pv,100\n", ("line 2", "user_id", "'1.5'")),
            ("time-text", "1,2,3,pv,100\n1,2,3,pv,1x\n", ("line 2", "timestamp", "'1x'")),
            ("behaviour", "1,2,3,pv,100\n1,2,3,click,100\n", ("line 2", "'click'", "pv")),
            ("six-fields", "1,2,3,pv,100\n1,2,3,pv,100,7\n", ("line 2", "Expected 5 fields")),
            ("header", "user_id,item_id,category_id,behavior_type,timestamp\n1,2,3,pv,100\n", ("line 1", "user_id", "'user_id'")),
        ]
    ],
    # --- round two (issue 18): time units ------------------------------------------------------------
    C("time-ms-as-seconds", lambda: validate_log(ms_log()), ValueError, "'timestamp'", "1500000035000", "milliseconds",
      "time_unit='ms'", "divide them by 1000"),
    C("bs-time-ms-as-seconds", lambda: build_samples(ms_log(), min_hist=0), ValueError, "milliseconds", "build_samples(log, time_unit='ms')"),
    C("bs-time-us-as-ms", lambda: build_samples(ms_log().assign(timestamp=ms_log().timestamp * 1000), time_unit="ms"), ValueError,
      "time_unit='ms'", "microseconds", "divide by 1e6"),
    C("bs-time_unit-unknown", lambda: build_samples(log(), time_unit="sec"), ValueError, "time_unit", "'sec'", "'ms'"),
    C("bs-time_unit-None", lambda: build_samples(log(), time_unit=None), ValueError, "time_unit", "None"),
    C("sessions-ms-as-seconds", lambda: split_sessions([1.5e12, 1.5e12 + 1000]), ValueError, "timestamps", "milliseconds",
      "split_sessions(timestamps, time_unit='ms')"),
    C("session_breaks-ms-as-seconds", lambda: session_breaks(np.array([1.5e12, 1.6e12]), users=np.array([1, 2])), ValueError,
      "timestamps", "time_unit='ms'"),
    C("sessions-time_unit-unknown", lambda: split_sessions([0, 10], time_unit="minutes"), ValueError, "time_unit", "'minutes'"),
    C("boundary-ms-as-seconds", lambda: boundary_precision_recall(np.array([1.5e12, 1.6e12]), np.array([0, 1])), ValueError,
      "milliseconds"),
    C("taobao-ms-as-seconds", lambda tmp_path: load_taobao(taobao_file("1,2,3,pv,1511544070000\n1,3,3,pv,1511544071500\n")(tmp_path)),
      ValueError, "UserBehavior.csv", "milliseconds", "load_taobao(path, time_unit='ms')"),
    C("taobao-time_unit-unknown", lambda tmp_path: load_taobao(taobao_file("1,2,3,pv,100\n")(tmp_path), time_unit="us"), ValueError,
      "time_unit", "'us'"),
    # --- round two: files and folders ------------------------------------------------------------------
    C("taobao-gz-truncated", lambda tmp_path: load_taobao(gz_file(tmp_path, "truncated")), ValueError,
      "UserBehavior.csv.gz", "could not be decompressed", "EOFError", "truncated", "Copy it again"),
    C("taobao-gz-mislabelled", lambda tmp_path: load_taobao(gz_file(tmp_path, "mislabelled")), ValueError,
      "UserBehavior.csv.gz", "BadGzipFile", "not gz-compressed", "rename it without '.gz'"),
    C("taobao-binary-csv", lambda tmp_path: load_taobao(binary_file(tmp_path)), ValueError, "UserBehavior.csv",
      "not a text CSV file", ".gz"),
    C("data-dir-is-a-file-movielens", env_points_at_a_file("SEQLIB_DATA_DIR", lambda: load_movielens("ml-100k", download=False)),
      NotADirectoryError, "SEQLIB_DATA_DIR=", "not-a-folder.txt", "not a folder", "unset it"),
    C("data-dir-is-a-file-taobao", env_points_at_a_file("SEQLIB_DATA_DIR", lambda: load_taobao()), NotADirectoryError,
      "SEQLIB_DATA_DIR=", "not-a-folder.txt"),
    C("cache-dir-is-a-file", env_points_at_a_file("SEQLIB_CACHE_DIR", lambda: load_movielens("ml-100k")), NotADirectoryError,
      "SEQLIB_CACHE_DIR=", "not-a-folder.txt", "not a folder"),
    # --- round two: None where a list is expected, seeds too large, on_bad_run ---------------------------
    C("compare-models-None", lambda: compare_models(None, data=sets()), ValueError, "models", "None", "['base', 'din']"),
    C("compare-models-int", lambda: compare_models(3, data=sets()), ValueError, "models", "3", "known models"),
    C("compare-seeds-None", lambda: compare_models(["base"], data=sets(), seeds=None), ValueError, "seeds", "None", "range(3)"),
    C("compare-seeds-string", lambda: compare_models(["base"], data=sets(), seeds="012"), ValueError, "seeds", "'012'"),
    C("compare-seed-huge", lambda: compare_models(["base"], data=sets(), seeds=[2**70]), ValueError, "seed", str(2**70), "2**64 - 1"),
    C("fit-seed-huge", lambda: fit(create("base", vocab()), sets()[0], epochs=1, seed=2**64, progress=False), ValueError,
      "seed", str(2**64), "2**64 - 1", "seed % 2**64"),
    C("bs-seed-huge", lambda: build_samples(log(), seed=2**70), ValueError, "seed", str(2**70)),
    C("fit-on_bad_run", lambda: fit(create("base", vocab()), sets()[0], epochs=1, on_bad_run="ignore", progress=False),
      ValueError, "on_bad_run", "'ignore'", "'warn'"),
    C("compare-on_bad_run", lambda: compare_models(["base"], data=sets(), on_bad_run=False), ValueError, "on_bad_run", "False"),
    # --- round two: a batch of another vocabulary, straight to a model or its explanation methods --------
    *[C(f"{name}-call-other-vocab", lambda name=name: create(name, vocab())(other_batch()), ValueError,
        "another vocabulary", "create(name, train.vocab)") for name in ("base", "din", "dien", "dsin")],
    C("din-attention-other-vocab", lambda: create("din", vocab()).attention(other_batch()), ValueError, "another vocabulary"),
    C("viz-attention_weights-other-vocab", lambda: attention_weights(create("din", vocab()), other_batch()), ValueError,
      "another vocabulary"),
    C("dien-interests-other-vocab", lambda: create("dien", vocab()).interests(other_batch()), ValueError, "another vocabulary"),
    C("dien-gate_trace-other-vocab", lambda: create("dien", vocab()).gate_trace(other_batch()), ValueError, "another vocabulary"),
    C("dsin-session_attention-other-vocab", lambda: create("dsin", create_small_vocab()).session_attention(sets()[0][:4]),
      ValueError, "another vocabulary", "fingerprint"),
    C("model-call-not-a-batch", lambda: create("din", vocab())({"item": torch.ones(2)}), TypeError, "Batch", "dict"),
    # --- round two: exercise checkers handed something that is not a function ----------------------------
    C("checker-None", lambda: check_length_mask(None), TypeError, "check_length_mask", "NoneType", "without calling it"),
    C("checker-a-result", lambda: check_split_sessions(np.array([0, 0, 1])), TypeError, "check_split_sessions", "ndarray"),
    # --- round two: empty tables to the plots -------------------------------------------------------------
    C("plot_comparison-empty-frame", lambda: plot_comparison({"synthetic": pd.DataFrame(columns=["model", "auc", "auc_std"])}),
      ValueError, "results['synthetic']", "empty"),
    C("plot_comparison-not-a-frame", lambda: plot_comparison({"synthetic": [0.7]}), TypeError, "results['synthetic']", "list"),
    C("plot_runs-empty", lambda: plot_runs(pd.DataFrame()), ValueError, "results", "lacks the column(s)", "model"),
    C("plot_runs-no-runs", lambda: plot_runs(pd.DataFrame({"model": ["din"], "auc": [0.7], "auc_std": [0.0]})), ValueError,
      "attrs['runs']"),
    C("plot_train_time-none", lambda: plot_train_time({}), ValueError, "no results"),
    C("plot_train_time-empty", lambda: plot_train_time({"synthetic": pd.DataFrame(columns=["model", "seconds"])}), ValueError,
      "results['synthetic']", "empty"),
    C("plot_slice_effect-empty", lambda: plot_slice_effect(pd.DataFrame(columns=["rows", "valid_users", "auc", "gauc"])),
      ValueError, "frame", "empty"),
    C("plot_session_stats-none", lambda: plot_session_stats({}), ValueError, "at least one log"),
    C("plot_session_stats-empty-log", lambda: plot_session_stats({"taobao": log().iloc[:0]}), ValueError, "'taobao'", "empty"),
    C("session_stats-empty-log", lambda: session_stats(log().iloc[:0]), ValueError, "empty"),
    C("plot_boundary_curve-empty", lambda: plot_boundary_curve(pd.DataFrame(columns=["gap", "precision", "recall"])),
      ValueError, "curve", "boundary_curve"),
]


def _params() -> list:
    params = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=f"{case.owner}: not handled yet")] if case.owner else []
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("case", _params())
def test_bad_input_is_named(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQLIB_DATA_DIR", raising=False)
    takes_path = case.call.__code__.co_argcount > 0 and case.call.__code__.co_varnames[0] == "tmp_path"
    with pytest.raises(case.error) as info:
        case.call(tmp_path) if takes_path else case.call()
    message = str(info.value)
    missing = [word for word in case.words if word not in message]
    assert not missing, f"the message lacks {missing}: {message}"


# ----------------------------------------------------------------------------- the command line


CLI_CASES = [
    (["compare", "base", "--dim", "0"], ["--dim", "0"]),
    (["compare", "base", "--dim", "-4"], ["--dim", "-4"]),
    (["compare", "base", "--dim", "2.5"], ["--dim", "'2.5'"]),
    (["compare", "base", "--dim", "eight"], ["--dim", "'eight'"]),
    (["compare", "base", "--batch-size", "0"], ["--batch-size", "0"]),
    (["compare", "base", "--epochs", "0"], ["--epochs", "0"]),
    (["compare", "base", "--seeds", "0"], ["--seeds", "0"]),
    (["compare", "base", "--threads", "0"], ["--threads", "0"]),
    (["compare", "base", "--lr", "0"], ["--lr", "'0'"]),
    (["compare", "base", "--lr", "-0.1"], ["--lr", "'-0.1'"]),
    (["compare", "base", "--lr", "nan"], ["--lr", "'nan'"]),
    (["compare", "base", "--lr", "inf"], ["--lr", "'inf'"]),
    (["compare", "transformer"], ["transformer", "known models"]),
    (["compare", "base", "--dataset", "imdb"], ["'imdb'", "known data sets"]),
    (["compare"], ["MODEL"]),
    ([], ["command"]),
    (["train", "base"], ["'train'"]),
]


@pytest.mark.parametrize("argv, words", CLI_CASES, ids=[" ".join(a) or "no-args" for a, _ in CLI_CASES])
def test_cli_bad_value_is_a_usage_error(argv: list[str], words: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err
    assert all(word in err for word in words), err


def test_cli_data_problems_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The library's refusals (no Taobao file, a failed download) end with exit status 2 and one
    ``error:`` line instead of a traceback."""
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(SystemExit) as info:
        main(["compare", "base", "--dataset", "taobao"])
    assert info.value.code == 2
    assert "error: Taobao UserBehavior.csv not found" in capsys.readouterr().err
    gone = movielens.ARCHIVES["ml-100k"]._replace(url=(tmp_path / "gone.zip").as_uri())
    monkeypatch.setitem(movielens.ARCHIVES, "ml-100k", gone)
    with pytest.raises(SystemExit) as info:
        main(["compare", "base", "--dataset", "ml-100k"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error: could not download file://" in err and "Traceback" not in err


def test_cli_process_exits_2_on_dim_0() -> None:
    """``python -m seqlib compare base --dim 0`` as a real process: exit status 2, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "seqlib", "compare", "base", "--dim", "0"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "argument --dim: expected a whole number >= 1, got 0" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


# ----------------------------------------------------------------------------- odd but valid


def _fractional_times_are_kept() -> None:
    """10.2 s and 10.7 s are different times: the later event's history holds the earlier one."""
    frame = log(timestamp=[10.2, 10.7, 30, 15, 25, 35])
    try:
        train, test = build_samples(frame, min_hist=0, test_frac=0.4)
    except ValueError as exc:  # refusing fractional seconds is a correct answer too
        assert "timestamp" in str(exc)
        return
    both = pd.concat([train.frame.assign(n=train.full().hist_len.numpy()), test.frame.assign(n=test.full().hist_len.numpy())])
    assert both.loc[(both.user_id == 1) & (both.item_id == 2), "n"].item() == 1


def test_fractional_timestamps_are_not_truncated() -> None:
    _fractional_times_are_kept()


def test_uint64_ids_stay_distinct() -> None:
    """Two users 2**63 and 2**63 + 1 stay two users, or the ids are refused naming the column."""
    users = np.array([2**63] * 3 + [2**63 + 1] * 3, dtype=np.uint64)
    try:
        train, _ = build_samples(log(user_id=users), min_hist=0)
    except ValueError as exc:
        assert "user_id" in str(exc)
        return
    assert train.vocab.n_users == 3 and set(train.vocab.user_ids[1:].tolist()) == {2**63, 2**63 + 1}


def test_huge_max_len_is_capped_or_refused() -> None:
    """The longest history here is 2 behaviours: max_len=10**6 is capped to it or refused with the numbers."""
    try:
        train, _ = build_samples(log(), max_len=10**6, min_hist=0)
    except ValueError as exc:
        assert "max_len" in str(exc) and "1000000" in str(exc)
        return
    assert train.max_len <= 2


def test_model_refuses_samples_of_another_vocabulary() -> None:
    train, test = sets()
    other, _ = build_samples(log(), min_hist=0)
    model = create("base", other.vocab)
    with pytest.raises(ValueError, match="vocab"):
        evaluate(model, test)


def test_ids_beyond_the_tables_are_named() -> None:
    train, _ = sets()
    batch = train[:4]
    batch.hist_item = batch.hist_item + train.vocab.n_items
    with pytest.raises(ValueError, match=f"item table has {train.vocab.n_items} rows"):
        create("din", train.vocab).predict(batch)


VALID = [
    ("Int64-ids-without-gaps", lambda: validate_log(log(user_id=pd.array([1, 1, 1, 2, 2, 2], dtype="Int64")))),
    ("bool-labels", lambda: validate_log(log(label=[True, False, True, True, True, False]), require_label=True)),
    ("float-labels", lambda: validate_log(log(label=[1.0, 0.0, 1.0, 1.0, 1.0, 0.0]), require_label=True)),
    ("float-timestamps", lambda: validate_log(log(timestamp=[10.0, 20, 30, 15, 25, 35]))),
    ("id-zero", lambda: validate_log(log(item_id=[0, 2, 3, 2, 3, 4]))),
    ("np-int64-dim", lambda: create("din", vocab(), dim=np.int64(4))),
    ("np-float-reg_lambda", lambda: create("din", vocab(), reg_lambda=np.float32(0.1))),
    ("np-int64-sizes", lambda: create("dien", vocab(), tower=np.array([8, 4]).tolist())),
    ("infinite-gap", lambda: split_sessions([0, 10**9], gap=INF)),
    ("uint64-timestamps", lambda: split_sessions(np.array([3, 5], dtype=np.uint64))),
    ("torch-metrics", lambda: auc(torch.tensor([1.0, 0.0], requires_grad=True), torch.tensor([0.9, 0.1], requires_grad=True))),
    ("bool-metric-labels", lambda: auc(np.array([True, False]), np.array([0.9, 0.1]))),
    ("string-user-ids", lambda: gauc(np.array(["a", "a"]), np.array([1, 0]), np.array([0.9, 0.1]))),
]


@pytest.mark.parametrize("call", [c for _, c in VALID], ids=[i for i, _ in VALID])
def test_odd_but_valid_input_works(call: Callable[[], Any]) -> None:
    call()


def test_np_int64_max_users_reads_the_same_users(tmp_path: Path) -> None:
    path = taobao_file("1,2,3,pv,100\n1,3,3,pv,101\n2,2,3,buy,100\n3,4,5,fav,90\n")(tmp_path)
    assert load_taobao(path, max_users=np.int64(2)).equals(load_taobao(path, max_users=2))
    assert sorted(load_taobao(path, max_users=np.int64(2))["user_id"].unique()) == [1, 2]


def test_valid_odd_inputs_give_the_right_numbers() -> None:
    assert auc(torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0.9, 0.1, 0.05])) == pytest.approx(0.5)
    assert gauc(np.array(["a", "a", "b", "b"]), np.array([1, 0, 1, 0]), np.array([0.9, 0.1, 0.2, 0.3])) == (pytest.approx(0.5), 2)
    assert split_sessions(np.array([3, 5, 4000], dtype=np.uint64)).tolist() == [0, 0, 1]
    assert math.isclose(rela_impr(0.75, 0.625), 100.0)
    assert create("din", vocab(), dim=np.int64(4)).dim == 4 and type(create("din", vocab(), dim=np.int64(4)).dim) is int
