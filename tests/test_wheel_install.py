"""The package installed from a wheel (no -e), into a fresh virtual environment outside the
checkout, finds the shipped models through BOE_ASSETS_DIR and says what to set when it cannot."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUZZLE = "530070000600195000098000060800060003400803001700020006060000280000419005000080079"


def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    return out.returncode, out.stdout + out.stderr


@pytest.mark.slow
def test_an_installed_wheel_runs_the_shipped_model(tmp_path):
    # the wheel, built from a copy of the files git would commit (the checkout gets no build/ or egg-info)
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if not (ROOT / rel).is_file():
            continue  # deleted in the working tree
        if rel.startswith(("assets/", "results/", "docs/", "tests/")):
            continue  # not package contents
        dst = src / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes((ROOT / rel).read_bytes())
    rc, log = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                   "-w", str(tmp_path / "dist"), str(src)])
    assert rc == 0, log
    [wheel] = list((tmp_path / "dist").glob("boe_explorer-*.whl"))

    # a fresh environment; its dependencies (torch, transformers ...) come from this one, read-only
    env_dir = tmp_path / "venv"
    rc, log = run([sys.executable, "-m", "venv", str(env_dir)])
    assert rc == 0, log
    py = env_dir / "bin" / "python"
    rc, log = run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)])
    assert rc == 0, log
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOE_") and k != "PYTHONPATH"}
    env["OMP_NUM_THREADS"] = "1"
    rc, where = run([str(py), "-c", "import boe_core; print(boe_core.__file__)"], cwd=work, env=env)
    assert rc == 0 and str(site) in where, where  # the installed copy, not the checkout

    boe = [str(env_dir / "bin" / "boe"), "generate", "--model", "sudoku", "--policy", "confidence", "--steps", "12",
           "--puzzle", PUZZLE, "--quiet"]
    rc, log = run(boe, cwd=work, env=env)  # no assets: a clear message, no traceback
    assert rc != 0 and "BOE_ASSETS_DIR" in log and "Traceback" not in log, log
    rc, log = run(boe, cwd=work, env={**env, "BOE_ASSETS_DIR": str(ROOT / "assets")})
    assert rc == 0, log
    grid = [ln for ln in log.splitlines() if len(ln.replace(" ", "").replace("|", "")) >= 9]
    assert grid, log
