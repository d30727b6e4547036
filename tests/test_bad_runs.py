"""Reliability, round two (issue 18): runs that went bad, time units, checks that travel.

* ``fit`` tells a bad run from a result: real too-large learning rates on a tiny planted log,
  for every registered model, end in :class:`BadRun` (or the divergence guard) — never in a
  silently returned model that scores at chance; ``compare_models`` and the command line refuse
  or mark such runs.
* Millisecond logs give the same samples and sessions as second logs once ``time_unit="ms"``
  says so; the plot helpers keep fractional seconds.
* The vocabulary fingerprint travels with every batch; the MovieLens cache never deletes a file
  it did not write.
"""

from __future__ import annotations

import io
import math
import warnings
import zipfile
from hashlib import sha256
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import seqlib.__main__ as cli
from seqlib.data import build_samples, load_movielens, make_synthetic, movielens
from seqlib.data.movielens import CacheConflict
from seqlib.evaluation import compare_models
from seqlib.models import available, create
from seqlib.train import BadRun, BadRunWarning, TrainingDiverged, bad_run_symptom, chance_margin, evaluate, fit
from seqlib.viz.data import event_gaps
from seqlib.viz.dsin import session_stats, user_timeline


@pytest.fixture(scope="module")
def tiny() -> tuple:
    """A planted log of 80 users (2,429 training samples): a run takes about a second."""
    return build_samples(make_synthetic(n_users=80, seed=0).log, history="positive", max_len=10)


# ----------------------------------------------------------------------------- the rule by hand


def _history(losses: list[float], valid_auc: list[float] | None = None, best: int | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"epoch": range(1, len(losses) + 1), "train_loss": losses})
    if valid_auc is not None:
        frame["valid_auc"] = valid_auc
    frame.attrs["best_epoch"] = best if best is not None else len(losses)
    return frame


def test_chance_margin_by_hand() -> None:
    # 2 standard errors of a chance AUC (Hanley & McNeil): 2 * sqrt(1001 / (12 * 500 * 500))
    assert chance_margin(500, 500) == pytest.approx(2 * math.sqrt(1001 / 3_000_000))
    assert chance_margin(500, 500) == pytest.approx(0.036534, abs=1e-6)
    assert chance_margin(0, 10) == math.inf


def test_bad_run_symptom_by_hand() -> None:
    rose = bad_run_symptom(_history([0.7, 0.6, 0.8]), lr=0.1)
    assert rose is not None and "rose from 0.6 (epoch 2) to 0.8 (epoch 3)" in rose and "lr=0.1" in rose
    assert bad_run_symptom(_history([0.5, 0.4, 0.41]), lr=0.1) is None  # a 2.5% wobble is no rise
    assert bad_run_symptom(_history([0.05, 0.04, 0.055]), lr=0.1) is None  # +37%, but only 0.015
    assert bad_run_symptom(_history([3.1]), lr=0.1) is None  # one epoch: nothing to compare
    chance = bad_run_symptom(_history([0.7, 0.69], [0.6, 0.52], best=2), lr=0.1, n_pos=500, n_neg=500)
    assert chance is not None and "validation AUC 0.5200 on 1000 samples" in chance and "0.5365" in chance
    assert bad_run_symptom(_history([0.7, 0.69], [0.6, 0.52], best=1), lr=0.1, n_pos=500, n_neg=500) is None


# ----------------------------------------------------------------------------- real bad runs


@pytest.mark.parametrize("name", available())
def test_too_large_learning_rates_never_pass_as_results(name: str, tiny: tuple) -> None:
    """For every model: each step size on the ladder either trains a model better than chance on
    the test set, or is refused (the divergence guard or a bad run); at least one is refused."""
    train, test = tiny
    n_pos = int(test.frame["label"].sum())
    better_than_chance = 0.5 + chance_margin(n_pos, len(test) - n_pos)
    outcomes = []
    for lr in (0.05, 0.1, 0.5):
        torch.manual_seed(1)
        model = create(name, train.vocab)
        try:
            fit(model, train, max_epochs=3, seed=1, lr=lr, progress=False)
        except BadRun as exc:
            message = str(exc)
            assert "bad run" in message and f"lr={lr:g}" in message and "Lower the learning rate" in message
            assert "on_bad_run='warn'" in message
            outcomes.append("bad run")
        except TrainingDiverged:
            outcomes.append("diverged")
        else:
            assert evaluate(model, test)["auc"] > better_than_chance, f"lr={lr} passed silently at chance"
            outcomes.append("trained")
    assert {"bad run", "diverged"} & set(outcomes), outcomes


def test_warn_keeps_the_run_and_says_why(tiny: tuple) -> None:
    train, _ = tiny
    torch.manual_seed(1)
    with pytest.warns(BadRunWarning, match="bad run: the training loss rose"):
        history = fit(create("din", train.vocab), train, max_epochs=3, seed=1, lr=0.1, progress=False,
                      on_bad_run="warn")
    assert history.attrs["bad_run"].startswith("bad run: the training loss rose")


def test_a_healthy_run_is_not_flagged(tiny: tuple) -> None:
    train, _ = tiny
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BadRunWarning)
        history = fit(create("base", train.vocab), train, max_epochs=4, seed=0, progress=False, on_bad_run="warn")
    assert "bad_run" not in history.attrs
    assert history["train_loss"].is_monotonic_decreasing


def test_compare_models_refuses_or_marks_a_bad_run(tiny: tuple) -> None:
    with pytest.raises(BadRun, match=r"^din, seed 0: bad run: the trained model has test AUC 0\.3981"):
        compare_models(["din"], data=tiny, epochs=2, lr=0.1, progress=False)
    results, table = compare_models(["base", "din"], data=tiny, epochs=2, lr=0.05, progress=False, on_bad_run="warn")
    assert results["bad_runs"].tolist() == [0, 0] and "bad run" not in table  # a sound step size
    results, table = compare_models(["din"], data=tiny, epochs=2, lr=0.1, progress=False, on_bad_run="warn")
    assert results["bad_runs"].tolist() == [1]
    assert "din (1 bad run!)" in table and "bad runs, not results" in table and "din, seed 0: bad run" in table


def test_cli_refuses_a_bad_run(tiny: tuple, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(cli, "compare_models", lambda *args, **kwargs: compare_models(*args, data=tiny, **kwargs))
    with pytest.raises(SystemExit) as info:
        cli.main(["compare", "din", "--lr", "0.1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error: din, seed 0: bad run" in err and "--on-bad-run warn" in err and "Traceback" not in err
    assert cli.main(["compare", "din", "--lr", "0.1", "--on-bad-run", "warn"]) == 0
    assert "din (1 bad run!)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- time units


def test_millisecond_logs_give_the_same_samples_and_sessions() -> None:
    log = make_synthetic(n_users=40, seed=0).log
    seconds = build_samples(log, history="positive", max_len=8)
    millis = build_samples(log.assign(timestamp=log["timestamp"] * 1000), history="positive", max_len=8, time_unit="ms")
    for a, b in zip(seconds, millis):
        x, y = a.full(), b.full()
        for field in ("hist_item", "hist_len", "sess_item", "sess_len", "n_sess", "label"):
            torch.testing.assert_close(getattr(x, field), getattr(y, field))
        torch.testing.assert_close(x.time.double(), y.time.double())  # seconds either way


def test_fractional_milliseconds_become_fractional_seconds() -> None:
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2], "item_id": [1, 2, 3, 2, 3, 4], "cate_id": [1, 1, 2, 1, 2, 2],
                          "timestamp": [10_200, 10_700, 30_000, 15_000, 25_000, 35_000], "label": [1, 0, 1, 1, 1, 0]})
    train, test = build_samples(frame, min_hist=0, test_frac=0.4, time_unit="ms")
    times = sorted(train.frame["timestamp"].tolist() + test.frame["timestamp"].tolist())
    assert times == pytest.approx([10.2, 10.7, 15.0, 25.0, 30.0, 35.0])


def test_plot_helpers_keep_fractional_seconds() -> None:
    log = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [1, 2, 3], "cate_id": [1, 1, 2], "timestamp": [10.2, 10.7, 12.0]})
    assert event_gaps(log).tolist() == pytest.approx([0.5, 1.3])
    assert user_timeline(log, 1)[0].tolist() == [10.2, 10.7, 12.0]
    assert session_stats(log, gap=1.0)["gaps"].tolist() == pytest.approx([0.5, 1.3])
    assert session_stats(log, gap=1.0)["session_sizes"].tolist() == [2, 1]  # 1.3 s > 1 s: a new session
    whole = log.assign(timestamp=[10, 11, 12])
    assert event_gaps(whole).dtype == np.int64  # integer logs stay integers


# ----------------------------------------------------------------------------- checks that travel


def test_the_vocabulary_travels_with_the_batch(tiny: tuple) -> None:
    train, _ = tiny
    batch = train[:4]
    assert batch.vocab == train.vocab.id_fingerprint
    assert batch.select(slice(0, 2)).vocab == batch.to("cpu").vocab == train.vocab.id_fingerprint
    assert next(iter(train.batches(8, shuffle=True, generator=torch.Generator().manual_seed(0)))).vocab == batch.vocab
    model = create("din", train.vocab)
    assert model(batch).shape == (4,)  # the right vocabulary is scored
    by_hand = batch.select(slice(None))
    by_hand.vocab = None  # a batch made by hand: its ids are still checked against the tables
    by_hand.item = by_hand.item + train.vocab.n_items
    with pytest.raises(ValueError, match=f"item table has {train.vocab.n_items} rows"):
        model(by_hand)


def _zip_ml100k(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve a tiny ml-100k archive from a file URL, with matching checksums."""
    files = {"u.data": b"1\t1\t4\t100\n1\t2\t3\t200\n", "u.item": b"1|A|x||u|0|1" + b"|0" * 17 + b"\n"
             + b"2|B|x||u|1" + b"|0" * 18 + b"\n", "u.user": b"1|24|M|x|1\n", "u.genre": b"unknown|0\n"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"ml-100k/{name}", data)
    path = tmp_path / "ml-100k.zip"
    path.write_bytes(buffer.getvalue())
    archive = movielens.Archive(path.as_uri(), len(buffer.getvalue()), sha256(buffer.getvalue()).hexdigest())
    monkeypatch.setitem(movielens.ARCHIVES, "ml-100k", archive)
    monkeypatch.setitem(movielens.FILE_SHA256, "ml-100k", {k: sha256(v).hexdigest() for k, v in files.items()})


def test_the_cache_never_deletes_a_file_it_did_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _zip_ml100k(tmp_path, monkeypatch)
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQLIB_DATA_DIR", raising=False)
    stale = tmp_path / "cache" / "ml-100k"
    stale.mkdir(parents=True)
    (stale / "u.data").write_bytes(b"half")  # the loader's own file, incomplete
    (stale / "my notes.txt").write_text("mine")  # the user's
    with pytest.raises(CacheConflict, match="my notes.txt") as info:
        load_movielens("ml-100k", progress=False)
    assert "never deletes a file it did not write" in str(info.value) and "Move it out of" in str(info.value)
    assert (stale / "my notes.txt").read_text() == "mine" and (stale / "u.data").read_bytes() == b"half"
    (stale / "my notes.txt").unlink()  # once moved away, the incomplete copy is replaced
    assert len(load_movielens("ml-100k", progress=False)) == 2
