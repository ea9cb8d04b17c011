"""Shrink a WordPiece tokenizer (and the embedding rows that go with it) to the tokens a corpus uses.

A pretrained BERT carries ~30k tokens, most of which an English corpus never produces (CJK
characters, [unusedN], rare subwords). Keeping only the used ones shrinks the tied MLM head and the
file, and the model can no longer propose a token it never saw in fine-tuning.

Tokenisation of any text whose pieces are all kept is unchanged: WordPiece matches greedily the
longest piece in the vocabulary, and that piece is still there while every longer candidate was
already absent. Every single character (and its ``##`` form) of the original vocabulary is kept, so
new words still tokenise (into smaller pieces) instead of becoming [UNK].
"""
from __future__ import annotations

import copy


def kept_ids(vocab: dict[str, int], used_ids, special_tokens) -> list[int]:
    """Old ids to keep, in the original order: specials, single characters, and `used_ids`."""
    keep = {int(i) for i in used_ids}
    for tok, i in vocab.items():
        bare = tok[2:] if tok.startswith("##") else tok
        if tok in special_tokens or len(bare) == 1:
            keep.add(i)
    missing = [t for t in special_tokens if t not in vocab]
    if missing:
        raise ValueError(f"special_tokens={missing!r}: not in the vocabulary")
    return sorted(keep)


def prune_tokenizer_json(tok_json: dict, keep: list[int]) -> dict:
    """A copy of a `tokenizers` WordPiece tokenizer.json whose ids are 0..len(keep)-1, new id i
    standing for old id keep[i]. Truncation and padding presets are dropped."""
    if tok_json["model"]["type"] != "WordPiece":
        raise ValueError(f"model.type={tok_json['model']['type']!r}: only WordPiece is supported")
    new_of_old = {old: new for new, old in enumerate(keep)}
    out = copy.deepcopy(tok_json)
    old_vocab = tok_json["model"]["vocab"]
    out["model"]["vocab"] = {t: new_of_old[i] for t, i in sorted(old_vocab.items(), key=lambda kv: kv[1])
                             if i in new_of_old}
    out["added_tokens"] = [{**a, "id": new_of_old[a["id"]]} for a in tok_json["added_tokens"] if a["id"] in new_of_old]
    post = out.get("post_processor") or {}
    for spec in (post.get("special_tokens") or {}).values():
        spec["ids"] = [new_of_old[i] for i in spec["ids"]]
    out["truncation"] = None
    out["padding"] = None
    return out
