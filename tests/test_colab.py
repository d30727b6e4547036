"""Colab, as far as this machine allows: install seqlib the way the set-up cell does, run chapter 1.

Colab ships torch, NumPy, pandas and the rest of seqlib's dependencies. Here a fresh virtual
environment sees this test environment's packages through a ``.pth`` file (so it "already has"
them, like Colab, without a second copy of torch), then a kernel in it runs chapter 1's first
cells with ``google.colab`` present. The set-up cell itself runs ``%pip install --no-deps`` —
pointed at a copy of this checkout instead of GitHub — exactly as on Colab. The test then checks
that pip added seqlib and nothing else (torch, NumPy and pandas are the ones Colab had), and that
the chapter runs to its first data cell with MovieLens only (Colab has no Taobao file).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from seqlib.nbsetup import book_repository

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "01_behavior_sequences.ipynb"
KEPT = ("torch", "numpy", "pandas")
PROBE = """import json, importlib.metadata as md, seqlib, torch, numpy, pandas
print("PROBE" + json.dumps({"seqlib": seqlib.__file__, **{m.__name__: [m.__version__, m.__file__]
      for m in (torch, numpy, pandas)}, "dists": sorted(d.metadata["Name"].lower() for d in md.distributions())}))"""


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _own_dists(site_dir: Path) -> set[str]:
    """The distributions installed in ``site_dir`` itself (not the ones seen through the .pth)."""
    return {p.name.split("-")[0].lower() for p in site_dir.glob("*.dist-info")}


def _checkout_copy(dest: Path) -> Path:
    """What Colab's ``git+https://...`` clones: the package sources, copied so pip builds outside the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "seqlib", dest / "seqlib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


@pytest.fixture(scope="module")
def colab_like_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fresh venv that already has this environment's packages (torch, NumPy, pandas, ...) but not seqlib.

    Returns:
        ``python`` (its interpreter), ``site`` (its own site-packages) and ``kernels`` (a Jupyter
        data folder with a kernelspec running that interpreter).
    """
    base = tmp_path_factory.mktemp("colab")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    own_site = _site_packages(python)
    # Colab's preinstalled packages: this environment's site-packages, after the venv's own. Only
    # the regular site-packages is added, so this checkout's editable seqlib is not visible.
    outer = [p for p in site.getsitepackages() if Path(p).is_dir() and Path(p).resolve() != own_site.resolve()]
    (own_site / "colab_preinstalled.pth").write_text("\n".join(outer) + "\n", encoding="utf-8")
    kernels = base / "jupyter"
    spec = kernels / "kernels" / "colab-like"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "colab-like", "language": "python",
    }), encoding="utf-8")
    return {"python": python, "site": own_site, "kernels": kernels, "checkout": _checkout_copy(base / "checkout")}


def _outputs_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
        if output.get("output_type") == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)


def test_colab_setup_cell_installs_only_seqlib_and_chapter_1_runs(
    colab_like_env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, own_site = colab_like_env["python"], colab_like_env["site"]
    probe = subprocess.run([str(python), "-c", "import torch, numpy, pandas; import seqlib"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert "No module named 'seqlib'" in probe.stderr, f"seqlib must not be there before the set-up cell: {probe.stderr}"
    before = _own_dists(own_site)

    nb = nbformat.read(CHAPTER, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    setup_cell, import_cell = code[0], code[1]
    url, branch = book_repository(ROOT / "_config.yml")
    assert f"git+{url}@{branch}" in setup_cell.source
    setup_cell.source = setup_cell.source.replace(f"git+{url}@{branch}", str(colab_like_env["checkout"]))
    first_data = next(cell for cell in code if "load_movielens(" in cell.source)
    cells = [nbformat.v4.new_code_cell('import sys, types\nsys.modules["google.colab"] = types.ModuleType("google.colab")'),
             setup_cell, import_cell]
    cells += [cell for cell in code[2:code.index(first_data) + 1] if "skip-execution" not in cell.metadata.get("tags", [])]
    cells.append(nbformat.v4.new_code_cell(PROBE))
    nb.cells = cells

    data = tmp_path / "data"  # MovieLens only: Colab has no Taobao file
    data.mkdir()
    source = Path(os.environ.get("SEQLIB_DATA_DIR") or "")
    for name in ("ml-1m", "ml-100k"):
        if (source / name).is_dir():
            (data / name).symlink_to((source / name).resolve())
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(data))
    monkeypatch.setenv("JUPYTER_PATH", str(colab_like_env["kernels"]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    NotebookClient(nb, timeout=600, kernel_name="colab-like", resources={"metadata": {"path": str(tmp_path)}}).execute()

    setup_out = _outputs_text(nb.cells[1])
    assert "(Colab)" in setup_out, f"setup() should see Colab: {setup_out}"
    probe_line = next(line for line in _outputs_text(nb.cells[-1]).splitlines() if line.startswith("PROBE"))
    seen = json.loads(probe_line.removeprefix("PROBE"))
    assert Path(seen["seqlib"]).resolve().is_relative_to(own_site.resolve()), f"seqlib imported from {seen['seqlib']}"
    added = _own_dists(own_site) - before
    assert added == {"seqlib"}, f"the set-up cell must install seqlib alone, it installed {sorted(added)}"
    import numpy
    import pandas
    import torch

    for module in (torch, numpy, pandas):
        version, file = seen[module.__name__]
        assert (version, Path(file).resolve()) == (module.__version__, Path(module.__file__).resolve()), (
            f"{module.__name__} was replaced: {version} at {file}"
        )
    taobao_cells = [cell for cell in nb.cells if "have_taobao(" in cell.source]
    assert taobao_cells, "chapter 1's first data cell should check for the Taobao file"
    for cell in taobao_cells:
        assert "Skipped, no Taobao file" in _outputs_text(cell)
