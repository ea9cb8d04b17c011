"""``python -m boe_core.bench frontier``: every policy swept over its budget knob, per task, with
the upper-left envelope of quality against forward-equivalents and who owns each part of it.

Fixed-count samplers (confidence, RCR, BoE, lookahead, PC, Info-Gain ...) are swept over the number of
steps; adaptive ones (threshold, EB, KLASS, BoE-adaptive) over τ or γ, with the step budget set to
the number of masks (it never binds: every step commits at least one token). Each point is one
cell of the ordinary sweep (``boe_core.bench.runner``), so a rerun skips what is done:

    python -m boe_core.bench frontier                       # sudoku (test), sudoku6, arith-cot, countdown
    python -m boe_core.bench frontier --tasks countdown --limit 50 --families confidence threshold boe
    python -m boe_core.bench frontier --report-only         # tables and charts from the CSVs
    python -m boe_core.bench frontier --tasks sudoku --split hard_test --limit 100   # hard Sudoku (27 clues)

The oracle order reads the answer, so it is a ceiling, not a decoder: it runs only where the task has
a reference answer, is tabled and drawn as "oracle (reads the answer)" (a dashed line), and is never
on the envelope, never beats another point and is never a top point. The tables pair the top points
per problem (exact McNemar, ``boe_core.bench.paired``): the two best checker-free families, each
against confidence, and the ceiling at the best point's compute (the oracle point nearest to it in compute).

Writes results/<task>/frontier_<split>.csv (+ _examples.parquet) per task, and over the tasks
results/studies/frontier_<split>.md (one table per task) and frontier_<split>.png (one panel per task).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .plot import pareto_mask
from ..paths import STUDIES, results_dir

TASKS = ("sudoku", "sudoku6", "arith-cot", "countdown")
# steps for the fixed-count samplers: about 8, 4, 2 and 1 tokens per step over each task's answer;
# the samplers that pay extra per step (BoE, lookahead, Info-Gain) take the lower half, 16 to 2
STEPS = {"sudoku": (6, 12, 24, 48), "sudoku6": (6, 12, 24, 48), "arith-cot": (7, 14, 28, 56),
         "countdown": (2, 4, 8, 16)}
STEPS_LOW = {"sudoku": (3, 6, 12, 24), "sudoku6": (3, 6, 12, 24), "arith-cot": (4, 7, 14, 28),
             "countdown": (1, 2, 4, 8)}
CAP = {"sudoku": 81, "sudoku6": 48, "arith-cot": 56, "countdown": 16}  # the adaptive samplers' step cap
TAUS = (0.5, 0.7, 0.9, 0.99)
PLANNER_VIEWS = (0, 2, 4, 8)  # the planner's compute knob: symmetric readings where nothing clears τ
GAMMAS = (0.001, 0.01, 0.1, 1.0)
HOP_TAUS = (0.98, 0.99, 0.995)  # view-hop's: a sure reading, in the canvas or in a view
BACKTRACK_FLIPS = (0, 3, 6, 8)  # backtracking's: guesses it may undo


@dataclass(frozen=True)
class Family:
    """A policy spec without its budget knob, and the values that knob takes (None: the steps)."""
    spec: str
    knob: str | None = None
    values: tuple = ()
    low_steps: bool = False  # fixed-count and costly per step: the lower step grid
    reads_answer: bool = False  # a ceiling (the oracle): only on tasks with a reference answer
    tasks: tuple = ()  # only on these tasks (empty: every task)
    search: bool = False  # a search over decodes (boe_core.backtrack), not a policy: `run_search` runs it

    @property
    def adaptive(self) -> bool:
        return self.knob is not None

    def specs(self) -> list[str]:
        if not self.adaptive:
            return [self.spec]
        sep = "," if ":" in self.spec else ":"
        return [f"{self.spec}{sep}{self.knob}={v}" for v in self.values]


FAMILIES = (
    Family("random"), Family("confidence"), Family("margin"), Family("entropy"),
    Family("pc"), Family("pc:lam_pos=0.0"), Family("infogain", low_steps=True),
    Family("lookahead:r=4", low_steps=True), Family("boe", low_steps=True),
    Family("threshold", "tau", TAUS), Family("eb", "gamma_eb", GAMMAS), Family("klass", "tau", TAUS),
    Family("boe-adaptive", "tau", TAUS), Family("rcr"), Family("oracle", reads_answer=True),
    Family("planner", "views", PLANNER_VIEWS, tasks=("sudoku",)),  # its views are 9x9 Sudoku symmetries
    Family("view-hop", "tau", HOP_TAUS, tasks=("sudoku",)),
    Family("view-hop+backtrack", "flips", BACKTRACK_FLIPS, tasks=("sudoku",), search=True),
)
CEILING_NOTE = "reads the answer"


def is_ceiling(family: str) -> bool:
    """The oracle order reads the answer: a ceiling line, never a point of the envelope."""
    return family.split(":")[0] == "oracle"


def shown(family: str) -> str:
    """A family's name in tables and legends: the ceiling says that it reads the answer."""
    return f"{family} ({CEILING_NOTE})" if is_ceiling(family) else family


def has_answers(task) -> bool:
    """Whether the task can hand a policy its reference answer (Task.answer_canvas is overridden)."""
    from ..tasks.task import Task
    return type(task).answer_canvas is not Task.answer_canvas


def latest_points(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (policy, steps): the one with the most problems, then the newest (a rerun at a
    larger --limit adds rows beside the old ones in the same CSV)."""
    order = ["n"] + (["created"] if "created" in df.columns else [])
    return df.sort_values(order, kind="stable").drop_duplicates(["policy", "steps"], keep="last")


def family_of(label: str) -> tuple[str, str]:
    """(family, budget) of a results row's policy label, e.g. ('threshold', 'tau=0.9')."""
    head, _, rest = label.partition(":")
    parts = [p for p in rest.split(",") if p]
    budget = [p for p in parts if p.split("=")[0] in {f.knob for f in FAMILIES if f.knob}]
    keep = [p for p in parts if p not in budget]
    return head + (":" + ",".join(keep) if keep else ""), ",".join(budget)


def envelope_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per point (the latest per policy and steps) with family, budget, ceiling (reads the
    answer), on_envelope (no other decoder's point has <= compute and >= quality, one of them
    strictly; never a ceiling) and significantly_below (another decoder family's point with <=
    compute whose 95% interval lies wholly above this point's)."""
    d = latest_points(df).copy()
    fb = d["policy"].map(family_of)
    d["family"] = [f for f, _ in fb]
    d["budget"] = [b if b else f"steps={s}" for (_, b), s in zip(fb, d["steps"])]
    d["ceiling"] = d["family"].map(is_ceiling).astype(bool)
    dec = d[~d["ceiling"]]
    d["on_envelope"] = False
    # a point that solves nothing is no part of the envelope, however cheap
    solves = (dec["quality"] > 0).to_numpy()
    d.loc[dec.index, "on_envelope"] = pareto_mask(dec["fwd_equiv"], dec["quality"], True) & solves
    below = []
    for r in d.itertuples():
        better = dec[(dec["family"] != r.family) & (dec["fwd_equiv"] <= r.fwd_equiv) & (dec["quality_lo"] > r.quality_hi)]
        below.append("" if r.ceiling else ", ".join(sorted(set(better["family"]))))
    d["significantly_below"] = below
    # the same point as another family's (e.g. BoE with no more candidates than commits is confidence)
    d["tied_with"] = ["" if r.ceiling else ", ".join(sorted(set(
        dec[(dec["family"] != r.family) & np.isclose(dec["fwd_equiv"], r.fwd_equiv)
            & np.isclose(dec["quality"], r.quality)]["family"]))) for r in d.itertuples()]
    return d.sort_values(["fwd_equiv", "quality"]).reset_index(drop=True)


def owners(env: pd.DataFrame) -> list[tuple[float, float, str]]:
    """The envelope from left to right as (from compute, to compute, family) segments."""
    e = env[env["on_envelope"]].sort_values("fwd_equiv")
    xs, fams = e["fwd_equiv"].tolist(), e["family"].tolist()
    out = []
    for i, (x, f) in enumerate(zip(xs, fams)):
        end = xs[i + 1] if i + 1 < len(xs) else float("inf")
        if out and out[-1][2] == f:
            out[-1] = (out[-1][0], end, f)
        else:
            out.append((x, end, f))
    return out


def is_boe(family: str) -> bool:
    return family.startswith("boe")


def _nearest(points: pd.DataFrame, x: float) -> pd.Series:
    """The point whose compute is nearest to x on the log scale (the chart's axis)."""
    return points.iloc[int(np.argmin(np.abs(np.log(points["fwd_equiv"].to_numpy(float)) - np.log(x))))]


def top_pairs(env: pd.DataFrame) -> list[tuple[pd.Series, pd.Series, str]]:
    """The pairs the table tests per problem, as (a, b, why): the best points of the two best
    checker-free families (quality first, then less compute); the best against the cheapest envelope
    point within its 95% interval; each of these against confidence at the nearest compute and at
    confidence's best; the ceiling at the nearest compute against the best. A pair is tested once."""
    dec = env[~env["ceiling"]]
    best = dec.sort_values(["quality", "fwd_equiv"], ascending=[False, True]).drop_duplicates("family")
    if best.empty:
        return []
    tops = [best.iloc[i] for i in range(min(2, len(best)))]
    pairs = [(tops[0], tops[1], "the two best checker-free families")] if len(tops) == 2 else []
    on = dec[dec["on_envelope"] & (dec["fwd_equiv"] < tops[0]["fwd_equiv"])
             & (dec["quality"] >= tops[0]["quality_lo"])].sort_values("fwd_equiv")
    if len(on):  # the same quality within the interval for less compute
        pairs.append((tops[0], on.iloc[0], "the best against the cheapest envelope point within its interval"))
        tops.append(on.iloc[0])
    conf = dec[dec["family"] == "confidence"]
    for t in tops:
        if t["family"] == "confidence" or conf.empty:
            continue
        pairs.append((t, _nearest(conf, t["fwd_equiv"]), "against confidence at the nearest compute"))
        pairs.append((t, best[best["family"] == "confidence"].iloc[0], "against confidence's best point"))
    ceil = env[env["ceiling"]]
    if len(ceil):
        pairs.append((_nearest(ceil, tops[0]["fwd_equiv"]), tops[0], "the ceiling at the best point's compute"))
    seen, out = set(), []
    for a, b, why in pairs:
        k = frozenset([(a["policy"], a["steps"]), (b["policy"], b["steps"])])
        if k not in seen and (a["policy"], a["steps"]) != (b["policy"], b["steps"]):
            seen.add(k)
            out.append((a, b, why))
    return out


def _point_name(r: pd.Series) -> str:
    return f"{shown(r['family'])} @ {r['budget']} ({r['fwd_equiv']:.1f} fwd-eq)"


def paired_markdown(env: pd.DataFrame, examples: pd.DataFrame | None) -> str:
    """The top pairs' per-problem counts and exact McNemar p-values (on the problems both points
    ran); empty when the per-example outcomes are not at hand."""
    from .paired import paired_counts

    metric = str(env.iloc[0]["metric"]) if len(env) else ""
    if examples is None or "key" not in env.columns or metric not in getattr(examples, "columns", ()):
        return ""
    lines = ["Paired per problem (exact McNemar; only A / only B: problems solved by one point alone):", "",
             "| A | B | why | n paired | A | B | only A | only B | p |", "|---|---|---|---|---|---|---|---|---|"]
    rows = 0
    for a, b, why in top_pairs(env):
        keys = examples["key"].astype(str)  # a key of digits alone reads back from a CSV as a number
        oa = examples[keys == str(a["key"])].drop_duplicates("id").set_index("id")[metric]
        ob = examples[keys == str(b["key"])].drop_duplicates("id").set_index("id")[metric]
        ids = oa.index.intersection(ob.index)
        if len(ids) == 0:
            continue
        c = paired_counts((oa.loc[ids] > 0.5).astype(int), (ob.loc[ids] > 0.5).astype(int))
        lines.append(f"| {_point_name(a)} | {_point_name(b)} | {why} | {c['n_paired']} | {c['both'] + c['only_a']} | "
                     f"{c['both'] + c['only_b']} | {c['only_a']} | {c['only_b']} | {c['mcnemar_p']:.2g} |")
        rows += 1
    return "\n".join(lines) if rows else ""


def markdown(env: pd.DataFrame, task: str, examples: pd.DataFrame | None = None) -> str:
    r0 = env.iloc[0]
    paid = env[env["backwards"] > 0] if "backwards" in env.columns and (env["backwards"] > 0).any() else env
    k0, k1 = float(paid["backward_cost"].min()), float(paid["backward_cost"].max())  # κ where a backward was paid
    kappa = f"{k0:.2f}" if np.isclose(k0, k1, atol=0.005) else f"{k0:.2f}–{k1:.2f} (measured per sweep)"
    lines = [f"### {task} ({r0['split']}, n = {int(env['n'].min())}–{int(env['n'].max())} per point, model "
             f"`{r0['model']}`, a backward = {kappa} forwards)", "",
             "| family | budget | n | " + str(r0["metric"]) + " [95% CI] | forward-eq. | on envelope | significantly below |",
             "|---|---|---|---|---|---|---|"]
    for r in env.sort_values(["ceiling", "family", "fwd_equiv"]).itertuples():
        on = ("**yes**" + (f" (= {r.tied_with})" if r.tied_with else "")) if r.on_envelope else ""
        on = "ceiling, never" if r.ceiling else on
        lines.append(f"| {shown(r.family)} | {r.budget} | {int(r.n)} | {r.quality:.3f} [{r.quality_lo:.2f}, {r.quality_hi:.2f}] | "
                     f"{r.fwd_equiv:.1f} | {on} | {r.significantly_below} |")
    segs = owners(env)
    lines += ["", "Envelope owners, left to right: " + "; ".join(
        f"{f} ({a:.0f}–{'∞' if b == float('inf') else f'{b:.0f}'} fwd-eq)" for a, b, f in segs) + "."]
    boe_on = env[env["on_envelope"] & env["family"].map(is_boe)]
    own = boe_on[boe_on["tied_with"] == ""]
    if len(own):
        lines.append("BoE-based points on the envelope: " + ", ".join(
            f"{r.family} @ {r.budget} ({r.quality:.3f} at {r.fwd_equiv:.1f} fwd-eq)" for r in own.itertuples()) + ".")
    else:
        lines.append("No BoE-based point is on the envelope" + (
            " except in ties with another policy's identical point (" + ", ".join(
                f"{r.family} @ {r.budget} = {r.tied_with}" for r in boe_on.itertuples()) + ")" if len(boe_on) else "") + ".")
    ceil = env[env["ceiling"]]
    if len(ceil):
        top = ceil.sort_values(["quality", "fwd_equiv"], ascending=[False, True]).iloc[0]
        lines.append(f"Ceiling ({CEILING_NOTE}, so not a decoder and never on the envelope): {top['family']} "
                     f"{top['quality']:.3f} at {top['fwd_equiv']:.1f} fwd-eq ({top['budget']}).")
    pm = paired_markdown(env, examples)
    if pm:
        lines += ["", pm]
    return "\n".join(lines)


def summary_markdown(frames: dict) -> str:
    """One row per family, one column per task: its envelope points (quality @ forward-eq.), or its
    best point in brackets when none is on the envelope; * marks a point another family beats
    outside the intervals at no more compute."""
    envs = {t: envelope_table(d) for t, d in frames.items()}
    fams = list(dict.fromkeys(f for e in envs.values() for f in e["family"]))
    fams = [f for f in fams if not is_ceiling(f)] + [f for f in fams if is_ceiling(f)]  # the ceiling last
    head = "| policy | " + " | ".join(envs) + " |"
    lines = [head, "|---" * (len(envs) + 1) + "|"]
    for f in fams:
        cells = []
        for e in envs.values():
            d = e[e["family"] == f]
            if d.empty:
                cells.append("")
                continue
            on = d[d["on_envelope"]]
            if d["ceiling"].any():
                r = d.sort_values(["quality", "fwd_equiv"], ascending=[False, True]).iloc[0]
                cells.append(f"ceiling {r['quality']:.2f} @ {r['fwd_equiv']:.0f}")
            elif len(on):
                cells.append("**" + ", ".join(f"{r.quality:.2f} @ {r.fwd_equiv:.0f}"
                                              + (f" (= {r.tied_with})" if r.tied_with else "")
                                              for r in on.itertuples()) + "**")
            else:
                r = d.sort_values(["quality", "fwd_equiv"], ascending=[False, True]).iloc[0]
                star = "*" if r["significantly_below"] else ""
                cells.append(f"({r['quality']:.2f} @ {r['fwd_equiv']:.0f}){star}")
        lines.append(f"| {shown(f)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- charts ----------------------------------------------------------------------------------------
def _n_range(env: pd.DataFrame) -> str:
    """The problems per point, as a range when a rerun left points at different n."""
    lo, hi = int(env["n"].min()), int(env["n"].max())
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _style(family: str):
    if is_ceiling(family):
        return dict(lw=1.8, ms=5, ls="--")
    if is_boe(family):
        return dict(lw=2.4, ms=7, ls="-")
    if family in ("threshold", "eb", "klass"):
        return dict(lw=1.6, ms=6, ls="--")
    return dict(lw=1.2, ms=5, ls=":" if family.startswith("lookahead") else "-")


def frontier_chart(csv_or_df, task: str | None = None):
    """A plotly figure: quality against forward-equivalents, one line per family over its budget
    knob, 95% intervals, the upper-left envelope (black steps) with each point's owner."""
    import plotly.graph_objects as go

    df = pd.read_csv(csv_or_df) if not isinstance(csv_or_df, pd.DataFrame) else csv_or_df
    if task is not None:
        df = df[df["task"] == task]
    if df.empty:
        raise ValueError("no frontier results to draw")
    env = envelope_table(df)
    fig = go.Figure()
    for fam, d in env.groupby("family", sort=False):
        d = d.sort_values("fwd_equiv")
        st = _style(fam)
        ceiling = is_ceiling(fam)
        fig.add_trace(go.Scatter(
            x=d["fwd_equiv"], y=d["quality"], mode="lines+markers", name=shown(fam),
            error_y=dict(type="data", symmetric=False, array=(d["quality_hi"] - d["quality"]).clip(lower=0),
                         arrayminus=(d["quality"] - d["quality_lo"]).clip(lower=0), thickness=1, width=2),
            line=dict(width=st["lw"], dash={"-": "solid", "--": "dash", ":": "dot"}[st["ls"]],
                      **({"color": "gray"} if ceiling else {})),
            marker=dict(size=st["ms"], **({"color": "gray", "symbol": "triangle-up"} if ceiling else {})),
            hovertext=[f"<b>{shown(fam)}</b> {b}<br>{q:.3f} [{lo:.3f}, {hi:.3f}]<br>{x:.1f} forward-eq."
                       for b, q, lo, hi, x in zip(d["budget"], d["quality"], d["quality_lo"], d["quality_hi"],
                                                  d["fwd_equiv"])], hoverinfo="text"))
    e = env[env["on_envelope"]].sort_values("fwd_equiv")
    fig.add_trace(go.Scatter(x=e["fwd_equiv"], y=e["quality"], mode="lines+markers+text", name="envelope",
                             text=e["family"], textposition="top left", textfont=dict(size=9),
                             line=dict(color="black", width=1, shape="hv"), marker=dict(color="black", size=4)))
    r0 = env.iloc[0]
    fig.update_layout(title=dict(text=f"{r0['task']} · {r0['split']} · n={_n_range(env)} per point · a backward = "
                                      f"{float(r0['backward_cost']):.2f} forwards", font=dict(size=13)),
                      template="plotly_white", height=560, xaxis=dict(title="forward-equivalents per example",
                                                                      type="log"),
                      yaxis=dict(title=str(r0["metric"])), legend=dict(title="policy (line: its budget knob)"))
    return fig


def frontier_png(frames: dict, path: Path) -> Path:
    """One matplotlib panel per task (the README's chart)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(frames)
    cols = min(2, n)
    rows = (n + cols - 1) // cols
    fig, axs = plt.subplots(rows, cols, figsize=(7.2 * cols, 4.8 * rows), squeeze=False)
    cmap = plt.get_cmap("tab20")
    fams = sorted({f for df in frames.values() for f in envelope_table(df)["family"] if not is_ceiling(f)})
    cool = [0, 1, 4, 5, 8, 9, 10, 11, 14, 15, 16, 17, 18, 19]  # tab20 without its reds and oranges: BoE's
    others = [f for f in fams if not is_boe(f)]
    color = {f: cmap(cool[others.index(f) % len(cool)]) for f in others}
    color.update({f: ("#d62728" if f == "boe" else "#ff7f0e") for f in fams if is_boe(f)})
    for ax, (task, df) in zip(axs.flat, frames.items()):
        env = envelope_table(df)
        for fam, d in env.groupby("family", sort=False):
            d = d.sort_values("fwd_equiv")
            st = _style(fam)
            ceiling = is_ceiling(fam)
            yerr = np.clip(np.vstack([d["quality"] - d["quality_lo"], d["quality_hi"] - d["quality"]]), 0, None)
            ax.errorbar(d["fwd_equiv"], d["quality"], yerr=yerr,  # clipped: a Wilson bound at 1.0 rounds below it
                        color="0.45" if ceiling else color[fam], lw=st["lw"], ls=st["ls"],
                        marker="^" if ceiling else "o", ms=st["ms"], capsize=2, label=shown(fam), alpha=0.9)
        e = env[env["on_envelope"]].sort_values("fwd_equiv")
        ax.step(e["fwd_equiv"], e["quality"], where="post", color="k", lw=0.9, label="envelope")
        for r in e.itertuples():
            ax.annotate(r.family, (r.fwd_equiv, r.quality), textcoords="offset points", xytext=(3, 4), fontsize=6)
        r0 = env.iloc[0]
        ax.set_xscale("log")
        ax.set_title(f"{task} ({r0['split']}, n={_n_range(env)}/point)", fontsize=10)
        ax.set_xlabel("forward-equivalents per example")
        ax.set_ylabel(str(r0["metric"]))
        ax.grid(alpha=0.3)
    for ax in list(axs.flat)[n:]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axs.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    ncol = min(4 if cols == 1 else 7, len(labels))  # one panel is narrow: fewer, taller legend columns
    legend_rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=7)
    fig.tight_layout(rect=(0, min(0.35, (0.25 + 0.16 * legend_rows) / fig.get_figheight()), 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --- running ---------------------------------------------------------------------------------------
def csv_path(task: str, out_dir: Path | None = None, split: str = "test") -> Path:
    """<results>/<task>/frontier_<split>.csv (out_dir: the results folder, default the configured one)."""
    return Path(out_dir or results_dir()) / task / f"frontier_{split}.csv"


def summary_stem(out_dir: Path | None = None, split: str = "test") -> Path:
    """<results>/studies/frontier_<split>: the tables (.md) and the chart (.png) over the tasks."""
    return Path(out_dir or results_dir()) / STUDIES / f"frontier_{split}"


def run_task(task_name: str, families, limit, batch_size, threads, split, quiet, out_dir: Path | None = None) -> None:
    from .runner import Sweep, run_sweep
    from .specs import parse_specs
    from .tasks import make_task

    task = make_task(task_name)
    out = csv_path(task_name, out_dir, split)
    for fam in families:
        if fam.reads_answer and not has_answers(task):
            continue  # no reference answer: no ceiling to draw
        if fam.tasks and task_name not in fam.tasks:
            continue
        if fam.search:
            run_search(fam, split, limit, out, threads)
            continue
        budgets = [CAP[task_name]] if fam.adaptive else list((STEPS_LOW if fam.low_steps else STEPS)[task_name])
        sw = Sweep(task=task, model=task.default_model, specs=parse_specs(fam.specs()), budgets=budgets,
                   split=split, limit=limit, batch_size=batch_size, out=out, threads=threads, progress=not quiet)
        run_sweep(sw)


def run_search(fam: Family, split: str, limit, out: Path, threads: int) -> None:
    """The points of a search family (Sudoku's backtracking over view-hop's guesses), one per value
    of its knob, on the first `limit` puzzles; appended to the frontier CSV in its columns. A point
    already there for as many puzzles is kept (the sweep resumes)."""
    import time

    import torch

    from ..backtrack import BacktrackSettings, backtrack
    from .sudoku_runs import sudoku_split, write_cell

    torch.set_num_threads(threads)
    m, puzzles, solutions = sudoku_split(split, limit)
    done = pd.read_csv(out) if out.is_file() else pd.DataFrame(columns=["policy", "n"])
    for v, label in zip(fam.values, fam.specs()):
        if ((done["policy"] == label) & (done["n"] == len(puzzles))).any():
            continue
        t0 = time.time()
        res = backtrack(m, puzzles, settings=BacktrackSettings(**{fam.knob: v}))
        write_cell(out, label, fam.spec, split, m, puzzles, solutions, res.final, res.forwards,
                   [f"undos={int(f)}" for f in res.flips], time.time() - t0, threads,
                   {"undos_mean": round(float(res.flips.mean()), 3)})


def report(tasks, out_dir: Path | None = None, split: str = "test") -> str:
    frames = {t: pd.read_csv(csv_path(t, out_dir, split), dtype={"key": str})
              for t in tasks if csv_path(t, out_dir, split).is_file()}
    frames = {t: d for t, d in frames.items() if len(d)}
    if not frames:
        raise SystemExit("no frontier results yet: run python -m boe_core.bench frontier")
    md = ["# Quality against compute: every policy over its budget knob",
          "", "Made by `python -m boe_core.bench frontier` (tables: `--report-only`). Compute is forward-"
          "equivalents per example (forwards + κ · backwards, κ measured per model); adaptive samplers pay "
          "only for the steps their sequence still had masks. Intervals: Wilson 95%. The oracle order "
          "(where a task has it) reads the answer: a ceiling, dashed on the chart, never on the envelope.", ""]
    md += ["## Summary", "", "Bold: the policy's points on the upper-left envelope, as quality @ forward-"
           "equivalents per example; (= X) marks a point identical to policy X's (BoE with no more candidates than "
           "commits is confidence). In brackets: its best point when none is on the envelope; * when another "
           "policy beats that point outside the 95% intervals at no more compute.", "", summary_markdown(frames), ""]
    from .runner import examples_path
    for t, d in frames.items():
        ex = examples_path(csv_path(t, out_dir, split))
        md += [markdown(envelope_table(d), t, pd.read_parquet(ex) if ex.is_file() else None), ""]
    stem = summary_stem(out_dir, split)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text("\n".join(md))
    frontier_png(frames, stem.with_suffix(".png"))
    return "\n".join(md)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench frontier", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--families", nargs="+", default=None,
                    help=f"policy families (default: all): {', '.join(f.spec for f in FAMILIES)}")
    ap.add_argument("--limit", type=int, default=None, help="first N problems of each task's split")
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--split", default="test")
    ap.add_argument("--out-dir", default=None, help="the results folder (default: the configured one): the CSVs go "
                    "to <out-dir>/<task>/, the tables and chart to <out-dir>/studies/")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    by_spec = {f.spec: f for f in FAMILIES}
    unknown = [f for f in (a.families or []) if f not in by_spec]
    if unknown:
        ap.error(f"--families: unknown {unknown}; known: {list(by_spec)}")
    families = [by_spec[f] for f in a.families] if a.families else list(FAMILIES)
    if not a.report_only:
        for t in a.tasks:
            run_task(t, families, a.limit, a.batch_size, a.threads, a.split, a.quiet, a.out_dir)
    print(report(a.tasks, a.out_dir, a.split))
    return 0


if __name__ == "__main__":
    sys.exit(main())
