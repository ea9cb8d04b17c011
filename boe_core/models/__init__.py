"""Model adapters and ``load_model``: shipped names, local folders or Hugging Face ids."""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..errors import ConfigError
from .base import MDMAdapter
from .tiny_adapter import TinyMDMAdapter
from ..paths import models_dir

ASSETS_MODELS = models_dir()  # at import; shipped_models and load_model ask boe_core.paths each call
DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16, "float64": torch.float64}


def shipped_models() -> list[str]:
    """Names of the models shipped in assets/models (loadable with no download)."""
    if not models_dir().is_dir():
        return []
    return sorted(p.name for p in models_dir().iterdir() if (p / "config.json").is_file())


def parse_dtype(dtype):
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ConfigError("dtype", dtype, f"must be one of {sorted(DTYPES)}")
    return DTYPES[dtype]


def parse_device(device):
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError("device", device, "is not a valid torch device (e.g. cpu, cuda, cuda:1)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", device, "CUDA is not available on this machine")
    return dev


def load_model(name_or_path: str, device="cpu", dtype=None, allow_remote_code: bool = False) -> MDMAdapter:
    """A shipped model by name ("sudoku", "kjv"), a local TinyMDM or transformers folder, or a hub id.

    LLaDA and Dream need ``allow_remote_code=True`` (their modelling code ships with the weights).
    """
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise ConfigError("model", name_or_path, f"must be a model name or path; shipped: {shipped_models()}")
    dev = parse_device(device)
    dtype = parse_dtype(dtype)
    path = models_dir() / name_or_path if name_or_path in shipped_models() else Path(name_or_path)
    cfg_file = path / "config.json"
    if cfg_file.is_file() and json.loads(cfg_file.read_text()).get("model_type") == "tiny_mdm":
        adapter = TinyMDMAdapter.from_pretrained(path, name=path.name, device=dev, dtype=dtype or torch.float32)
    elif not path.exists() and ("/" not in name_or_path or name_or_path.startswith((".", "/"))):
        where = "" if models_dir().is_dir() else (f" (no models folder at {models_dir()}: outside a checkout, set "
                                                  f"BOE_ASSETS_DIR to the repository's assets/ folder)")
        raise ConfigError("model", name_or_path,
                          f"is neither a shipped model ({', '.join(shipped_models()) or 'none'}) nor an existing "
                          f"folder{where}")
    else:
        adapter = _load_transformers(str(path) if path.exists() else name_or_path, dev, dtype, allow_remote_code)
    if path.is_dir():  # where files that ship beside the weights live (PC's token prior)
        adapter.model_dir = str(path)
    return adapter


def _load_transformers(ref, device, dtype, allow_remote_code):
    from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(ref, trust_remote_code=allow_remote_code)
    except ValueError as e:
        if "trust_remote_code" in str(e) and not allow_remote_code:
            raise ConfigError("allow_remote_code", False,
                              f"model {ref!r} ships its own code; pass --allow-remote-code to run it") from None
        raise ConfigError("model", ref, f"could not be loaded: {e}") from None
    except OSError as e:
        raise ConfigError("model", ref, f"could not be found locally or on the hub: {e}") from None
    kind = (getattr(config, "model_type", "") or "").lower()
    tok = AutoTokenizer.from_pretrained(ref, trust_remote_code=allow_remote_code)
    name = Path(ref).name
    if kind == "llada" or kind == "dream":
        from .diffusion_llms import DreamAdapter, LLaDAAdapter

        model = AutoModel.from_pretrained(ref, trust_remote_code=True, torch_dtype=dtype or torch.bfloat16)
        cls = LLaDAAdapter if kind == "llada" else DreamAdapter
        return cls(model, tok, name=name, device=device, dtype=dtype or torch.bfloat16)
    from .hf_masked_lm import HFMaskedLMAdapter

    model = AutoModelForMaskedLM.from_pretrained(ref, trust_remote_code=allow_remote_code)
    return HFMaskedLMAdapter(model, tok, name=name, device=device, dtype=dtype or torch.float32)


__all__ = ["MDMAdapter", "TinyMDMAdapter", "load_model", "shipped_models", "parse_dtype", "parse_device"]
