"""The root of a cascade: for a run that ends wrong, where BoE's remask TIS ranks the first wrong
commit among the committed tokens at each later step.

remask TIS_j (`boe_core.policies.boe.remask_influence`) estimates how much the entropy of the
masked positions would fall if committed token j went back to [MASK]. If a wrong commit is what
the rest of the canvas is confused by, it should rank high. Ranks are pessimistic under ties
(a tie counts against the root), and the chance level is that of a uniform ranking.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
import torch

from .config import DecodeConfig
from .fidelity import remask_estimates
from .policies.selection import candidates, probes
from .sampler import build_context, state_at
from .trace import Trace


@dataclass
class RootRank:
    row: int
    wrong_step: int  # the step of the first wrong commit
    roots: list[int]  # the positions wrongly committed at that step
    step: int  # the later state (before this step) where the ranking was taken
    rank: int  # best rank of a root among the committed tokens (1 = largest remask TIS)
    n_committed: int

    def hit(self, k: int) -> bool:
        return self.rank <= k

    def chance(self, k: int) -> float:
        """P(some root in the top k) under a uniformly random order of the committed tokens."""
        n, w = self.n_committed, len(self.roots)
        if k >= n:
            return 1.0
        return 1.0 - comb(n - w, k) / comb(n, k)


def first_wrong_commits(trace: Trace, target: np.ndarray) -> dict[int, tuple[int, list[int]]]:
    """row -> (step, positions) of the first step that committed a token differing from `target`
    (B, N) at a non-fixed position; rows that never do are left out."""
    out = {}
    for r in trace.records:
        wrong = r.chosen & (r.canvas_after != target) & ~trace.fixed
        for row in np.flatnonzero(wrong.any(1)):
            if int(row) not in out:
                out[int(row)] = (r.step, np.flatnonzero(wrong[row]).tolist())
    return out


def rank_of(values: np.ndarray, pool: np.ndarray, roots: list[int]) -> int:
    """Best pessimistic rank (1 = largest) of the roots among the pool's values."""
    v = np.where(pool, values, -np.inf)
    return min(int((v >= v[p]).sum()) for p in roots)


SIGNALS = ("remask TIS", "exact remask drop", "exact drop net of H_j", "lowest own-token probability when remasked",
           "lowest commit confidence")
EXACT = ("exact remask drop", "exact drop net of H_j", "lowest own-token probability when remasked")


@torch.no_grad()
def root_ranks(adapter, trace: Trace, target: np.ndarray, settings: dict | None = None,
               exact: bool = False) -> dict[str, list[RootRank]]:
    """For every row that commits a wrong token, the rank of its first wrong commit at each later
    state that still has probes, by each signal: remask TIS (one BoE backward per state for the
    whole batch, BoE's candidates and probes; the trace's settings, BoE defaults, then
    `settings`); with `exact`, from one forward per committed token with that token masked, the
    exact drop of the probes' entropy, the same net of j's own entropy H_j, and the model's
    probability of the committed token (lowest first); and, free, the lowest confidence at commit
    first."""
    return ranks_after(adapter, trace, first_wrong_commits(trace, target), settings, exact)


@torch.no_grad()
def ranks_after(adapter, trace: Trace, first: dict[int, tuple[int, list[int]]], settings: dict | None = None,
                exact: bool = False, callback=None, cancel=None) -> dict[str, list[RootRank]]:
    """`root_ranks` for given roots: row -> (step of the wrong commit, its positions).
    `callback(done, total)` reports progress; a set `cancel` event stops early."""
    from .fidelity import exact_remask_facts

    out: dict[str, list[RootRank]] = {name: [] for name in SIGNALS if exact or name not in EXACT}
    if not first:
        return out
    cfg = DecodeConfig.from_dict(trace.config).replace(policy="boe", **(settings or {})).validate()
    base = cfg.replace(linearize_at="current")
    start = min(s for s, _ in first.values()) + 1
    for k in range(start, trace.num_steps):
        if cancel is not None and cancel.is_set():
            break
        if callback is not None:
            callback(k - start, trace.num_steps - start)
        state = state_at(adapter, trace, k)
        ctx = build_context(adapter, state, base, force_graph=True)
        cand, _ = candidates(ctx)
        probe = probes(ctx, cand)
        rt = remask_estimates(ctx, cand, probe, cfg.settings, {"": {}})[""]
        ctx.graph = None
        committed = ctx.committed.cpu().numpy()
        has_probe = probe.any(1).cpu().numpy()
        rows = {row: [p for p in roots if committed[row, p]] for row, (s, roots) in first.items()
                if k > s and has_probe[row]}
        rows = {row: live for row, live in rows.items() if live}
        if not rows:
            continue
        values = {"remask TIS": rt, "lowest commit confidence": -state.commit_confidence.cpu().numpy()}
        if exact:
            pool = torch.zeros_like(ctx.committed)
            pool[list(rows)] = ctx.committed[list(rows)]
            facts = {k: v.cpu().numpy() for k, v in exact_remask_facts(ctx, pool, probe).items()}
            values["exact remask drop"] = facts["drop"]
            values["exact drop net of H_j"] = facts["drop"] - facts["own_entropy"]
            values["lowest own-token probability when remasked"] = -facts["own_prob"]
        for row, live in rows.items():
            s = first[row][0]
            n = int(committed[row].sum())
            for name, v in values.items():
                rank = rank_of(np.nan_to_num(v[row], nan=-np.inf), committed[row], live)
                out[name].append(RootRank(row, s, live, k, rank, n))
    return out


def summarise(ranks: list[RootRank], n_boot: int = 1000, seed: int = 0) -> dict:
    """hit@1 and hit@3 over the states after each run's first wrong commit (each run weighs as
    many states as it has), with 95% bootstrap intervals over runs and the chance levels; and the
    same at the first state after the wrong commit only."""
    if not ranks:
        return {"runs": 0, "states": 0}
    by_run: dict[int, list[RootRank]] = {}
    for r in ranks:
        by_run.setdefault(r.row, []).append(r)
    runs = list(by_run.values())
    rng = np.random.default_rng(seed)
    out = {"runs": len(runs), "states": len(ranks)}
    for k in (1, 3):
        hits = [np.array([r.hit(k) for r in run], float) for run in runs]
        stat = lambda idx: float(np.concatenate([hits[i] for i in idx]).mean())  # noqa: E731
        boots = [stat(rng.integers(0, len(runs), len(runs))) for _ in range(n_boot)]
        out[f"hit@{k}"] = stat(range(len(runs)))
        out[f"hit@{k}_ci"] = [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))]
        out[f"chance@{k}"] = float(np.mean([r.chance(k) for r in ranks]))
        nxt = [run[0] for run in runs]
        out[f"next_hit@{k}"] = float(np.mean([r.hit(k) for r in nxt]))
        out[f"next_chance@{k}"] = float(np.mean([r.chance(k) for r in nxt]))
    return out
