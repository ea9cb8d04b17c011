"""The sweep: every (policy spec, step budget) cell over a task's examples, resumable and sharded.

Layout on disk, for ``--out results/sudoku/pareto_test.csv``:

* ``results/sudoku/pareto_test.csv``              one row per finished cell (quality and cost);
* ``results/sudoku/pareto_test_examples.parquet``  one row per (cell, example), merged;
* a work folder (``runs/bench/sudoku/pareto_test/`` for outputs under results/, else
  ``<out dir>/.bench_work/<name>/``) with one parquet file per (cell, batch) and the measured
  backward cost. A rerun skips cells already in the CSV and batches already in the work folder.

Scale-out: the batches (fixed by --batch-size and the example order, so identical whatever the
number of processes) are split across processes with accelerate's ``PartialState``; each process
writes its batches, the main process merges them into the CSV. Run the same command under
``accelerate launch`` (or torchrun) to shard; a plain ``python -m`` run is one process.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..config import DecodeConfig
from ..errors import ConfigError
from .cost import backward_cost_probe, forward_equivalents, row_costs
from .specs import PolicySpec
from ..paths import results_dir, runs_dir
from .tasks import Task

RESULT_COLUMNS = [
    "task", "model", "split", "policy", "policy_name", "steps", "n", "metric", "higher_is_better",
    "quality", "quality_lo", "quality_hi", "forwards", "backwards", "backward_cost", "fwd_equiv",
    "wall_s", "wall_s_per_example", "secondary", "note", "machine", "batch_size", "seed", "key",
    "model_fp", "task_options", "created",
]


@dataclass
class Sweep:
    task: Task
    model: str
    specs: list[PolicySpec]
    budgets: list[int]
    split: str = "test"
    limit: int | None = None
    batch_size: int = 64
    seed: int = 0
    out: Path = Path("results/pareto.csv")  # the callers name it: results/<task>/<what>_<split>.csv
    work_dir: Path | None = None
    device: str = "auto"
    dtype: str | None = None
    allow_remote_code: bool = False
    gen_ppl_model: str | None = None
    threads: int | None = 1
    progress: bool = True
    machine: str | None = None
    backward_cost: float | None = None  # skip the probe and use this kappa
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.out = Path(self.out)
        if not self.specs:
            raise ConfigError("policies", self.specs, "give at least one policy spec")
        for b in self.budgets:
            if not isinstance(b, int) or isinstance(b, bool) or b < 1:
                raise ConfigError("budgets", b, "each budget is a positive number of decoding steps")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError("batch_size", self.batch_size, "must be a positive integer")


# --- paths and keys ----------------------------------------------------------------------------
def work_dir_for(out: Path) -> Path:
    out = Path(out).resolve()
    root = results_dir().resolve()
    if out.is_relative_to(root):  # results/<task>/x.csv -> runs/bench/<task>/x/
        return runs_dir() / "bench" / out.relative_to(root).with_suffix("")
    return out.parent / ".bench_work" / out.stem


def examples_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + "_examples.parquet")


def model_fingerprint(model_ref: str) -> str:
    """sha256 of the weights (size and mtime for files over 200 MB), else the reference itself."""
    from ..models import ASSETS_MODELS, shipped_models

    p = ASSETS_MODELS / model_ref if model_ref in shipped_models() else Path(model_ref)
    files = sorted(p.glob("*.safetensors")) + sorted(p.glob("*.bin")) if p.is_dir() else []
    if not files:
        return hashlib.sha256(model_ref.encode()).hexdigest()[:16]
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        if st.st_size <= 200 * 2**20:
            h.update(f.read_bytes())
        else:
            h.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def cell_key(ident: dict) -> str:
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


def machine_description(threads, device) -> str:
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"{torch.cuda.get_device_name(dev)} GPU"
    t = threads or torch.get_num_threads()
    return f"{os.cpu_count()}-core CPU ({platform.machine()}), {t} thread{'s' if t != 1 else ''}, no GPU"


# --- helpers -------------------------------------------------------------------------------------
def wilson(k: float, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def read_results(path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return pd.read_csv(p, keep_default_na=True)


def _atomic_write(df: pd.DataFrame, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if path.suffix == ".parquet":
        df.to_parquet(tmp, index=False)
    else:
        df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def task_base_config(task: Task) -> DecodeConfig:
    """The default DecodeConfig with the task's own settings (e.g. its block length)."""
    return DecodeConfig().replace(**task.decode_defaults())


def _candidates(cfg) -> int | None:
    """The policy's candidate count r where it has one and it is set (BoE, lookahead)."""
    return getattr(cfg.settings, "r", None)


def _b_max(adapter, ids, am, steps, block_length):
    from ..schedule import plan

    masked = ids == adapter.mask_id
    if am is not None:
        masked &= am
    return int(plan(masked, steps, block_length).counts.max())


# --- the sweep -------------------------------------------------------------------------------
def run_sweep(sw: Sweep) -> pd.DataFrame:
    """Run every missing cell; return the results table (the main process's view)."""
    from accelerate import PartialState
    from tqdm import tqdm

    from ..models import load_model

    if sw.threads:
        torch.set_num_threads(sw.threads)
    base = task_base_config(sw.task)
    for s in sw.specs:  # every spec must build a valid config before anything loads
        for b in sw.budgets:
            s.config(steps=b, seed=sw.seed, base=base)
    state = PartialState(cpu=sw.device == "cpu")
    device = str(state.device) if sw.device == "auto" else sw.device
    rank, world, main = state.process_index, state.num_processes, state.is_main_process
    task = sw.task
    examples = task.load(sw.split, sw.limit)
    batches = [examples[i:i + sw.batch_size] for i in range(0, len(examples), sw.batch_size)]
    adapter = load_model(sw.model, device=device, dtype=sw.dtype, allow_remote_code=sw.allow_remote_code)
    work = Path(sw.work_dir) if sw.work_dir else work_dir_for(sw.out)
    work.mkdir(parents=True, exist_ok=True)
    fp = model_fingerprint(sw.model)
    machine = sw.machine or machine_description(sw.threads, device)
    scorer, metric, hib, task_opts = _metric(sw, task, device)

    kappa_info = _backward_cost(sw, state, adapter, task, batches, work, fp)
    kappa = kappa_info["kappa"]

    results = read_results(sw.out)
    done = set(results["key"]) if len(results) else set()
    cells = []
    for spec in sw.specs:
        for b in sw.budgets:
            ident = {"task": task.name, "task_options": task_opts, "model": sw.model, "model_fp": fp,
                     "split": sw.split, "limit": sw.limit, "n_examples": len(examples),
                     "batch_size": sw.batch_size, "seed": sw.seed, "policy": spec.label, "steps": b,
                     # the resolved settings, so a change of defaults never reuses stale cells
                     "config": spec.config(b, sw.seed, base=base).to_dict()}
            cells.append((spec, b, ident, cell_key(ident)))
    todo = [c for c in cells if c[3] not in done]
    if main and sw.progress:
        print(f"[bench] {task.name} on {sw.model}: {len(examples)} examples in {len(batches)} batches, "
              f"{len(cells)} cells ({len(cells) - len(todo)} already done), backward cost {kappa:.3f} "
              f"forwards, {world} process(es)", file=sys.stderr)
    outer = tqdm(todo, desc="cells", disable=not (main and sw.progress), file=sys.stderr)
    for spec, b, ident, key in outer:
        outer.set_postfix_str(f"{spec.label} @ {b} steps")
        cdir = work / key
        cdir.mkdir(parents=True, exist_ok=True)
        (cdir / "cell.json").write_text(json.dumps(ident, indent=1, default=str))
        with state.split_between_processes(list(range(len(batches)))) as mine:
            mine = [i for i in mine if not (cdir / f"b{i:05d}.parquet").is_file()]
            bar = tqdm(total=len(mine) * b, desc=f"[{rank}] {spec.label} @{b}", leave=False,
                       disable=not sw.progress, file=sys.stderr, position=1 + rank if world > 1 else None)
            for i in mine:
                df = _run_batch(sw, adapter, task, spec, b, batches[i], scorer, metric, bar)
                df.insert(0, "batch", i)
                _atomic_write(df, cdir / f"b{i:05d}.parquet")
            bar.close()
        state.wait_for_everyone()
        if main:
            row = _aggregate(cdir, len(batches), ident, key, metric, hib, task, kappa, machine, scorer)
            results = pd.concat([results[results["key"] != key] if len(results) else results,
                                 pd.DataFrame([row])], ignore_index=True)[RESULT_COLUMNS]
            _atomic_write(results, sw.out)
        state.wait_for_everyone()
    if main:
        _write_examples(sw.out, work, set(results["key"]))
        (work / "kappa.json").write_text(json.dumps(kappa_info, indent=1))
    state.wait_for_everyone()
    return read_results(sw.out)


def _metric(sw: Sweep, task, device):
    """(generative-perplexity scorer or None, metric name, higher is better, task options for the
    results key): with --gen-ppl-model, a text task may be scored by generative perplexity."""
    scorer = None
    if sw.gen_ppl_model:
        if not task.text:
            raise ConfigError("gen_ppl_model", sw.gen_ppl_model, f"applies to text tasks only, not {task.name}")
        from .textmetrics import ARPerplexity

        scorer = ARPerplexity(sw.gen_ppl_model, device=device)
    metric, hib = task.metric, task.higher_is_better
    if scorer is not None and task.gen_ppl_metric:
        metric, hib = "gen_ppl", False
    task_opts = dict(task.options(), **({"gen_ppl_model": Path(sw.gen_ppl_model).name} if scorer else {}))
    return scorer, metric, hib, task_opts


def _backward_cost(sw, state, adapter, task, batches, work, fp) -> dict:
    """kappa: given, cached in the work folder for this model, or measured once by the main process."""
    if sw.backward_cost is not None:
        return {"kappa": float(sw.backward_cost), "source": "given"}
    probe = batches[0][:64]  # a batch like the sweep's (capped: the probe takes 6 steps)
    # at the sweep's finest step budget: a BoE step's backward costs more, relative to a forward,
    # when it commits few tokens (on bio the probe gave kappa 0.23 at 8 steps, 1.2 at 16 and 32)
    steps = max(sw.budgets)
    cache = work / f"kappa_{fp}_b{len(probe)}_s{steps}_{adapter.device.type}.json"
    if state.is_main_process and not cache.is_file():
        ids, am = task.canvas(adapter, probe)
        info = backward_cost_probe(adapter, ids, am, steps=steps)
        info.update(source="measured", model=sw.model, model_fp=fp, device=str(adapter.device),
                    threads=torch.get_num_threads())
        cache.write_text(json.dumps(info, indent=1))
    state.wait_for_everyone()
    return json.loads(cache.read_text())


def _run_batch(sw, adapter, task, spec, steps, batch, scorer, metric, bar) -> pd.DataFrame:
    from ..policies import get_policy
    from ..sampler import generate

    ids, am = task.canvas(adapter, batch)
    cfg = spec.config(steps=steps, seed=sw.seed, base=task_base_config(task))
    note = ""
    r = _candidates(cfg)
    if r is not None:
        bm = _b_max(adapter, ids, am, steps, cfg.block_length)
        if r < bm:
            note = f"r={r} < b={bm}: r raised to {bm}"
            cfg = cfg.replace(r=bm)
    # the answer goes only to a policy that reads it (the oracle ceiling)
    target = task.answer_canvas(adapter, batch) if get_policy(cfg.policy).reads_answer else None
    trace = generate(adapter, canvas=ids, attention_mask=am, config=cfg, target=target,
                     callback=lambda rec: bar.update(1))
    cost = trace.cost()
    fw, bw = row_costs(trace)  # per sequence: an adaptive sampler finishes some rows early
    scores = task.score(adapter, batch, trace.final_canvas)
    rows = []
    for i, (e, s) in enumerate(zip(batch, scores)):
        r = {"id": e["id"], **{k: v for k, v in s.items()}, "forwards": float(fw[i]),
             "backwards": float(bw[i]), "wall_s": cost["wall_time"] / len(batch), "note": note}
        rows.append(r)
    if scorer is not None:
        for r, (nll, ntok) in zip(rows, scorer.score([r["output"] for r in rows])):
            r["ar_nll"], r["ar_tokens"] = nll, ntok
            r["gen_ppl"] = math.exp(nll / ntok) if ntok else float("nan")
    return pd.DataFrame(rows)


def _aggregate(cdir, n_batches, ident, key, metric, hib, task, kappa, machine, scorer) -> dict:
    files = [cdir / f"b{i:05d}.parquet" for i in range(n_batches)]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise RuntimeError(f"cell {key}: batches missing after the barrier: {missing[:5]}")
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    n = len(df)
    secondary = {}
    if metric == "gen_ppl":
        q = float(np.exp(df["ar_nll"].sum() / max(df["ar_tokens"].sum(), 1)))
        lo = hi = float("nan")
    else:
        q = float(df[metric].mean())
        lo, hi = wilson(df[metric].sum(), n) if task.binary else (float("nan"), float("nan"))
    for col in ("cell_accuracy", "token_accuracy", "exact_match", "solve_rate"):
        if col in df and col != metric:
            secondary[col] = round(float(df[col].mean()), 6)
    if task.text and "generated" in df:
        from .textmetrics import distinct_n

        for k in (1, 2, 3):
            secondary[f"distinct_{k}"] = round(distinct_n(df["generated"].tolist(), k), 6)
    if scorer is not None and metric != "gen_ppl":
        secondary["gen_ppl"] = round(float(np.exp(df["ar_nll"].sum() / max(df["ar_tokens"].sum(), 1))), 4)
    fw, bw = float(df["forwards"].mean()), float(df["backwards"].mean())
    notes = sorted({x for x in df["note"] if x})
    return {
        "task": ident["task"], "model": ident["model"], "split": ident["split"], "policy": ident["policy"],
        "policy_name": ident["policy"].split(":")[0], "steps": ident["steps"], "n": n, "metric": metric,
        "higher_is_better": hib, "quality": q, "quality_lo": lo, "quality_hi": hi,
        "forwards": fw, "backwards": bw, "backward_cost": kappa,
        "fwd_equiv": forward_equivalents(fw, bw, kappa), "wall_s": float(df["wall_s"].sum()),
        "wall_s_per_example": float(df["wall_s"].mean()), "secondary": json.dumps(secondary),
        "note": "; ".join(notes), "machine": machine, "batch_size": ident["batch_size"], "seed": ident["seed"],
        "key": key, "model_fp": ident["model_fp"], "task_options": json.dumps(ident["task_options"], sort_keys=True),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _write_examples(out, work, keys):
    """Rebuild the per-example rows of the cells `keys` from their work folders. A cell whose work
    folder is not on this machine (run elsewhere, or cleaned) keeps its rows from the existing
    file, so a rerun never drops examples it did not recompute."""
    frames, rebuilt = [], set()
    for key in sorted(keys):
        cdir = work / key
        if not (cdir / "cell.json").is_file():
            continue
        ident = json.loads((cdir / "cell.json").read_text())
        for f in sorted(cdir.glob("b*.parquet")):
            d = pd.read_parquet(f)
            d.insert(0, "steps", ident["steps"])
            d.insert(0, "policy", ident["policy"])
            d.insert(0, "key", key)
            frames.append(d)
        rebuilt.add(key)
    path = examples_path(out)
    if path.is_file():
        old = pd.read_parquet(path)
        if "key" in old:
            kept = old[old["key"].isin(set(keys) - rebuilt)]
            if len(kept):
                frames.insert(0, kept)
    if frames:
        _atomic_write(pd.concat(frames, ignore_index=True), path)
