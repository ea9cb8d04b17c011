"""The step data (the API's JSON) and the status line of the Explore tab."""
from __future__ import annotations

import html

import numpy as np

from boe_core.tasks.token_text import is_bytelevel, token_text
from boe_core.tasks.views import get_view

from .canvas import PICK, clamp_view, prob_of


def step_summary(trace, k: int, task: str = "text") -> dict:
    """Machine-readable facts about view k: the run, the step's commits and cost, and the task
    view's facts (the canvas as text, wrong cells, first wrong commit ...)."""
    if trace is None:
        return {"step": None, "num_steps": 0}
    view = get_view(task)
    k = clamp_view(trace, k)
    total = int(len(trace.schedule.get("step_block", []))) or trace.num_steps
    out = {"model": trace.model, "task": task, "policy": trace.config.get("policy"),
           "session": trace.meta.get("session"), "source": trace.meta.get("source", "live"),
           "seed": trace.config.get("seed"), "temperature": trace.config.get("temperature"),
           "step": k if k >= 0 else None, "num_steps": trace.num_steps, "total_steps": total,
           "done": trace.finished}
    if k >= 0:
        r = trace.records[k]
        pos = np.flatnonzero(r.chosen[0]).tolist()
        bl = is_bytelevel(trace.id_to_token)
        out["commits"] = [{"position": int(p), "token": token_text(trace.id_to_token.get(int(t), f"<{t}>"), bl),
                           "token_id": int(t), "prob": prob_of(r, p, int(t))}
                          for p, t in zip(pos, r.canvas_after[0, pos].tolist())]
        pick = np.flatnonzero(r.signal(PICK)[0]).tolist()
        guess = r.proposals[0]
        out["confidence_pick"] = [{"position": int(p), "token": token_text(trace.id_to_token.get(int(guess[p]), f"<{int(guess[p])}>"), bl),
                                   "token_id": int(guess[p])} for p in pick]
        out["agrees_with_confidence"] = set(pick) == set(pos)
        out["notes"] = [str(n) for n in getattr(r, "notes", [])]
        out.update(block=int(r.block), t=int(r.t), masked_before=int(r.masked[0].sum()),
                   masked_entropy=float(r.masked_entropy[0]), fallback=bool(r.fallback[0]),
                   n_forward=int(r.n_forward), n_backward=int(r.n_backward),
                   wall_time_ms=round(1000 * float(r.wall_time), 2))
    out.update(view.facts(trace, k))
    return out


def _badge(kind: str, text: str, title: str = "") -> str:
    t = f' title="{html.escape(title)}"' if title else ""
    return f'<span class="badge{" " + kind if kind else ""}"{t}>{html.escape(text)}</span>'


def starting_html(model: str | None) -> str:
    """The status line of a freshly opened page, until its canvas is ready: the server answers at
    once, and the model loads in the background (a large one can take minutes)."""
    if model is None:
        return status_html(None, -1)
    return ('<div class="boe-status">' + _badge("run", f"loading the model {model}")
            + " The canvas appears when it is ready; a large model can take a while.</div>")


def status_html(trace, k: int, task: str = "text", busy: bool = False, ceiling: dict | None = None) -> str:
    """One line of badges: step, block, commits, cost, the task view's verdict and, on a wrong run's
    last step, whether the order alone could have solved it (`ceiling`: app.handlers._order_ceiling)."""
    if trace is None:
        return ('<div class="boe-status"><span class="badge muted">no trace</span> Press <b>Run</b> to decode all '
                'steps, or <b>Step</b> to go one at a time.</div>')
    s = step_summary(trace, k, task)
    b = []
    if s["step"] is None:
        b.append(_badge("", f'ready · {s["total_steps"]} steps planned'))
    else:
        b.append(_badge("strong", f'step {s["step"]} / {s["total_steps"] - 1}'))
        b.append(_badge("", f'block {s["block"]}'))
        b.append(_badge("", f'{s["masked_before"]} masked → {s["masked_before"] - len(s["commits"])}'))
        b.append(_badge("", f'masked entropy {s["masked_entropy"]:.2f} nats'))
        b.append(_badge("muted", f'{s["n_forward"]} fwd · {s["n_backward"]} bwd · {s["wall_time_ms"]:.0f} ms'))
        if s["fallback"]:
            b.append(_badge("warn", "fallback", "no usable probe: this step fell back to confidence order"))
    b.append(_badge("policy", str(s["policy"])))
    if trace.meta.get("source") == "imported":
        b.append(_badge("muted", "replay (loaded trace)"))
    if s["done"]:
        b.append(_badge("ok", "done"))
    elif busy:
        b.append(_badge("run", "in progress"))
    b += [_badge(kind, text) for kind, text in get_view(task).verdict(trace, clamp_view(trace, k))]
    oc = ceiling if s["done"] and s["step"] == trace.num_steps - 1 else None
    if isinstance(oc, dict):
        b.append(_badge("ok", "the order alone could have solved this",
                        f"the oracle order (it reads the answer, so it is a ceiling, not a decoder) commits the "
                        f"model's own proposals, right ones first, and solves this in the same {oc['steps']} steps")
                 if oc.get("solved") else
                 _badge("muted", "even the oracle order fails here",
                        "committing the model's own proposals right ones first does not solve it either: the model "
                        "lacks more than the order"))
    commits = ""
    if s["step"] is not None and s["commits"]:
        items = ", ".join(f'<code>{html.escape(c["token"])}</code>@{c["position"]}' for c in s["commits"][:12])
        more = f" (+{len(s['commits']) - 12})" if len(s["commits"]) > 12 else ""
        commits = f'<div class="commits">this step commits {items}{more}</div>'
    return f'<div class="boe-status">{"".join(b)}{commits}{_pick_line(s)}{_notes_line(s)}</div>'


def _pick_line(s: dict) -> str:
    """What confidence would have committed from the same canvas (free: the same forward)."""
    if s.get("step") is None or "confidence_pick" not in s or s.get("policy") == "confidence":
        return ""
    items = ", ".join(f'<code>{html.escape(c["token"])}</code>@{c["position"]}' for c in s["confidence_pick"][:12])
    if s["agrees_with_confidence"]:
        return f'<div class="cpick-line">confidence would commit the same ({items})</div>'
    return (f'<div class="cpick-line"><span class="badge warn">departs from confidence</span> confidence would '
            f'commit {items} instead (amber ring on the canvas)</div>')


def _notes_line(s: dict) -> str:
    """The step's own notes (e.g. "r=2 < b=4: r raised to 4")."""
    notes = s.get("notes") or []
    if not notes:
        return ""
    return f'<div class="notes-line">note: {html.escape("; ".join(notes))}</div>'


def message_html(notes) -> str:
    if not notes:
        return ""
    rows = "".join(f'<div class="msg {html.escape(kind)}">{html.escape(text)}</div>' for kind, text in notes)
    return f'<div class="boe-messages">{rows}</div>'
