"""Test helpers for the explorer's tests (kept out of the app package)."""
from __future__ import annotations

from app.serve import free_port, live_server  # noqa: F401  (re-exported for the tests)


def default_model_or_reason() -> tuple[str | None, str]:
    """The model the app tests run against ("sudoku" if shipped, else "kjv"), or why there is none."""
    from boe_core import shipped_models
    from boe_core.paths import models_dir

    shipped = shipped_models()
    for name in ("sudoku", "kjv"):
        if name in shipped:
            return name, ""
    return None, (f"no shipped model in {models_dir()} (expected 'sudoku' or 'kjv', each a folder with "
                  f"config.json); train them with python -m boe_core.train sudoku / kjv, or point "
                  f"BOE_MODELS_DIR at a folder that has them")


def offer_tiny_text_model(root) -> str:
    """Save a tiny random character TinyMDM (letters a-j and space, seed 0) in `root` and offer it
    to the explorer; returns its path. The caller takes it back with `app.models.configure()`."""
    import torch

    from app import models
    from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
    from boe_core.tokenization import char_tokenizer

    torch.manual_seed(0)
    tok = char_tokenizer(list("abcdefghij "), {"mask_token": "[MASK]", "pad_token": "[PAD]"})
    TinyMDM(TinyMDMConfig(vocab_size=tok.vocab_size, max_length=32, d_model=16, n_layers=1, n_heads=2)).save_pretrained(root)
    tok.save(root)
    models.configure(extra=[str(root)])
    return str(root)
