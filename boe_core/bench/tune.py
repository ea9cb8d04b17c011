"""Tuning BoE's knobs on the validation split only.

The default grid varies one knob at a time around the policy's default settings (``--mode oat``), then
evaluates the combination of each knob's best value; ``--mode full`` runs the full Cartesian
product. The best spec is the one with the highest mean quality over the budgets (ties: lower
mean forward-equivalents). Results go to ``results/<task>/tune_val.csv`` (the same format as a
frontier CSV) and, beside it, ``tuned_val.json``.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd

from ..config import DecodeConfig
from ..errors import ConfigError
from .specs import parse_spec, parse_value

DEFAULT_GRID = {
    "r": [8, 16, 32],
    "rho": [0.125, 0.25, 0.5, 1.0],
    "gamma": [0.0, 0.5, 1.0, 2.0],
    "lam": [0.0, 0.2, 1.0],
    "h_max": [0.1, 0.3, 1.0],
    "tau_s": [0.5, 1.0, 2.0],
    "linearize_at": ["current", "surrogate"],
}


def parse_grid(items) -> dict:
    """['rho=0.25,0.5', 'gamma=1,2'] -> {'rho': [0.25, 0.5], 'gamma': [1, 2]}."""
    if not items:
        return dict(DEFAULT_GRID)
    grid = {}
    for it in items:
        k, eq, vs = it.partition("=")
        if not eq or not vs.strip():
            raise ConfigError("grid", it, "each entry is knob=v1,v2,...")
        grid[k.strip()] = [parse_value(v) for v in vs.split(",") if v.strip()]
    return grid


def _defaults(policy: str):
    """The policy's default settings."""
    return DecodeConfig(policy=policy).settings


def _spec(policy, kv: dict):
    default = _defaults(policy)
    kept = {k: v for k, v in kv.items() if getattr(default, k, object()) != v}
    return parse_spec(policy + (":" + ",".join(f"{k}={v}" for k, v in sorted(kept.items())) if kept else ""))


def grid_specs(grid: dict, mode: str = "oat", policy: str = "boe") -> list:
    if mode == "full":
        keys = list(grid)
        return [_spec(policy, dict(zip(keys, vals))) for vals in itertools.product(*grid.values())]
    if mode != "oat":
        raise ConfigError("mode", mode, "must be 'oat' (one knob at a time) or 'full'")
    out = [_spec(policy, {})]
    for k, vals in grid.items():
        out += [_spec(policy, {k: v}) for v in vals]
    seen, uniq = set(), []
    for s in out:
        if s.label not in seen:
            seen.add(s.label)
            uniq.append(s)
    return uniq


TIEBREAK = ("cell_accuracy", "token_accuracy", "distinct_2")


def _tiebreak(df):
    """A secondary per-row metric (cell / token accuracy) that breaks ties in the main one."""
    sec = df["secondary"].map(lambda s: json.loads(s) if isinstance(s, str) and s else {})
    for k in TIEBREAK:
        if sec.map(lambda d: k in d).all():
            return sec.map(lambda d: d[k]).astype(float), k
    return pd.Series(0.0, index=df.index), None


def rank_specs(df):
    """Per spec: mean quality over budgets (ties: mean cell / token accuracy, then lower mean
    forward-equivalents), best first. Only specs run at every budget are ranked."""
    hib = bool(df["higher_is_better"].iloc[0])
    df = df.assign(tiebreak=_tiebreak(df)[0])
    g = df.groupby("policy").agg(quality=("quality", "mean"), tiebreak=("tiebreak", "mean"),
                                 fwd_equiv=("fwd_equiv", "mean"), budgets=("steps", "nunique")).reset_index()
    g = g[g["budgets"] == g["budgets"].max()]
    g["_q"] = g["quality"] if hib else -g["quality"]
    g = g.sort_values(["_q", "tiebreak", "fwd_equiv"], ascending=[False, False, True])
    name = _tiebreak(df)[1]
    g = g.drop(columns="_q").rename(columns={"tiebreak": name or "tiebreak"})
    return g.reset_index(drop=True)


def combined_spec(df, grid: dict, policy: str = "boe"):
    """Each knob at its best one-at-a-time value, when that beats the default (None when fewer
    than two knobs improve: the combination would be one of the specs already run)."""
    ranked = rank_specs(df)
    pos = {p: i for i, p in enumerate(ranked["policy"])}  # lower = better
    base = _spec(policy, {}).label
    if base not in pos:
        return None
    best = {}
    for k, vals in grid.items():
        cands = [(pos[_spec(policy, {k: v}).label], v) for v in vals if _spec(policy, {k: v}).label in pos]
        if cands:
            i, v = min(cands, key=lambda t: t[0])
            if i < pos[base]:
                best[k] = v
    return _spec(policy, best) if len(best) > 1 else None


def write_tuned(path, task, split, ranked, best_label, budgets):
    info = {"task": task, "split": split, "budgets": budgets, "best_spec": best_label,
            "ranking": ranked.head(10).to_dict(orient="records")}
    Path(path).write_text(json.dumps(info, indent=1, default=float) + "\n")
    return info
