"""Restarts from the explorer (the Cascade tab's "Decode again from another view"): a finished
`view-hop` run on a 9×9 Sudoku is read back in groups; when the model doubts one of its digits
(below 0.9), the puzzle is decoded again from the canvas before the run's first guess, starting the
rotation of views elsewhere, and the grid the model believes most is kept (`boe_core.restarts`, its
defaults). The panel shows the run's grid beside the kept one with the changed cells marked, what
each decode's read-back said and cost, and, where the task has a checker, whether each is right."""
from __future__ import annotations

import math

import numpy as np

from boe_core import ConfigError, DecodeConfig
from boe_core.restarts import restart

from .canvas import canvas_html
from .common import ensure, finished_trace, model_for, task_view
from .compare import mark_cells
from .repair import _badge_right, _verdict, _with_final
from .session import UserError, as_int

MAX_DECODES = 4


def restarts_html(tr, res, view) -> str:
    """The panel (pure): the verdicts and cost, the two grids side by side with the changed cells
    marked, and one table row per decode."""
    if tr is None or res is None:
        return ('<div class="boe-status"><span class="badge muted">Restarts read a view-hop run\'s grid back; when '
                'the model doubts a digit, the puzzle is decoded again from another view and the grid it believes '
                'most is kept. No checker is read.</span></div>')
    final = res.final[0]
    original = np.asarray(tr.final_canvas)[0]
    kept = _with_final(tr, final)
    changed = np.flatnonzero(final != original)
    head = (f'<div class="boe-status"><span class="badge strong">{int(res.attempts[0])} decode(s), kept decode '
            f'{int(res.kept[0]) + 1}</span><span class="badge">{len(changed)} cell(s) changed</span>'
            f'<span class="badge">cost: {res.forwards[0]:.0f} forwards per puzzle, read-backs included</span>'
            + _badge_right(_verdict(view, tr), "the run") + _badge_right(_verdict(view, kept), "kept")
            + ('<span class="badge muted">the model believes every digit of the run (each &ge; 0.9 read back): '
               'nothing to decode again</span>' if int(res.attempts[0]) == 1 else "") + "</div>")
    rows = "".join(
        f"<tr class='{'kept' if k == int(res.kept[0]) else 'dropped'}'><td>{k + 1}</td>"
        f"<td>{math.exp(float(m[0])):.3f}</td><td>{float(s[0]):.2f}</td>"
        f"<td>{'believed: stop' if math.exp(float(m[0])) >= 0.9 else 'doubted'}</td></tr>"
        for k, (m, s) in enumerate(zip(res.mins, res.sums)))
    table = ("<table class='boe-table restart-decodes'><thead><tr><th>decode</th><th title='the least likely "
             "digit, each read with its group masked'>least believed digit</th><th title='summed log-probability "
             "of the digits read back (nats)'>belief</th><th>read-back</th></tr></thead><tbody>" + rows
             + "</tbody></table>")
    last = tr.num_steps - 1
    a = canvas_html(tr, last, "none", view, title="the run's grid")
    if not len(changed):
        return head + f"<div class='repair-pair'>{a}</div>{table}"
    b = canvas_html(kept, last, "none", view, title="kept")
    a = mark_cells(a, changed, "edited", "differs in the kept grid")
    b = mark_cells(b, changed, "edited", "differs from the run's grid")
    return (head + "<div class='repair-pair' style='display:grid;grid-template-columns:1fr 1fr;gap:.5em'>"
            f"<div class='compare-pane'>{a}</div><div class='compare-pane'>{b}</div></div>{table}")


def restarts_json(res) -> dict:
    if res is None:
        return {}
    return {"decodes": int(res.attempts[0]), "kept": int(res.kept[0]), "forwards": float(res.forwards[0]),
            "final": res.final[0].tolist(), "least_believed": [math.exp(float(m[0])) for m in res.mins]}


def restarts(sess, decodes=2):
    """Decode the session's finished view-hop run again from other views, up to `decodes` decodes in
    all (the run's own is the first); (panel HTML, JSON)."""
    sess = ensure(sess)
    n = as_int("decodes", decodes, minimum=1)
    if n > MAX_DECODES:
        raise ConfigError("decodes", n, f"must be at most {MAX_DECODES} in the explorer")
    tr = finished_trace(sess)
    if tr.initial_canvas.shape[0] != 1:
        raise UserError("restarts work on one run: this trace holds several rows")
    cfg = DecodeConfig.from_dict(tr.config)
    if cfg.policy != "view-hop":
        raise UserError(f"restarts decode again with view-hop from another view: run the puzzle with view-hop first "
                        f"(this run used {cfg.policy})")
    adapter = model_for(tr, "Restarts")
    res = restart(adapter, tr.initial_canvas, config=cfg, attempts=n)
    return restarts_html(tr, res, task_view(sess)), restarts_json(res)
