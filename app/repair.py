"""Root repair from the explorer (the Cascade tab's "Repair the run"): the run's most suspect
commits are changed one by one, the commits after each go back to [MASK] and the run's policy decodes
them again, and a round is kept when the model believes the whole canvas more (`boe_core.repair`,
its defaults). The panel shows the run's final canvas beside the repaired one, the changed cells
marked, what each round did and cost, and, where the task has a checker, whether each is right."""
from __future__ import annotations

import html
from dataclasses import replace

import numpy as np

from boe_core import ConfigError
from boe_core.repair import RepairSettings, root_repair

from .canvas import canvas_html
from .common import cell_name, ensure, finished_trace, model_for, task_view, token_shower
from .compare import mark_cells
from .session import UserError, as_int

MAX_ROUNDS = 10


def _with_final(tr, final: np.ndarray):
    """A copy of `tr` whose last canvas is `final` (row 0): what the views draw and judge."""
    from boe_core.trace import Trace

    last = tr.records[-1]
    canvas = last.canvas_after.copy()
    canvas[0] = final
    out = Trace(model=tr.model, config=tr.config, initial_canvas=tr.initial_canvas, fixed=tr.fixed,
                attention_mask=tr.attention_mask, schedule=tr.schedule, mask_id=tr.mask_id,
                records=[*tr.records[:-1], replace(last, canvas_after=canvas)], id_to_token=tr.id_to_token,
                meta=tr.meta)
    return out


def _verdict(view, tr) -> bool | None:
    try:
        return bool(view.solved(tr, tr.num_steps - 1)) if view.can_check(tr) else None
    except Exception:
        return None


def _badge_right(ok: bool | None, what: str) -> str:
    if ok is None:
        return ""
    return (f'<span class="badge {"ok" if ok else "bad"}">{what}: {"right" if ok else "wrong"} '
            f'(the checker)</span>')


def repair_html(tr, rep, view) -> str:
    """The panel (pure): the verdicts and cost, the two canvases side by side with the changed cells
    marked, and one table row per round."""
    if tr is None or rep is None:
        return ('<div class="boe-status"><span class="badge muted">Repair changes the run\'s most suspect commit, '
                'decodes what came after it again, and keeps the change when the model believes the whole canvas '
                'more. No checker is read.</span></div>')
    fixed = _with_final(tr, rep.final)
    changed = np.flatnonzero(rep.final != rep.original)
    show = token_shower(tr)
    kept = sum(r.accepted for r in rep.rounds)
    head = (f'<div class="boe-status"><span class="badge strong">{len(rep.rounds)} round(s) tried, {kept} kept</span>'
            f'<span class="badge">{len(changed)} cell(s) changed</span>'
            f'<span class="badge">cost: {rep.forwards} forwards + {rep.backwards} backwards per sequence</span>'
            + _badge_right(_verdict(view, tr), "the run") + _badge_right(_verdict(view, fixed), "repaired")
            + ('<span class="badge muted">the model doubts none of the run\'s tokens (every grouped re-read '
               '&ge; the gate): nothing to repair</span>' if not rep.rounds else "") + "</div>")
    rows = "".join(
        f"<tr class='{'kept' if r.accepted else 'dropped'}'><td>{i + 1}</td><td>{r.step}</td>"
        f"<td>{html.escape(cell_name(view, tr, r.position))}</td><td>{html.escape(repr(show(r.old)))} → "
        f"{html.escape(repr(show(r.new)))}</td><td>{len(r.remasked)}</td><td>{r.delta:+.2f}</td>"
        f"<td>{'kept' if r.accepted else 'undone'}</td><td>{r.forwards}</td></tr>" for i, r in enumerate(rep.rounds))
    table = ("" if not rep.rounds else
             "<table class='boe-table repair-rounds'><thead><tr><th>round</th><th>suspect's step</th><th>cell</th>"
             "<th>token</th><th>taken back after it</th><th title='grouped re-read of the whole canvas, new minus "
             "old (nats)'>Δ belief</th><th>result</th><th>forwards</th></tr></thead><tbody>" + rows
             + "</tbody></table>")
    return head + side_by_side(tr, rep.final, view, ("the run's final canvas", "repaired"),
                               ("changed by the repair", "changed by the repair")) + table


def side_by_side(tr, final: np.ndarray, view, titles: tuple[str, str], notes: tuple[str, str]) -> str:
    """The run's last canvas beside `final` (row 0), the cells that differ marked on both with
    `notes`; the run's canvas alone when nothing differs (one canvas says it all)."""
    changed = np.flatnonzero(final != tr.final_canvas[0])
    last = tr.num_steps - 1
    a = canvas_html(tr, last, "none", view, title=titles[0])
    if not len(changed):
        return f"<div class='repair-pair'>{a}</div>"
    b = canvas_html(_with_final(tr, final), last, "none", view, title=titles[1])
    a = mark_cells(a, changed, "edited", notes[0])
    b = mark_cells(b, changed, "edited", notes[1])
    return ("<div class='repair-pair' style='display:grid;grid-template-columns:1fr 1fr;gap:.5em'>"
            f"<div class='compare-pane'>{a}</div><div class='compare-pane'>{b}</div></div>")


def repair_json(rep) -> dict:
    if rep is None:
        return {}
    return {"changed": np.flatnonzero(rep.final != rep.original).tolist(), "forwards": rep.forwards,
            "backwards": rep.backwards, "seconds": round(rep.seconds, 3),
            "rounds": [{"step": r.step, "position": r.position, "old": r.old, "new": r.new,
                        "remasked": r.remasked, "delta": r.delta, "accepted": r.accepted, "forwards": r.forwards}
                       for r in rep.rounds]}


def repair(sess, rounds=3):
    """Repair the session's finished run (row 0) with the library's defaults and `rounds` suspects;
    (repair panel HTML, repair JSON)."""
    sess = ensure(sess)
    n = as_int("rounds", rounds, minimum=1)
    if n > MAX_ROUNDS:
        raise ConfigError("rounds", n, f"must be at most {MAX_ROUNDS} in the explorer")
    tr = finished_trace(sess)
    if tr.initial_canvas.shape[0] != 1:
        raise UserError("repair works on one run: this trace holds several rows")
    adapter = model_for(tr, "Repair")
    rep = root_repair(adapter, tr, 0, RepairSettings(rounds=n))
    return repair_html(tr, rep, task_view(sess)), repair_json(rep)
