"""Counterfactual commits: what the run would have done had a commit taken its runner-up.

For one row of a finished trace, every committed decoded token j (position j written at step s with
token x_j at confidence p_j) is replaced by its runner-up a_j (probability q_j, the most probable
other token of the same step's distribution, read from the record's top-k) on the canvas right
after step s, and the run's own policy, seed and remaining schedule continue from there. With
L'_j the summed log confidence of every token the continuation commits, and L_s the same for the
continuation of the unedited canvas (the run's own remainder, replayed in the same batch), the
score is

    g_j = (log q_j + L'_j) - (log p_j + L_s)

(is the whole trajectory more likely with the runner-up?). The largest g_j is the first suspect.

Cost: the branches of one step share their forwards (one batch row each, plus one row replaying
the unedited canvas), so a run of T steps needs sum_s (T - s - 1) batched forwards at most;
`estimate_forwards` says how many before anything runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from .config import DecodeConfig
from .errors import ConfigError, is_int
from .intervene import sub_state
from .policies import get_policy
from .sampler import edit_state, iterate, state_at
from .trace import Trace


# --- the commits of a row ---------------------------------------------------------------------
def commits_of(trace: Trace, row: int = 0) -> list[tuple[int, int]]:
    """(step, position) of every commit of decoded tokens of row `row`, in step then position order."""
    out = []
    for r in trace.records:
        for p in np.flatnonzero(r.chosen[row] & ~trace.fixed[row]):
            out.append((r.step, int(p)))
    return out


def runner_up(trace: Trace, step: int, position: int, row: int = 0) -> tuple[int, float, int, float]:
    """(token, p, runner-up, q) of a commit, from the step's recorded top-k (which always keeps at
    least two): the runner-up is the most probable token other than the one committed."""
    r = trace.records[step]
    tok = int(r.canvas_after[row, position])
    p = float(r.confidence[row, position])
    for a, q in zip(r.topk_ids[row, position].tolist(), r.topk_probs[row, position].tolist()):
        if a >= 0 and a != tok:
            return tok, p, int(a), float(q)
    raise ValueError(f"step {step} records no runner-up at position {position}")


def _cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def _check_row(trace: Trace, row) -> None:
    B = trace.initial_canvas.shape[0]
    if not is_int(row) or not (0 <= row < B):
        raise ConfigError("row", row, f"must be an integer in [0, {B})")
    if not trace.records:
        raise ConfigError("trace", "no steps", "has no records to take counterfactuals of")


def _groups(items: list, batch: int) -> list[tuple[int, list]]:
    """[(step, chunk of items of that step)], each chunk at most `batch` long."""
    by_step: dict[int, list] = {}
    for it in items:
        by_step.setdefault(it[0], []).append(it)
    return [(s, v[i:i + batch]) for s, v in sorted(by_step.items()) for i in range(0, len(v), batch)]


def estimate_forwards(trace: Trace, row: int = 0, batch: int = 64, replay: bool | None = None,
                      commits: list | None = None) -> dict:
    """What `counterfactuals` will cost, before it runs: the branches, the batched forwards (one per
    continued step of each batch) and the sequence forwards (rows x forwards, with the run's own
    forwards per step: BoE's backward and lookahead's probes count as the run counted them).
    `commits`: only these (step, position) commits' branches (default: every decoded commit)."""
    _check_row(trace, row)
    T = trace.num_steps
    per_step = [r.n_forward for r in trace.records]
    items = [tuple(c) for c in (commits_of(trace, row) if commits is None else commits)]
    batched = seq = 0
    for s, chunk in _groups(items, batch):
        rest = sum(per_step[s + 1:])
        batched += rest
        seq += rest * (len(chunk) + int(_replays(trace, replay)))
    return {"branches": len(items), "batched_forwards": batched, "sequence_forwards": seq, "steps": T}


cost = estimate_forwards


def _replays(trace: Trace, replay: bool | None) -> bool:
    """Replay the unedited remainder beside the branches? By default only for a batched trace, whose
    other rows could have steered the shared block order; a one-row run's remainder is its records."""
    return trace.initial_canvas.shape[0] > 1 if replay is None else bool(replay)


# --- the engine: continue edited canvases, batched per step --------------------------------------
@torch.no_grad()
def branch_commits(model, trace: Trace, row: int, edits: list[tuple[int, int, int, float]], batch: int = 64,
                   progress: Callable | None = None, cancel=None, policy: str | None = None, replay: bool = True):
    """Continue the run from each edit (step s, position, token, its confidence) written on the
    canvas right after step s of row `row`; the edits of one step go in one batch, led (with
    `replay`) by a row that continues the unedited canvas. Returns (finals (n, N) int64, loglik (n,) float64: the summed
    log confidence of the continuation's commits, replay {step: (final (N,), loglik)}, batched
    forwards, complete); a cancelled run leaves its unfinished rows at -1 / NaN."""
    replay_row = bool(replay)
    n, N = len(edits), trace.initial_canvas.shape[1]
    finals = np.full((n, N), -1, np.int64)
    loglik = np.full(n, np.nan)
    replay: dict[int, tuple[np.ndarray, float]] = {}
    config = DecodeConfig.from_dict(trace.config)
    if policy is not None:
        config = config.replace(policy=policy).validate()
    revise = get_policy(config.policy).revises(config.settings)
    index = {id(e): i for i, e in enumerate(edits)}
    groups = _groups(list(edits), batch)
    forwards, done = 0, 0
    for g, (s, chunk) in enumerate(groups):
        if _cancelled(cancel):
            return finals, loglik, replay, forwards, False
        rows = [index[id(e)] for e in chunk]
        after = trace.records[s].canvas_after[row]
        if s + 1 >= trace.num_steps:  # a commit of the last step: nothing is left to decode
            for i, (_, p, tok, _) in zip(rows, chunk):
                finals[i] = after
                finals[i, p] = tok
                loglik[i] = 0.0
            replay[s] = (after.copy(), 0.0)
        else:
            lead = 1 if replay_row else 0
            st = sub_state(state_at(model, trace, s + 1, revise), [row] * (len(chunk) + lead), trace.mask_id)
            where = torch.zeros(st.canvas.shape, dtype=torch.bool, device=st.canvas.device)
            tokens = st.canvas.clone()
            conf = torch.full(st.canvas.shape, float("nan"), dtype=torch.float32, device=st.canvas.device)
            for b, (_, p, tok, q) in enumerate(chunk, start=lead):
                where[b, p], tokens[b, p], conf[b, p] = True, tok, q
            st = edit_state(st, where, tokens, trace.mask_id, conf)
            ll = np.zeros(len(chunk) + lead)
            last = st.canvas.cpu().numpy()
            for rec in iterate(model, st, config):
                forwards += 1
                ll += np.where(rec.chosen, np.log(np.maximum(rec.confidence.astype(np.float64), 1e-45)), 0).sum(1)
                last = rec.canvas_after
            finals[rows] = last[lead:]
            loglik[rows] = ll[lead:]
            if lead:
                replay.setdefault(s, (last[0].copy(), float(ll[0])))
        done += len(chunk)
        if progress is not None:
            progress(done, n)
    return finals, loglik, replay, forwards, True


def run_loglik_after(trace: Trace, step: int, row: int = 0) -> float:
    """The run's own remainder after `step`: summed log confidence of every later commit."""
    out = 0.0
    for r in trace.records[step + 1:]:
        c = r.confidence[row][r.chosen[row]].astype(np.float64)
        out += float(np.log(np.maximum(c, 1e-45)).sum())
    return out


# --- the result ---------------------------------------------------------------------------------
@dataclass
class Counterfactuals:
    row: int
    steps: np.ndarray  # (n,) int64: the commit's step s
    positions: np.ndarray  # (n,) int64
    tokens: np.ndarray  # (n,) int64: x_j
    alternatives: np.ndarray  # (n,) int64: a_j, the runner-up
    p: np.ndarray  # (n,) float64: confidence of x_j at its commit
    q: np.ndarray  # (n,) float64: probability of a_j at the same step
    loglik_alt: np.ndarray  # (n,) L'_j: summed log confidence of the continuation after a_j
    loglik_run: np.ndarray  # (n,) L_s: the same for the unedited canvas (replayed)
    finals: np.ndarray  # (n, N) int64: each branch's final canvas
    run_final: np.ndarray  # (N,) the run's own final canvas (row `row`)
    fixes: list = field(default_factory=list)  # per commit: the branch's answer is right (None: no checker)
    replay_exact: bool = True  # every replayed remainder equals the run's own
    forwards: int = 0  # batched forwards spent
    seconds: float = 0.0
    complete: bool = True

    @property
    def n(self) -> int:
        return len(self.steps)

    @property
    def g(self) -> np.ndarray:
        """g_j = (log q_j + L'_j) - (log p_j + L_s): higher = the runner-up makes the trajectory likelier."""
        return (np.log(self.q) + self.loglik_alt) - (np.log(self.p) + self.loglik_run)

    @property
    def dependency(self) -> np.ndarray:
        """(n, N) bool: the positions whose final token changes when commit j takes its runner-up
        (the commit's own position left out)."""
        d = (self.finals != self.run_final[None]) & (self.finals >= 0)
        d[np.arange(self.n), self.positions] = False
        return d

    def commits(self) -> list[tuple[int, int]]:
        return list(zip(self.steps.tolist(), self.positions.tolist()))

    def ranking(self) -> list[tuple[int, int]]:
        """(step, position) by g, largest first (ties: earlier commit first)."""
        order = np.lexsort((self.positions, self.steps, -np.nan_to_num(self.g, nan=-np.inf)))
        return [(int(self.steps[i]), int(self.positions[i])) for i in order]

    def to_pandas(self):
        import pandas as pd

        dep = self.dependency
        return pd.DataFrame({
            "step": self.steps, "position": self.positions, "token": self.tokens, "alternative": self.alternatives,
            "p": self.p, "q": self.q, "changed": [np.flatnonzero(d).tolist() for d in dep],
            "n_changed": dep.sum(1), "loglik_alt": self.loglik_alt, "loglik_run": self.loglik_run, "g": self.g,
            "fixes": self.fixes if len(self.fixes) == self.n else [None] * self.n})

    def to_dict(self) -> dict:
        f = lambda a: [None if not np.isfinite(x) else float(x) for x in np.asarray(a, np.float64)]  # noqa: E731
        return {"row": self.row, "steps": self.steps.tolist(), "positions": self.positions.tolist(),
                "tokens": self.tokens.tolist(), "alternatives": self.alternatives.tolist(), "p": f(self.p),
                "q": f(self.q), "loglik_alt": f(self.loglik_alt), "loglik_run": f(self.loglik_run),
                "finals": self.finals.tolist(), "run_final": self.run_final.tolist(), "fixes": list(self.fixes),
                "replay_exact": self.replay_exact, "forwards": self.forwards, "seconds": self.seconds,
                "complete": self.complete}

    @classmethod
    def from_dict(cls, d: dict) -> "Counterfactuals":
        fl = lambda k: np.array([np.nan if x is None else x for x in d[k]], np.float64)  # noqa: E731
        n = len(d["steps"])
        return cls(row=int(d["row"]), steps=np.array(d["steps"], np.int64), positions=np.array(d["positions"], np.int64),
                   tokens=np.array(d["tokens"], np.int64), alternatives=np.array(d["alternatives"], np.int64),
                   p=fl("p"), q=fl("q"), loglik_alt=fl("loglik_alt"), loglik_run=fl("loglik_run"),
                   finals=np.array(d["finals"], np.int64).reshape(n, -1), run_final=np.array(d["run_final"], np.int64),
                   fixes=list(d.get("fixes", [])), replay_exact=bool(d.get("replay_exact", True)),
                   forwards=int(d.get("forwards", 0)), seconds=float(d.get("seconds", 0.0)),
                   complete=bool(d.get("complete", True)))

    def store(self, trace: Trace) -> None:
        """Keep it in the trace, so that it is exported with it (`Trace.counterfactuals`)."""
        trace.counterfactuals[str(self.row)] = self.to_dict()

    @classmethod
    def from_trace(cls, trace: Trace, row: int = 0) -> "Counterfactuals | None":
        d = trace.counterfactuals.get(str(row))
        return None if d is None else cls.from_dict(d)


def view_judge(trace: Trace, row: int = 0) -> Callable[[np.ndarray], bool] | None:
    """final canvas (N,) -> whether its answer is right, by the trace's task view; None when the
    view has no checker for this trace."""
    from .tasks.views import view_for_trace

    view = view_for_trace(trace)
    last = trace.records[-1]
    sl = slice(row, row + 1)
    one = Trace(model=trace.model, config=trace.config, initial_canvas=trace.initial_canvas[sl], fixed=trace.fixed[sl],
                attention_mask=None if trace.attention_mask is None else trace.attention_mask[sl],
                schedule=trace.schedule, mask_id=trace.mask_id, id_to_token=trace.id_to_token, meta=trace.meta)
    one.records = [replace(last, canvas_before=last.canvas_before[sl], canvas_after=last.canvas_after[sl],
                           masked=last.masked[sl], chosen=last.chosen[sl], remasked=last.remasked[sl])]
    try:
        if not view.can_check(one):
            return None
    except Exception:
        return None

    def judge(final: np.ndarray) -> bool:
        one.records[0] = replace(one.records[0], canvas_after=np.asarray(final, np.int64)[None])
        return bool(view.solved(one, 0))

    return judge


def counterfactuals(model, trace: Trace, row: int = 0, batch: int = 64, progress: Callable | None = None,
                    cancel=None, judge: Callable | None | bool = True, store: bool = True,
                    replay: bool | None = None, commits: list | None = None) -> Counterfactuals:
    """The runner-up counterfactual of every decoded commit of row `row` (see the module doc).
    `batch`: most branches per forward. `progress(done, total)` after each batch; `cancel` (an Event
    or a callable returning True) stops early (`complete=False`, NaN for what was not run).
    `judge(final (N,)) -> bool` says whether a branch's answer is right (`fixes`); True (default):
    the trace's task view when it has a checker; None/False: not judged. `store`: keep the result in
    `trace.counterfactuals`. `replay`: continue the unedited canvas beside each step's branches and
    take L_s from it (default: only for a batched trace); otherwise L_s is the run's own remainder.
    `commits`: only these (step, position) commits, in the order given (default: every decoded
    commit); a partial result is never stored."""
    _check_row(trace, row)
    if not is_int(batch) or batch < 1:
        raise ConfigError("batch", batch, "must be a positive integer")
    t0 = time.perf_counter()
    cm = commits_of(trace, row) if commits is None else [tuple(c) for c in commits]
    facts = [runner_up(trace, s, p, row) for s, p in cm]
    edits = [(s, p, a, q) for (s, p), (_, _, a, q) in zip(cm, facts)]
    rep = _replays(trace, replay)
    finals, ll_alt, replayed, forwards, complete = branch_commits(model, trace, row, edits, batch, progress, cancel,
                                                                  replay=rep)
    run_final = trace.final_canvas[row].copy()
    exact = all(np.array_equal(f, run_final) for f, _ in replayed.values())
    if rep:
        ll_run = np.array([replayed[s][1] if s in replayed else np.nan for s, _ in cm])
    else:
        ll_run = np.array([run_loglik_after(trace, s, row) for s, _ in cm])
    if judge is True:
        judge = view_judge(trace, row)
    fixes = [None if (not judge or finals[i, 0] < 0) else bool(judge(finals[i])) for i in range(len(cm))]
    out = Counterfactuals(row=row, steps=np.array([s for s, _ in cm], np.int64),
                          positions=np.array([p for _, p in cm], np.int64),
                          tokens=np.array([f[0] for f in facts], np.int64),
                          alternatives=np.array([f[2] for f in facts], np.int64),
                          p=np.array([f[1] for f in facts], np.float64), q=np.array([f[3] for f in facts], np.float64),
                          loglik_alt=ll_alt, loglik_run=ll_run, finals=finals, run_final=run_final, fixes=fixes,
                          replay_exact=exact, forwards=forwards, seconds=time.perf_counter() - t0, complete=complete)
    if store and complete and commits is None:
        out.store(trace)
    return out
