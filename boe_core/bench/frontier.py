"""``python -m boe_core.bench frontier``: every policy swept over its budget knob, per task, with
the upper-left envelope of quality against forward-equivalents and who owns each part of it.

Fixed-count samplers (confidence, BoE, lookahead, PC, Info-Gain ...) are swept over the number of
steps; adaptive ones (threshold, EB, KLASS, BoE-adaptive) over τ or γ, with the step budget set to
the number of masks (it never binds: every step commits at least one token). Each point is one
cell of the ordinary sweep (``boe_core.bench.runner``), so a rerun skips what is done:

    python -m boe_core.bench frontier                       # sudoku (test), sudoku6, arith-cot, countdown
    python -m boe_core.bench frontier --tasks countdown --limit 50 --families confidence threshold boe
    python -m boe_core.bench frontier --report-only         # tables and charts from the CSVs

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
GAMMAS = (0.001, 0.01, 0.1, 1.0)


@dataclass(frozen=True)
class Family:
    """A policy spec without its budget knob, and the values that knob takes (None: the steps)."""
    spec: str
    knob: str | None = None
    values: tuple = ()
    low_steps: bool = False  # fixed-count and costly per step: the lower step grid

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
    Family("boe-adaptive", "tau", TAUS),
)


def family_of(label: str) -> tuple[str, str]:
    """(family, budget) of a results row's policy label, e.g. ('threshold', 'tau=0.9')."""
    head, _, rest = label.partition(":")
    parts = [p for p in rest.split(",") if p]
    budget = [p for p in parts if p.split("=")[0] in {f.knob for f in FAMILIES if f.knob}]
    keep = [p for p in parts if p not in budget]
    return head + (":" + ",".join(keep) if keep else ""), ",".join(budget)


def envelope_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per point with family, budget, on_envelope (no other point has <= compute and >=
    quality, one of them strictly) and significantly_below (another family's point with <= compute
    whose 95% interval lies wholly above this point's)."""
    d = df.copy()
    fb = d["policy"].map(family_of)
    d["family"] = [f for f, _ in fb]
    d["budget"] = [b if b else f"steps={s}" for (_, b), s in zip(fb, d["steps"])]
    d["on_envelope"] = pareto_mask(d["fwd_equiv"], d["quality"], True)
    below = []
    for r in d.itertuples():
        better = d[(d["family"] != r.family) & (d["fwd_equiv"] <= r.fwd_equiv) & (d["quality_lo"] > r.quality_hi)]
        below.append(", ".join(sorted(set(better["family"]))))
    d["significantly_below"] = below
    # the same point as another family's (e.g. BoE with no more candidates than commits is confidence)
    d["tied_with"] = [", ".join(sorted(set(d[(d["family"] != r.family) & np.isclose(d["fwd_equiv"], r.fwd_equiv)
                                              & np.isclose(d["quality"], r.quality)]["family"])))
                      for r in d.itertuples()]
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


def markdown(env: pd.DataFrame, task: str) -> str:
    r0 = env.iloc[0]
    lines = [f"### {task} ({r0['split']}, n = {int(env['n'].min())}–{int(env['n'].max())} per point, model "
             f"`{r0['model']}`, a backward = {float(r0['backward_cost']):.2f} forwards)", "",
             "| family | budget | " + str(r0["metric"]) + " [95% CI] | forward-eq. | on envelope | significantly below |",
             "|---|---|---|---|---|---|"]
    for r in env.sort_values(["family", "fwd_equiv"]).itertuples():
        on = ("**yes**" + (f" (= {r.tied_with})" if r.tied_with else "")) if r.on_envelope else ""
        lines.append(f"| {r.family} | {r.budget} | {r.quality:.3f} [{r.quality_lo:.2f}, {r.quality_hi:.2f}] | "
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
    return "\n".join(lines)


def summary_markdown(frames: dict) -> str:
    """One row per family, one column per task: its envelope points (quality @ forward-eq.), or its
    best point in brackets when none is on the envelope; * marks a point another family beats
    outside the intervals at no more compute."""
    envs = {t: envelope_table(d) for t, d in frames.items()}
    fams = list(dict.fromkeys(f for e in envs.values() for f in e["family"]))
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
            if len(on):
                cells.append("**" + ", ".join(f"{r.quality:.2f} @ {r.fwd_equiv:.0f}"
                                              + (f" (= {r.tied_with})" if r.tied_with else "")
                                              for r in on.itertuples()) + "**")
            else:
                r = d.sort_values(["quality", "fwd_equiv"], ascending=[False, True]).iloc[0]
                star = "*" if r["significantly_below"] else ""
                cells.append(f"({r['quality']:.2f} @ {r['fwd_equiv']:.0f}){star}")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- charts ----------------------------------------------------------------------------------------
def _style(family: str):
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
        fig.add_trace(go.Scatter(
            x=d["fwd_equiv"], y=d["quality"], mode="lines+markers", name=fam,
            error_y=dict(type="data", symmetric=False, array=d["quality_hi"] - d["quality"],
                         arrayminus=d["quality"] - d["quality_lo"], thickness=1, width=2),
            line=dict(width=st["lw"], dash={"-": "solid", "--": "dash", ":": "dot"}[st["ls"]]),
            marker=dict(size=st["ms"]),
            hovertext=[f"<b>{fam}</b> {b}<br>{q:.3f} [{lo:.3f}, {hi:.3f}]<br>{x:.1f} forward-eq."
                       for b, q, lo, hi, x in zip(d["budget"], d["quality"], d["quality_lo"], d["quality_hi"],
                                                  d["fwd_equiv"])], hoverinfo="text"))
    e = env[env["on_envelope"]].sort_values("fwd_equiv")
    fig.add_trace(go.Scatter(x=e["fwd_equiv"], y=e["quality"], mode="lines+markers+text", name="envelope",
                             text=e["family"], textposition="top left", textfont=dict(size=9),
                             line=dict(color="black", width=1, shape="hv"), marker=dict(color="black", size=4)))
    r0 = env.iloc[0]
    fig.update_layout(title=dict(text=f"{r0['task']} · {r0['split']} · n={int(r0['n'])} per point · a backward = "
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
    fams = sorted({f for df in frames.values() for f in envelope_table(df)["family"]})
    cool = [0, 1, 4, 5, 8, 9, 10, 11, 14, 15, 16, 17, 18, 19]  # tab20 without its reds and oranges: BoE's
    others = [f for f in fams if not is_boe(f)]
    color = {f: cmap(cool[others.index(f) % len(cool)]) for f in others}
    color.update({f: ("#d62728" if f == "boe" else "#ff7f0e") for f in fams if is_boe(f)})
    for ax, (task, df) in zip(axs.flat, frames.items()):
        env = envelope_table(df)
        for fam, d in env.groupby("family", sort=False):
            d = d.sort_values("fwd_equiv")
            st = _style(fam)
            ax.errorbar(d["fwd_equiv"], d["quality"], yerr=np.vstack([d["quality"] - d["quality_lo"],
                                                                      d["quality_hi"] - d["quality"]]),
                        color=color[fam], lw=st["lw"], ls=st["ls"], marker="o", ms=st["ms"], capsize=2,
                        label=fam, alpha=0.9)
        e = env[env["on_envelope"]].sort_values("fwd_equiv")
        ax.step(e["fwd_equiv"], e["quality"], where="post", color="k", lw=0.9, label="envelope")
        for r in e.itertuples():
            ax.annotate(r.family, (r.fwd_equiv, r.quality), textcoords="offset points", xytext=(3, 4), fontsize=6)
        r0 = env.iloc[0]
        ax.set_xscale("log")
        ax.set_title(f"{task} ({r0['split']}, n={int(r0['n'])}/point)", fontsize=10)
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
    fig.legend(handles, labels, loc="lower center", ncol=min(7, len(labels)), fontsize=7)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
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
        budgets = [CAP[task_name]] if fam.adaptive else list((STEPS_LOW if fam.low_steps else STEPS)[task_name])
        sw = Sweep(task=task, model=task.default_model, specs=parse_specs(fam.specs()), budgets=budgets,
                   split=split, limit=limit, batch_size=batch_size, out=out, threads=threads, progress=not quiet)
        run_sweep(sw)


def report(tasks, out_dir: Path | None = None, split: str = "test") -> str:
    frames = {t: pd.read_csv(csv_path(t, out_dir, split)) for t in tasks if csv_path(t, out_dir, split).is_file()}
    frames = {t: d for t, d in frames.items() if len(d)}
    if not frames:
        raise SystemExit("no frontier results yet: run python -m boe_core.bench frontier")
    md = ["# Quality against compute: every policy over its budget knob",
          "", "Made by `python -m boe_core.bench frontier` (tables: `--report-only`). Compute is forward-"
          "equivalents per example (forwards + κ · backwards, κ measured per model); adaptive samplers pay "
          "only for the steps their sequence still had masks. Intervals: Wilson 95%.", ""]
    md += ["## Summary", "", "Bold: the policy's points on the upper-left envelope, as quality @ forward-"
           "equivalents per example; (= X) marks a point identical to policy X's (BoE with no more candidates than "
           "commits is confidence). In brackets: its best point when none is on the envelope; * when another "
           "policy beats that point outside the 95% intervals at no more compute.", "", summary_markdown(frames), ""]
    for t, d in frames.items():
        md += [markdown(envelope_table(d), t), ""]
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
