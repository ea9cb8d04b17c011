"""Compute accounting: forward-equivalents and the measured cost of one backward.

One decoding step of a policy costs ``n_forward`` forwards and ``n_backward`` backwards per
sequence (see StepRecord). To put BoE and lookahead on one axis, a backward is counted as
``kappa`` forwards, where kappa is *measured* once per model by a small timing probe:

    kappa = (t[boe step] - t[confidence step]) / t[confidence step]

both steps taken by the real sampler on the same batch of real task canvases, timed interleaved,
median of the repeats. A confidence step is one forward plus bookkeeping; a BoE step
(linearize_at=current) is the same forward kept under autograd, one backward of the probe entropy
to the input embeddings, and the TIS scoring, so kappa is everything BoE adds per step in units
of a forward. Forward-equivalents = forwards + kappa * backwards.
"""
from __future__ import annotations

import statistics
import time

import torch

from ..config import DecodeConfig
from ..errors import ConfigError
from ..sampler import init_state, step


def backward_cost_probe(adapter, canvas, attention_mask=None, steps: int = 8, repeats: int = 5,
                        boe_overrides: dict | None = None) -> dict:
    """Measure kappa on `canvas` (a (B, N) batch of task canvases). Returns a dict with kappa and
    the raw median timings (seconds per step for the whole batch)."""
    base = DecodeConfig(steps=steps)
    cfgs = {"confidence": base.replace(policy="confidence"),
            # linearised at the current canvas: the step's own forward kept under autograd plus one
            # backward, so kappa is the backward alone (the shipped midpoint's second forward is
            # counted as a forward by the policy, and must not be counted again inside kappa)
            "boe": base.replace(policy="boe", **{"linearize_at": "current", **(boe_overrides or {})})}
    states = {k: init_state(adapter, canvas, c, attention_mask) for k, c in cfgs.items()}
    states = _first_state_with_backward(adapter, states, cfgs)
    times = {k: [] for k in cfgs}
    for i in range(repeats + 1):  # the first round warms up
        for k, c in cfgs.items():
            t0 = time.perf_counter()
            step(adapter, states[k], c)
            if adapter.device.type == "cuda":
                torch.cuda.synchronize(adapter.device)
            if i:
                times[k].append(time.perf_counter() - t0)
    t_f = statistics.median(times["confidence"])
    t_b = statistics.median(times["boe"])
    kappa = max(0.0, (t_b - t_f) / t_f)
    return {"kappa": round(kappa, 4), "t_forward_step_s": t_f, "t_boe_step_s": t_b,
            "probe_batch": int(canvas.shape[0]), "probe_repeats": repeats}


def _first_state_with_backward(adapter, states: dict, cfgs: dict) -> dict:
    """The probe times the first step at which BoE really runs its backward. At step 0 a BoE step
    can fall back to confidence order (no usable probe: every masked entropy above the floor, as on
    bio's long answers), and timing it would measure a backward that never ran (kappa ~ 0). Both
    states are advanced together, step by step, until one does; a ConfigError when none does."""
    boe, conf = states["boe"], states["confidence"]
    for _ in range(boe.schedule.total_steps):
        nxt, rec = step(adapter, boe, cfgs["boe"])
        if rec.n_backward > 0:
            return {"confidence": conf, "boe": boe}
        boe = nxt
        conf, _ = step(adapter, conf, cfgs["confidence"])
        if boe.done or conf.done:
            break
    raise ConfigError("kappa", "not measured", "BoE ran no backward on the probe's canvases (it fell back to "
                                               "confidence at every step): pass --kappa")


def forward_equivalents(forwards, backwards, kappa):
    return forwards + kappa * backwards


def row_costs(trace):
    """(forwards, backwards) per sequence of a batched trace, as numpy arrays.

    A sequence pays for the steps in which it still had masked positions (an adaptive sampler
    finishes some sequences before others; a batch keeps stepping for the slowest). A step's extra
    forwards and backwards go to the sequences the policy scored candidates for (its `candidates`
    signal, where it records one; e.g. BoE-adaptive checks only rows with a parallel commit), else
    to every sequence that was still decoding. A step on a canvas with nothing masked (a revision
    step) is paid by every sequence."""
    import numpy as np

    B = trace.initial_canvas.shape[0]
    fw, bw = np.zeros(B), np.zeros(B)
    for r in trace.records:
        active = r.masked.any(1)
        if not active.any():
            active = np.ones(B, bool)
        cand = r.signals.get("candidates")
        extra = active if cand is None else active & np.asarray(cand, bool).any(1)
        fw += active + extra * (r.n_forward - 1)
        bw += extra * r.n_backward
    return fw, bw
