"""Time one decoding step per policy on a random-init TinyMDM (issue: core engine, "Measure").

    python benchmarks/bench_step.py                  # the shipped text model's size, L = 128
    python benchmarks/bench_step.py --threads 1 --repeats 3

Each policy decodes the same canvas (prompt + masks, L positions in all) end to end; the figure is
the median per-step wall time over all steps and repeats. Repeats are interleaved across the
variants, so a change of load on a shared machine hits all of them alike. Prints a markdown table with ratios to
the confidence step and the machine it ran on.
"""
from __future__ import annotations

import argparse
import platform
import statistics

import torch



from boe_core import generate
from boe_core.models.tiny_adapter import TinyMDMAdapter
from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
from boe_core.tokenization import char_tokenizer

VARIANTS = [
    ("confidence", dict(policy="confidence")),
    ("boe current (AQA by measured crossover)", dict(policy="boe", linearize_at="current")),
    ("boe current (AQA always)", dict(policy="boe", linearize_at="current", aqa_max_active=1.0)),
    ("boe current (dense)", dict(policy="boe", linearize_at="current", use_aqa=False)),
    ("boe surrogate", dict(policy="boe", linearize_at="surrogate")),
    ("boe midpoint", dict(policy="boe", linearize_at="midpoint")),
    ("boe quadrature k=2", dict(policy="boe", linearize_at="quadrature", quad_points=2)),
    ("boe quadrature k=3", dict(policy="boe", linearize_at="quadrature", quad_points=3)),
    ("boe (shipped default)", dict(policy="boe")),
    ("lookahead r=8", dict(policy="lookahead", r=8)),
]


def random_model(vocab, d_model, n_layers, n_heads, length):
    symbols = [chr(0x4E00 + i) for i in range(vocab - 2)]  # any distinct single characters
    tok = char_tokenizer(symbols, {"mask_token": "[MASK]", "pad_token": "[PAD]"})
    torch.manual_seed(0)
    cfg = TinyMDMConfig(vocab_size=tok.vocab_size, max_length=length, d_model=d_model, n_layers=n_layers,
                        n_heads=n_heads)
    return TinyMDMAdapter(TinyMDM(cfg), tok, name=f"random-d{d_model}-l{n_layers}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--d-model", type=int, default=192)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--length", type=int, default=128, help="canvas length L")
    p.add_argument("--prompt", type=int, default=16, help="prompt tokens (the rest is masked)")
    p.add_argument("--tokens-per-step", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--only", nargs="*", default=None, help="labels (substrings) of the variants to run")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = random_model(a.vocab, a.d_model, a.layers, a.heads, a.length)
    gen = a.length - a.prompt
    steps = gen // a.tokens_per_step
    canvas = torch.full((1, a.length), model.mask_id)
    canvas[0, :a.prompt] = torch.randint(2, model.tokenizer.vocab_size, (a.prompt,), generator=torch.Generator().manual_seed(0))
    generate(model, canvas=canvas, steps=4, policy="boe")  # warm-up
    variants = [v for v in VARIANTS if not a.only or v[0] == "confidence" or any(o in v[0] for o in a.only)]
    # repeats outermost, variants interleaved: a load change on a shared machine hits every variant
    times = {label: [] for label, _ in variants}
    costs = {}
    for rep in range(a.repeats):
        for label, kw in variants:
            tr = generate(model, canvas=canvas, steps=steps, seed=rep, **kw)
            times[label] += [r.wall_time for r in tr.records]
            costs[label] = tr.cost()
    rows = [(label, statistics.median(times[label]), costs[label]["forwards"] / steps,
             costs[label]["backwards"] / steps) for label, _ in variants]
    base = rows[0][1]
    params = model.model.num_parameters()
    print(f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s), "
          f"torch {torch.__version__}; TinyMDM d={a.d_model} layers={a.layers} heads={a.heads} vocab={a.vocab} "
          f"({params / 1e6:.2f}M params), L={a.length} ({a.prompt} prompt + {gen} masked), "
          f"{a.tokens_per_step} tokens/step, {steps} steps x {a.repeats} repeats\n")
    print("| policy | median step (ms) | x confidence | forwards/step | backwards/step |")
    print("|---|---|---|---|---|")
    for label, t, f, b in rows:
        print(f"| {label} | {t * 1e3:.2f} | {t / base:.2f} | {f:.1f} | {b:.2f} |")


if __name__ == "__main__":
    main()
