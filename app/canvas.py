"""The canvas of one step as HTML, drawn the way the task view says ("chips": a line of tokens;
"grid": cells with box borders), with its legend.

A view k is a record index: the canvas after step k with its commits highlighted and the positions
still masked drawn as masks; per-position metrics are those computed at step k. Row 0 only.
"""
from __future__ import annotations

import html
import math

import numpy as np

from boe_core.tasks.token_text import is_bytelevel, is_special, token_text
from boe_core.tasks.views import canvas_at, commit_steps, get_view

from . import overlays as O
from .remask import history_line, struck

PICK = "confidence_pick"


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


def empty(msg: str) -> str:
    return f'<div class="boe-canvas boe-empty">{html.escape(msg)}</div>'


def _tip(lines) -> str:
    return html.escape("\n".join(lines), quote=True)


def prob_of(r, i, tid):
    """The probability the step gave token `tid` at position i (None when unknown)."""
    if r is None:
        return None
    ids = r.topk_ids[0, i].tolist()
    if tid in ids:
        return float(r.topk_probs[0, i][ids.index(tid)])
    c = float(r.confidence[0, i])
    return c if math.isfinite(c) else None


def _metric_lines(r, i, tips=None, roles=None) -> list[str]:
    """The core statistics, then one entry per declared signal (`tips`: float, `roles`: bool)."""
    tips = O.tooltip_signals() if tips is None else tips
    roles = O.roles() if roles is None else roles
    out = [" · ".join(f"{n} {O.fmt(v[0, i])}" for n, v in
                      (("confidence", r.confidence), ("entropy", r.entropy), ("margin", r.margin))
                      if math.isfinite(float(v[0, i])))]
    extra = [(s.label, O.values(r, s.name)[0, i]) for s in tips] + [("score", r.score[0, i])]
    extra = [(n, v) for n, v in extra if math.isfinite(float(v))]
    if extra:
        out.append(" · ".join(f"{n} {O.fmt(v)}" for n, v in extra))
    named = [s.label for s in roles if bool(O.values(r, s.name)[0, i])]
    if named:
        out.append("role: " + " & ".join(named))
    return [ln for ln in out if ln]


def _proposal_lines(trace, r, i, bl, limit=5) -> list[str]:
    if r.topk_ids.ndim != 3:
        return []
    lines = []
    for t, p in list(zip(r.topk_ids[0, i].tolist(), r.topk_probs[0, i].tolist()))[:limit]:
        if t >= 0:
            lines.append(f"  {token_text(trace.id_to_token.get(int(t), f'<{t}>'), bl)!r:<14} {p:6.1%}")
    return ["top proposals:", *lines] if lines else []


def _masked_details(trace, r, i, bl, overlay, lo, hi, tips=None, roles=None) -> tuple[list[str], str]:
    """Tooltip lines of a position masked before the step (metrics, top proposals) and its
    overlay colour style ("" when no overlay applies)."""
    lines = _metric_lines(r, i, tips, roles) + _proposal_lines(trace, r, i, bl)
    sig = O.get(overlay)
    if sig.palette:
        bg = O.overlay_colour(overlay, float(O.values(r, sig.name)[0, i]), lo, hi)
        if bg:
            return lines, f' style="background:{bg};color:{text_colour(bg)}"'
    return lines, ""


text_colour = O.text_colour


class _Frame:
    """What both layouts need to know about step k."""

    def __init__(self, trace, k, view, overlay, rng):
        self.k = clamp_view(trace, k)
        self.canvas, self.masked, self.chosen, self.r = canvas_at(trace, self.k)
        self.when = commit_steps(trace)
        self.fixed = trace.fixed[0]
        self.bl = is_bytelevel(trace.id_to_token)
        self.label = view.labeller(trace)
        self.errors = view.errors(trace, self.k) if self.k >= 0 else {}
        self.overlay = overlay if overlay in O.overlays() else "none"
        self.lo, self.hi = rng if rng is not None else O.overlay_range(trace, self.overlay)
        self.tips, self.roles = O.tooltip_signals(), O.roles()
        # what confidence would commit from the same canvas (every record has it; free)
        self.pick = self.r.signal(PICK)[0] if self.r is not None else np.zeros_like(self.masked)
        self.remasked = self.r.remasked[0] if self.r is not None else np.zeros_like(self.masked)
        self.revised = set(trace.remask_steps(0))  # positions taken back at some step

    def details(self, trace, i) -> tuple[list[str], str]:
        if self.r is None or not self.masked[i]:
            return [], ""
        return _masked_details(trace, self.r, i, self.bl, self.overlay, self.lo, self.hi, self.tips, self.roles)

    def pick_marks(self, i) -> tuple[list[str], list[str]]:
        """(CSS classes, tooltip lines) of confidence's own pick at position i."""
        if not self.pick[i]:
            return [], []
        if self.chosen[i]:
            return ["cpick"], ["confidence would commit this position too"]
        guess = self.ghost(i)
        return ["cpick", "cpick-only"], [f"confidence would commit {guess!r} here at this step" if guess
                                         else "confidence would commit this position at this step"]

    def error_marks(self, i) -> tuple[list[str], list[str]]:
        """(CSS classes, tooltip lines) of the errors at position i."""
        kinds = [kind for kind, where in self.errors.items() if i in where]
        return [f"err-{kind}" for kind in kinds], [self.errors[kind][i] for kind in kinds]

    def ghost(self, i) -> str:
        """The model's current guess at a masked position ("" when none)."""
        if self.r is not None and self.masked[i] and self.r.proposals[0, i] >= 0:
            return self.label(int(self.r.proposals[0, i])).strip()
        return ""


def _chip_label(text: str) -> tuple[str, bool]:
    """(visible label, starts with a space)."""
    lead = text[:1] == " "
    label = text.strip(" ") if text.strip(" ") else "␣"
    return label.replace("\n", "⏎").replace("\t", "⇥"), lead


def _commit_attr(f: _Frame, i: int, cls: list) -> str:
    """The click hook of a committed, decoded cell: its commit step (a click selects it for an
    intervention, see app/intervene.py)."""
    if "new" in cls:
        return f' data-commit="{f.k}"'
    if "prev" in cls:
        return f' data-commit="{int(f.when[i])}"'
    return ""


def chips_html(trace, f: _Frame, hl: set) -> str:
    am = trace.attention_mask[0] if trace.attention_mask is not None else np.ones_like(f.fixed)
    chips = []
    for i, tid in enumerate(f.canvas.tolist()):
        if not am[i]:
            continue
        tok = trace.id_to_token.get(int(tid), f"<{tid}>")
        if f.fixed[i]:
            cls, tip = ["prompt"], [f"position {i} · prompt"]
        elif f.chosen[i]:
            p = prob_of(f.r, i, tid)
            cls, tip = ["new"], [f"position {i} · committed at this step (step {f.k})" + (f", p = {p:.1%}" if p is not None else "")]
        elif f.remasked[i]:
            cls, tip, back = struck(trace, f.k, i, f.label)
        elif tid == trace.mask_id:
            cls, tip = ["mask"], [f"position {i} · masked"]
        else:
            cls, tip = ["prev"], [f"position {i} · committed at step {int(f.when[i])}"] + history_line(trace, i, f.revised)
        err_cls, err_tip = f.error_marks(i)
        pick_cls, pick_tip = f.pick_marks(i)
        lines, style = f.details(trace, i)
        tip += pick_tip + err_tip + lines
        cls += pick_cls
        if "remasked" in cls:
            inner, lead = back, False
        elif "mask" in cls:
            inner, lead = f'<span class="ghost">{html.escape(f.ghost(i) or "▢")}</span>', False
        else:
            label, lead = _chip_label(f.label(tid))
            cls += ["special"] if is_special(tok) else []
            inner = html.escape(label)
        cls += err_cls + (["diverge"] if i in hl else []) + (["sp"] if lead else [])
        chips.append(f'<span class="tok {" ".join(cls)}" data-pos="{i}" data-tip="{_tip(tip)}"{_commit_attr(f, i, cls)}'
                     f'{style}>{inner}</span>')
    return f'<div class="chips">{"".join(chips)}</div>'


def grid_html(trace, f: _Frame, hl: set, shape) -> str:
    rows, cols, box_r, box_c = shape
    if f.canvas.shape[0] != rows * cols:
        return empty(f"Not a {rows}×{cols} canvas ({f.canvas.shape[0]} positions).")
    cells = []
    for i, tid in enumerate(f.canvas.tolist()):
        rr, cc = divmod(i, cols)
        shown = f.label(tid)
        cls = ["cell"] + (["br"] if cc % box_c == box_c - 1 and cc < cols - 1 else []) \
            + (["bb"] if rr % box_r == box_r - 1 and rr < rows - 1 else [])
        tip = [f"row {rr + 1}, column {cc + 1} (position {i})"]
        if f.fixed[i]:
            cls.append("clue")
            tip.append("clue")
        elif f.chosen[i]:
            p = prob_of(f.r, i, tid)
            cls.append("new")
            tip.append(f"committed at this step (step {f.k})" + (f", p = {p:.1%}" if p is not None else ""))
        elif f.remasked[i]:
            more, lines_back, shown_back = struck(trace, f.k, i, f.label)
            cls += more
            tip += lines_back
        elif shown:
            cls.append("prev")
            tip += [f"committed at step {int(f.when[i])}"] + history_line(trace, i, f.revised)
        else:
            cls.append("mask")
            tip.append("blank (masked)")
        err_cls, err_tip = f.error_marks(i)
        pick_cls, pick_tip = f.pick_marks(i)
        cls += pick_cls + err_cls + (["diverge"] if i in hl else [])
        lines, style = f.details(trace, i)
        tip += pick_tip + err_tip + lines
        inner = html.escape(shown) if shown else (f'<span class="ghost">{html.escape(f.ghost(i))}</span>'
                                                  if f.ghost(i) else "")
        if f.remasked[i]:
            inner = shown_back
        cells.append(f'<div class="{" ".join(cls)}" data-pos="{i}" data-tip="{_tip(tip)}"{_commit_attr(f, i, cls)}'
                     f'{style}>{inner}</div>')
    return f'<div class="sdk">{"".join(cells)}</div>'


def canvas_html(trace, k, overlay: str = "none", view="text", highlight=(), title: str | None = None,
                rng: tuple[float, float] | None = None) -> str:
    """The canvas after step k under an overlay, drawn by the task view (a view or its name);
    `highlight`: positions to ring (e.g. the first divergent commit in Compare)."""
    if trace is None:
        return empty("No trace yet: press Run or Step.")
    view = get_view(view) if isinstance(view, str) or view is None else view
    f = _Frame(trace, k, view, overlay, rng)
    hl = {int(h) for h in highlight}
    body = grid_html(trace, f, hl, view.grid) if view.layout == "grid" else chips_html(trace, f, hl)
    if body.startswith('<div class="boe-canvas'):
        return body
    head = f'<div class="canvas-title">{html.escape(title)}</div>' if title else ""
    kind = "boe-sudoku" if view.layout == "grid" else "boe-text"
    return f'<div class="boe-canvas {kind}">{head}{body}</div>'


def legend_html(overlay: str, lo: float, hi: float, view="text") -> str:
    """The style key (fixed / earlier commit / this step / masked / the view's errors) and the
    overlay's colour bar."""
    view = get_view(view) if isinstance(view, str) or view is None else view
    items = [(view.fixed_label, "lg-fixed"), ("earlier commit", "lg-prev"), ("this step's commit", "lg-new"),
             ("still masked", "lg-mask"), ("taken back (↺ step it came back)", "lg-remasked"),
             ("confidence's pick", "lg-cpick")] + [(label, f"lg-{kind}") for kind, (label, _) in view.error_kinds.items()]
    parts = [f'<span class="lg-item"><span class="lg-sw {cls}"></span>{html.escape(lbl)}</span>' for lbl, cls in items]
    sig = O.get(overlay) if overlay in O.overlays() else O.NONE
    if sig.palette:
        stops = ", ".join(O.PALETTES[sig.palette])
        parts.append(f'<span class="lg-item lg-bar-wrap" title="{html.escape(sig.desc)}"><b>{html.escape(sig.label)}</b>'
                     f'<span class="lg-num">{O.fmt(lo)}</span><span class="lg-bar" style="background:'
                     f'linear-gradient(90deg, {stops})"></span><span class="lg-num">{O.fmt(hi)}</span></span>')
    return f'<div class="boe-legend">{"".join(parts)}</div>'
