"""Recorded results: the schema, atomic writes, and benchmarks/quality.py end to end."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from seqlib.records import RESULTS_DIR, RUN_FIELDS, check_record_name, load_record, provenance, same_runs, save_record

ROOT = Path(__file__).resolve().parents[1]


def _run(**extra: object) -> dict:
    run = {"dataset": "d", "model": "base", "seed": 0, "auc": 0.7, "gauc": 0.6, "valid_users": 10,
           "epochs": 2, "epochs_run": 3, "seconds": 1.5}
    run.update(extra)
    return run


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    save_record(tmp_path / "r.json", "r", "python x.py", [_run(), _run(seed=1, auc=0.72)], {"lr": 0.003}, 1, 61.0)
    runs, meta = load_record("r", tmp_path)
    assert list(runs.seed) == [0, 1] and runs.auc.tolist() == [0.7, 0.72]
    assert meta["command"] == "python x.py" and meta["threads"] == 1 and meta["settings"] == {"lr": 0.003}
    assert meta["machine"]["cores"] >= 1 and len(meta["date"]) == 20
    assert meta["commit"]  # a git hash (maybe +dirty) or "unknown"
    assert "recorded by `python x.py`" in provenance(meta)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_bad_records_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lacks the field\\(s\\) \\['auc'\\]"):
        save_record(tmp_path / "r.json", "r", "c", [{k: 1 for k in RUN_FIELDS if k != "auc"}], {}, 1, 1.0)
    with pytest.raises(FileNotFoundError, match="no recorded results 'nope'"):
        load_record("nope", tmp_path)
    (tmp_path / "old.json").write_text(json.dumps({"schema": 0, "runs": []}))
    with pytest.raises(ValueError, match="not a schema-1 record"):
        load_record("old", tmp_path)


def test_quality_script_runs_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "quality.py"), "--tiny", "--out", str(tmp_path), "--workers", "1"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs, meta = load_record("quality-tiny", tmp_path)
    assert sorted(runs.model) == ["base", "dien", "din", "dsin"]
    assert (runs.auc > 0).all() and (runs.epochs >= 1).all() and (runs.epochs_run <= 2).all()
    assert meta["command"].startswith("python benchmarks/quality.py --tiny")
    assert meta["settings"]["session_len"] == {"tiny": 10}  # the session length its DSIN run read
    assert "== tiny" in proc.stdout


def test_quality_records_each_data_sets_session_length() -> None:
    spec = importlib.util.spec_from_file_location("quality", ROOT / "benchmarks" / "quality.py")
    quality = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quality)
    assert quality.session_lengths(["ml-1m", "taobao", "synthetic", "tiny"]) == {
        "ml-1m": 20, "taobao": 10, "synthetic": 10, "tiny": 10}


def test_quality_script_records_a_fixed_budget(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "quality.py"), "--datasets", "tiny", "--models", "base", "din",
         "--seeds", "2", "--epochs", "1", "--out", str(tmp_path), "--workers", "1"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs, meta = load_record("quality-epochs1", tmp_path)
    assert sorted(zip(runs.model, runs.seed)) == [("base", 0), ("base", 1), ("din", 0), ("din", 1)]
    assert (runs.epochs == 1).all() and (runs.epochs_run == 1).all()
    assert meta["settings"]["epochs"] == 1
    assert "== tiny: 2 seed(s), 1 epoch(s) ==" in proc.stdout


def test_quality_script_records_converged_runs_under_a_name(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "quality.py"), "--datasets", "tiny", "--models", "base",
         "--seeds", "1", "--name", "quality-mine", "--out", str(tmp_path), "--workers", "1"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs, meta = load_record("quality-mine", tmp_path)
    assert list(runs.model) == ["base"] and meta["settings"].get("epochs") is None  # early stopping
    assert meta["command"] == "python benchmarks/quality.py --datasets tiny --models base --seeds 1 --name " \
        f"quality-mine --out {tmp_path} --workers 1"


def test_quality_script_refuses_a_record_name_that_is_not_a_file_name() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quality.py"), "--name", "../elsewhere"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "--name takes letters, digits" in proc.stderr and "'../elsewhere'" in proc.stderr


@pytest.mark.parametrize("bad", ["", "../elsewhere", "a b", "x.json", 3, None])
def test_check_record_name_refuses_what_cannot_name_a_file(bad: object) -> None:
    with pytest.raises(ValueError, match=r"--name takes letters, digits, '-' and '_' \(a file name\), got "):
        check_record_name(bad, "--name")  # type: ignore[arg-type]
    assert check_record_name("quality-synthetic_2") == "quality-synthetic_2"


def test_quality_script_refuses_a_fixed_budget_with_full() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quality.py"), "--full", "--epochs", "1"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "--epochs takes a number of passes >= 1" in proc.stderr


RECORDS = sorted(path.stem for path in RESULTS_DIR.glob("*.json"))


def test_the_book_reads_only_recorded_files() -> None:
    book = ROOT / "book"
    wanted = set()
    for path in book.glob("*.ipynb"):
        wanted |= set(re.findall(r'load_record\(\\"([^\\]+)\\"', path.read_text(encoding="utf-8")))
    assert wanted, "no chapter reads a record"
    assert wanted <= set(RECORDS), f"chapters read records that are not in seqlib/results: {wanted - set(RECORDS)}"


@pytest.mark.parametrize("name", RECORDS)
def test_every_recorded_file_follows_the_schema(name: str) -> None:
    runs, meta = load_record(name)
    assert meta["command"].startswith("python benchmarks/"), meta["command"]
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", meta["commit"]), meta["commit"]
    assert meta["threads"] == 1 and meta["wall_seconds"] > 0
    assert runs["auc"].between(0.5, 1.0).all() and runs["gauc"].between(0.0, 1.0).all()
    assert (runs["epochs"] >= 1).all() and (runs["epochs"] <= runs["epochs_run"]).all()
    variants = [column for column in ("history", "negatives", "value") if column in runs]  # what else a run varies
    assert not runs.duplicated(["dataset", "model", "seed", *variants]).any()


def test_the_recorded_full_results_cover_the_real_data_sets() -> None:
    runs, meta = load_record("quality-full")
    assert set(runs.dataset) == {"ml-1m", "taobao"}
    assert set(runs.model) <= {"base", "din", "dien", "dsin"}
    assert set(runs[runs.dataset == "taobao"].model) == {"base", "din", "dien", "dsin"}
    excluded = {tuple(pair.split(":")) for pair in meta["settings"]["excluded"]}
    for (dataset, model), group in runs.groupby(["dataset", "model"]):
        assert (dataset, model) not in excluded
        assert group.seed.nunique() >= 1


def test_the_dien_sweep_reproduces_the_ablation_at_the_chapters_setting() -> None:
    # dien_sweep.py regenerates the planted log with one argument changed; at the chapter's own value
    # (SYNTHETIC_ARGS) it is the same log, split and seeds as the ablation's, so the runs must agree
    from seqlib.evaluation import SYNTHETIC_ARGS

    sweep, _ = load_record("dien-sweep-interests_per_user")
    ablation, _ = load_record("dien-ablation-synthetic-dien")
    same = sweep[sweep["value"] == SYNTHETIC_ARGS["dien"]["interests_per_user"]]
    assert len(same) >= 3, "the sweep leaves out the chapter's own setting"
    pairs = same.merge(ablation, on=["model", "seed"], suffixes=("_sweep", "_ablation"))
    assert len(pairs) == len(same)
    assert (pairs["auc_sweep"] - pairs["auc_ablation"]).abs().max() < 1e-9


def _runs(model: str, aucs: list[float], seeds: list[int] | None = None) -> pd.DataFrame:
    seeds = list(range(len(aucs))) if seeds is None else seeds
    return pd.DataFrame({"model": model, "seed": seeds, "auc": aucs, "gauc": [a - 0.1 for a in aucs]})


def test_same_runs_matches_seed_by_seed_to_the_last_digit() -> None:
    ours = pd.concat([_runs("dien[released]", [0.6636, 0.6875, 0.6807]), _runs("base", [0.59, 0.63, 0.62])])
    theirs = pd.concat([_runs("dien", [0.6875, 0.6636, 0.6807], seeds=[1, 0, 2]), _runs("base", [0.59, 0.63, 0.62])])
    assert same_runs(ours, theirs, {"dien[released]": "dien", "base": "base"})  # row order does not matter
    nudged = theirs.copy()
    nudged.loc[(nudged["model"] == "dien") & (nudged["seed"] == 2), "gauc"] += 1e-12  # one metric, last digits
    assert not same_runs(ours, nudged, {"dien[released]": "dien"})
    assert same_runs(ours, nudged, {"dien[released]": "dien"}, metrics=("auc",))
    fewer = theirs[~((theirs["model"] == "dien") & (theirs["seed"] == 2))]
    assert not same_runs(ours, fewer, {"dien[released]": "dien"})  # a seed missing on one side


def test_same_runs_names_what_is_missing() -> None:
    ours, theirs = _runs("din", [0.6, 0.7]), _runs("din", [0.6, 0.7])
    with pytest.raises(ValueError, match=r"other has no runs of \['dsin'\]; its models are \['din'\]"):
        same_runs(ours, theirs, {"din": "dsin"})
    with pytest.raises(ValueError, match=r"runs has no column\(s\) \['logloss'\]"):
        same_runs(ours, theirs, {"din": "din"}, metrics=("logloss",))
    with pytest.raises(ValueError, match="models is empty"):
        same_runs(ours, theirs, {})
    with pytest.raises(ValueError, match="metrics is empty"):
        same_runs(ours, theirs, {"din": "din"}, metrics=())
    with pytest.raises(TypeError, match="other must be a DataFrame of runs"):
        same_runs(ours, theirs.to_dict("records"), {"din": "din"})
    with pytest.raises(TypeError, match="models must be a dict"):
        same_runs(ours, theirs, ["din"])


def test_same_runs_counts_a_missing_metric_on_both_sides_as_equal() -> None:
    ours, theirs = _runs("din", [0.6, 0.7]), _runs("din", [0.6, 0.7])
    ours.loc[0, "gauc"] = theirs.loc[0, "gauc"] = float("nan")  # e.g. no user with both labels
    assert same_runs(ours, theirs, {"din": "din"})
    theirs.loc[1, "gauc"] = float("nan")  # missing on one side only
    assert not same_runs(ours, theirs, {"din": "din"})
