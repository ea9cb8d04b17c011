#!/usr/bin/env python
"""Extract Jane Austen's six novels, as Debian's package `r-cran-janeaustenr` ships them (the CRAN
package janeaustenr, MIT licence; the novels themselves are public domain), into
`assets/data/austen/paragraphs.jsonl`: one paragraph per line with a fixed train/val/test split.

No R needed: the package keeps its data in R's lazy-load database (data/Rdata.rdx: a gzip'd index
of name -> (offset, length); data/Rdata.rdb: each object as a 4-byte length + zlib stream of R's
serialisation format), which the PyPI package `rdata` parses.

Paragraphs are the runs of non-blank lines; whitespace is normalised, the `_emphasis_` underscores
are dropped, and headings (a paragraph with no lower-case letter, or "Chapter N") are skipped.
Split: paragraphs ordered by sha256("boe-austen-split-v1|<novel> <index>"); the first 500 go to
val, the next 500 to test, the rest to train (the same rule as the KJV verses,
`boe_core.tasks.kjv.assign_splits`), so it depends only on the paragraph's place in its novel.

  apt-get install r-cran-janeaustenr && pip install rdata==1.1.0
  python scripts/extract_austen.py [--out assets/data/austen/paragraphs.jsonl]
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import warnings
import zlib
from pathlib import Path

from boe_core.tasks.kjv import assign_splits

DATA_DIR = Path("/usr/lib/R/site-library/janeaustenr/data")
SPLIT_SEED = "boe-austen-split-v1"
MAX_BYTES = 10 * 1024 * 1024  # commit-size limit


def read_novels(data_dir: Path = DATA_DIR) -> dict[str, list[str]]:
    """{novel name: its lines} from the package's lazy-load database."""
    try:
        import rdata
    except ImportError:
        sys.exit("the PyPI package 'rdata' is needed to read R's data files: pip install rdata==1.1.0")
    if not (data_dir / "Rdata.rdx").is_file():
        sys.exit(f"{data_dir}/Rdata.rdx is missing: apt-get install r-cran-janeaustenr")

    def parse(raw: bytes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rdata warns that a bare stream has no RDS header
            return rdata.conversion.convert(rdata.parser.parse_data(raw))

    index = parse(gzip.decompress((data_dir / "Rdata.rdx").read_bytes()))
    rdb = (data_dir / "Rdata.rdb").read_bytes()
    out = {}
    for name, (offset, length) in index["variables"].items():
        chunk = rdb[int(offset):int(offset) + int(length)]
        out[str(name)] = [str(s) for s in parse(zlib.decompress(chunk[4:]))]
    return out


def paragraphs(lines: list[str]) -> list[str]:
    out, cur = [], []
    for line in lines + [""]:
        if line.strip():
            cur.append(line.strip())
            continue
        if cur:
            text = re.sub(r"\s+", " ", " ".join(cur).replace("_", "")).strip()
            if re.search(r"[a-z]", text) and not re.fullmatch(r"(?i)chapter [0-9ivxlc]+\.?", text):
                out.append(text)
            cur = []
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="assets/data/austen/paragraphs.jsonl")
    args = ap.parse_args(argv)
    rows = []
    for novel, lines in sorted(read_novels().items()):
        for i, text in enumerate(paragraphs(lines)):
            rows.append({"novel": novel, "paragraph": i, "text": text})
    splits = assign_splits([f"{r['novel']} {r['paragraph']}" for r in rows], seed=SPLIT_SEED)
    body = "".join(json.dumps({**r, "split": s}, ensure_ascii=False) + "\n" for r, s in zip(rows, splits))
    if len(body.encode()) > MAX_BYTES:
        sys.exit(f"{len(body.encode())} bytes is over the {MAX_BYTES}-byte limit")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(body, encoding="utf-8")
    print(f"wrote {len(rows)} paragraphs ({', '.join(f'{s} {splits.count(s)}' for s in ('train', 'val', 'test'))})"
          f" to {args.out}")


if __name__ == "__main__":
    main()
