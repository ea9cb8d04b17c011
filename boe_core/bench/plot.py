"""Quality-vs-compute charts of a sweep's CSV: an interactive plotly figure and a static PNG."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

X_AXES = {
    "fwd_equiv": "compute per example (forward-equivalents: forwards + kappa x backwards)",
    "wall_s_per_example": "wall-clock seconds per example",
}
PALETTE = ["#7f7f7f", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22", "#aec7e8",
           "#98df8a", "#c5b0d5"]  # cool: baselines and lookahead
WARM = ["#d62728", "#ff7f0e", "#e377c2", "#ff9896", "#f7b6d2", "#c49c94"]  # BoE variants


def _load(csv_or_df) -> pd.DataFrame:
    if isinstance(csv_or_df, pd.DataFrame):
        return csv_or_df.copy()
    return pd.read_csv(csv_or_df)


def pareto_mask(x, y, higher_is_better=True) -> np.ndarray:
    """True for points no other point beats on both axes (less x, better y)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if not higher_is_better:
        y = -y
    keep = np.ones(len(x), bool)
    for i in range(len(x)):
        if not np.isfinite(y[i]):
            keep[i] = False
            continue
        dom = (x <= x[i]) & (y >= y[i]) & ((x < x[i]) | (y > y[i]))
        keep[i] = not dom.any()
    return keep


def _colors(policies):
    """BoE variants warm (red/orange/pink), everything else cool; stable for a given list."""
    out, k, w = {}, 0, 0
    for p in policies:
        if p.startswith("boe"):
            out[p] = WARM[w % len(WARM)]
            w += 1
        else:
            out[p] = PALETTE[k % len(PALETTE)]
            k += 1
    return out


def _select(df, task=None, split=None):
    if task is not None:
        df = df[df["task"] == task]
    if split is not None:
        df = df[df["split"] == split]
    if df.empty:
        raise ValueError("no results to plot (check the task / split filters)")
    return df


def frontier_figure(csv_path, task: str | None = None, split: str | None = None, x: str = "fwd_equiv",
                    log_x: bool = True):
    """A plotly Figure of quality vs compute from a sweep CSV (or DataFrame): one line per policy
    spec over its step budgets, 95% intervals where the metric is 0/1, the Pareto frontier over
    all points dashed, and a menu switching the x axis between forward-equivalents and wall-clock
    seconds. Pure: reads the CSV, returns the figure."""
    import plotly.graph_objects as go

    df = _select(_load(csv_path), task, split)
    if x not in X_AXES:
        raise ValueError(f"x={x!r}: must be one of {list(X_AXES)}")
    metric = str(df["metric"].iloc[0])
    hib = bool(df["higher_is_better"].iloc[0]) if "higher_is_better" in df else True
    policies = list(dict.fromkeys(df["policy"]))
    colors = _colors(policies)
    fig = go.Figure()
    axes = list(X_AXES)
    for p in policies:
        d = df[df["policy"] == p].sort_values("steps")
        err = None
        if d["quality_lo"].notna().any():
            err = dict(type="data", symmetric=False, array=(d["quality_hi"] - d["quality"]).values,
                       arrayminus=(d["quality"] - d["quality_lo"]).values, thickness=1, width=3)
        sec = [json.loads(s) if isinstance(s, str) and s else {} for s in d.get("secondary", [""] * len(d))]
        hover = [
            f"<b>{p}</b><br>steps {int(r.steps)}<br>{metric} {r.quality:.3f}"
            + (f" [{r.quality_lo:.3f}, {r.quality_hi:.3f}]" if pd.notna(r.quality_lo) else "")
            + f"<br>forwards {r.forwards:.1f}, backwards {r.backwards:.1f} (x{r.backward_cost:.2f})"
            + f"<br>forward-equivalents {r.fwd_equiv:.1f}<br>wall {r.wall_s_per_example * 1e3:.1f} ms / example"
            + "".join(f"<br>{k} {v}" for k, v in s.items())
            + (f"<br><i>{r.note}</i>" if isinstance(r.note, str) and r.note else "")
            for r, s in zip(d.itertuples(), sec)]
        fig.add_trace(go.Scatter(
            x=d[x], y=d["quality"], mode="lines+markers+text", name=p, text=[str(int(s)) for s in d["steps"]],
            textposition="top center", textfont=dict(size=9), error_y=err, hovertext=hover, hoverinfo="text",
            line=dict(color=colors[p], dash="solid" if p.startswith("boe") else "dot" if p.startswith("lookahead") else "solid",
                      width=3 if p.startswith("boe") else 2),
            marker=dict(size=9 if p.startswith("boe") else 7), customdata=np.stack([d[a] for a in axes], 1)))
    n_pol = len(policies)
    frontier_x = {}
    for a in axes:
        m = pareto_mask(df[a], df["quality"], hib)
        f = df[m].sort_values(a)
        frontier_x[a] = (f[a].tolist(), f["quality"].tolist(), f["policy"].tolist())
    fx, fy, fp = frontier_x[x]
    fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines", name="Pareto frontier", hovertext=fp, hoverinfo="text",
                             line=dict(color="black", dash="dash", width=1, shape="hv")))
    buttons = []
    for a in axes:
        xs = [df[df["policy"] == p].sort_values("steps")[a].tolist() for p in policies] + [frontier_x[a][0]]
        ys = [df[df["policy"] == p].sort_values("steps")["quality"].tolist() for p in policies] + [frontier_x[a][1]]
        buttons.append(dict(label=X_AXES[a].split(" (")[0], method="update",
                            args=[{"x": xs, "y": ys}, {"xaxis.title.text": X_AXES[a]}]))
    r0 = df.iloc[0]
    title = (f"{r0['task']} · {r0['model']} · {r0['split']} split · n={int(r0['n'])} · "
             f"a backward = {float(r0['backward_cost']):.2f} forwards · {r0.get('machine', '')}")
    fig.update_layout(
        title=dict(text=title, font=dict(size=13)), template="plotly_white", height=560,
        xaxis=dict(title=X_AXES[x], type="log" if log_x else "linear"),
        yaxis=dict(title=f"{metric} ({'higher' if hib else 'lower'} is better)"),
        legend=dict(title="policy (labels: steps)"), hovermode="closest",
        updatemenus=[dict(type="buttons", direction="right", x=0.0, y=1.12, xanchor="left", buttons=buttons,
                          active=axes.index(x))] if n_pol else [])
    return fig


def write_html(csv_path, html_path, offline: bool = False, **kw) -> Path:
    """The interactive chart. By default the page loads plotly.js from its CDN (a 20 kB file);
    offline=True embeds it (about 4.5 MB) so the page works with no network."""
    fig = frontier_figure(csv_path, **kw)
    html_path = Path(html_path)
    fig.write_html(str(html_path), include_plotlyjs=True if offline else "cdn", full_html=True)
    return html_path


def write_png(csv_path, png_path, task=None, split=None) -> str:
    """Static PNG: plotly + kaleido when that works, else matplotlib (two panels: forward-equivalents
    and wall-clock). Returns what wrote it, or raises ImportError when neither is available."""
    png_path = Path(png_path)
    try:
        fig = frontier_figure(csv_path, task=task, split=split)
        fig.write_image(str(png_path), width=1100, height=560, scale=1)
        return "plotly+kaleido"
    except Exception:
        pass
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = _select(_load(csv_path), task, split)
    metric = str(df["metric"].iloc[0])
    hib = bool(df["higher_is_better"].iloc[0])
    policies = list(dict.fromkeys(df["policy"]))
    colors = _colors(policies)
    fig, axs = plt.subplots(1, 2, figsize=(13, 5.2), sharey=True)
    for ax, a in zip(axs, X_AXES):
        for p in policies:
            d = df[df["policy"] == p].sort_values("steps")
            yerr = None
            if d["quality_lo"].notna().any():
                yerr = np.vstack([d["quality"] - d["quality_lo"], d["quality_hi"] - d["quality"]])
            ax.errorbar(d[a], d["quality"], yerr=yerr, marker="o", ms=5 if not p.startswith("boe") else 7,
                        lw=2.4 if p.startswith("boe") else 1.4, capsize=2, color=colors[p], label=p,
                        ls=":" if p.startswith("lookahead") else "-")
            for xv, yv, s in zip(d[a], d["quality"], d["steps"]):
                ax.annotate(str(int(s)), (xv, yv), textcoords="offset points", xytext=(0, 5), fontsize=7,
                            ha="center", color=colors[p])
        m = pareto_mask(df[a], df["quality"], hib)
        f = df[m].sort_values(a)
        ax.step(f[a], f["quality"], where="post", color="k", ls="--", lw=0.8, label="Pareto frontier")
        ax.set_xscale("log")
        ax.set_xlabel(X_AXES[a])
        ax.grid(alpha=0.3)
    axs[0].set_ylabel(f"{metric} ({'higher' if hib else 'lower'} is better)")
    axs[1].legend(fontsize=8, loc="best")
    r0 = df.iloc[0]
    fig.suptitle(f"{r0['task']} · {r0['model']} · {r0['split']} · n={int(r0['n'])} · backward = "
                 f"{float(r0['backward_cost']):.2f} forwards · {r0.get('machine', '')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return "matplotlib"
