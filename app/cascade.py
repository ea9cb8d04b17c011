"""The Cascade tab, checker-free: for a finished run, the counterfactual of every decoded commit
(its runner-up written right after its commit step, the run's policy on: boe_core.counterfactuals),
computed as a cancellable background job whose cost in forwards is shown before it starts. From it:
the dependency graph (commits in order x positions: which cells each replacement changed), every
registered root finder's ranking of the commits side by side (boe_core.roots), the top suspects
marked on the canvas and, where the task has a checker, the wrong cells, the first wrong commit and
whether each counterfactual fixes the answer. A click on a commit opens its counterfactual in
Compare (app/intervene.py). A cascade story (app/stories.py) runs its example with the settings it
was measured with, computes all of this and outlines the commit it is about."""
from __future__ import annotations

import html
import math
import threading
from collections import OrderedDict

import numpy as np

from boe_core import ConfigError
from boe_core.counterfactuals import Counterfactuals, commits_of, counterfactuals, estimate_forwards
from boe_core.lockin import trace_key
from boe_core.roots import BEST_METHOD, ROOT_FINDERS, order_of, score_finders

from . import jobs
from .canvas import canvas_html
from .common import cell_name, ensure, finished_trace, model_for, task_view, token_shower
from .compare import mark_cells
from .session import UserError

KIND = "cascade"
EXACT = "counterfactual"  # the finder read straight from the counterfactuals (the measured g)
LEAD = BEST_METHOD  # the best measured finder: it orders the table and rings the suspects by default
TOP = 3  # suspects marked on the canvas
_RANKS: "OrderedDict[str, dict]" = OrderedDict()  # trace key -> {finder: [rank per commit]}, shared
_RANKS_LOCK = threading.Lock()


def finder_names() -> list[str]:
    """The registered root finders, the lead (best measured) one first, then the exact one."""
    names = [f.name for f in sorted(ROOT_FINDERS.values(), key=lambda f: (f.order, f.name))]
    return sorted(names, key=lambda n: (n != LEAD, n != EXACT))


def _key(tr) -> str:
    return trace_key(tr, "roots")


def _cached(tr):
    """(counterfactuals, ranks) already computed for this trace, or (None, None)."""
    cf = Counterfactuals.from_trace(tr, 0)
    with _RANKS_LOCK:
        ranks = _RANKS.get(_key(tr))
    return (cf, ranks) if cf is not None and ranks is not None else (None, None)


def _keep(tr, ranks: dict) -> None:
    with _RANKS_LOCK:
        _RANKS[_key(tr)] = ranks
        while len(_RANKS) > 64:
            _RANKS.popitem(last=False)


# --- facts of the run ----------------------------------------------------------------------------
def checker_facts(sess, tr) -> dict | None:
    """With a checker: whether the run is right and its first wrong commit (the root a checker
    labels, for bio); None without one."""
    view = task_view(sess)
    try:
        if not view.can_check(tr):
            return None
    except Exception:
        return None
    fw = view.first_wrong(tr)
    if fw is not None and fw.get("root"):
        fw = {**fw["root"], "reason": fw.get("reason", "")}
    solved = bool(view.solved(tr, tr.num_steps - 1))
    return {"solved": solved, "first_wrong": None if fw is None or fw.get("position") is None else
            {"step": int(fw["step"]), "position": int(fw["position"]), "where": str(fw.get("where", fw["position"]))}}


def cost_html(tr, est: dict) -> str:
    return (f'<span class="badge">{est["branches"]} counterfactuals (one per decoded commit)</span>'
            f'<span class="badge">cost: {est["batched_forwards"]} batched forwards = {est["sequence_forwards"]} '
            f'sequence forwards</span><span class="badge muted">+ {len(finder_names()) - 1} root finders '
            f'(a few forwards or one backward each; remask TIS and the confidence drop one per step)</span>')


def cascade_cost(sess):
    """The status line before anything runs: what the counterfactuals will cost, in forwards."""
    sess = ensure(sess)
    try:
        tr = finished_trace(sess)
    except (UserError, ConfigError) as e:
        return f'<div class="boe-status"><span class="badge muted">{html.escape(str(e))}</span></div>'
    cf, _ = _cached(tr)
    if cf is not None:
        return '<div class="boe-status"><span class="badge ok">computed for this run: press the button to show it</span></div>'
    return f'<div class="boe-status">{cost_html(tr, estimate_forwards(tr))}</div>'


# --- rendering (pure) -----------------------------------------------------------------------------
def rank_table(cf, ranks: dict | None) -> dict[str, np.ndarray]:
    """{finder: (n,) rank of each commit, 1 = most suspect}."""
    out = {}
    for name, order in (ranks or {}).items():
        pos = {c: i + 1 for i, c in enumerate(map(tuple, order))}
        out[name] = np.array([pos.get(c, 0) for c in cf.commits()], np.int64)
    return out


STORY_STYLE = "outline:2px solid #7c3aed;outline-offset:-1px"  # the commit a story is about


def graph_html(tr, cf, view, ranks: dict | None = None, mark: tuple | None = None) -> str:
    """The dependency graph: one row per commit (in order), one column per decoded position; a
    marked cell: replacing that commit by its runner-up changed the final token there. `mark`:
    (step, position) of a commit to outline (a story's)."""
    if cf is None:
        return ('<div class="dep li-empty">Press <b>Compute the counterfactuals</b>: every decoded commit is replaced by '
                'its runner-up right after its step and the rest decoded again; this graph shows which cells each '
                'replacement changed.</div>')
    show = token_shower(tr)
    cols = [int(p) for p in np.flatnonzero(~tr.fixed[0] & (tr.attention_mask[0].astype(bool) if tr.attention_mask is not None
                                                             else np.ones(tr.fixed.shape[1], bool)))]
    dep = cf.dependency
    top = set(map(tuple, (ranks or {}).get(LEAD, [])[:TOP]))
    rows = []
    for j in range(cf.n):
        s, p = int(cf.steps[j]), int(cf.positions[j])
        done = cf.finals[j, 0] >= 0
        cells = "".join('<i class="self"></i>' if q == p else ('<i class="none"></i>' if not done else
                        ('<i class="chg"></i>' if dep[j, q] else '<i></i>')) for q in cols)
        label = f"s{s} · {cell_name(view, tr, p)} {show(cf.tokens[j])!r}→{show(cf.alternatives[j])!r}"
        tip = (f"step {s}, position {p}: {show(cf.tokens[j])!r} (p={cf.p[j]:.2f}) replaced by {show(cf.alternatives[j])!r} "
               f"(q={cf.q[j]:.2f}) changes {int(dep[j].sum())} other cells. Click to open it in Compare.")
        cls = "dep-row" + (" top" if (s, p) in top else "") + (" story" if mark == (s, p) else "")
        style = f' style="{STORY_STYLE}"' if mark == (s, p) else ""
        rows.append(f'<div class="{cls}" data-step="{s}" data-pos="{p}"{style} title="{html.escape(tip, quote=True)}">'
                    f'<span class="dep-label">{html.escape(label)}</span><span class="dep-cells">{cells}</span>'
                    f'<span class="dep-n">{int(dep[j].sum()) if done else "–"}</span></div>')
    head = (f'<div class="dep-head">rows: the {cf.n} commits in order (step · position token→runner-up); columns: '
            f'the {len(cols)} decoded positions; <b style="color:#f97316">■</b> changed by the replacement, '
            f'<b style="color:#1e1b4b">■</b> the commit itself; right: cells changed. Click a row to open it in '
            f'Compare.</div>')
    w = max(3, min(8, 400 // max(1, len(cols))))  # a cell width that keeps the graph in its column
    return f'<div class="dep" style="--dep-w:{w}px">{head}{"".join(rows)}</div>'


def _fmt(x) -> str:
    return "–" if x is None or not math.isfinite(float(x)) else f"{float(x):+.2f}"


def ranks_html(tr, cf, ranks: dict | None, view, facts: dict | None, mark: tuple | None = None) -> str:
    """The root finders' rankings side by side: one row per commit, by the exact counterfactual
    rank; each finder's rank of it (its top 3 shaded); with a checker, whether the commit was
    wrong and whether its counterfactual fixes the answer. `mark`: a commit to outline."""
    if cf is None or not ranks:
        return '<div class="roots li-empty">The root finders\' rankings appear here.</div>'
    show = token_shower(tr)
    table = rank_table(cf, ranks)
    names = [n for n in finder_names() if n in table]
    order = np.argsort(table[LEAD], kind="stable") if LEAD in table else np.arange(cf.n)
    final = tr.final_canvas[0]
    wrong = set()
    if facts is not None:
        errs = view.errors(tr, tr.num_steps - 1) or {}
        wrong = {int(p) for where in errs.values() for p in where}
    checker = facts is not None and any(f is not None for f in cf.fixes)
    head = ("<tr><th>commit step</th><th>position</th><th class='tk'>token</th><th class='tk'>runner-up</th>"
            "<th title='g = change of the trajectory log-likelihood when the runner-up replaces the token'>g</th>"
            "<th>cells changed</th>" + (f"<th>{'still right?' if facts['solved'] else 'fixes?'}</th>" if checker else "")
            + "".join(f"<th data-finder='{n}' title='{html.escape(ROOT_FINDERS.get(n).description, quote=True)}'>"
                      f"{html.escape(n).replace('-', '-<wbr>')}</th>"  # long names wrap at their hyphens
                      for n in names) + "</tr>")
    dep = cf.dependency
    body = []
    for j in order:
        s, p = int(cf.steps[j]), int(cf.positions[j])
        classes = (["wrong"] if p in wrong and int(final[p]) == int(cf.tokens[j]) else []) + (
            ["story"] if mark == (s, p) else [])
        cls = (f" class='{' '.join(classes)}'" if classes else "") + (f" style='{STORY_STYLE}'" if mark == (s, p) else "")
        cells = [str(s), cell_name(view, tr, p), f"<td class='tk'>{html.escape(repr(show(cf.tokens[j])))}</td>",
                 f"<td class='tk'>{html.escape(repr(show(cf.alternatives[j])))}</td>", _fmt(cf.g[j]),
                 str(int(dep[j].sum()))]
        row = [c if c.startswith("<td") else f"<td>{c}</td>" for c in cells]
        if checker:
            fx = cf.fixes[j]
            row.append("<td>–</td>" if fx is None else ("<td class='yes'>✓</td>" if fx else "<td class='no'>✗</td>"))
        for n in names:
            r = int(table[n][j])
            row.append(f"<td class='top3'>{r}</td>" if 1 <= r <= TOP else f"<td>{r}</td>")
        body.append(f"<tr data-step='{s}' data-pos='{p}'{cls}>{''.join(row)}</tr>")
    return f'<div class="roots"><table><thead>{head}</thead><tbody>{"".join(body)}</tbody></table></div>'


def suspects_canvas(tr, ranks: dict | None, view, finder: str = LEAD) -> str:
    """The final canvas with the top suspects of `finder` ringed and numbered (the view's error
    marks show the wrong cells where there is a checker)."""
    body = canvas_html(tr, tr.num_steps - 1, "none", view, title=f"final canvas · top {TOP} suspects by {finder}")
    order = (ranks or {}).get(finder) or []
    top = [int(p) for _, p in order[:TOP]]
    extra = {p: f'data-rank="{i + 1}"' for i, p in reversed(list(enumerate(top)))}
    return mark_cells(body, top, "suspect", f"suspect by {finder}", extra)


def summary_html(tr, cf, ranks, facts, est, job=None, cached=False) -> str:
    if job is not None and not job.finished.is_set():
        pct = 100.0 * job.done / job.total if job.total else 0.0
        phase = "counterfactuals" if job.done < est["branches"] else "root finders"
        return (f'<div class="boe-status"><span class="badge run">computing the {phase}</span>'
                f'<span class="badge">{job.done} / {job.total or "?"}</span>{cost_html(tr, est)}</div>'
                f'<div class="progress"><div style="width:{pct:.0f}%"></div></div>')
    if cf is None:
        return f'<div class="boe-status">{cost_html(tr, est)}</div>'
    show = token_shower(tr)
    bits = [f'<span class="badge strong">{cf.n} counterfactuals</span>',
            f'<span class="badge">{cf.forwards} batched forwards, {cf.seconds:.1f} s{" (cached)" if cached else ""}</span>']
    if not cf.complete:
        bits.append('<span class="badge warn">cancelled: partial (no rankings)</span>')
    order = (ranks or {}).get(LEAD) or []
    if order:
        s, p = order[0]
        j = next(i for i, c in enumerate(cf.commits()) if c == (s, p))
        bits.append(f'<span class="badge bad">top suspect ({LEAD}): step {s}, position {p}, '
                    f'{html.escape(repr(show(cf.tokens[j])))}→{html.escape(repr(show(cf.alternatives[j])))}, '
                    f'g = {_fmt(cf.g[j])}</span>')
    if facts is None:
        bits.append('<span class="badge muted">no checker for this task: the rankings need none</span>')
    else:
        bits.append(f'<span class="badge {"ok" if facts["solved"] else "bad"}">run: '
                    f'{"solved" if facts["solved"] else "wrong"}</span>')
        fw = facts["first_wrong"]
        if fw is not None:
            bits.append(f'<span class="badge diverge">first wrong commit: step {fw["step"]} '
                        f'({html.escape(fw["where"])})</span>')
        fixes = [f for f in cf.fixes if f is not None]
        if fixes:
            how = "still solve it" if facts["solved"] else "make the answer right"
            bits.append(f'<span class="badge {"ok" if any(fixes) else "muted"}">{sum(fixes)} of {len(fixes)} '
                        f'counterfactuals {how}</span>')
    return f'<div class="boe-status">{"".join(bits)}</div>'


def cascade_json(cf, ranks, facts, est, job=None, cached=False) -> dict:
    out = {**(job.info() if job is not None else {"job_id": None, "status": "done"}), "cached": cached, "cost": est,
           "checker": facts}
    if cf is not None:
        df = cf.to_pandas()
        for name, r in rank_table(cf, ranks).items():
            df[f"rank:{name}"] = r
        out["commits"] = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                          for row in df.to_dict("records")]
        out.update(complete=cf.complete, forwards=cf.forwards, seconds=round(cf.seconds, 3))
        out["suspects"] = {n: [list(c) for c in o[:TOP]] for n, o in (ranks or {}).items()}
    for row in out.get("commits", []):
        for k, v in list(row.items()):
            if isinstance(v, float) and not math.isfinite(v):
                row[k] = None
    return out


# --- handlers ------------------------------------------------------------------------------------
def _outputs(sess, tr, cf, ranks, facts, est, job=None, cached=False, finder=LEAD, mark=None):
    view = task_view(sess)
    return (sess, summary_html(tr, cf, ranks, facts, est, job, cached), graph_html(tr, cf, view, ranks, mark),
            ranks_html(tr, cf, ranks, view, facts, mark), suspects_canvas(tr, ranks, view, finder) if ranks else
            canvas_html(tr, tr.num_steps - 1, "none", view, title="final canvas"),
            cascade_json(cf, ranks, facts, est, job, cached))


def cascade(sess, finder=LEAD):
    """Compute (or fetch) the run's counterfactuals and its root finders' rankings, yielding
    progress; (session, summary, dependency graph, rankings table, canvas with the suspects, JSON)."""
    yield from _cascade(ensure(sess), _check_finder(finder))


def _cascade(sess, finder, mark=None):
    tr = finished_trace(sess)
    adapter = model_for(tr, "The cascade view")
    est = estimate_forwards(tr)
    facts = checker_facts(sess, tr)
    cf, ranks = _cached(tr)
    if cf is not None:
        yield _outputs(sess, tr, cf, ranks, facts, est, cached=True, finder=finder, mark=mark)
        return
    names = finder_names()

    def work(job):
        n = est["branches"]
        total = n + len(names)
        job.progress(0, total)
        done = Counterfactuals.from_trace(tr, 0)
        cf = done or counterfactuals(adapter, tr, 0, progress=lambda d, _t: job.progress(d, total), cancel=job.cancel)
        if not cf.complete or job.cancel.is_set():
            return cf, None
        out, commits = {}, commits_of(tr, 0)
        # a finder built from others' scores (reread-surprise) reuses them: the read-back runs once
        for i, (name, scores, _) in enumerate(score_finders(adapter, tr, 0, names, cf)):
            out[name] = order_of(scores, commits)
            job.progress(n + i + 1, total)
            if job.cancel.is_set():
                return cf, None
        out = {name: out[name] for name in names}  # the tab's order
        _keep(tr, out)
        return cf, out

    job = jobs.start(KIND, sess.uid, work)
    job.total = est["branches"] + len(names)
    for j in jobs.follow(job):
        if not j.finished.is_set():
            yield _outputs(sess, tr, None, None, facts, est, j, mark=mark)
    if job.error is not None:
        e = job.error
        raise e if isinstance(e, (ConfigError, UserError)) else UserError(f"the cascade view failed: {type(e).__name__}: {e}")
    cf, ranks = job.result
    yield _outputs(sess, tr, cf, ranks, facts, est, job, finder=finder, mark=mark)


def cascade_story(sess, model=None, label=None):
    """Open a cascade story of `model`: run its example with the settings it was measured with,
    then compute its counterfactuals and root finders, the story's commit outlined, and repair the
    run when the story names repair rounds; yields (session, story panel, the finder whose suspects
    the canvas shows, summary, graph, rankings, canvas, JSON, repair panel, repair JSON)."""
    from . import handlers as H, models, stories
    from .repair import repair, repair_html

    sess = ensure(sess)
    model = models.check_name(model)
    st = stories.find(model, label)
    if st.get("kind") != stories.CASCADE:
        raise UserError(f"story={str(label)[:60]!r} is not a cascade story (open it from the Stories picker)")
    for _ in H.run(sess, **stories.run_values(st, model, H.default_inputs(model))):
        pass
    spec = st.get("cascade") or {}
    finder = spec.get("finder") if spec.get("finder") in ROOT_FINDERS else LEAD
    mark = tuple(int(x) for x in spec["open"]) if isinstance(spec.get("open"), (list, tuple)) else None
    panel = stories.cascade_story_html(st)
    rep = (repair_html(None, None, None), {})  # a story that names repair rounds fills the repair panel too
    for out in _cascade(sess, finder, mark):
        yield (out[0], panel, finder, *out[1:], *rep)
    if spec.get("repair"):
        rep = repair(sess, spec["repair"])
        yield (out[0], panel, finder, *out[1:], *rep)


def story_choices(model):
    """The Cascade tab's story picker for `model` (hidden when it has no cascade story)."""
    import gradio as gr

    from . import stories

    told = stories.cascade_labels(model)
    return gr.Dropdown(choices=told, value=told[0] if told else None, visible=bool(told)), gr.update(visible=bool(told))


def _check_finder(finder) -> str:
    finder = finder or LEAD
    if finder not in ROOT_FINDERS:
        raise ConfigError("finder", finder, f"must be one of {', '.join(finder_names())}")
    return finder


def cascade_suspects(sess, finder=LEAD):
    """The canvas with the top suspects of another finder (from the computed rankings)."""
    sess = ensure(sess)
    finder = _check_finder(finder)
    tr = finished_trace(sess)
    _, ranks = _cached(tr)
    if ranks is None:
        raise UserError("no rankings yet: compute the counterfactuals first")
    return suspects_canvas(tr, ranks, task_view(sess), finder)


def cascade_cancel(sess, job_id=""):
    sess = ensure(sess)
    return {"cancelled": [j.id for j in jobs.cancel(KIND, sess.uid, job_id or None)]}


def cascade_open(sess, step=None, position=None):
    """Open the counterfactual of the commit (step, position) in Compare: its runner-up written
    before step + 1, the run's policy on (the Compare outputs)."""
    from boe_core.counterfactuals import runner_up

    from .intervene import intervene

    sess = ensure(sess)
    tr = finished_trace(sess)
    from boe_core.tasks.fields import as_int

    s = as_int("step", step, minimum=0)
    p = as_int("position", position, minimum=0)
    if s >= tr.num_steps or p >= tr.initial_canvas.shape[1] or not bool(tr.records[s].chosen[0, p]) or tr.fixed[0, p]:
        raise ConfigError("step", s, f"position {p} was not committed (as a decoded token) at step {s}")
    _, _, alt, _ = runner_up(tr, s, p, 0)
    yield from intervene(sess, p, "replace", f"#{alt}", s + 1, "")


# --- the tab (built and wired by app/tabs/cascade.py) ---------------------------------------------
CLICK_JS = r"""
element.addEventListener('click', (e) => {
  const row = e.target.closest('[data-step][data-pos]');
  if (!row || !element.contains(row)) return;
  trigger('click', {step: +row.dataset.step, position: +row.dataset.pos});
});
"""


def cascade_tab(u, d: dict | None = None):
    """The Cascade tab's components, on the namespace `u` (`d`: the first input values)."""
    import gradio as gr

    from . import stories
    from .repair import MAX_ROUNDS, repair_html
    from .restarts import MAX_DECODES, MAX_UNDOS, backtrack_html, restarts_html

    told = stories.cascade_labels((d or {}).get("model"))

    with gr.Tab("Cascade", id="cascade") as u.cas_tab:
        gr.Markdown("Which commit do the run's later tokens hang on? Every decoded commit is replaced by its "
                    "**runner-up** right after its step, and the run's own policy decodes the rest (one batch of "
                    "branches per step). The **dependency graph** shows which cells each replacement changed; the "
                    "**root finders** rank the commits (the `counterfactual` column: is the whole trajectory more "
                    "likely with the runner-up?). No checker needed; with one, the wrong cells and whether each "
                    "counterfactual fixes the answer are shown too. Click a commit to open its counterfactual in "
                    "**Compare**.")
        with gr.Row():
            u.cas_story_pick = gr.Dropdown(told, value=told[0] if told else None, label="Cascade story",
                                           visible=bool(told), elem_id="cascade-story", scale=4,
                                           info="a run whose counterfactuals were measured; with an explanation")
            u.cas_story_b = gr.Button("Open the story", elem_id="btn-cascade-story", visible=bool(told), scale=1)
        u.cas_story_text = gr.HTML("", label="cascade_story", elem_id="cascade-story-text", js_on_load=None,
                                   min_height=0)
        with gr.Row():
            u.cas_b = gr.Button("Compute the counterfactuals", variant="primary", elem_id="btn-cascade", scale=2)
            u.cas_stop = gr.Button("Cancel", elem_id="btn-cascade-cancel", scale=1)
            u.cas_finder = gr.Dropdown(finder_names(), value=LEAD, label="Suspects on the canvas by",
                                       elem_id="cascade-finder", scale=2)
        u.cas_status = gr.HTML("", label="cascade_summary", elem_id="cascade-status", js_on_load=None, min_height=0)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                u.cas_graph = gr.HTML(graph_html(None, None, None), label="dependency_graph", elem_id="cascade-graph",
                                      js_on_load=CLICK_JS)
            with gr.Column(scale=2):
                u.cas_canvas = gr.HTML("", label="suspects", elem_id="cascade-canvas", js_on_load=None)
        u.cas_table = gr.HTML(ranks_html(None, None, None, None, None), label="root_rankings", elem_id="cascade-ranks",
                              js_on_load=CLICK_JS)
        with gr.Accordion("Cascade data (JSON)", open=False):
            u.cas_info = gr.JSON(label="cascade", show_label=False)
        with gr.Accordion("Repair the run (no checker)", open=False, elem_id="repair-panel") as u.rep_acc:
            with gr.Row():
                u.rep_rounds = gr.Number(3, precision=0, minimum=1, maximum=MAX_ROUNDS, label="suspects to try",
                                         elem_id="repair-rounds", scale=1,
                                         info="most suspect first (lowest commit confidence)")
                u.rep_b = gr.Button("Repair the run", elem_id="btn-repair", scale=1)
            u.rep_out = gr.HTML(repair_html(None, None, None), label="repair", elem_id="repair-out", min_height=0)
            u.rep_info = gr.JSON(label="repair", visible=False)
        with gr.Accordion("Search again from the run (view-hop on Sudoku, no checker)", open=False,
                          elem_id="restarts-panel"):
            with gr.Row():
                u.bt_n = gr.Number(6, precision=0, minimum=0, maximum=MAX_UNDOS, label="guesses to undo, at most",
                                   elem_id="backtrack-undos", scale=1,
                                   info="the latest guess, whenever the model doubts what it wrote")
                u.bt_b = gr.Button("Backtrack over its guesses", elem_id="btn-backtrack", scale=1)
            u.bt_out = gr.HTML(backtrack_html(None, None, None), label="backtrack", elem_id="backtrack-out",
                               min_height=0)
            u.bt_info = gr.JSON(label="backtrack", visible=False)
            with gr.Row():
                u.rst_n = gr.Number(2, precision=0, minimum=1, maximum=MAX_DECODES, label="decodes in all",
                                    elem_id="restarts-decodes", scale=1,
                                    info="the run's own first; another only while the model doubts its grid")
                u.rst_b = gr.Button("Decode again from another view", elem_id="btn-restarts", scale=1)
            u.rst_out = gr.HTML(restarts_html(None, None, None), label="restarts", elem_id="restarts-out",
                                min_height=0)
            u.rst_info = gr.JSON(label="restarts", visible=False)
        u.cas_step = gr.Number(None, precision=0, label="commit step", visible=False)
        u.cas_pos = gr.Number(None, precision=0, label="position", visible=False)


def wire_cascade(u, guard):
    """Connect the Cascade tab's events (API names: cascade, cascade_cancel, cascade_open,
    cascade_suspects, repair, restarts, backtrack)."""
    import gradio as gr

    outs = [u.sess, u.cas_status, u.cas_graph, u.cas_table, u.cas_canvas, u.cas_info]
    u.cas_cancelled = gr.JSON(visible=False)
    u.cas_tab.select(guard(cascade_cost), [u.sess], [u.cas_status], show_progress="hidden", **u.private)
    u.cas_b.click(guard(cascade), [u.sess, u.cas_finder], outs, api_name="cascade", **u.model_work)
    u.cas_stop.click(guard(cascade_cancel), [u.sess, u.job_id], u.cas_cancelled, api_name="cascade_cancel")
    u.cas_finder.input(guard(cascade_suspects), [u.sess, u.cas_finder], u.cas_canvas, api_name="cascade_suspects",
                       show_progress="hidden")
    from .repair import repair

    u.rep_b.click(guard(repair), [u.sess, u.rep_rounds], [u.rep_out, u.rep_info], api_name="repair", **u.model_work)
    from .restarts import backtrack_run, restarts

    u.rst_b.click(guard(restarts), [u.sess, u.rst_n], [u.rst_out, u.rst_info], api_name="restarts", **u.model_work)
    u.bt_b.click(guard(backtrack_run), [u.sess, u.bt_n], [u.bt_out, u.bt_info], api_name="backtrack", **u.model_work)

    def open_clicked(sess, evt):
        d = getattr(evt, "_data", None) or {}
        for out in cascade_open(sess, d.get("step"), d.get("position")):
            yield (gr.Tabs(selected="compare"), *out)

    open_clicked.__annotations__ = {"evt": gr.EventData}  # Gradio passes the click's data
    for comp in (u.cas_graph, u.cas_table):
        comp.click(guard(open_clicked), [u.sess], [u.tabs, *u.compare_out], show_progress="minimal",
                   **u.model_work, **u.private)
    # a cascade story: the setup column takes its inputs, then it runs and its Cascade is computed
    from .explore import explore_outputs
    from .setup_panel import on_story, preset_fields

    c = u.c  # wired before the setup column names its fields on `u`
    setup = [c["prompt"], c["puzzle"], u.grid, c["gen_length"], c["steps"], u.preset, *preset_fields(c), u.branch_preset,
             u.branch_at, u.story_text]
    def fill_setup(label, model):  # the story's panel is the Cascade tab's: the setup column's is cleared
        return (*on_story(label, model)[:-1], "")

    def open_repair(label, model):  # a story that repairs its run opens the repair panel
        from . import stories

        try:
            spec = stories.find(model, label).get("cascade") or {}
        except UserError:  # not a story of this model: the story handler says so
            spec = {}
        return gr.Accordion(open=bool(spec.get("repair")))

    u.cas_story_b.click(guard(fill_setup), [u.cas_story_pick, c["model"]], setup, **u.private).success(
        open_repair, [u.cas_story_pick, c["model"]], u.rep_acc, show_progress="hidden", **u.private).success(
        guard(cascade_story), [u.sess, c["model"], u.cas_story_pick],
        [u.sess, u.cas_story_text, u.cas_finder, *outs[1:], u.rep_out, u.rep_info], **u.model_work,
        **u.private).success(
        guard(explore_outputs), [u.sess, u.overlay], u.explore_out, show_progress="hidden", **u.private).then(**u.menus)
    c["model"].change(story_choices, c["model"], [u.cas_story_pick, u.cas_story_b], show_progress="hidden", **u.private)
    c["model"].change(lambda: "", None, u.cas_story_text, show_progress="hidden", **u.private)
    u.cas_story_api = gr.Button(visible=False)
    u.cas_story_api.click(guard(cascade_story), [u.sess, c["model"], u.cas_story_pick],
                          [u.sess, u.cas_story_text, u.cas_finder, *outs[1:], u.rep_out, u.rep_info],
                          api_name="cascade_story",
                          **u.model_work)
    u.cas_api = gr.Button(visible=False)
    u.cas_api.click(guard(cascade_open), [u.sess, u.cas_step, u.cas_pos], u.compare_out, api_name="cascade_open",
                    **u.model_work)
