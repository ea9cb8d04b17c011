"""Issue #29 probe: where along a right decode does confidence's pick go wrong, and can a lookahead
tell the right candidate from the wrong one there?

The oracle order (the most confident cell whose proposal is the solution's digit, one cell a step)
walks every hard val puzzle through states whose committed cells are all right. At each state:

1. **Where it goes wrong.** Is confidence's pick (the most confident masked cell's proposal)
   right? Counted by the pick's confidence, and with the rank of the first right proposal.
2. **Can a lookahead tell?** At each *uncertain* state (top confidence below `--certain`) with a
   right proposal among the `--k` most confident, every candidate is committed in its own branch,
   and the branch is continued by committing every cell at confidence >= `--tau` for at most
   `--depth` forwards (the cheap part of a decode). Each signal of the branch's end state then picks
   one candidate; the table gives how often it picks a right one, against confidence's own pick:
   - `cascade logp`: the summed log confidence of the cells the continuation committed;
   - `min confidence`: the least confident masked cell left (a contradiction shows as a cell no
     digit fits);
   - `entropy`: the summed entropy of the masked cells left (lower is picked);
   - `cells left`: the masked cells left (fewer is picked);
   - `read-back`: the branch decoded to the end (cells at >= `--tau` at once, else the most
     confident one) and its grid read back in 6 groups (`boe_core.readback`): the verifier
     that tells right grids from wrong ones among whole decodes (pilot-selfcheck).
   Beside the lookahead, BoE's own view of the state (no branch: the sampler's first step of the
   `boe` policy with its defaults, the `sudoku` model's BoE preset): `boe score` (its selection
   score), `boe tis` (the estimated entropy drop) and `boe grad norm`, each read at the candidates
   (a candidate BoE did not probe ranks last).

No signal reads the answer; only the walk (the oracle) and the scoring do. Validation split only.

    OMP_NUM_THREADS=1 python -m boe_core.bench probe-order --n 100
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ... import paths

BINS = [(0.0, 0.7), (0.7, 0.9), (0.9, 0.99), (0.99, 0.999), (0.999, 1.01)]
SIGNALS = {"cascade logp": 1, "min confidence": 1, "entropy": -1, "cells left": -1, "read-back": 1}  # higher is picked
BOE = {"boe score": "score", "boe tis": "tis", "boe grad norm": "grad_norm"}  # read from BoE's first step record


@torch.no_grad()
def _probs(m, canvas, digits):
    """(B, 81, 9) float32 probabilities over the digits."""
    return m.logits(canvas)[..., digits].float().softmax(-1)


@torch.no_grad()
def _lookahead(m, canvas, digits, tau: float, depth: int, decoded: np.ndarray) -> dict[str, np.ndarray]:
    """Continue each row by committing every cell at confidence >= tau, for at most `depth`
    forwards; the end state's signals, one value per row. `decoded` (81,): the puzzle's blanks."""
    cv = canvas.clone()
    logp = torch.zeros(cv.shape[0])
    for _ in range(depth):
        p = _probs(m, cv, digits)
        conf, am = p.max(-1)
        go = (cv == m.mask_id) & (conf >= tau)
        if not go.any():
            break
        logp += torch.where(go, conf.log(), torch.zeros(())).sum(-1)
        cv[go] = digits[am[go]]
    p = _probs(m, cv, digits)
    masked = cv == m.mask_id
    conf = p.max(-1).values
    ent = -(p * p.clamp_min(1e-12).log()).sum(-1)
    return {"cascade logp": logp.numpy(), "read-back": _read_back(m, cv, digits, tau, decoded),
            "min confidence": torch.where(masked, conf, torch.full_like(conf, 2.0)).min(-1).values.numpy(),
            "entropy": torch.where(masked, ent, torch.zeros_like(ent)).sum(-1).numpy(),
            "cells left": masked.sum(-1).float().numpy()}


@torch.no_grad()
def _read_back(m, canvas, digits, tau: float, decoded: np.ndarray) -> np.ndarray:
    """Finish each row's decode (every cell at >= tau at once, at least the most confident one a
    forward) and read the grid back: its grouped pseudo-log-likelihood over the puzzle's blanks."""
    from boe_core.readback import grouped_reads

    cv = canvas.clone()
    rows = torch.arange(cv.shape[0])
    while (cv == m.mask_id).any():
        conf, am = _probs(m, cv, digits).max(-1)
        masked = cv == m.mask_id
        go = masked & (conf >= tau)
        live = masked.any(1)
        top = torch.where(masked, conf, torch.full_like(conf, -1.0)).argmax(-1)
        go[rows[live], top[live]] = True
        cv[go] = digits[am[go]]
    return grouped_reads(m, cv.numpy(), decoded, None, 6).sum(1, dtype=np.float64)


def _boe_view(m, canvas) -> dict[str, np.ndarray]:
    """BoE's first step on these canvases (B, 81): its selection score and signals, (B, 81) each,
    NaN where it did not score."""
    from boe_core.config import DecodeConfig
    from boe_core.sampler import init_state, iterate

    masks = int((canvas == m.mask_id).sum(1).max())
    cfg = DecodeConfig(policy="boe", steps=max(masks, 1)).validate()
    rec = next(iterate(m, init_state(m, canvas, cfg), cfg))
    out = {"score": np.asarray(rec.score, np.float64)}
    for k in ("tis", "grad_norm"):
        v = rec.signals.get(k)
        out[k] = np.full(out["score"].shape, np.nan) if v is None else np.asarray(v, np.float64)
    return out


def _pick(values: np.ndarray) -> int:
    return int(np.argmax(np.nan_to_num(values, nan=-np.inf)))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench probe-order", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="hard_val", choices=["hard_val", "val"])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--k", type=int, default=3, help="candidates per uncertain state (the most confident)")
    ap.add_argument("--certain", type=float, default=0.99, help="a state is uncertain below this top confidence")
    ap.add_argument("--tau", type=float, default=0.9, help="the lookahead commits cells at this confidence or more")
    ap.add_argument("--depth", type=int, default=30, help="most forwards per lookahead")
    ap.add_argument("--lookahead-n", type=int, default=40, help="puzzles whose uncertain states get the lookahead")
    ap.add_argument("--out", default=None, help="default results/sudoku/probe_order_<split>.{json,md}")
    a = ap.parse_args(argv)
    from boe_core.tasks import sudoku as S

    from .sudoku_split import sudoku_split

    torch.set_num_threads(1)
    t0 = time.time()
    m, cv, sol = sudoku_split(a.split, a.n)
    blanks = (cv == m.mask_id).numpy()
    digits = torch.as_tensor(S.digit_ids(m.tokenizer))
    states = []  # (puzzle, top confidence, top right, rank of the first right proposal)
    picks = {"confidence": []} | {s: [] for s in SIGNALS} | {s: [] for s in BOE}
    rows = torch.arange(a.n)
    while (cv == m.mask_id).any():
        p = _probs(m, cv, digits)
        masked = cv == m.mask_id
        conf, am = p.max(-1)
        right = digits[am] == sol
        cm = torch.where(masked, conf, torch.full_like(conf, -1.0))
        order = cm.argsort(-1, descending=True)
        boe = None
        for b in range(a.n):
            left = int(masked[b].sum())
            if not left:
                continue
            o = order[b, :left]
            r = right[b, o]
            states.append((b, float(cm[b, o[0]]), bool(r[0]), int(r.float().argmax())))
            cands = [int(c) for c in o[:a.k]]
            if b >= a.lookahead_n or cm[b, o[0]] >= a.certain or not right[b, cands].any():
                continue
            br = cv[b].repeat(len(cands), 1)
            for i, c in enumerate(cands):
                br[i, c] = digits[am[b, c]]
            sig = _lookahead(m, br, digits, a.tau, a.depth, blanks[b])
            ok = [bool(right[b, c]) for c in cands]
            picks["confidence"].append(ok[0])
            for s, sign in SIGNALS.items():
                picks[s].append(ok[int(np.argmax(sign * sig[s]))])
            if boe is None:  # once per walk step, for every puzzle (they share the mask count)
                boe = _boe_view(m, cv)
            for s, key in BOE.items():
                picks[s].append(ok[_pick(boe[key][b, cands])])
        # the oracle's step: the most confident right proposal (a wrong one only if none is right)
        c = (cm + 2.0 * (right & masked).float()).argmax(-1)
        live = masked.any(1)
        cv[rows[live], c[live]] = digits[am[rows[live], c[live]]]
    solved = float((cv == sol).all(1).float().mean())
    st = np.array([(c, t, r) for _, c, t, r in states], dtype=float)
    wrong = st[:, 1] == 0
    per_puzzle = np.bincount([b for (b, _, t, _) in states if not t], minlength=a.n)
    bins = [{"top confidence": f"[{lo}, {hi})", "states": int(((st[:, 0] >= lo) & (st[:, 0] < hi)).sum()),
             "pick wrong": float(wrong[(st[:, 0] >= lo) & (st[:, 0] < hi)].mean())
             if ((st[:, 0] >= lo) & (st[:, 0] < hi)).any() else None} for lo, hi in BINS]
    info = {"split": a.split, "n": a.n, "model": "sudoku", "oracle_walk_solves": solved, "states": len(states),
            "pick_wrong_share": float(wrong.mean()), "wrong_picks_per_puzzle": float(per_puzzle.mean()),
            "puzzles_with_no_wrong_pick": float((per_puzzle == 0).mean()),
            "first_right_rank_when_wrong": np.bincount(st[wrong, 2].astype(int)).tolist(), "bins": bins,
            "lookahead": {"puzzles": min(a.lookahead_n, a.n), "k": a.k, "certain": a.certain, "tau": a.tau,
                          "depth": a.depth, "states": len(picks["confidence"]),
                          "picks_right": {s: float(np.mean(v)) for s, v in picks.items()}},
            "machine": "2-core CPU VM, 1 thread", "seconds": round(time.time() - t0, 1)}
    stem = Path(a.out) if a.out else Path(paths.result_file("sudoku", "probe_order", a.split, ext="json")).with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{stem}.json").write_text(json.dumps(info, indent=1) + "\n")
    Path(f"{stem}.md").write_text(_report(info))
    print(_report(info))
    return 0


def _share(x) -> str:
    return "" if x is None else f"{x:.3f}"


def _report(i: dict) -> str:
    la = i["lookahead"]
    out = [f"**Confidence's pick along the oracle's walk** ({i['split']}, first {i['n']} puzzles, shipped `sudoku`): "
           f"{i['states']} states, the pick is wrong in {i['pick_wrong_share']:.3f} of them "
           f"({i['wrong_picks_per_puzzle']:.2f} a puzzle; none in {i['puzzles_with_no_wrong_pick']:.2f} of the puzzles). "
           f"When it is wrong, the first right proposal ranks 2nd, 3rd, 4th, ...: {i['first_right_rank_when_wrong'][1:6]}.",
           "", "| top confidence | states | pick wrong |", "|---|---|---|"]
    out += [f"| {b['top confidence']} | {b['states']} | {_share(b['pick wrong'])} |" for b in i["bins"]]
    out += ["", f"**Lookahead at the uncertain states** (top confidence < {la['certain']}, a right proposal among the "
            f"{la['k']} most confident; first {la['puzzles']} puzzles, {la['states']} states; each candidate's branch "
            f"continued at confidence >= {la['tau']} for at most {la['depth']} forwards):", "",
            "| picks by | right pick |", "|---|---|"]
    out += [f"| {s} | {v:.3f} |" for s, v in la["picks_right"].items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
