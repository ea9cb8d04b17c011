"""``python -m boe_core.bench text-infill``: which BoE preset suits a text model, by infill token accuracy.

Each row is the first `length` model tokens of a val text (KJV verses and/or Austen paragraphs,
`boe_core.tasks.english.load_texts`), framed as the model was trained ([CLS] … [SEP] for BERT, a
trailing [EOS] for a TinyMDM). One contiguous span of round(ratio * length) tokens, placed by a
per-row seeded RNG, is masked (``--mask scattered``: that many positions drawn at random); every
candidate decodes the same canvases in `steps` steps (default ceil(masked / 2), i.e. 2 tokens per
step), greedy. The score of a row is the share of the masked
tokens restored exactly; the table gives the mean with a row-bootstrap 95% interval, and per
candidate the rows it wins / loses / ties against confidence (sign test) and the rows whose output
differs from confidence's at all.

    python -m boe_core.bench text-infill --model english --split val --n 50 --out results/english/presets_val.json
    python -m boe_core.bench text-infill --model kjv --corpora kjv --split val --n 100 --out results/kjv/presets_val.json

Candidates already in --out with the same protocol are kept and not rerun (resumable in chunks:
``--only LABEL ...``). Val or test only; preset choice must use val.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError

# label -> (policy, settings overrides). The BoE default is whatever BoESettings ships.
CANDIDATES: dict[str, tuple[str, dict]] = {
    "confidence": ("confidence", {}),
    "BoE default": ("boe", {}),
    "BoE · product gate (γ=2)": ("boe", {"gate": "product", "gamma": 2.0}),
    "BoE · additive gate (β=0.5)": ("boe", {"gate": "additive", "beta": 0.5}),
    "BoE · additive gate (β=1)": ("boe", {"gate": "additive", "beta": 1.0}),
    "BoE · threshold gate (τ_c=0.7)": ("boe", {"gate": "threshold", "tau_c": 0.7}),
    "BoE · threshold gate (τ_c=0.5)": ("boe", {"gate": "threshold", "tau_c": 0.5}),
    # r = 8 candidates leave nothing to probe once the span has <= 8 masks; r = 4 steers longer
    "BoE · product gate (γ=2), r=4": ("boe", {"gate": "product", "gamma": 2.0, "r": 4}),
    "BoE · additive gate (β=0.5), r=4": ("boe", {"gate": "additive", "beta": 0.5, "r": 4}),
    "BoE · threshold gate (τ_c=0.5), r=4": ("boe", {"gate": "threshold", "tau_c": 0.5, "r": 4}),
}
REFERENCE = "confidence"
# the explorer's default text run (boe_core.tasks.views), checked beside a stories file's prompts
EXPLORER_DEFAULT = {"label": "explorer default", "values": {"prompt": "In the beginning God created",
                                                             "gen_length": 24, "steps": 24}}


def _frame(adapter, ids: list[int]) -> list[int]:
    """The canvas the model was trained on around `ids`."""
    from ..models.tiny_adapter import TinyMDMAdapter
    from ..tasks.kjv import APPEND_EOS

    tail = []
    if isinstance(adapter, TinyMDMAdapter) and APPEND_EOS and getattr(adapter.tokenizer, "eos_id", None) is not None:
        tail = [adapter.tokenizer.eos_id]
    return list(adapter.prefix_ids) + list(ids) + list(adapter.suffix_ids) + tail


MASKS = ("span", "scattered")


def infill_rows(adapter, corpora, split: str, n: int, length: int, ratio: float, seed: int,
                mask: str = "span") -> list[dict]:
    """Up to `n` rows per corpus: the first `length` tokens of each val text that has at least
    that many (split order), with round(ratio * length) tokens masked: one contiguous span
    (`mask="span"`) or positions drawn at random (`"scattered"`)."""
    from ..tasks.english import load_texts

    if split not in ("val", "test"):
        raise ConfigError("split", split, "must be val or test")
    if not (0 < ratio < 1):
        raise ConfigError("ratio", ratio, "must be in (0, 1)")
    if mask not in MASKS:
        raise ConfigError("mask", mask, f"must be one of {MASKS}")
    if length < 4:
        raise ConfigError("length", length, "must be at least 4 tokens")
    span = max(1, round(ratio * length))
    pre = len(adapter.prefix_ids)
    rows = []
    for corpus in corpora:
        got = 0
        for i, text in enumerate(load_texts(corpus, split)):
            ids = adapter.encode(text)
            if len(ids) < length:
                continue
            rng = random.Random(f"{seed}|{corpus}|{i}")  # per text: independent of batching
            if mask == "span":
                start = rng.randrange(0, length - span + 1)
                where = list(range(start, start + span))
            else:
                where = sorted(rng.sample(range(length), span))
            rows.append({"id": f"{corpus}:{i}", "canvas": _frame(adapter, ids[:length]),
                         "masked": [pre + p for p in where]})
            got += 1
            if got == n:
                break
    if not rows:
        raise ConfigError("length", length, f"no {split} text of {corpora} has that many tokens")
    return rows


@torch.no_grad()
def decode_rows(adapter, rows, policy: str, settings: dict, steps: int, seed: int, batch_size: int) -> dict:
    """Per-row accuracy on the masked positions and the tokens decoded there, plus the cost."""
    from ..sampler import generate

    acc, outs, fwd, bwd = [], [], 0, 0
    for b in range(0, len(rows), batch_size):
        chunk = rows[b:b + batch_size]
        target = torch.tensor([r["canvas"] for r in chunk])
        canvas = target.clone()
        for k, r in enumerate(chunk):
            canvas[k, r["masked"]] = adapter.mask_id
        tr = generate(adapter, canvas=canvas, policy=policy, steps=steps, seed=seed, settings=dict(settings))
        final = torch.as_tensor(tr.final_canvas)
        for k, r in enumerate(chunk):
            m = r["masked"]
            acc.append(float((final[k, m] == target[k, m]).float().mean()))
            outs.append(final[k, m].tolist())
        c = tr.cost()
        fwd += c["forwards"]
        bwd += c["backwards"]
    n_batches = math.ceil(len(rows) / batch_size)
    return {"accuracy": acc, "span_tokens": outs, "forwards_per_batch": fwd / n_batches,
            "backwards_per_batch": bwd / n_batches}


@torch.no_grad()
def story_texts(adapter, stories: list[dict], policy: str, settings: dict, seed: int) -> list[str]:
    """Each story's prompt continued as the explorer would (its gen_length and steps, greedy)."""
    from ..sampler import generate

    out = []
    for st in stories:
        v = st["values"]
        tr = generate(adapter, prompt=v["prompt"], gen_length=int(v["gen_length"]), steps=int(v["steps"]),
                      policy=policy, seed=seed, settings=dict(settings))
        out.append(adapter.decode([int(t) for t in tr.final_canvas[0]]))
    return out


def bootstrap_ci(values, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Row-bootstrap 95% interval of the mean (percentile method, seeded)."""
    v = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def summarise(cands: dict, ids: list[str]) -> list[dict]:
    """One table row per candidate, paired against the reference (confidence)."""
    from .paired import mcnemar_exact_p

    ref = cands.get(REFERENCE)
    table = []
    for label, c in cands.items():
        v = np.asarray(c["accuracy"])
        lo, hi = bootstrap_ci(v)
        row = {"label": label, "policy": c["policy"], "settings": c["overrides"], "n": len(v),
               "mean": float(v.mean()), "ci95": [lo, hi], "forwards_per_batch": c["forwards_per_batch"],
               "backwards_per_batch": c["backwards_per_batch"], "seconds": c["seconds"]}
        if ref is not None and label != REFERENCE:
            r = np.asarray(ref["accuracy"])
            wins, losses = int((v > r).sum()), int((v < r).sum())
            differs = sum(a != b for a, b in zip(c["span_tokens"], ref["span_tokens"]))
            if "stories" in c and "stories" in ref:
                row["stories_differing"] = sum(x != y for x, y in zip(c["stories"], ref["stories"]))
            row.update(wins=wins, losses=losses, ties=len(v) - wins - losses, sign_p=mcnemar_exact_p(wins, losses),
                       rows_differing=int(differs), mean_diff=float((v - r).mean()),
                       diff_ci95=list(bootstrap_ci(v - r)))
            for corpus in sorted({i.split(":")[0] for i in ids}):
                m = np.array([i.startswith(corpus + ":") for i in ids])
                row[f"mean_{corpus}"] = float(v[m].mean())
        elif label == REFERENCE:
            for corpus in sorted({i.split(":")[0] for i in ids}):
                m = np.array([i.startswith(corpus + ":") for i in ids])
                row[f"mean_{corpus}"] = float(v[m].mean())
        table.append(row)
    return table


def markdown(table: list[dict]) -> str:
    head = ("| candidate | n | mean token acc. [95% CI] | Δ vs confidence [95% CI] | wins / losses / ties | sign p "
            "| rows ≠ confidence | stories ≠ confidence | fwd / bwd per batch |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in table:
        d = (f"{r['mean_diff']:+.3f} [{r['diff_ci95'][0]:+.3f}, {r['diff_ci95'][1]:+.3f}]" if "mean_diff" in r else "")
        wl = f"{r['wins']} / {r['losses']} / {r['ties']}" if "wins" in r else ""
        p = f"{r['sign_p']:.3f}" if "sign_p" in r else ""
        lines.append(f"| {r['label']} | {r['n']} | {r['mean']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}] | {d} | "
                     f"{wl} | {p} | {r.get('rows_differing', '')} | {r.get('stories_differing', '')} | "
                     f"{r['forwards_per_batch']:.0f} / {r['backwards_per_batch']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m boe_core.bench text-infill", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="shipped name or folder (its tokenizer is used)")
    ap.add_argument("--corpora", nargs="+", default=["kjv", "austen"], choices=["kjv", "austen"])
    ap.add_argument("--split", default="val", choices=["val", "test"])
    ap.add_argument("--n", type=int, default=50, help="rows per corpus")
    ap.add_argument("--length", type=int, default=40, help="tokens per row (texts shorter are skipped)")
    ap.add_argument("--ratio", type=float, default=0.3, help="masked tokens as a share of the row")
    ap.add_argument("--mask", default="span", choices=list(MASKS), help="one contiguous span, or scattered tokens")
    ap.add_argument("--steps", type=int, default=None, help="decoding steps (default: ceil(span / 2))")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--only", nargs="+", default=None, help="run only these candidate labels (resumable chunks)")
    ap.add_argument("--stories", default=None, help="a stories JSON (assets/examples/stories_<model>.json): "
                    "record whether each candidate's continuation of its prompts differs from confidence's")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True, help="JSON results (candidates already there are kept)")
    argv = sys.argv[1:] if argv is None else list(argv)
    a = ap.parse_args(argv)
    a.command = "python -m boe_core.bench text-infill " + " ".join(argv)
    try:
        return _run(a)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(a) -> int:
    from .. import load_model

    if a.threads:
        torch.set_num_threads(a.threads)
    labels = a.only or list(CANDIDATES)
    for lab in labels:
        if lab not in CANDIDATES:
            raise ConfigError("only", lab, f"unknown candidate; known: {', '.join(CANDIDATES)}")
    adapter = load_model(a.model)
    rows = infill_rows(adapter, a.corpora, a.split, a.n, a.length, a.ratio, a.seed, a.mask)
    span = len(rows[0]["masked"])
    steps = a.steps or math.ceil(span / 2)
    protocol = {"model": a.model, "stories": a.stories, "corpora": a.corpora, "split": a.split, "n_per_corpus": a.n, "length": a.length,
                "ratio": a.ratio, "mask": a.mask, "span_tokens": span, "steps": steps, "seed": a.seed, "greedy": True,
                "metric": "infill token accuracy: share of the masked span's tokens restored exactly"}
    out = Path(a.out)
    done = {}
    if out.is_file():
        old = json.loads(out.read_text())
        if old.get("protocol") == protocol:
            done = old.get("candidates", {})
    for lab in labels:
        if lab in done:
            continue
        policy, over = CANDIDATES[lab]
        t0 = time.perf_counter()
        res = decode_rows(adapter, rows, policy, over, steps, a.seed, a.batch_size)
        res.update(policy=policy, overrides=over, seconds=round(time.perf_counter() - t0, 1))
        if a.stories:
            stories = json.loads(Path(a.stories).read_text())["stories"] + [EXPLORER_DEFAULT]
            res["stories"] = story_texts(adapter, stories, policy, over, a.seed)
        done[lab] = res
        print(f"{lab}: {np.mean(res['accuracy']):.4f} ({res['seconds']} s)", file=sys.stderr, flush=True)
        _write(out, protocol, rows, done, a)
    _write(out, protocol, rows, done, a)
    print(markdown(json.loads(out.read_text())["table"]))
    return 0


def _write(out: Path, protocol, rows, done, a):
    order = {k: i for i, k in enumerate(CANDIDATES)}
    cands = dict(sorted(done.items(), key=lambda kv: order.get(kv[0], 99)))
    ids = [r["id"] for r in rows]
    doc = {"protocol": protocol, "rows": ids,
           "command": a.command,
           "machine": "2-core x86_64 CPU VM, 1 torch thread", "table": summarise(cands, ids), "candidates": cands}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump(doc))


def dump(doc: dict) -> str:
    """The results JSON: readable at the top, one line per candidate's per-row lists."""
    head = json.dumps({k: v for k, v in doc.items() if k != "candidates"}, ensure_ascii=False, indent=1)
    cands = ",\n".join(f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                        for k, v in doc["candidates"].items())
    return head[:-2] + ',\n "candidates": {\n' + cands + "\n }\n}\n"


if __name__ == "__main__":
    raise SystemExit(main())
