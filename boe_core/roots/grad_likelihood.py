"""grad-likelihood: a one-backward estimate of the counterfactual score g_j.

The trajectory's log-likelihood LL = sum over the run's commits of log p(token | the canvas it was
committed from) is re-read on the recorded commit-step canvases (one batched forward, a row per
step), and differentiated w.r.t. the input embeddings (weights never require grad). Swapping commit
j's token x_j for its runner-up a_j changes the later canvases' inputs at j, so to first order

    g_j ~ log q_j - log p_j + sum_{k > s} (e_a - e_x) . dLL/de_j^(k)

(the later commits held fixed: the part of L' - L_s a gradient can see).

`grad-likelihood-mid` reads the gradient at the midpoint instead (every committed token's input on
the later canvases written at e_x + (e_a - e_x) / 2, all at once), the linearisation point that
ranked best for BoE's own first-order estimate.
"""
from __future__ import annotations

import numpy as np
import torch

from ..counterfactuals import commits_of, runner_up
from ..numerics import suppress
from .base import register_finder


@register_finder("grad-likelihood", "first-order g_j: (e_a - e_x) . grad of the later commits' log-likelihood, "
                                    "one backward", order=6)
def grad_likelihood(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    return grad_scores(model, trace, row, 0.0)


@register_finder("grad-likelihood-mid", "grad-likelihood with the gradient read halfway to the runner-ups", order=7)
def grad_likelihood_mid(model, trace, row=0, counterfactuals=None) -> np.ndarray:
    return grad_scores(model, trace, row, 0.5)


def grad_scores(model, trace, row: int, alpha: float) -> np.ndarray:
    cm = commits_of(trace, row)
    if not cm:
        return np.zeros(0)
    dev = model.device
    T = trace.num_steps
    ids = torch.as_tensor(np.stack([r.canvas_before[row] for r in trace.records]), device=dev)
    chosen = torch.as_tensor(np.stack([r.chosen[row] for r in trace.records]), device=dev)
    after = torch.as_tensor(np.stack([r.canvas_after[row] for r in trace.records]), device=dev)
    am = None if trace.attention_mask is None else torch.as_tensor(trace.attention_mask[row], device=dev).repeat(T, 1)
    E = model.embedding_matrix()
    facts = [runner_up(trace, s, p, row) for s, p in cm]
    base = model.embed(ids).detach()
    if alpha:
        for (s, p), (tok, _, alt, _) in zip(cm, facts):
            for k in range(s + 1, T):
                if int(ids[k, p]) == tok:
                    base[k, p] = base[k, p] + alpha * (E[alt] - E[tok]).to(base.dtype)
    with torch.enable_grad():
        emb = base.requires_grad_(True)
        h = model.hidden(emb, am)
        logits = model.head(h[chosen])
        lp = torch.log_softmax(suppress(logits, model.suppressed_ids), -1)
        ll = lp.gather(1, after[chosen][:, None]).sum()
        (grad,) = torch.autograd.grad(ll, emb)
    grad = grad.detach()
    out = np.zeros(len(cm))
    for i, ((s, p), (tok, pj, alt, q)) in enumerate(zip(cm, facts)):
        later = [k for k in range(s + 1, T) if int(ids[k, p]) == tok]
        first = 0.0
        if later:
            d = (E[alt] - E[tok]).to(grad.dtype)
            first = float((grad[later, p] @ d).sum())
        out[i] = np.log(max(q, 1e-45)) - np.log(max(pj, 1e-45)) + first
    return out
