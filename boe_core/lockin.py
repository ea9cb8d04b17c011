"""The lock-in map: for a finished run, hand the rest of the decode to another policy (confidence by
default) from every step k, and record how each hand-over ends.

Cost: at most T rollouts (T = the run's steps), and usually far fewer. A hand-over at step k gives
the same trajectory as the hand-over at k + 1 whenever the run's own commit at step k equals
what that policy would commit from the same canvas: for confidence this is free to know, since
every record carries confidence's own pick (`signals["confidence_pick"]`). Only the steps where
the run departs from confidence need a rollout; the map of a confidence run costs nothing.

An outcome is judged by a `judge(trace) -> dict` function: checkable tasks give `solved` and the
first wrong commit (from the task's view, where the rules live); any task gets the distance
between the hand-over's final canvas and the run's, and the final text.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from .branch import branch
from .trace import Trace


@dataclass
class HandOver:
    step: int  # the hand-over point k: steps < k are the run's, the rest the other policy's
    rollout: bool  # False when the outcome was inferred from the next point (same trajectory)
    solved: bool | None  # None when the task has no checker
    first_wrong_step: int | None  # the first wrong commit of the hand-over trajectory
    distance: int  # positions where its final canvas differs from the run's (row 0)
    text: str  # its final canvas as text (row 0)


@dataclass
class LockInMap:
    policy: str  # who takes over
    run_policy: str
    run_solved: bool | None
    points: list[HandOver] = field(default_factory=list)
    rollouts: int = 0
    seconds: float = 0.0
    complete: bool = True  # False when cancelled

    def to_dict(self) -> dict:
        return asdict(self)

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([asdict(p) for p in self.points])


def trace_key(trace: Trace, policy: str) -> str:
    """A fingerprint of a run (model, config, canvases, commits) and the taking-over policy."""
    h = hashlib.sha256()
    h.update(f"{trace.model}|{sorted(trace.config.items())!r}|{policy}".encode())
    h.update(np.ascontiguousarray(trace.initial_canvas).tobytes())
    for r in trace.records:
        h.update(np.ascontiguousarray(r.chosen).tobytes())
        h.update(np.ascontiguousarray(r.canvas_after).tobytes())
        h.update(np.ascontiguousarray(r.remasked).tobytes())
    return h.hexdigest()[:24]


def view_judge(trace: Trace) -> dict:
    """Judge a finished trace with its task view: solved, the first wrong commit, the final text."""
    from .tasks.views import view_for_trace

    view = view_for_trace(trace)
    last = trace.num_steps - 1
    out = {"solved": None, "first_wrong_step": None, "text": view.canvas_text(trace, last)}
    if view.can_check(trace):
        out["solved"] = bool(view.solved(trace, last))
        fw = view.first_wrong(trace)
        out["first_wrong_step"] = None if fw is None else int(fw["step"])
    return out


def _same_as_next(record, policy: str) -> bool:
    """The run's commit at this step is what `policy` would have committed (known for confidence)."""
    if policy != "confidence" or "confidence_pick" not in record.signals or record.remasked[0].any():
        return False  # confidence never takes a commit back
    return bool(np.array_equal(record.chosen[0], record.signals["confidence_pick"][0]))


def lockin_map(adapter, trace: Trace, policy: str = "confidence", judge: Callable | None = None,
               callback: Callable[[int, int], None] | None = None,
               cancel: threading.Event | None = None) -> LockInMap:
    """The outcome of handing the decode to `policy` at every step of `trace` (row 0).
    `judge(trace) -> {"solved", "first_wrong_step", "text"}` (default: the trace's task view).
    `callback(done, total)` reports progress; a set `cancel` event stops and returns what is done
    (`complete=False`)."""
    judge = judge or view_judge
    t0 = time.perf_counter()
    T = trace.num_steps
    run_final = trace.final_canvas[0]
    run_verdict = judge(trace)
    out = LockInMap(policy=policy, run_policy=str(trace.config.get("policy")), run_solved=run_verdict["solved"])
    # the hand-over at T is the run itself; walk backwards so equal points reuse the next one
    nxt = HandOver(T, False, run_verdict["solved"], run_verdict["first_wrong_step"], 0, run_verdict["text"])
    points: list[HandOver] = []
    for k in range(T - 1, -1, -1):
        if cancel is not None and cancel.is_set():
            out.complete = False
            break
        if _same_as_next(trace.records[k], policy):
            nxt = HandOver(k, False, nxt.solved, nxt.first_wrong_step, nxt.distance, nxt.text)
        else:
            b = branch(adapter, trace, k, policy=policy)
            v = judge(b)
            final = b.final_canvas[0]
            nxt = HandOver(k, True, v["solved"], v["first_wrong_step"], int((final != run_final).sum()), v["text"])
            out.rollouts += 1
        points.append(nxt)
        if callback is not None:
            callback(T - k, T)
    out.points = sorted(points, key=lambda p: p.step)
    out.seconds = time.perf_counter() - t0
    return out


class LockInCache:
    """A small thread-safe LRU of finished maps, keyed by `trace_key` (shared by app sessions:
    the same run gives the same map, whoever asks)."""

    def __init__(self, size: int = 32):
        self.size = size
        self._d: OrderedDict[str, LockInMap] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> LockInMap | None:
        with self._lock:
            m = self._d.get(key)
            if m is not None:
                self._d.move_to_end(key)
            return m

    def put(self, key: str, m: LockInMap) -> None:
        if not m.complete:
            return  # a cancelled map is not the answer
        with self._lock:
            self._d[key] = m
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)
