"""A small tokenizer wrapper shared by the shipped TinyMDM models.

Both shipped models store a `tokenizer.json` (the `tokenizers` library format) plus
`special_tokens.json` that names the mask / pad / eos tokens, so no special id is hard-coded.
"""
from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer

TOKENIZER_FILE = "tokenizer.json"
SPECIAL_FILE = "special_tokens.json"


class MDMTokenizer:
    def __init__(self, tokenizer: Tokenizer, special_tokens: dict):
        self.tk = tokenizer
        self.special_tokens = dict(special_tokens)
        self.mask_token = special_tokens.get("mask_token")
        self.mask_id = self._id(self.mask_token)
        self.pad_id = self._id(special_tokens.get("pad_token"))
        self.eos_id = self._id(special_tokens.get("eos_token"))
        self.bos_id = self._id(special_tokens.get("bos_token"))

    def _id(self, tok):
        if tok is None:
            return None
        i = self.tk.token_to_id(tok)
        if i is None:
            raise ValueError(f"special token {tok!r} is not in the vocabulary")
        return i

    @property
    def vocab_size(self) -> int:
        return self.tk.get_vocab_size(with_added_tokens=True)

    @property
    def special_ids(self) -> list[int]:
        return sorted({i for i in (self.mask_id, self.pad_id, self.eos_id, self.bos_id) if i is not None})

    def encode(self, text: str) -> list[int]:
        return self.tk.encode(text, add_special_tokens=False).ids

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return self.tk.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def id_to_token(self, i: int) -> str:
        t = self.tk.id_to_token(int(i))
        return t if t is not None else f"<{int(i)}>"

    def save(self, path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.tk.save(str(path / TOKENIZER_FILE))
        (path / SPECIAL_FILE).write_text(json.dumps(self.special_tokens, indent=2) + "\n")

    @classmethod
    def load(cls, path) -> "MDMTokenizer":
        path = Path(path)
        return cls(Tokenizer.from_file(str(path / TOKENIZER_FILE)),
                   json.loads((path / SPECIAL_FILE).read_text()))

    @classmethod
    def exists_in(cls, path) -> bool:
        path = Path(path)
        return (path / TOKENIZER_FILE).is_file() and (path / SPECIAL_FILE).is_file()


def char_tokenizer(symbols: list[str], special_tokens: dict) -> MDMTokenizer:
    """A word-level tokenizer where every listed symbol is one token and the input is split into
    single characters (used by Sudoku: digits are cells)."""
    from tokenizers import models, pre_tokenizers, decoders, Regex

    specials = [t for t in special_tokens.values() if t]
    vocab = {tok: i for i, tok in enumerate(list(dict.fromkeys(specials + symbols)))}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token=special_tokens.get("unk_token")))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tk.decoder = decoders.Fuse()
    tk.add_special_tokens(specials)
    return MDMTokenizer(tk, special_tokens)
