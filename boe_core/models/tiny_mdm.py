"""TinyMDM: the project's own small bidirectional transformer for masked diffusion.

Pre-norm blocks, tied input/output embeddings, and either learned absolute positions
(`pos_encoding="learned"`, the first shipped models) or rotary embeddings on q and k
(`pos_encoding="rope"`, as LLaDA, Dream and MDLM's DiT use: attention sees relative offsets from
the first step, which is what lets a text model leave the unigram plateau early). The *input embedding*
that BoE differentiates against is the token-embedding output (positions are added after), the
same convention the Hugging Face adapters use.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class TinyMDMConfig:
    vocab_size: int
    max_length: int = 128
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.0
    task: str = "text"  # names the task view the explorer uses to show the canvas
    pos_encoding: str = "learned"  # "learned" (absolute table) or "rope" (rotary on q, k)
    rope_base: float = 10000.0
    model_type: str = "tiny_mdm"

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.pos_encoding not in ("learned", "rope"):
            raise ValueError(f"pos_encoding={self.pos_encoding!r}: must be 'learned' or 'rope'")
        if self.pos_encoding == "rope" and (self.d_model // self.n_heads) % 2:
            raise ValueError(f"pos_encoding='rope' needs an even head size, got {self.d_model // self.n_heads}")

    @classmethod
    def from_dict(cls, d: dict) -> "TinyMDMConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _attention(q, k, v, key_padding_mask, active):
    """Dense SDPA, or ActiveQueryAttention when the BoE scorer passes an active-row set."""
    if active is not None:
        from kernels import active_query_attention

        return active_query_attention(q, k, v, active=active, key_padding_mask=key_padding_mask)
    attn_mask = None
    if key_padding_mask is not None:
        attn_mask = key_padding_mask[:, None, None, :]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)


def rope_tables(length: int, head_dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin (length, head_dim) for rotate-half RoPE, computed in float64 then cast."""
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(length, dtype=torch.float64)[:, None] * inv[None]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().float(), ang.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, H, L, Dh) rotated by position; cos/sin (L, Dh)."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos.to(x.dtype) + torch.cat([-x2, x1], dim=-1) * sin.to(x.dtype)


class Block(nn.Module):
    def __init__(self, cfg: TinyMDMConfig):
        super().__init__()
        d = cfg.d_model
        self.n_heads = cfg.n_heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.mlp_ratio * d), nn.GELU(), nn.Linear(cfg.mlp_ratio * d, d))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, key_padding_mask=None, active=None, rope=None):
        B, L, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, L, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        if rope is not None:  # (B, H, L, Dh)
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        a = _attention(q, k, v, key_padding_mask, active).transpose(1, 2).reshape(B, L, d)
        x = x + self.drop(self.proj(a))
        return x + self.drop(self.mlp(self.ln2(x)))


class TinyMDM(nn.Module):
    def __init__(self, cfg: TinyMDMConfig):
        super().__init__()
        self.config = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        if cfg.pos_encoding == "learned":
            self.pos_emb = nn.Embedding(cfg.max_length, cfg.d_model)
        else:  # not saved: a pure function of the config
            cos, sin = rope_tables(cfg.max_length, cfg.d_model // cfg.n_heads, cfg.rope_base)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.tok_emb

    def hidden(self, embeds, key_padding_mask=None, active=None):
        """Final hidden states (B, L, d) from token embeddings (B, L, d)."""
        L = embeds.shape[1]
        if L > self.config.max_length:
            raise ValueError(f"sequence length {L} exceeds max_length={self.config.max_length}")
        rope = None
        if self.config.pos_encoding == "learned":
            x = embeds + self.pos_emb.weight[:L]
        else:
            x = embeds
            rope = (self.rope_cos[:L], self.rope_sin[:L])
        for blk in self.blocks:
            x = blk(x, key_padding_mask, active, rope)
        return self.ln_f(x)

    def head(self, h):
        """Logits from hidden states; tied with the input embedding (no extra parameters)."""
        return h @ self.tok_emb.weight.t()

    def forward(self, input_ids=None, inputs_embeds=None, key_padding_mask=None, active=None):
        if inputs_embeds is None:
            inputs_embeds = self.tok_emb(input_ids)
        return self.head(self.hidden(inputs_embeds, key_padding_mask, active))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # --- persistence -----------------------------------------------------------------------
    def save_pretrained(self, path) -> None:
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / CONFIG_NAME).write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(path / WEIGHTS_NAME), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, path, device="cpu", dtype=torch.float32) -> "TinyMDM":
        from safetensors.torch import load_file

        path = Path(path)
        cfg_file = path / CONFIG_NAME
        if not cfg_file.is_file():
            raise FileNotFoundError(f"model path {str(path)!r} has no {CONFIG_NAME}")
        cfg = TinyMDMConfig.from_dict(json.loads(cfg_file.read_text()))
        model = cls(cfg)
        model.load_state_dict(load_file(str(path / WEIGHTS_NAME)))
        return model.to(device=device, dtype=dtype).eval()


def _rand(*shape, generator: torch.Generator, device) -> torch.Tensor:
    """Uniforms drawn on the generator's device, then moved: a seeded run draws the same masks
    whether the model trains on the CPU or a GPU (and a CPU generator works with CUDA tensors).
    Without a generator, torch's default one on `device`."""
    if generator is None:
        return torch.rand(*shape, device=device)
    return torch.rand(*shape, generator=generator, device=generator.device).to(device)


def word_units(ids: torch.Tensor, is_letter: torch.Tensor, p_word: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Unit ids (B, L) for `mdm_loss`: a run of letter tokens is one unit, every other token its
    own. With character tokens, masking letters one by one lets the model read most of a fact
    from its visible letters ("Ber_en"), so it learns to spell rather than to recall. Masking
    whole words makes every masked fact a recall from the rest of the row (the prompt, the facts
    already visible), which is what decoding asks first.

    is_letter: bool (V,) over the vocabulary. p_word: the share of rows masked by word; the
    others keep one unit per token (plain MDM masking), drawn with `generator`.
    """
    B, L = ids.shape
    let = is_letter.to(ids.device)[ids]
    cont = torch.zeros_like(let)
    cont[:, 1:] = let[:, 1:] & let[:, :-1]  # a letter that continues the word before it
    units = torch.cumsum((~cont).long(), dim=1) - 1  # (B, L), in [0, L)
    if p_word < 1.0:
        by_token = _rand(B, 1, generator=generator, device=ids.device) >= p_word
        units = torch.where(by_token, torch.arange(L, device=ids.device).expand(B, L), units)
    return units


def block_states(answer: torch.Tensor, block: int, p_block: float, generator: torch.Generator):
    """The states a semi-autoregressive (d1) decode passes through, for a share of the rows.

    answer: bool (B, L), each row's answer canvas (one contiguous run), cut into blocks of `block`.
    A chosen row (probability p_block) gets a block j at random: the blocks before j stay visible,
    the blocks after j are all masked, and block j is left to the usual ratio t. Plain masking at a
    ratio t almost never hides a whole later block while showing most of an earlier one, yet a d1
    decode writes its whole first block in exactly that state.
    Returns (maskable (B, L), always (B, L)) for `mdm_loss`.
    """
    B, L = answer.shape
    start = answer.long().argmax(1, keepdim=True)  # (B, 1) first answer position
    pos = torch.arange(L, device=answer.device).expand(B, L) - start  # offset in the answer canvas
    n_blocks = (answer.sum(1, keepdim=True) + block - 1) // block
    j = (_rand(B, 1, generator=generator, device=answer.device) * n_blocks).long()
    chosen = _rand(B, 1, generator=generator, device=answer.device) < p_block
    lo, hi = j * block, (j + 1) * block
    maskable = answer & (~chosen | (pos >= lo))
    always = answer & chosen & (pos >= hi)
    return maskable, always


def mdm_loss(model: TinyMDM, ids: torch.Tensor, mask_id: int, generator: torch.Generator,
             maskable: torch.Tensor | None = None, key_padding_mask=None, eps: float = 1e-3,
             stratified: bool = False, units: torch.Tensor | None = None,
             always: torch.Tensor | None = None):
    """The MDM training objective: mask each sequence at a random ratio t ~ U(eps, 1), predict the
    masked tokens, weight by 1/t (the ELBO weighting). Logits are computed only at masked positions,
    which is several times cheaper on CPU than a full (B, L, V) head.

    stratified: draw the B ratios as one per stratum (u + k)/B, shuffled, instead of B independent
    uniforms. Same marginal distribution, lower variance of the batch loss (MDLM's low-discrepancy
    sampler): a batch never lands all at small t, where the 1/t weight blows up.

    maskable: bool (B, L), positions that may be masked (e.g. not padding).
    units: long (B, L), optional; positions of a row with the same unit id are masked together
    (one uniform draw per unit, see `word_units`). The ratio t is then the share of units masked.
    always: bool (B, L), optional; positions masked whatever t (the later blocks of a semi-
    autoregressive decode, see `block_states`), weighted 1 (they are at t = 1), not 1/t.
    Returns (loss, accuracy on masked tokens).
    """
    B, L = ids.shape
    if stratified:
        u = _rand(1, generator=generator, device=ids.device)
        perm = torch.randperm(B, generator=generator, device=generator.device).to(ids.device)
        t = ((perm.to(u.dtype) + u) / B)[:, None]
    else:
        t = _rand(B, 1, generator=generator, device=ids.device)
    t = t * (1 - eps) + eps
    if units is None:
        masked = _rand(B, L, generator=generator, device=ids.device) < t
    else:
        draws = _rand(B, L, generator=generator, device=ids.device)  # unit ids are < L
        masked = draws.gather(1, units) < t
    if maskable is not None:
        masked &= maskable
    if always is not None:
        masked |= always
    noisy = ids.masked_fill(masked, mask_id)
    h = model.hidden(model.tok_emb(noisy), key_padding_mask=key_padding_mask)
    logits = model.head(h[masked]).float()
    target = ids[masked]
    nll = F.cross_entropy(logits, target, reduction="none")
    weight = (1.0 / t).expand(B, L)
    if always is not None:
        weight = torch.where(always, torch.ones_like(weight), weight)
    weight = weight[masked]
    denom = maskable.sum() if maskable is not None else torch.tensor(B * L)
    loss = (nll * weight).sum() / denom.clamp_min(1)
    acc = (logits.argmax(-1) == target).float().mean() if target.numel() else torch.tensor(math.nan)
    return loss, acc
