"""Readable text of token ids from a trace's own vocabulary (`Trace.id_to_token`), no model needed.

ByteLevel BPE vocabularies (GPT-2 style: 'Ġ' is a leading space, 'Ã©' the two bytes of 'é') are
decoded back to UTF-8; SentencePiece's '▁' reads as a space; other tokens are shown as they are.
"""
from __future__ import annotations


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte <-> printable-character table (used by ByteLevel BPE tokenizers)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


_UNICODE_TO_BYTE = {v: k for k, v in _bytes_to_unicode().items()}
MASK_GLYPH = "▢"


def is_special(tok: str) -> bool:
    return tok.startswith("[") and tok.endswith("]")


def is_bytelevel(id_to_token: dict) -> bool:
    return any(("Ġ" in t or "Ċ" in t) for t in list(id_to_token.values())[:4000])


def token_text(tok: str, bytelevel: bool) -> str:
    """A readable form of one token string (ByteLevel bytes decoded, best effort)."""
    if bytelevel and not is_special(tok) and all(c in _UNICODE_TO_BYTE for c in tok):
        return bytes(_UNICODE_TO_BYTE[c] for c in tok).decode("utf-8", errors="replace")
    return tok.replace("▁", " ")


def decode_ids(id_to_token: dict, mask_id: int, ids, skip_special: bool = True) -> str:
    """Plain text of a row of ids; masks read as ▢, other special tokens are skipped (or kept)."""
    bl = is_bytelevel(id_to_token)
    out, buf = [], []
    for i in ids:
        tok = id_to_token.get(int(i), f"<{int(i)}>")
        if is_special(tok):
            if int(i) == mask_id:
                tok = MASK_GLYPH
            elif skip_special:
                continue
        if bl and all(c in _UNICODE_TO_BYTE for c in tok):
            buf.extend(_UNICODE_TO_BYTE[c] for c in tok)
        else:
            if buf:
                out.append(bytes(buf).decode("utf-8", errors="replace"))
                buf = []
            out.append(tok if bl else tok.replace("▁", " "))
    if buf:
        out.append(bytes(buf).decode("utf-8", errors="replace"))
    return "".join(out)
