"""Searches over a finished `view-hop` run on a 9×9 Sudoku, from the explorer (the Cascade tab's
"Search again from the run" panel). No checker is read by either.

* **Restarts** (`boe_core.restarts`, its defaults): the run's grid is read back in groups; when the
  model doubts one of its digits (below 0.9), the puzzle is decoded again from the canvas before the
  run's first guess, starting the rotation of views elsewhere, and the grid the model believes most
  is kept. One table row per decode.
* **Backtracking** (`boe_core.backtrack`, its defaults): the puzzle is decoded again with the model's
  read-back checked before each guess and on the finished grid; a doubt undoes the latest guess
  (its cell takes the runner-up digit). One table row per doubt and undo.

Both panels show the run's grid beside the kept one with the changed cells marked, the cost, and,
where the task has a checker, whether each is right."""
from __future__ import annotations

import html
import math

import numpy as np

from boe_core import ConfigError, DecodeConfig
from boe_core.backtrack import BacktrackSettings, backtrack
from boe_core.restarts import restart

from .common import cell_name, ensure, finished_trace, model_for, task_view, token_shower
from .repair import _badge_right, _verdict, _with_final, side_by_side
from .session import UserError, as_int

MAX_DECODES = 4
MAX_UNDOS = 12


def _view_hop_run(sess, what: str, why: str):
    """(trace, its DecodeConfig, its adapter) of the session's finished one-row view-hop run, or a
    UserError saying what `what` needs."""
    tr = finished_trace(sess)
    if tr.initial_canvas.shape[0] != 1:
        raise UserError(f"{what}: one run at a time, and this trace holds several rows")
    cfg = DecodeConfig.from_dict(tr.config)
    if cfg.policy != "view-hop":
        raise UserError(f"{what} {why}: run the puzzle with view-hop first (this run used {cfg.policy})")
    return tr, cfg, model_for(tr, what.capitalize())


def _pair(tr, final, head: str, table: str, view, kept_title: str) -> str:
    """The badges, the run's grid beside the kept one (changed cells marked), then the table."""
    return head + side_by_side(tr, final, view, ("the run's grid", kept_title),
                               ("differs in the kept grid", "differs from the run's grid")) + table


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
    return _pair(tr, final, head, table, view, "kept")


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
    tr, cfg, adapter = _view_hop_run(sess, "restarts", "decode again with view-hop from another view")
    res = restart(adapter, tr.initial_canvas, config=cfg, attempts=n)
    return restarts_html(tr, res, task_view(sess)), restarts_json(res)


def backtrack_html(tr, res, view) -> str:
    """The backtracking panel (pure): badges, the two grids, one row per doubt and undo."""
    if tr is None or res is None:
        return ('<div class="boe-status"><span class="badge muted">Backtracking decodes the puzzle again, reads what '
                'it wrote back before each guess and at the end, and undoes the latest guess whenever the model '
                'doubts it. No checker is read.</span></div>')
    final = res.final[0]
    kept = _with_final(tr, final)
    changed = np.flatnonzero(final != np.asarray(tr.final_canvas)[0])
    show = token_shower(tr)
    events = res.events[0]
    head = (f'<div class="boe-status"><span class="badge strong">{int(res.flips[0])} guess(es) undone</span>'
            f'<span class="badge">{len(changed)} cell(s) differ from the run</span>'
            f'<span class="badge">cost: {res.forwards[0]:.0f} forwards per puzzle, read-backs included</span>'
            f'<span class="badge">least believed digit of the kept grid: {math.exp(float(res.read_min[0])):.3f}'
            '</span>' + _badge_right(_verdict(view, tr), "the run") + _badge_right(_verdict(view, kept), "kept")
            + "</div>")
    rows = []
    for e in events:
        if "doubt" in e:
            rows.append(f"<tr class='dropped'><td>doubt</td><td>{html.escape(e['doubt'])}</td><td>{e['step']}</td>"
                        f"<td></td><td>least believed digit {e['least']:.3f}</td></tr>")
        else:
            rows.append(f"<tr class='kept'><td>undo</td><td>the guess at step {e['step']}</td><td>{e['step']}</td>"
                        f"<td>{html.escape(cell_name(view, tr, e['cell']))}</td>"
                        f"<td>{html.escape(repr(show(e['from'])))} → {html.escape(repr(show(e['to'])))}</td></tr>")
    table = ("" if not rows else "<table class='boe-table backtrack-events'><thead><tr><th>event</th><th>where</th>"
             "<th title='decoding steps of this search so far'>step</th><th>cell</th><th>what</th></tr></thead>"
             "<tbody>" + "".join(rows) + "</tbody></table>")
    return _pair(tr, final, head, table, view, "kept")


def backtrack_json(res) -> dict:
    if res is None:
        return {}
    return {"undos": int(res.flips[0]), "forwards": float(res.forwards[0]), "final": res.final[0].tolist(),
            "least_believed": math.exp(float(res.read_min[0])), "events": res.events[0]}


def backtrack_run(sess, undos=6):
    """Backtrack over the guesses of the session's finished view-hop run's puzzle, at most `undos`
    undos; (panel HTML, JSON)."""
    sess = ensure(sess)
    n = as_int("undos", undos, minimum=0)
    if n > MAX_UNDOS:
        raise ConfigError("undos", n, f"must be at most {MAX_UNDOS} in the explorer")
    tr, cfg, adapter = _view_hop_run(sess, "backtracking", "undoes view-hop's guesses")
    res = backtrack(adapter, tr.initial_canvas, config=cfg, settings=BacktrackSettings(flips=n))
    return backtrack_html(tr, res, task_view(sess)), backtrack_json(res)
