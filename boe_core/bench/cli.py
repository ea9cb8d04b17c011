"""``python -m boe_core.bench pareto|tune|plot``: quality-vs-compute sweeps of decoding policies.

    python -m boe_core.bench pareto --task sudoku --policies random confidence margin entropy \\
        lookahead:r=4 lookahead:r=8 boe boe:linearize_at=surrogate --budgets 12 24 48 --split test
    python -m boe_core.bench tune --task sudoku --budgets 12 24          # validation split only
    python -m boe_core.bench table --split test --n 500 --also confidence@1   # the reasoning tables
    python -m boe_core.bench pareto --task arith-cot --budgets 28 14 --limit 200   # model: reasoning
    accelerate launch --num_processes 4 -m boe_core.bench pareto ...     # sharded over processes
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError, run_command
from ..paths import result_file

DEFAULT_POLICIES = ["random", "confidence", "margin", "entropy", "lookahead:r=4", "lookahead:r=8", "boe",
                    "boe:linearize_at=surrogate"]


def _common(p):
    from .tasks import TASKS

    p.add_argument("--task", required=True, choices=list(TASKS))
    p.add_argument("--model", default=None, help="shipped name, folder or hub id (default: the task's model)")
    p.add_argument("--budgets", type=int, nargs="+", required=True, help="decoding step budgets")
    p.add_argument("--limit", type=int, default=None, help="first N examples of the split")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="results CSV (default results/<task>/<pareto|tune>_<split>.csv)")
    p.add_argument("--work-dir", default=None, help="per-batch shards and caches (default: see docs)")
    p.add_argument("--device", default="auto", help="auto (the process's accelerate device), cpu, cuda:0 ...")
    p.add_argument("--dtype", default=None)
    p.add_argument("--allow-remote-code", action="store_true", help="needed for LLaDA / Dream")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads per process (0: leave)")
    p.add_argument("--backward-cost", type=float, default=None, help="use this kappa instead of measuring it")
    p.add_argument("--machine", default=None, help="machine description stored with the results")
    p.add_argument("--gen-ppl-model", default=None,
                   help="causal LM (a .gguf file, folder or hub id) for generative perplexity of text outputs")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--offline-html", action="store_true", help="embed plotly.js in the HTML (4.5 MB) instead of the CDN link")
    p.add_argument("--quiet", action="store_true")
    g = p.add_argument_group("task options")
    g.add_argument("--data", default=None, help="jsonl: the file (or a folder with val.jsonl/test.jsonl)")
    g.add_argument("--prompt-field", default="prompt")
    g.add_argument("--answer-field", default="answer")
    g.add_argument("--extract", default="last-number", help="jsonl: last-number | strip | regex:PATTERN")
    g.add_argument("--template", default="{prompt}", help="jsonl: prompt template, e.g. 'Q: {prompt}\\nA:'")
    g.add_argument("--gen-length", type=int, default=None, help="jsonl / kjv-gen: tokens to generate")
    g.add_argument("--mask-ratio", type=float, default=0.5, help="kjv-infill: span fraction of the verse")
    g.add_argument("--block-length", type=int, default=None,
                   help="reasoning tasks (countdown, sudoku4, sudoku6, arith-cot): semi-autoregressive block (default: d1 blocks of <= 32)")


def _task(a):
    from .tasks import make_task

    return make_task(a.task, data=a.data, prompt_field=a.prompt_field, answer_field=a.answer_field,
                     extract=a.extract, template=a.template, gen_length=a.gen_length, mask_ratio=a.mask_ratio,
                     block_length=a.block_length)


def _sweep(a, task, specs, split, out):
    from .runner import Sweep

    model = a.model or task.default_model
    if model is None:
        raise ConfigError("model", None, f"the {task.name} task needs --model")
    return Sweep(task=task, model=model, specs=specs, budgets=a.budgets, split=split, limit=a.limit,
                 batch_size=a.batch_size, seed=a.seed, out=Path(out), work_dir=a.work_dir, device=a.device,
                 dtype=a.dtype, allow_remote_code=a.allow_remote_code, gen_ppl_model=a.gen_ppl_model,
                 threads=a.threads or None, progress=not a.quiet, machine=a.machine,
                 backward_cost=a.backward_cost)


def _is_main():
    from accelerate import PartialState

    return PartialState().is_main_process


def _plots(out: Path, quiet: bool, offline: bool = False):
    from .plot import write_html, write_png

    html = write_html(out, out.with_suffix(".html"), offline=offline)
    msg = [f"wrote {out}", f"wrote {html}"]
    try:
        how = write_png(out, out.with_suffix(".png"))
        msg.append(f"wrote {out.with_suffix('.png')} ({how})")
    except ImportError:
        msg.append("no PNG: neither kaleido (with a browser) nor matplotlib is available")
    if not quiet:
        print("\n".join(msg), file=sys.stderr)


def cmd_pareto(a):
    from .runner import run_sweep
    from .specs import parse_specs

    specs = parse_specs(a.policies)
    task = _task(a)
    out = Path(a.out or result_file(a.task, "pareto", Path(a.split).stem))  # a jsonl split: its file's stem
    df = run_sweep(_sweep(a, task, specs, a.split, out))
    if _is_main():
        _print_table(df, a)
        if not a.no_plot:
            _plots(out, a.quiet, a.offline_html)


def cmd_tune(a):
    from .runner import read_results, run_sweep
    from .tune import combined_spec, grid_specs, parse_grid, rank_specs, write_tuned

    if a.split != "val":
        raise ConfigError("split", a.split, "tuning runs on the validation split only (the test split is for the frontier)")
    grid = parse_grid(a.grid)
    specs = grid_specs(grid, a.mode, a.policy)
    task = _task(a)
    out = Path(a.out or result_file(a.task, "tune", "val"))
    sw = _sweep(a, task, specs, "val", out)
    run_sweep(sw)
    if a.mode == "oat":
        df = read_results(out)
        combo = combined_spec(df[df["policy"].isin([s.label for s in specs])], grid, a.policy)
        if combo is not None and combo.label not in {s.label for s in specs}:
            sw.specs = [combo]
            run_sweep(sw)
            specs.append(combo)
    if _is_main():
        df = read_results(out)
        df = df[df["policy"].isin([s.label for s in specs]) & df["steps"].isin(a.budgets)]
        ranked = rank_specs(df)
        info = write_tuned(out.with_name("tuned_val.json"), a.task, "val", ranked, ranked["policy"].iloc[0],
                           a.budgets)
        print(ranked.head(12).to_string(index=False))
        print(f"\nbest on val: {info['best_spec']}")
        if not a.no_plot:
            _plots(out, a.quiet, a.offline_html)


def cmd_plot(a):
    _plots(Path(a.csv), False, a.offline_html)


def _print_table(df, a):
    import pandas as pd

    if df.empty:
        return
    cols = ["policy", "steps", "n", "quality", "quality_lo", "quality_hi", "forwards", "backwards", "fwd_equiv",
            "wall_s_per_example"]
    df = df.copy()
    from .tune import _tiebreak

    tb, name = _tiebreak(df)
    if name:
        df[name] = tb
        cols.insert(6, name)
    with pd.option_context("display.width", 220, "display.max_rows", 500):
        print(df[cols].sort_values(["policy", "steps"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def build_parser() -> argparse.ArgumentParser:
    """The bench's parser (its --task choices are the tasks registered now)."""
    p = argparse.ArgumentParser(prog="python -m boe_core.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("pareto", help="quality vs compute for policies x step budgets")
    _common(q)
    q.add_argument("--policies", nargs="+", default=DEFAULT_POLICIES,
                   help="policy specs, e.g. boe boe:linearize_at=surrogate lookahead:r=8 boe:rho=0.5")
    q.add_argument("--split", default="test", help="val | test (sudoku: or a jsonl path)")
    q.set_defaults(func=cmd_pareto)
    t = sub.add_parser("tune", help="a small grid over BoE's knobs on the validation split")
    _common(t)
    t.add_argument("--grid", nargs="*", default=None, help="knob=v1,v2 ... (default: a built-in grid)")
    t.add_argument("--mode", default="oat", choices=["oat", "full"])
    t.add_argument("--policy", default="boe", choices=["boe", "lookahead"])
    t.add_argument("--split", default="val")
    t.set_defaults(func=cmd_tune)
    sub.add_parser("fidelity", help="TIS against the exact entropy drop, per linearisation point "
                                    "(python -m boe_core.bench fidelity --help)")
    sub.add_parser("cascade", help="where remask TIS ranks the first wrong commit of runs that end wrong "
                                    "(python -m boe_core.bench cascade --help)")
    sub.add_parser("roots", help="root finders against the commit whose correction fixes a failing run "
                                 "(python -m boe_core.bench roots --help)")
    sub.add_parser("repair", help="root repair against confidence, threshold and rcr, paired, with its compute "
                                  "(python -m boe_core.bench repair --help)")
    sub.add_parser("table", help="the reasoning tables: every task x policy at tokens-per-step budgets, paired "
                                 "with confidence (python -m boe_core.bench table --help)")
    sub.add_parser("frontier", help="every policy over its budget knob on four tasks, with the envelope and its "
                                    "owners (python -m boe_core.bench frontier --help)")
    sub.add_parser("text-infill", help="BoE presets against confidence by infill token accuracy on a text model's "
                                       "val texts (python -m boe_core.bench text-infill --help)")
    from .studies import COMMANDS as STUDIES

    for name, what in STUDIES.items():  # each has its own parser: boe_core.bench.studies
        sub.add_parser(name, help=f"{what} (python -m boe_core.bench {name} --help)")
    g = sub.add_parser("plot", help="(re)write the HTML and PNG of a results CSV")
    g.add_argument("csv")
    g.add_argument("--offline-html", action="store_true")
    g.set_defaults(func=cmd_plot)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["fidelity"]:  # its own parser: boe_core.bench.fidelity
        from .fidelity import main as fidelity_main

        fidelity_main(argv[1:])
        return 0
    if argv[:1] == ["cascade"]:  # its own parser: boe_core.bench.cascade
        from .cascade import main as cascade_main

        cascade_main(argv[1:])
        return 0
    if argv[:1] == ["roots"]:  # its own parser: boe_core.bench.roots
        from .roots import main as roots_main

        roots_main(argv[1:])
        return 0
    if argv[:1] == ["repair"]:  # its own parser: boe_core.bench.repair
        from .repair import main as repair_main

        return repair_main(argv[1:]) or 0
    if argv[:1] == ["table"]:  # its own parser: boe_core.bench.table
        from .table import main as table_main

        return table_main(argv[1:])
    if argv[:1] == ["frontier"]:  # its own parser: boe_core.bench.frontier
        from .frontier import main as frontier_main

        return frontier_main(argv[1:])
    if argv[:1] == ["text-infill"]:  # its own parser: boe_core.bench.text_infill
        from .text_infill import main as text_infill_main

        return text_infill_main(argv[1:])
    from .studies import COMMANDS as STUDIES, run as run_study

    if argv[:1] and argv[0] in STUDIES:  # its own parser: boe_core.bench.studies.<name>
        return run_study(argv[0], argv[1:])
    return run_command(build_parser().parse_args(argv))
