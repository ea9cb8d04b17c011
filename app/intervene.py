"""Interventions from the explorer: pick a committed cell of the run (a click on the Explore canvas,
or its position), take it back ([MASK]) or replace it (one of its top-k alternatives at its commit
step, or any token), and let the run's policy (or another) continue from a step; the branch opens
in Compare beside the run, the edited cells marked. The work itself is `boe_core.intervene`."""
from __future__ import annotations

import html
import math

import numpy as np

from boe_core import ConfigError, POLICIES
from boe_core.intervene import canvas_before, check_edits, intervene as core_intervene
from boe_core.tasks.token_text import is_bytelevel, token_text
from boe_core.tasks.views import commit_steps

from .common import ensure, model_for
from .session import PRESETS, UserError, as_int, preset_overrides

ACTIONS = ("mask", "replace")
RUNS_OWN = "(the run's policy)"  # the policy field's default: continue as the run did
TOP_ALTERNATIVES = 8


# --- the selected cell -----------------------------------------------------------------------------
def _run(sess):
    tr = sess.trace
    if tr is None or not tr.records:
        raise UserError("nothing to intervene on: run (or load) a trace first")
    return tr


def cell_facts(tr, position) -> dict:
    """What the panel shows of a committed, decoded cell of row 0: its commit step, token, the
    probability it had then, and the other proposals of that step (best first). UserError for a
    prompt or fixed cell, padding, or a cell still masked at the end of the trace."""
    N = tr.initial_canvas.shape[1]
    pos = as_int("position", position, minimum=0)
    if pos >= N:
        raise ConfigError("position", pos, f"out of range: the canvas has {N} positions")
    if tr.attention_mask is not None and not tr.attention_mask[0, pos]:
        raise UserError(f"position {pos} is padding, not part of the canvas")
    if tr.fixed[0, pos]:
        raise UserError(f"position {pos} is part of the prompt (a fixed cell): only decoded tokens can be taken "
                        f"back or replaced")
    final = tr.final_canvas[0]
    step = int(commit_steps(tr)[pos])
    if step < 0 or int(final[pos]) == tr.mask_id:
        raise UserError(f"position {pos} is still masked at step {tr.num_steps - 1}: there is no committed token to "
                        f"take back or replace")
    r = tr.records[step]
    tok = int(r.canvas_after[0, pos])
    bl = is_bytelevel(tr.id_to_token)
    show = lambda t: token_text(tr.id_to_token.get(int(t), f"<{t}>"), bl)  # noqa: E731
    alts = [(int(t), show(t), float(p)) for t, p in zip(r.topk_ids[0, pos].tolist(), r.topk_probs[0, pos].tolist())
            if t >= 0 and t != tok][:TOP_ALTERNATIVES]
    p = float(r.confidence[0, pos])
    return {"position": pos, "step": step, "token": tok, "text": show(tok), "p": p if math.isfinite(p) else None,
            "alternatives": alts, "num_steps": tr.num_steps}


def cell_html(f: dict | None) -> str:
    if f is None:
        return ('<div class="boe-status iv-cell">Click a committed cell on the <b>Explore</b> canvas (or type its '
                'position and press <b>Select</b>).</div>')
    p = "" if f["p"] is None else f", p = {f['p']:.1%}"
    return (f'<div class="boe-status iv-cell"><span class="badge strong">position {f["position"]}</span>'
            f'<span class="badge">{html.escape(repr(f["text"]))} committed at step {f["step"]}{p}</span>'
            f'<span class="badge muted">{len(f["alternatives"])} alternatives recorded at that step</span></div>')


def alternative_choices(f: dict) -> list[tuple[str, str]]:
    """(label, value) of the cell's alternatives; the value names the token id ("#id")."""
    return [(f"{text!r} · {p:.1%}", f"#{t}") for t, text, p in f["alternatives"]]


def select_cell(sess, position=None):
    """The panel for the cell at `position`: (position, cell facts HTML, alternatives dropdown,
    the step to apply at: its commit step + 1)."""
    import gradio as gr

    sess = ensure(sess)
    f = cell_facts(_run(sess), position)
    choices = alternative_choices(f)
    return (f["position"], cell_html(f), gr.Dropdown(choices=choices, value=choices[0][1] if choices else None),
            min(f["step"] + 1, f["num_steps"]))


# --- the token a user names --------------------------------------------------------------------------
_VOCABS: dict = {}


def _vocab(adapter) -> tuple[dict, dict]:
    """({token string: id}, {displayed text: id}) of a model, built once per adapter."""
    key = id(adapter)
    if key not in _VOCABS:
        V = int(adapter.embedding_matrix().shape[0])
        raw = {}
        for i in range(V):
            try:
                raw.setdefault(adapter.id_to_token(i), i)
            except Exception:
                continue
        bl = is_bytelevel({i: t for t, i in list(raw.items())[:4000]})
        shown = {}
        for t, i in raw.items():
            shown.setdefault(token_text(t, bl), i)
        _VOCABS[key] = (raw, shown)
    return _VOCABS[key]


def resolve_token(adapter, token) -> int:
    """A token id from what the user typed: "#id", the token's own string, its displayed text
    (with or without a leading space), or a bare id when no token reads like that."""
    if isinstance(token, (int, np.integer)) and not isinstance(token, bool):
        return int(token)
    s = "" if token is None else str(token)
    if not s.strip():
        raise ConfigError("token", token, "is empty: choose an alternative or type a token")
    if s.startswith("#") and s[1:].isdigit():
        return int(s[1:])
    raw, shown = _vocab(adapter)
    for cand in (s, s.strip()):
        if cand in raw:
            return raw[cand]
        if cand in shown:
            return shown[cand]
    if " " + s.strip() in shown:
        return shown[" " + s.strip()]
    if s.strip().isdigit():
        return int(s.strip())
    raise ConfigError("token", token, "is not a token of the model: type a token's text, or #id for a token id")


def _policy(tr, policy) -> tuple[str | None, dict]:
    """(policy name or None for the run's own, its settings overrides) from a preset label or name."""
    if policy in (None, "", RUNS_OWN) or policy == tr.config.get("policy"):
        return None, {}
    if policy not in PRESETS and policy not in POLICIES:
        raise ConfigError("policy", policy, f"unknown preset or policy; policies: {', '.join(sorted(POLICIES))}")
    return preset_overrides(policy)


# --- the handler -----------------------------------------------------------------------------------------
def intervene(sess, position=None, action="mask", token="", at_step=None, policy=""):
    """Take back (action "mask") or replace (action "replace", `token`: its text or "#id") the
    committed token at `position` in the canvas before `at_step` (default: its commit step + 1), and
    let `policy` (a preset or policy; default the run's) decode the rest; yields the Compare outputs
    while the branch is decoded, then the comparison with the edited cell marked."""
    from .compare import compare_outputs, partial_of, stream_branch

    sess = ensure(sess)
    tr = _run(sess)
    f = cell_facts(tr, position)
    if action not in ACTIONS:
        raise ConfigError("action", action, f"must be one of {', '.join(ACTIONS)}")
    at = f["step"] + 1 if at_step in (None, "") else as_int("at_step", at_step, minimum=0)
    if at > tr.num_steps:
        raise ConfigError("at_step", at, f"must be in [0, {tr.num_steps}] (the run has {tr.num_steps} steps)")
    name, overrides = _policy(tr, policy)
    adapter = model_for(tr, "Intervening")
    edit = "mask" if action == "mask" else resolve_token(adapter, token)
    if edit != "mask" and edit == int(canvas_before(tr, at)[0, f["position"]]):
        raise ConfigError("token", token, f"is the token already there before step {at}: nothing would change")
    check_edits(adapter, tr, at, {f["position"]: edit}, 0)  # refuse before any thread starts
    partial = partial_of(tr, at, name or tr.config.get("policy"), overrides,
                         {"interventions": [*tr.meta.get("interventions", []),
                                            {"step": at, "row": 0, "positions": [f["position"]],
                                             "old": [f["token"]], "new": [edit if edit == "mask" else int(edit)],
                                             "policy": name or tr.config.get("policy")}]})
    yield from stream_branch(sess, tr, partial, adapter, "intervene", "the intervention failed",
                             lambda callback: core_intervene(adapter, tr, at, {f["position"]: edit}, policy=name,
                                                             callback=callback, **overrides))
    yield compare_outputs(sess)


def intervene_form(sess, position=None, action="mask", alternative=None, token="", at_step=None, policy=""):
    """The panel's button: the typed token when there is one, else the chosen alternative."""
    typed = "" if token is None else str(token)
    yield from intervene(sess, position, action, typed if typed.strip() else alternative, at_step, policy)


# --- the panel (in the Compare tab) and its wiring (called by app/ui.py) ------------------------------
# A click on a cell of the Explore canvas sends its position (the canvas marks committed, decoded
# cells with data-commit; the handler refuses the rest with a message).
CANVAS_JS = r"""
if (!element._boeCellClick) {
  element._boeCellClick = true;
  element.addEventListener('click', (e) => {
    const cell = e.target.closest('[data-pos]');
    if (!cell || !element.contains(cell)) return;
    trigger('click', {position: +cell.dataset.pos});
  });
}
"""


def intervene_panel(u):
    """The Intervene panel's components, on the namespace `u`."""
    import gradio as gr

    with gr.Accordion("Intervene on one cell", open=True, elem_id="intervene"):
        gr.Markdown("Click a committed cell on the **Explore** canvas: take it back ([MASK]) or replace it, from "
                    "a step of your choice, and let a policy decode the rest. The branch opens below as run B, "
                    "the edited cell ringed.", elem_classes="hint-text")
        with gr.Row():
            u.iv_pos = gr.Number(None, precision=0, label="Position", elem_id="iv-pos", minimum=0, scale=1, min_width=90)
            u.iv_sel = gr.Button("Select", elem_id="btn-iv-select", scale=0, min_width=80)
            u.iv_cell = gr.HTML(cell_html(None), label="intervene_cell", elem_id="iv-cell", js_on_load=None,
                                min_height=0, scale=5)
        with gr.Row():
            u.iv_action = gr.Radio([("take back ([MASK])", "mask"), ("replace with …", "replace")], value="replace",
                                   label="Action", elem_id="iv-action", scale=2)
            u.iv_alt = gr.Dropdown([], value=None, label="… an alternative at its commit step", elem_id="iv-alt",
                                   scale=2)
            u.iv_token = gr.Textbox("", label="… or any token", placeholder="its text, or #id", elem_id="iv-token",
                                    scale=1)
        with gr.Row():
            u.iv_step = gr.Number(None, precision=0, label="Before step", info="default: commit step + 1",
                                  elem_id="iv-step", minimum=0, scale=1)
            u.iv_policy = gr.Dropdown([RUNS_OWN, *PRESETS], value=RUNS_OWN, label="Then continue with",
                                      elem_id="iv-policy", allow_custom_value=True, scale=2)
            u.iv_b = gr.Button("Intervene", variant="primary", elem_id="btn-intervene", scale=1)


def wire_intervene(u, guard):
    """Connect the panel (API name: intervene) and the Explore canvas' cell clicks."""
    import gradio as gr

    def pick(sess, evt):
        return select_cell(sess, (getattr(evt, "_data", None) or {}).get("position"))

    pick.__annotations__ = {"evt": gr.EventData}  # Gradio passes the click's data
    u.canvas.js_on_load = CANVAS_JS  # read when the page config is built
    u.canvas.click(guard(pick), [u.sess], [u.iv_pos, u.iv_cell, u.iv_alt, u.iv_step], show_progress="hidden",
                   **u.private).success(lambda: gr.Tabs(selected="compare"), None, u.tabs, **u.private)
    u.iv_sel.click(guard(select_cell), [u.sess, u.iv_pos], [u.iv_pos, u.iv_cell, u.iv_alt, u.iv_step],
                   **u.private)
    u.iv_b.click(guard(intervene_form), [u.sess, u.iv_pos, u.iv_action, u.iv_alt, u.iv_token, u.iv_step, u.iv_policy],
                 u.compare_out, show_progress="minimal", **u.model_work, **u.private)
    u.iv_api = gr.Button(visible=False)
    u.iv_api.click(guard(intervene), [u.sess, u.iv_pos, u.iv_action, u.iv_token, u.iv_step, u.iv_policy],
                   u.compare_out, api_name="intervene", **u.model_work)
