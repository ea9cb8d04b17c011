"""How close is the ActiveQueryAttention gradient to the dense one? (issue: AQA, "Fidelity")

    python benchmarks/aqa_fidelity.py --model sudoku --examples 8
    python benchmarks/aqa_fidelity.py --model kjv --examples 8

Decodes real examples with BoE (dense backward) and, at every step of each trajectory, recomputes
the entropy gradient g = dF/de twice on the same canvas, candidates and probes: densely and through
AQA (forced on for every step). Reports, per linearisation point and probe fraction rho, the cosine
between the two gradients at the candidates, the fraction of committed positions on which they
agree, and the mean active-row fraction |A| / L.
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch


from boe_core import DecodeConfig, generate, load_model, state_at
from boe_core.policies.boe import entropy_gradient
from boe_core.policies.selection import candidates, probes, selection_score, top_mask
from boe_core.sampler import build_context


def examples(model, name, n, seed):
    if name == "sudoku":
        from boe_core.tasks.sudoku import puzzle_to_canvas

        path = Path(__file__).resolve().parents[1] / "assets/data/sudoku/heldout_test.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()[:n]]
        return [dict(canvas=puzzle_to_canvas(r["puzzle"], model.tokenizer)[0][None], steps=24) for r in rows]
    import random

    from boe_core.tasks import kjv

    rng = random.Random(seed)
    out = []
    for text in kjv.load_texts("test")[:n]:
        ids, fixed, _ = kjv.make_infill_example(text, 0.5, model.tokenizer, rng, model.max_length)
        out.append(dict(canvas=ids[None], steps=max(1, int((~fixed).sum()) // 2)))
    return out


def compare(model, trace, step, cfg_dense, cfg_aqa):
    state = state_at(model, trace, step)
    ctx_d = build_context(model, state, cfg_dense)
    cand, _ = candidates(ctx_d)
    probe = probes(ctx_d, cand)
    if int(cand.sum()) <= int(ctx_d.b.sum()) or not bool(probe.any()):
        return None
    ctx_a = build_context(model, state, cfg_aqa)
    ctx_a.stats = ctx_d.stats  # identical forward up to rounding: score the same candidates
    g_d, w, soft, _ = entropy_gradient(ctx_d, cand, probe)
    g_a = entropy_gradient(ctx_a, cand, probe)[0]
    wt = torch.tensor(w, dtype=g_d.dtype).view(-1, 1, 1, 1)
    g_d, g_a = (g_d * wt).sum(0), (g_a * wt).sum(0)  # the quadrature-weighted gradients
    a, d = g_a[cand].flatten().double(), g_d[cand].flatten().double()
    cos = float(a @ d / (a.norm() * d.norm()).clamp_min(1e-300))
    delta_e = soft.double() - model.embedding_matrix()[model.mask_id].double()
    picks = []
    for g in (g_d, g_a):
        tis = torch.zeros(cand.shape, dtype=torch.float64)
        tis[cand] = -(g[cand].double() * delta_e).sum(-1)
        picks.append(top_mask(selection_score(ctx_d, tis, cand), cand, ctx_d.b))
    agree = float((picks[0] & picks[1]).sum()) / max(1, int(picks[0].sum()))
    if cfg_aqa.settings.linearize_at == "current":
        active = ctx_d.masked
    else:
        active = cand | probe
    return cos, agree, float(active.float().mean())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="sudoku")
    p.add_argument("--examples", type=int, default=8)
    p.add_argument("--rhos", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1.0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = load_model(a.model)
    exs = examples(model, a.model, a.examples, a.seed)
    print(f"Machine: {platform.machine()}, {a.threads} thread(s), torch {torch.__version__}; model {a.model}; "
          f"{len(exs)} examples, every step of each BoE trajectory\n")
    print("| linearize_at | rho | steps compared | cosine(g_AQA, g_dense) at candidates: mean / min | "
          "chosen positions agreeing | mean active rows / L |")
    print("|---|---|---|---|---|---|")
    for lin in ("current", "midpoint", "surrogate"):
        for rho in a.rhos:
            base = DecodeConfig(policy="boe").replace(linearize_at=lin, rho=rho, use_aqa=False)
            aqa = base.replace(use_aqa=True, aqa_max_active=1.0)
            rows = []
            for ex in exs:
                tr = generate(model, canvas=ex["canvas"], config=base.replace(steps=ex["steps"]))
                cfg_d, cfg_a = base.replace(steps=ex["steps"]), aqa.replace(steps=ex["steps"])
                for s in range(tr.num_steps):
                    r = compare(model, tr, s, cfg_d, cfg_a)
                    if r is not None:
                        rows.append(r)
            if not rows:
                print(f"| {lin} | {rho} | 0 | - | - | - |")
                continue
            c, ag, act = map(np.array, zip(*rows))
            print(f"| {lin} | {rho} | {len(rows)} | {c.mean():.4f} / {c.min():.4f} | {ag.mean():.3f} | {act.mean():.3f} |")


if __name__ == "__main__":
    main()
