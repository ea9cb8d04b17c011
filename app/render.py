"""Pure render functions: trace records -> HTML strings and Plotly figures.

Nothing here touches a model or Gradio; every function takes a `Trace` (or plain values) and
returns a string, a dict or a `plotly.graph_objects.Figure`, so it is unit-tested directly.

Conventions: a "view" `k` is a record index (0-based decoding step); the canvas shown for step k
is the canvas *after* step k with its commits highlighted, and the positions still masked after
it drawn as masks. Per-position metrics (confidence, entropy, TIS, gradient) are those computed at
step k, so they exist on every position that was masked before the step. Only batch row 0 is shown.
"""
from __future__ import annotations

import html
import math

import numpy as np

# --- overlays and colours ------------------------------------------------------------------------
OVERLAYS = {  # value -> (label, record field, palette, description)
    "none": ("None", None, None, ""),
    "confidence": ("Confidence", "confidence", "greens", "probability of the top proposal"),
    "entropy": ("Entropy", "entropy", "oranges", "uncertainty of the position, nats"),
    "tis": ("TIS", "tis", "diverging", "Token Influence Score: predicted drop of future entropy"),
    "grad_norm": ("‖∂F/∂e‖", "grad_norm", "purples", "gradient magnitude of the future entropy F"),
}
OVERLAY_CHOICES = [(v[0], k) for k, v in OVERLAYS.items()]
PALETTES = {
    "greens": ["#f4fbf2", "#c7e9c0", "#74c476", "#31a354", "#006d2c"],
    "oranges": ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"],
    "purples": ["#fcfbfd", "#dadaeb", "#9e9ac8", "#6a51a3", "#3f007d"],
    "diverging": ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"],
}
PLOTLY_SCALES = {"entropy": "Oranges", "tis": "RdBu_r", "grad_norm": "Purples", "confidence": "Greens"}
FIELD_TITLES = {"entropy": "Entropy (nats)", "tis": "TIS", "grad_norm": "‖∂F/∂e‖", "confidence": "Confidence"}


def _hex(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def colour(palette: str, x: float) -> str:
    """Interpolated hex colour at x in [0, 1] of a named palette."""
    stops = PALETTES[palette]
    if x is None or not math.isfinite(x):
        return "#ffffff"
    x = min(1.0, max(0.0, float(x)))
    pos = x * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    f = pos - i
    a, b = _hex(stops[i]), _hex(stops[i + 1])
    return "#%02x%02x%02x" % tuple(round(a[j] + (b[j] - a[j]) * f) for j in range(3))


def text_colour(bg: str) -> str:
    r, g, b = _hex(bg)
    return "#111827" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def overlay_range(trace, overlay: str) -> tuple[float, float]:
    """(lo, hi) of an overlay over the whole trace, so colours stay comparable while scrubbing.
    TIS is symmetric around 0; confidence is [0, 1]."""
    field = OVERLAYS[overlay][1]
    if field is None or field == "confidence":
        return 0.0, 1.0
    vals = [getattr(r, field)[0] for r in trace.records] if trace is not None and trace.records else []
    arr = np.concatenate([v[np.isfinite(v)] for v in vals]) if vals else np.zeros(0)
    if arr.size == 0:
        return (-1.0, 1.0) if overlay == "tis" else (0.0, 1.0)
    if overlay == "tis":
        m = float(np.abs(arr).max()) or 1.0
        return -m, m
    hi = float(arr.max())
    return 0.0, hi if hi > 0 else 1.0


def overlay_colour(overlay: str, value: float, lo: float, hi: float) -> str | None:
    palette = OVERLAYS[overlay][2]
    if palette is None or value is None or not math.isfinite(value):
        return None
    return colour(palette, (value - lo) / (hi - lo) if hi > lo else 0.5)


def legend_html(overlay: str, lo: float, hi: float, task: str = "text") -> str:
    """The style key (prompt / earlier commit / this step / masked / errors) and the colour bar."""
    items = [("prompt" if task == "text" else "clue", "lg-fixed"), ("earlier commit", "lg-prev"),
             ("this step's commit", "lg-new"), ("still masked", "lg-mask")]
    if task == "sudoku":
        items += [("breaks a rule", "lg-rule"), ("differs from solution", "lg-sol")]
    parts = [f'<span class="lg-item"><span class="lg-sw {cls}"></span>{html.escape(lbl)}</span>' for lbl, cls in items]
    label, _, palette, desc = OVERLAYS[overlay]
    if palette:
        stops = ", ".join(PALETTES[palette])
        parts.append(f'<span class="lg-item lg-bar-wrap" title="{html.escape(desc)}"><b>{html.escape(label)}</b>'
                     f'<span class="lg-num">{_fmt(lo)}</span><span class="lg-bar" style="background:'
                     f'linear-gradient(90deg, {stops})"></span><span class="lg-num">{_fmt(hi)}</span></span>')
    return f'<div class="boe-legend">{"".join(parts)}</div>'


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    x = float(x)
    if x == 0:
        return "0"
    if abs(x) >= 100 or abs(x) < 0.01:
        return f"{x:.2e}"
    return f"{x:.3g}"


# --- tokens ---------------------------------------------------------------------------------------
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


def is_bytelevel(id_to_token: dict) -> bool:
    return any(("Ġ" in t or "Ċ" in t) for t in list(id_to_token.values())[:4000])


def token_text(tok: str, bytelevel: bool) -> str:
    """A readable form of one token string (ByteLevel bytes decoded, best effort)."""
    if bytelevel and not (tok.startswith("[") and tok.endswith("]")) and all(c in _UNICODE_TO_BYTE for c in tok):
        return bytes(_UNICODE_TO_BYTE[c] for c in tok).decode("utf-8", errors="replace")
    return tok.replace("▁", " ")


def decode_text(trace, ids, skip_special=True) -> str:
    """Plain text of a canvas row from the trace's own vocabulary (no model needed)."""
    bl = is_bytelevel(trace.id_to_token)
    out, buf = [], []
    for i in ids:
        tok = trace.id_to_token.get(int(i), f"<{int(i)}>")
        if tok.startswith("[") and tok.endswith("]"):
            if int(i) == trace.mask_id:
                tok = "▢"
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


def _chip_label(text: str) -> tuple[str, bool]:
    """(visible label, starts with a space)."""
    lead = text[:1] == " "
    label = text.strip(" ") if text.strip(" ") else "␣"
    label = label.replace("\n", "⏎").replace("\t", "⇥")
    return label, lead


# --- per-step facts ---------------------------------------------------------------------------------
def commit_steps(trace) -> np.ndarray:
    """(N,) the step at which each position of row 0 was committed (-1: fixed or never)."""
    N = trace.initial_canvas.shape[1]
    out = np.full(N, -1, dtype=np.int64)
    for r in trace.records:
        out[r.chosen[0]] = r.step
    return out


def clamp_view(trace, k) -> int:
    """A valid record index for `k` (the last step when k is None or out of range); -1 if empty."""
    if trace is None or not trace.records:
        return -1
    n = trace.num_steps
    if k is None:
        return n - 1
    try:
        k = int(k)
    except (TypeError, ValueError):
        return n - 1
    return max(0, min(n - 1, k))


def _canvas_at(trace, k):
    """(canvas after step k, masked-before, chosen, record or None) for row 0."""
    if k < 0:
        c = trace.initial_canvas[0]
        masked = c == trace.mask_id
        if trace.attention_mask is not None:
            masked &= trace.attention_mask[0]
        return c, masked, np.zeros_like(masked), None
    r = trace.records[k]
    return r.canvas_after[0], r.masked[0], r.chosen[0], r


def _tip(lines) -> str:
    return html.escape("\n".join(lines), quote=True)


def _masked_details(trace, r, i, byte_level, overlay, field, lo, hi, style):
    """Tooltip lines of a masked position (metrics, top proposals) and its overlay colour style
    (`style` unchanged when no overlay applies). Shared by text tokens and Sudoku cells."""
    lines = _metric_lines(r, i) + _proposal_lines(trace, r, i, byte_level)
    if field is not None:
        bg = overlay_colour(overlay, float(getattr(r, field)[0, i]), lo, hi)
        if bg:
            style = f' style="background:{bg};color:{text_colour(bg)}"'
    return lines, style


def _metric_lines(r, i) -> list[str]:
    if r is None:
        return []
    out = []
    vals = [("confidence", r.confidence), ("entropy", r.entropy), ("margin", r.margin)]
    out.append(" · ".join(f"{n} {_fmt(v[0, i])}" for n, v in vals if math.isfinite(float(v[0, i]))))
    extra = [(n, v[0, i]) for n, v in (("TIS", r.tis), ("‖∂F/∂e‖", r.grad_norm), ("score", r.score))
             if math.isfinite(float(v[0, i]))]
    if extra:
        out.append(" · ".join(f"{n} {_fmt(v)}" for n, v in extra))
    roles = [n for n, m in (("candidate", r.candidates), ("probe", r.probes)) if bool(m[0, i])]
    if roles:
        out.append("BoE " + " & ".join(roles))
    return [ln for ln in out if ln]


def _proposal_lines(trace, r, i, bl, limit=5) -> list[str]:
    if r is None or r.topk_ids.ndim != 3:
        return []
    ids, ps = r.topk_ids[0, i], r.topk_probs[0, i]
    lines = []
    for t, p in list(zip(ids.tolist(), ps.tolist()))[:limit]:
        if t < 0:
            continue
        txt = token_text(trace.id_to_token.get(int(t), f"<{t}>"), bl)
        lines.append(f"  {txt!r:<14} {p:6.1%}")
    return ["top proposals:", *lines] if lines else []


# --- text canvas --------------------------------------------------------------------------------------
def text_canvas_html(trace, k: int, overlay: str = "none", highlight=(), title: str | None = None,
                     rng: tuple[float, float] | None = None) -> str:
    """Tokens as chips: prompt, earlier commits, this step's commits and masks told apart; with an
    overlay, positions masked before step k are coloured by the metric. `highlight`: positions to
    ring (e.g. the first divergent commit in Compare)."""
    if trace is None:
        return _empty("No trace yet: press Run or Step.")
    k = clamp_view(trace, k)
    canvas, masked, chosen, r = _canvas_at(trace, k)
    bl = is_bytelevel(trace.id_to_token)
    when = commit_steps(trace)
    fixed = trace.fixed[0]
    am = trace.attention_mask[0] if trace.attention_mask is not None else np.ones_like(fixed)
    field = OVERLAYS.get(overlay, OVERLAYS["none"])[1]
    lo, hi = rng if rng is not None else overlay_range(trace, overlay)
    hl = set(int(h) for h in highlight)
    chips = []
    for i, tid in enumerate(canvas.tolist()):
        if not am[i]:
            continue
        tok = trace.id_to_token.get(int(tid), f"<{tid}>")
        style = ""
        if fixed[i]:
            cls, tip = "prompt", [f"position {i} · prompt"]
        elif chosen[i]:
            p = _prob_of(r, i, tid)
            cls, tip = "new", [f"position {i} · committed at this step (step {k})" + (f", p = {p:.1%}" if p is not None else "")]
        elif tid == trace.mask_id:
            cls, tip = "mask", [f"position {i} · masked"]
        else:
            cls, tip = "prev", [f"position {i} · committed at step {int(when[i])}"]
        if r is not None and masked[i]:
            lines, style = _masked_details(trace, r, i, bl, overlay, field, lo, hi, style)
            tip += lines
        if cls == "mask":
            label, lead = "▢", False
            if r is not None and masked[i] and r.proposals[0, i] >= 0:
                guess = token_text(trace.id_to_token.get(int(r.proposals[0, i]), ""), bl).strip()
                if guess:
                    label = guess
            inner = f'<span class="ghost">{html.escape(label)}</span>'
        else:
            label, lead = _chip_label(token_text(tok, bl))
            if tok.startswith("[") and tok.endswith("]"):
                cls += " special"
            inner = html.escape(label)
        if i in hl:
            cls += " diverge"
        if lead:
            cls += " sp"
        chips.append(f'<span class="tok {cls}" data-pos="{i}" data-tip="{_tip(tip)}"{style}>{inner}</span>')
    head = f'<div class="canvas-title">{html.escape(title)}</div>' if title else ""
    return f'<div class="boe-canvas boe-text">{head}<div class="chips">{"".join(chips)}</div></div>'


def _prob_of(r, i, tid):
    if r is None:
        return None
    ids = r.topk_ids[0, i].tolist()
    if tid in ids:
        return float(r.topk_probs[0, i][ids.index(tid)])
    c = float(r.confidence[0, i])
    return c if math.isfinite(c) else None


def _empty(msg: str) -> str:
    return f'<div class="boe-canvas boe-empty">{html.escape(msg)}</div>'


# --- Sudoku canvas ------------------------------------------------------------------------------------
def digit_of(trace, tid: int) -> int:
    tok = trace.id_to_token.get(int(tid), "")
    return int(tok) if len(tok) == 1 and tok in "123456789" else 0


def sudoku_grid(trace, k: int) -> str:
    """The 81-character grid after step k ('0' = blank)."""
    canvas = _canvas_at(trace, k)[0]
    return "".join(str(digit_of(trace, t)) for t in canvas.tolist())


def sudoku_errors(grid: str, solution: str | None) -> tuple[set, set]:
    """(cells breaking a row/column/box rule, filled cells differing from the solution)."""
    from boe_core.tasks.sudoku import UNITS

    rule = set()
    for groups in UNITS.values():
        for idx in groups:
            seen: dict = {}
            for i in idx:
                if grid[i] != "0":
                    seen.setdefault(grid[i], []).append(i)
            for where in seen.values():
                if len(where) > 1:
                    rule.update(where)
    wrong = set()
    if solution and len(solution) == 81:
        wrong = {i for i in range(81) if grid[i] != "0" and grid[i] != solution[i]}
    return rule, wrong


def first_wrong_step(trace) -> dict | None:
    """The first step whose commit breaks a rule or the known solution (boe_core's first_error),
    as {"step", "position", "digit", "reason"}, or None."""
    from boe_core.tasks.sudoku import first_error

    if trace is None or not trace.records:
        return None
    commits = []
    for r in trace.records:
        pos = np.flatnonzero(r.chosen[0]).tolist()
        commits.append((pos, [trace.id_to_token.get(int(t), "?") for t in r.canvas_after[0, pos].tolist()]))
    puzzle = "".join(str(digit_of(trace, t)) if f else "0" for t, f in zip(trace.initial_canvas[0].tolist(), trace.fixed[0].tolist()))
    sol = trace.meta.get("solution")
    try:
        e = first_error(commits, solution=sol if sol and len(sol) == 81 else None, puzzle=puzzle)
    except ValueError:
        return None
    return None if e is None else {"step": e.step, "position": e.position, "digit": e.digit, "reason": e.reason}


def sudoku_canvas_html(trace, k: int, overlay: str = "none", highlight=(), title: str | None = None,
                       rng: tuple[float, float] | None = None) -> str:
    """A 9x9 grid with box borders: clues, earlier commits, this step's commits and blanks told
    apart; cells breaking a rule or differing from the solution are marked."""
    if trace is None:
        return _empty("No trace yet: press Run or Step.")
    if trace.initial_canvas.shape[1] != 81:
        return _empty(f"Not a Sudoku canvas ({trace.initial_canvas.shape[1]} positions).")
    k = clamp_view(trace, k)
    canvas, masked, chosen, r = _canvas_at(trace, k)
    when = commit_steps(trace)
    fixed = trace.fixed[0]
    grid = "".join(str(digit_of(trace, t)) for t in canvas.tolist())
    rule, wrong = sudoku_errors(grid, trace.meta.get("solution"))
    field = OVERLAYS.get(overlay, OVERLAYS["none"])[1]
    lo, hi = rng if rng is not None else overlay_range(trace, overlay)
    hl = set(int(h) for h in highlight)
    cells = []
    for i, tid in enumerate(canvas.tolist()):
        rr, cc = divmod(i, 9)
        d = grid[i]
        cls = ["cell"]
        if cc % 3 == 2 and cc < 8:
            cls.append("br")
        if rr % 3 == 2 and rr < 8:
            cls.append("bb")
        tip = [f"row {rr + 1}, column {cc + 1} (position {i})"]
        style = ""
        if fixed[i]:
            cls.append("clue")
            tip.append("clue")
        elif chosen[i]:
            cls.append("new")
            p = _prob_of(r, i, tid)
            tip.append(f"committed at this step (step {k})" + (f", p = {p:.1%}" if p is not None else ""))
        elif d != "0":
            cls.append("prev")
            tip.append(f"committed at step {int(when[i])}")
        else:
            cls.append("mask")
            tip.append("blank (masked)")
        if i in rule:
            cls.append("err-rule")
            tip.append("⚠ breaks a Sudoku rule (repeated in a row, column or box)")
        if i in wrong:
            cls.append("err-sol")
            tip.append(f"✗ differs from the solution ({trace.meta.get('solution', '?' * 81)[i]})")
        if i in hl:
            cls.append("diverge")
        if r is not None and masked[i]:
            lines, style = _masked_details(trace, r, i, False, overlay, field, lo, hi, style)
            tip += lines
        if d != "0":
            inner = d
        elif r is not None and masked[i] and r.proposals[0, i] >= 0:
            g = digit_of(trace, int(r.proposals[0, i]))
            inner = f'<span class="ghost">{g if g else ""}</span>'
        else:
            inner = ""
        cells.append(f'<div class="{" ".join(cls)}" data-pos="{i}" data-tip="{_tip(tip)}"{style}>{inner}</div>')
    head = f'<div class="canvas-title">{html.escape(title)}</div>' if title else ""
    return f'<div class="boe-canvas boe-sudoku">{head}<div class="sdk">{"".join(cells)}</div></div>'


def canvas_html(trace, k: int, overlay: str = "none", task: str = "text", **kw) -> str:
    fn = sudoku_canvas_html if task == "sudoku" else text_canvas_html
    return fn(trace, k, overlay, **kw)


# --- status / summaries ---------------------------------------------------------------------------------
def step_summary(trace, k: int, task: str = "text") -> dict:
    """Machine-readable facts about view k (also the API's JSON output)."""
    if trace is None:
        return {"step": None, "num_steps": 0}
    k = clamp_view(trace, k)
    total = int(len(trace.schedule.get("step_block", []))) or trace.num_steps
    out = {"model": trace.model, "task": task, "policy": trace.config.get("policy"),
           "session": trace.meta.get("session"), "source": trace.meta.get("source", "live"),
           "seed": trace.config.get("seed"), "temperature": trace.config.get("temperature"),
           "step": k if k >= 0 else None, "num_steps": trace.num_steps, "total_steps": total,
           "done": trace.num_steps >= total}
    if k < 0:
        out["canvas"] = decode_text(trace, trace.initial_canvas[0]) if task == "text" else sudoku_grid(trace, -1)
        return out
    r = trace.records[k]
    pos = np.flatnonzero(r.chosen[0]).tolist()
    bl = is_bytelevel(trace.id_to_token)
    out["commits"] = [{"position": int(p), "token": token_text(trace.id_to_token.get(int(t), f"<{t}>"), bl),
                       "token_id": int(t), "prob": _prob_of(r, p, int(t))}
                      for p, t in zip(pos, r.canvas_after[0, pos].tolist())]
    out["block"] = int(r.block)
    out["t"] = int(r.t)
    out["masked_before"] = int(r.masked[0].sum())
    out["masked_entropy"] = float(r.masked_entropy[0])
    out["fallback"] = bool(r.fallback[0])
    out["n_forward"], out["n_backward"] = int(r.n_forward), int(r.n_backward)
    out["wall_time_ms"] = round(1000 * float(r.wall_time), 2)
    if task == "sudoku":
        grid = sudoku_grid(trace, k)
        rule, wrong = sudoku_errors(grid, trace.meta.get("solution"))
        out["canvas"] = grid
        out["rule_breaking_cells"] = sorted(rule)
        out["wrong_cells"] = sorted(wrong)
        out["first_wrong"] = first_wrong_step(trace)
        out["solved"] = bool(trace.meta.get("solution")) and grid == trace.meta.get("solution")
    else:
        out["canvas"] = decode_text(trace, r.canvas_after[0])
    return out


def status_html(trace, k: int, task: str = "text", busy: bool = False) -> str:
    """One line of badges: step, block, commits, cost; for Sudoku the error summary."""
    if trace is None:
        return '<div class="boe-status"><span class="badge muted">no trace</span> Press <b>Run</b> to decode all steps, or <b>Step</b> to go one at a time.</div>'
    s = step_summary(trace, k, task)
    b = []
    if s["step"] is None:
        b.append(f'<span class="badge">ready · {s["total_steps"]} steps planned</span>')
    else:
        b.append(f'<span class="badge strong">step {s["step"]} / {s["total_steps"] - 1}</span>')
        b.append(f'<span class="badge">block {s["block"]}</span>')
        b.append(f'<span class="badge">{s["masked_before"]} masked → {s["masked_before"] - len(s["commits"])}</span>')
        b.append(f'<span class="badge">masked entropy {s["masked_entropy"]:.2f} nats</span>')
        b.append(f'<span class="badge muted">{s["n_forward"]} fwd · {s["n_backward"]} bwd · {s["wall_time_ms"]:.0f} ms</span>')
        if s["fallback"]:
            b.append('<span class="badge warn" title="no usable probe: this step fell back to confidence order">fallback</span>')
    b.append(f'<span class="badge policy">{html.escape(str(s["policy"]))}</span>')
    if trace.meta.get("source") == "imported":
        b.append('<span class="badge muted">replay (loaded trace)</span>')
    if s["done"]:
        b.append('<span class="badge ok">done</span>')
    elif busy:
        b.append('<span class="badge run">in progress</span>')
    if task == "sudoku" and s["step"] is not None:
        fw = s.get("first_wrong")
        if s.get("solved"):
            b.append('<span class="badge ok">solved ✓</span>')
        if fw is not None:
            r, c = divmod(fw["position"], 9)
            b.append(f'<span class="badge bad">first wrong commit: step {fw["step"]} (r{r + 1}c{c + 1} = {fw["digit"]}, '
                     f'{fw["reason"].replace("_", " ")})</span>')
        elif trace.meta.get("solution"):
            b.append('<span class="badge ok">no wrong commit so far</span>')
        if s.get("rule_breaking_cells"):
            b.append(f'<span class="badge bad">{len(s["rule_breaking_cells"])} cells break a rule</span>')
    commits = ""
    if s["step"] is not None and s["commits"]:
        items = ", ".join(f'<code>{html.escape(c["token"])}</code>@{c["position"]}' for c in s["commits"][:12])
        more = f" (+{len(s['commits']) - 12})" if len(s["commits"]) > 12 else ""
        commits = f'<div class="commits">this step commits {items}{more}</div>'
    return f'<div class="boe-status">{"".join(b)}{commits}</div>'


def message_html(notes) -> str:
    if not notes:
        return ""
    rows = "".join(f'<div class="msg {html.escape(kind)}">{html.escape(text)}</div>' for kind, text in notes)
    return f'<div class="boe-messages">{rows}</div>'


# --- plots ------------------------------------------------------------------------------------------------
def _region(trace) -> tuple[int, int]:
    """[start, end) of the positions that were ever masked (the generation region)."""
    c = trace.initial_canvas[0]
    idx = np.flatnonzero(~trace.fixed[0] | (c == trace.mask_id))
    if idx.size == 0:
        return 0, c.shape[0]
    return int(idx[0]), int(idx[-1]) + 1


_AXIS = dict(gridcolor="#eef0f3", zeroline=False, linecolor="#d1d5db", showline=True, ticks="outside",
             tickcolor="#d1d5db", automargin=True)


def _layout(fig, title, height=300, **extra):
    """One cheap layout update (the bare "none" template plus a light style: no template deepcopy)."""
    xaxis = {**_AXIS, **extra.pop("xaxis", {})}
    yaxis = {**_AXIS, **extra.pop("yaxis", {})}
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=14)), height=height, template="none",
                      margin=dict(l=55, r=20, t=40, b=45), paper_bgcolor="white", plot_bgcolor="white",
                      font=dict(family="Inter, system-ui, sans-serif", size=12, color="#374151"),
                      xaxis=xaxis, yaxis=yaxis, **extra)
    return fig


def empty_figure(title: str, note: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=note, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(color="#6b7280", size=13))
    return _layout(fig, title, 260, xaxis=dict(visible=False), yaxis=dict(visible=False))


def heatmap_figure(trace, field: str, k: int | None = None):
    """Position x step heatmap of a per-position field (entropy, tis, grad_norm, confidence), with
    each step's commits marked and the selected step outlined."""
    import plotly.graph_objects as go

    title = FIELD_TITLES.get(field, field) + " · position × step"
    if trace is None or not trace.records:
        return empty_figure(title, "no steps yet")
    s, e = _region(trace)
    z = np.stack([getattr(r, field)[0, s:e] for r in trace.records]).astype(float)
    if not np.isfinite(z).any():
        note = "not computed by this policy (BoE computes it)" if field in ("tis", "grad_norm") else "no values"
        return empty_figure(title, note)
    steps = np.arange(trace.num_steps)
    xs = np.arange(s, e)
    zz = np.where(np.isfinite(z), z, None)
    kw = dict(colorscale=PLOTLY_SCALES.get(field, "Viridis"))
    if field == "tis":
        m = float(np.nanmax(np.abs(z))) or 1.0
        kw.update(zmin=-m, zmax=m, zmid=0)
    fig = go.Figure(go.Heatmap(z=zz.tolist(), x=xs, y=steps, hoverongaps=False, colorbar=dict(thickness=10),
                               hovertemplate="position %{x}<br>step %{y}<br>value %{z:.4g}<extra></extra>", **kw))
    cx, cy, ct = [], [], []
    bl = is_bytelevel(trace.id_to_token)
    for r in trace.records:
        for p in np.flatnonzero(r.chosen[0]):
            cx.append(int(p))
            cy.append(r.step)
            ct.append(token_text(trace.id_to_token.get(int(r.canvas_after[0, p]), "?"), bl))
    fig.add_trace(go.Scatter(x=cx, y=cy, mode="markers", text=ct, name="commit",
                             marker=dict(symbol="circle-open", size=7, color="#111827", line=dict(width=1.5)),
                             hovertemplate="commit %{text!r} at position %{x}, step %{y}<extra></extra>",
                             showlegend=False))
    k = clamp_view(trace, k)
    if k >= 0:
        fig.add_shape(type="rect", x0=s - 0.5, x1=e - 0.5, y0=k - 0.5, y1=k + 0.5,
                      line=dict(color="#e11d48", width=2), fillcolor="rgba(0,0,0,0)")
    return _layout(fig, title, 320, yaxis=dict(title="step", autorange="reversed", showgrid=False),
                   xaxis=dict(title="position", showgrid=False))


def entropy_figure(traces, k: int | None = None, marks=()):
    """Total masked entropy before each step; one line per (label, trace). `marks`: (step, label)
    vertical markers (e.g. the branch step, the first divergence, first wrong commits)."""
    import plotly.graph_objects as go

    title = "Total masked entropy per step"
    traces = [(lbl, t) for lbl, t in traces if t is not None and t.records]
    if not traces:
        return empty_figure(title, "no steps yet")
    fig = go.Figure()
    colours = ["#4f46e5", "#f97316", "#10b981"]
    for j, (lbl, t) in enumerate(traces):
        y = t.masked_entropy_curve()[:, 0]
        fig.add_trace(go.Scatter(x=np.arange(len(y)), y=y, mode="lines+markers", name=lbl,
                                 line=dict(color=colours[j % 3], width=2), marker=dict(size=4),
                                 hovertemplate=f"{lbl}<br>step %{{x}}<br>%{{y:.3f}} nats<extra></extra>"))
    k0 = clamp_view(traces[0][1], k)
    if k0 >= 0:
        fig.add_vline(x=k0, line=dict(color="#e11d48", width=1.5, dash="dot"))
    grouped: dict = {}
    for step, lbl in marks:  # one labelled line per step, so labels never overprint
        if step is not None:
            grouped.setdefault(int(step), []).append(lbl)
    for step, lbls in grouped.items():
        fig.add_vline(x=step, line=dict(color="#6b7280", width=1, dash="dash"),
                      annotation_text=" · ".join(lbls), annotation_position="top right",
                      annotation_font=dict(size=11, color="#4b5563"))
    return _layout(fig, title, 300, xaxis=dict(title="step"), yaxis=dict(title="nats", rangemode="tozero"),
                   legend=dict(orientation="h", y=-0.3), showlegend=len(traces) > 1)


def fidelity_figure(fid, trace=None):
    """TIS vs the exact one-step entropy drop of each candidate, with Spearman's rho in the title."""
    import plotly.graph_objects as go

    if fid is None:
        return empty_figure("TIS vs exact entropy drop", "pick a step and press Compute")
    if not fid.positions or not fid.tis:
        return empty_figure(f"TIS vs exact entropy drop · step {fid.step}", "no candidates or probes at this step")
    labels = [f"position {p}" for p in fid.positions]
    rho = fid.spearman
    fig = go.Figure(go.Scatter(x=fid.delta, y=fid.tis, mode="markers+text", text=[str(p) for p in fid.positions],
                               textposition="top center", customdata=labels,
                               marker=dict(size=10, color="#4f46e5", line=dict(color="white", width=1)),
                               hovertemplate="%{customdata}<br>exact Δ %{x:.4g}<br>TIS %{y:.4g}<extra></extra>"))
    if len(fid.delta) >= 2 and np.ptp(fid.delta) > 0:
        a, b = np.polyfit(fid.delta, fid.tis, 1)
        xs = np.linspace(min(fid.delta), max(fid.delta), 2)
        fig.add_trace(go.Scatter(x=xs, y=a * xs + b, mode="lines", line=dict(color="#9ca3af", dash="dash"),
                                 hoverinfo="skip", showlegend=False))
    rho_s = "n/a" if rho is None or not math.isfinite(rho) else f"{rho:+.3f}"
    return _layout(fig, f"Step {fid.step}: Spearman ρ = {rho_s} over {len(fid.positions)} candidates "
                        f"({fid.n_probes} probes)", 380, showlegend=False,
                   xaxis=dict(title="exact one-step entropy drop Δ (nats)"), yaxis=dict(title="TIS (first-order estimate)"))


def fidelity_table(fid, trace=None) -> list[list]:
    if fid is None:
        return []
    rows = []
    bl = trace is not None and is_bytelevel(trace.id_to_token)
    for p, t, d in sorted(zip(fid.positions, fid.tis, fid.delta), key=lambda x: -x[1]):
        tok = ""
        if trace is not None:
            r = trace.records[fid.step]
            pr = int(r.proposals[0, p])
            tok = token_text(trace.id_to_token.get(pr, f"<{pr}>"), bl) if pr >= 0 else ""
        rows.append([int(p), tok, round(float(t), 6), round(float(d), 6)])
    return rows


# --- compare -----------------------------------------------------------------------------------------------
def compare_summary_html(a, b, d, task="text") -> str:
    """The branch point, the first divergent commit and (Sudoku) each run's first wrong step."""
    if a is None or b is None:
        return ('<div class="boe-status">Pick a step in <b>Explore</b>, choose a policy and press '
                '<b>Branch</b>: the steps before it are kept, the rest is decoded again.</div>')
    at = b.meta.get("branched_from", {}).get("step")
    bits = [f'<span class="badge strong">branched at step {at}</span>',
            f'<span class="badge policy">A: {html.escape(str(a.config.get("policy")))}</span>',
            f'<span class="badge policy alt">B: {html.escape(str(b.config.get("policy")))}</span>']
    if d is None or d.first_divergent_step is None:
        bits.append('<span class="badge ok">identical so far</span>')
    else:
        bl = is_bytelevel(a.id_to_token)
        ta = ", ".join(f"{token_text(a.id_to_token.get(t, '?'), bl)!r}@{p}" for p, t in zip(d.positions_a, d.tokens_a))
        tb = ", ".join(f"{token_text(b.id_to_token.get(t, '?'), bl)!r}@{p}" for p, t in zip(d.positions_b, d.tokens_b))
        bits.append(f'<span class="badge diverge">first divergent commit: step {d.first_divergent_step}</span>')
        bits.append(f'<span class="badge">A commits {html.escape(ta)}</span><span class="badge">B commits {html.escape(tb)}</span>')
        bits.append(f'<span class="badge muted">final canvases differ at {int(d.final_differs.sum())} positions</span>')
    if task == "sudoku":
        for lbl, t in (("A", a), ("B", b)):
            fw = first_wrong_step(t)
            if fw is None:
                solved = t.meta.get("solution") and sudoku_grid(t, t.num_steps - 1) == t.meta.get("solution")
                bits.append(f'<span class="badge ok">{lbl}: {"solved ✓" if solved else "no wrong commit"}</span>')
            else:
                bits.append(f'<span class="badge bad">{lbl} first goes wrong at step {fw["step"]}</span>')
    return f'<div class="boe-status">{"".join(bits)}</div>'


def compare_marks(a, b, d, task="text") -> list:
    marks = []
    if b is not None:
        marks.append((b.meta.get("branched_from", {}).get("step"), "branch"))
    if d is not None and d.first_divergent_step is not None:
        marks.append((d.first_divergent_step, "diverge"))
    if task == "sudoku" and a is not None and b is not None:
        for lbl, t in (("A", a), ("B", b)):
            fw = first_wrong_step(t)
            if fw is not None:
                marks.append((fw["step"], f"{lbl} wrong"))
    return marks
