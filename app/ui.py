"""The Gradio layout and the wiring of events to `app.handlers` (with stable API names)."""
from __future__ import annotations

import functools
import inspect
import logging
from types import SimpleNamespace

import gradio as gr

from boe_core import ConfigError
from boe_core.knobs import ui_value
from boe_core.policies import POLICIES
from boe_core.tasks.views import get_view, views

from . import compare, fidelity, fidelity_run, files, frontier, lockin, models, overlays, stories
from .cascade import cascade_tab, wire_cascade
from . import handlers as H
from .about import ABOUT_MD
from .canvas import empty
from .grid_editor import GRID_JS, grid_value
from .inputs import build, build_knobs, knobs_of, ordered, scoped_knobs, scoped_name
from .explore import FIXED_HEATMAPS, PICKED_DEFAULT
from .session import BRANCH_DEFAULT, DEFAULT_PRESET, PRESETS, UserError
from .status import starting_html

log = logging.getLogger("boe_explorer")

TITLE = "BoE Explorer"
HEADER = """<div id="boe-header"><h1>BoE Explorer</h1>
<p>Watch a masked diffusion model decode step by step, and steer it with <b>Backward-on-Entropy</b>:
reveal first the tokens whose commit most lowers the uncertainty of everything still masked.</p></div>"""


def _user_message(e: Exception) -> str:
    return str(e)


def guard(fn):
    """Turn user mistakes into a clear `gr.Error` (a toast in the page, an error for API clients)
    and never leak a traceback; unexpected failures are logged server-side."""
    def convert(e):
        if isinstance(e, gr.Error):
            return e
        if isinstance(e, (ConfigError, UserError)):
            return gr.Error(_user_message(e), title="Invalid input", print_exception=False)
        log.exception("handler %s failed", getattr(fn, "__name__", fn))
        return gr.Error(f"Something went wrong ({type(e).__name__}: {e}). The server is still running.",
                        title="Error", print_exception=False)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*a, **k):
            try:
                yield from fn(*a, **k)
            except Exception as e:
                raise convert(e) from None
        return gen

    @functools.wraps(fn)
    def call(*a, **k):
        try:
            return fn(*a, **k)
        except Exception as e:
            raise convert(e) from None
    return call


def _theme():
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="orange", neutral_hue="slate",
                          font=["Inter", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


# Inputs a task view may hide (each sits in its own group of the setup column).
HIDEABLE = ("prompt", "gen_length", "puzzle")


def view_of(model):
    """The task view of a model name (the text view for an unknown name)."""
    return get_view(models.task_of(model) if model in models.model_choices() else "text")


def _setup_column(c: dict, d: dict):
    """The setup fields; the run inputs go into `c`. Returns (example dropdown, hideable groups,
    grid editor, preset, export format, export button, export file, upload)."""
    view = get_view(d["task"])
    labels = [e.label for e in view.examples()]
    build(c, d, "model")
    example = gr.Dropdown(labels, value=labels[0] if labels else None, label="Example", visible=bool(labels))
    told = stories.labels(d["model"])
    story = gr.Dropdown(told, value=None, label="Stories", visible=bool(told), elem_id="story",
                        info="validation examples where a policy locks into an error; with an explanation")
    story_text = gr.HTML("", label="story", elem_id="story-text", js_on_load=None, min_height=0)
    groups = {}
    with gr.Group(visible="prompt" in view.inputs) as groups["prompt"]:
        build(c, d, "prompt")
    with gr.Group(visible="gen_length" in view.inputs) as groups["gen_length"]:
        build(c, d, "gen_length")
    with gr.Group(visible="puzzle" in view.inputs) as groups["puzzle"]:
        build(c, d, "puzzle")
        with gr.Accordion("Edit as a grid", open=False):
            grid = gr.HTML(grid_value(d["puzzle"]), html_template='<div class="sdk sdk-edit"></div>',
                           js_on_load=GRID_JS, label="grid", elem_id="grid-editor", apply_default_css=False)
            gr.Markdown("Type 1–9 in a cell (focus moves on); Backspace or 0 clears it.", elem_classes="hint-text")
    preset = gr.Dropdown(list(PRESETS), value=DEFAULT_PRESET, label="Preset", info="sets the policy and its knobs")
    build(c, d, "policy", "settings")
    with gr.Row():
        build(c, d, "steps", "block_length")
    with gr.Row():
        build(c, d, "temperature", "seed")
    # every policy's own knobs, from its declarations, in a group per policy; the chosen policy's shows
    with gr.Accordion("Policy knobs", open=False, visible=bool(knobs_of(d["policy"])),
                      elem_id="policy-knobs") as c["_knobs"]:
        c["_knob_groups"] = build_knobs(c, d)
    with gr.Accordion("Trace files", open=False):
        with gr.Row():
            export_fmt = gr.Radio(["json", "parquet"], value="json", label="Format", min_width=120)
            export_btn = gr.Button("Export trace", min_width=100)
        export_file = gr.File(label="Download", interactive=False)
        upload = gr.File(label="Load a trace (.json export) to replay it without the model",
                         file_types=[".json"], type="filepath")
    return (example, [groups[n] for n in HIDEABLE], grid, preset, export_fmt, export_btn, export_file, upload, story,
            story_text)


# --- glue: keep the setup fields consistent (not part of the API) -----------------------------------------
def on_model(name, prompt):
    """Show the new model's inputs and examples; its default prompt when the current one does not
    suit it (or is another task's default); one token per step."""
    view, d = view_of(name), H.default_inputs(name if name in models.model_choices() else None)
    labels = [e.label for e in view.examples()]
    others = {v.default_values().get("prompt") for v in views().values()} - {d["prompt"]}
    try:
        view.check_values({"prompt": prompt})
        keep = prompt not in others
    except ConfigError:
        keep = False
    told = stories.labels(name)
    return (*[gr.Group(visible=n in view.inputs) for n in HIDEABLE],
            gr.Dropdown(choices=labels, value=labels[0] if labels else None, visible=bool(labels)),
            gr.Dropdown(choices=told, value=None, visible=bool(told)), "",
            gr.skip() if keep or "prompt" not in view.inputs else d["prompt"], gr.Number(value=d["steps"]))


def on_story(label, model):
    """A story's inputs, its run preset (and knobs), its branch policy and step, its explanation."""
    st = stories.find(model, label)
    v = st["values"]
    puzzle = v.get("puzzle")
    # the settings the story was measured with (a preset's meaning may change with the defaults)
    saved = st.get("run_settings")  # {"policy": ..., <its settings>}
    knobs = (on_preset(st.get("run_preset", DEFAULT_PRESET)) if not isinstance(saved, dict) else
             _preset_fields(saved.get("policy"), {k: v for k, v in saved.items() if k != "policy"}))
    return (v.get("prompt", gr.skip()), puzzle or gr.skip(), grid_value(puzzle) if puzzle else gr.skip(),
            v.get("gen_length", gr.skip()), v.get("steps", gr.skip()), st.get("run_preset", DEFAULT_PRESET), *knobs,
            st.get("other_preset", BRANCH_DEFAULT), int(st.get("branch_at", 0)), stories.story_html(st))


def on_example(choice, model):
    v = view_of(model).example_values(choice)
    puzzle = v.get("puzzle")
    return (v.get("prompt", gr.skip()), puzzle or gr.skip(), grid_value(puzzle) if puzzle else gr.skip(),
            v.get("steps", gr.skip()))


def on_puzzle(p, model):
    return grid_value(p), view_of(model).default_steps({"puzzle": p}) or gr.skip()


def on_grid(value, model, current=None):
    """The grid editor wrote a puzzle: copy it (and one step per blank) unless the puzzle field
    already holds it (an example or a story set both, with their own steps)."""
    p = grid_value(value if isinstance(value, str) else "")
    if current is not None and grid_value(current) == p:
        return gr.skip(), gr.skip()
    return p, view_of(model).default_steps({"puzzle": p}) or gr.skip()


def on_prompt(p, model):
    return view_of(model).default_steps({"prompt": p}) or gr.skip()


def on_preset(name):
    """The preset's policy and its knob values (the other policies' knobs stay as they are)."""
    v = H.preset_values(name)
    return _preset_fields(v["policy"], v["settings"])


def _preset_fields(policy, settings: dict) -> tuple:
    """Values for (policy, *every scoped knob): the given policy's knobs get `settings`; the rest skip."""
    if policy is None:
        return (gr.skip(), *(gr.skip() for _ in scoped_knobs()))
    return (policy, *(ui_value(k, settings[k.name]) if owner == policy and k.name in settings else gr.skip()
                      for owner, k in scoped_knobs()))


def on_policy(policy, groups: tuple):
    """Show the chosen policy's own knobs only (and the accordion only when it has any)."""
    return (gr.update(visible=bool(knobs_of(policy))), *(gr.update(visible=name == policy) for name in groups))


def preset_fields(c: dict) -> list:
    """The components a preset sets: the policy and every policy's knobs."""
    return [c["policy"], *[c[scoped_name(owner, k.name)] for owner, k in scoped_knobs()]]


def _explore_tab(u, default):
    """The Explore tab: controls, canvas, status, curves and heatmaps."""
    with gr.Tab("Explore", id="explore"):
        with gr.Row(elem_classes="boe-controls"):
            u.run_b = gr.Button("▶▶ Run", variant="primary", elem_id="btn-run")
            u.step_b = gr.Button("Step ▶|", elem_id="btn-step")
            u.back_b = gr.Button("|◀ Back", elem_id="btn-back")
            u.play_b = gr.Button("▶ Play", elem_id="btn-play")
            u.pause_b = gr.Button("❚❚ Pause", elem_id="btn-pause")
            u.reset_b = gr.Button("⟲ Reset", variant="stop", elem_id="btn-reset")
        with gr.Row():
            u.slider = gr.Slider(0, 1, value=0, step=1, label="Step", interactive=False,
                               elem_id="step-slider", scale=3)
            u.overlay = gr.Radio(overlays.overlay_choices(), value="none", label="Overlay",
                               elem_id="overlay", scale=2)
        u.status = gr.HTML(starting_html(default), label="status", elem_id="status", js_on_load=None, min_height=0)
        u.messages = gr.HTML("", label="messages", elem_id="messages", js_on_load=None, min_height=0)
        u.canvas = gr.HTML(empty("Loading…"), label="canvas", elem_id="canvas", js_on_load=None)
        u.curve = gr.Plot(label="masked_entropy", show_label=False, elem_id="curve")
        u.heatmaps = []
        with gr.Tabs():
            for f, api in zip(FIXED_HEATMAPS, HEATMAP_API_LABELS):
                with gr.Tab(f"{overlays.get(f).label} heatmap"):
                    u.heatmaps.append(gr.Plot(label=api, show_label=False))
            with gr.Tab("Any signal"):
                u.hm_signal = gr.Dropdown([(overlays.get(n).label, n) for n in overlays.heatmap_signals()],
                                        value=PICKED_DEFAULT, label="Signal", elem_id="heatmap-signal",
                                        info="every signal the sampler or a policy declares")
                u.heatmaps.append(gr.Plot(label=HEATMAP_API_LABELS[-1], show_label=False))
        with gr.Accordion("Step data (JSON)", open=False):
            u.info = gr.JSON(label="step_data", show_label=False)


def _compare_tab(u):
    """The Compare tab: branch from a step under another preset."""
    with gr.Tab("Compare", id="compare"):
        gr.Markdown("From a step (after Run: the first one where the run departs from confidence's "
                    "own pick), decode the rest with another policy and compare the two trajectories.")
        with gr.Row():
            u.branch_preset = gr.Dropdown(list(PRESETS), value=BRANCH_DEFAULT, label="Branch policy",
                                        scale=2)
            u.branch_at = gr.Number(0, precision=0, label="Branch at step", elem_id="branch-at", scale=1,
                                  minimum=0)
            u.branch_b = gr.Button("Branch at this step", variant="primary",
                                 elem_id="btn-branch", scale=1)
        u.branch_hint = gr.Markdown("", elem_id="branch-hint", elem_classes="hint-text")
        u.cmp_summary = gr.HTML(compare.compare_summary_html(None, None, None), label="summary", js_on_load=None)
        with gr.Row():
            u.cmp_a = gr.HTML(empty("Run A"), label="canvas_a", elem_classes="compare-pane", js_on_load=None,
                            elem_id="cmp-a")
            u.cmp_b = gr.HTML(empty("Run B"), label="canvas_b", elem_classes="compare-pane", js_on_load=None,
                            elem_id="cmp-b")
        u.cmp_slider = gr.Slider(0, 1, value=0, step=1, label="Show both runs at step", elem_id="cmp-slider",
                               interactive=False)
        u.cmp_curve = gr.Plot(label="masked_entropy_ab", show_label=False)
        with gr.Accordion("Comparison data (JSON)", open=False):
            u.cmp_info = gr.JSON(label="comparison", show_label=False)


def _lockin_tab(u):
    """The Lock-in tab: hand the rest of the decode over at every step."""
    with gr.Tab("Lock-in", id="lockin"):
        gr.Markdown("For the finished run: hand the rest of the decode to another policy at every step "
                    "k, and see how it ends. At most one rollout per step; steps where the run "
                    "committed confidence's own pick are inferred for free. Click a step to open that "
                    "hand-over side by side in **Compare**.")
        with gr.Row():
            u.li_policy = gr.Dropdown(sorted(POLICIES), value="confidence", label="Hand over to", scale=2,
                                    elem_id="lockin-policy")
            u.li_b = gr.Button("Compute the lock-in map", variant="primary", elem_id="btn-lockin",
                             scale=1)
            u.li_stop = gr.Button("Cancel", elem_id="btn-lockin-cancel", scale=1)
        u.li_status = gr.HTML("", label="lockin_summary", elem_id="lockin-status", js_on_load=None,
                            min_height=0)
        u.li_chart = gr.HTML(lockin.lockin_html(None), label="lockin_chart", elem_id="lockin-chart",
                           js_on_load=LOCKIN_JS)
        with gr.Row():
            u.li_step = gr.Number(0, precision=0, label="Hand-over step", elem_id="lockin-step",
                                minimum=0, scale=1)
            u.li_open = gr.Button("Open in Compare", elem_id="btn-lockin-open", scale=1)
        with gr.Accordion("Lock-in data (JSON)", open=False):
            u.li_info = gr.JSON(label="lockin", show_label=False)


def _fidelity_tab(u):
    """The Fidelity tab: TIS against the exact drop, per step and over the run."""
    with gr.Tab("Fidelity", id="fidelity"):
        gr.Markdown("Does the one-backward estimate (TIS) rank candidates like the real thing? "
                    "For the step selected in **Explore**, this computes the *exact* one-step "
                    "entropy drop of every BoE candidate (one forward each) and plots it "
                    "against TIS.")
        u.fid_b = gr.Button("Compute for the selected step", variant="primary", elem_id="btn-fidelity")
        u.fid_status = gr.HTML("", label="fidelity_summary", js_on_load=None)
        u.fid_plot = gr.Plot(label="fidelity_plot", show_label=False)
        u.fid_table = gr.Dataframe(headers=["position", "proposal", "TIS", "exact Δ"],
                                 datatype=["number", "str", "number", "number"], type="array",
                                 interactive=False, label="Candidates (by TIS)")
        with gr.Accordion("Fidelity data (JSON)", open=False):
            u.fid_info = gr.JSON(label="fidelity", show_label=False)
        gr.Markdown("**Over the whole run**: the same check at every step (one backward and |C| "
                    "forwards each), as Spearman ρ, sign agreement and top-1 agreement per step.")
        with gr.Row():
            u.fr_b = gr.Button("Compute over the whole run", variant="primary", elem_id="btn-fid-run")
            u.fr_stop = gr.Button("Cancel", elem_id="btn-fid-run-cancel")
        u.fr_status = gr.HTML("", label="fidelity_run_summary", elem_id="fid-run-status", js_on_load=None,
                            min_height=0)
        u.fr_plot_run = gr.Plot(fidelity_run.run_figure(None), label="fidelity_run_plot", show_label=False,
                              elem_id="fid-run-plot")
        with gr.Accordion("Whole-run fidelity data (JSON)", open=False):
            u.fr_info = gr.JSON(label="fidelity_run", show_label=False)


def _frontier_tab(u):
    """The Frontier tab: quality against compute of the last sweep."""
    with gr.Tab("Frontier", id="frontier"):
        gr.Markdown("Quality vs compute from the last sweeps (`python -m boe_core.bench frontier`, or `pareto`): "
                    "one line per policy over its budget knob (steps, or τ / γ for the adaptive samplers); "
                    "the black steps are the upper-left envelope, labelled by owner. Compute counts a "
                    "backward by its measured cost in forwards.")
        u.sweeps = frontier.sweep_files()
        u.fr_file = gr.Dropdown(u.sweeps, value=u.sweeps[0] if u.sweeps else None, label="Sweep",
                              elem_id="frontier-file")
        u.fr_fig, u.fr_msg = frontier.frontier_plot(u.sweeps[0] if u.sweeps else None)
        u.fr_note = gr.Markdown(u.fr_msg)
        u.fr_plot = gr.Plot(u.fr_fig, label="frontier", show_label=False)


def _wire(u, c: dict, concurrency: int):
    """Connect the events to the handlers (stable API names; glue events are private)."""

    u.inputs = ordered(c)  # the API's: the fixed inputs and the chosen policy's settings object
    scoped = scoped_knobs()  # the form's: the fixed inputs and every policy's own knobs
    u.form = [*u.inputs[:-1], *[c[scoped_name(owner, k.name)] for owner, k in scoped]]
    F = H.form_handlers(scoped)
    u.explore_out = [u.sess, u.canvas, u.status, u.slider, u.curve, *u.heatmaps, u.info, u.messages]
    u.compare_out = [u.sess, u.cmp_a, u.cmp_b, u.cmp_summary, u.cmp_curve, u.cmp_slider, u.cmp_info]
    u.lockin_out = [u.sess, u.li_chart, u.li_status, u.li_info]
    u.li_cancelled = gr.JSON(visible=False)
    u.fr_cancelled = gr.JSON(visible=False)
    u.job_id = gr.Textbox("", visible=False)  # API clients name a job; the Cancel buttons mean "this session's"
    u.model_work = dict(concurrency_id="model", concurrency_limit=concurrency)
    u.private = dict(api_visibility="private")

    u.fr_file.change(guard(frontier.frontier_plot), [u.fr_file], [u.fr_plot, u.fr_note], api_name="frontier",
                   show_progress="minimal")
    u.run_evt = u.run_b.click(guard(F["run"]), [u.sess, *u.form, u.overlay], u.explore_out, show_progress="minimal",
                              **u.model_work, **u.private)
    u.step_evt = u.step_b.click(guard(F["step"]), [u.sess, *u.form, u.overlay], u.explore_out, show_progress="minimal",
                                **u.model_work, **u.private)
    # the HTTP API's /run, /step and /reset: the same handlers, settings as one object per policy
    u.api_b = gr.Button(visible=False)
    u.api_b.click(guard(H.run), [u.sess, *u.inputs, u.overlay], u.explore_out, api_name="run", **u.model_work)
    u.api_b.click(guard(H.step), [u.sess, *u.inputs, u.overlay], u.explore_out, api_name="step", **u.model_work)
    u.api_b.click(guard(H.reset), [u.sess, *u.inputs, u.overlay], [*u.explore_out, u.timer], api_name="reset",
                  **u.model_work)
    u.back_b.click(guard(H.back), [u.sess, u.overlay], u.explore_out, api_name="back", show_progress="hidden")
    u.slider.release(guard(H.select), [u.sess, u.slider, u.overlay], u.explore_out, api_name="select",
                   show_progress="hidden")
    u.overlay.input(guard(H.set_overlay), [u.sess, u.overlay], u.canvas, api_name="overlay", show_progress="hidden")
    u.play_b.click(lambda: gr.Timer(active=True), None, u.timer, **u.private)
    u.pause_b.click(lambda: gr.Timer(active=False), None, u.timer, cancels=[u.run_evt], **u.private)
    u.timer.tick(guard(F["play_tick"]), [u.sess, *u.form, u.overlay], [*u.explore_out, u.timer], show_progress="hidden",
                 **u.model_work, **u.private)
    u.reset_evt = u.reset_b.click(guard(F["reset"]), [u.sess, *u.form, u.overlay], [*u.explore_out, u.timer],
                                  cancels=[u.run_evt], **u.model_work, **u.private)
    u.branch_b.click(guard(compare.branch), [u.sess, u.branch_preset, u.branch_at], u.compare_out, api_name="branch",
                   show_progress="minimal", **u.model_work)
    u.after_run = dict(fn=guard(compare.default_step_hint), inputs=[u.sess], outputs=[u.branch_at, u.branch_hint], **u.private)
    # after a run: Compare points at the first departure from confidence, and the lock-in map starts
    u.run_evt.success(**u.after_run).success(guard(lockin.auto_lockin), [u.sess, u.li_policy], u.lockin_out, **u.model_work,
                                         **u.private)
    u.li_b.click(guard(lockin.lockin), [u.sess, u.li_policy], u.lockin_out, api_name="lockin", **u.model_work)
    u.li_stop.click(guard(lockin.lockin_cancel), [u.sess, u.job_id], u.li_cancelled, api_name="lockin_cancel")
    u.li_open.click(lambda: gr.Tabs(selected="compare"), None, u.tabs, **u.private).then(
        guard(lockin.lockin_open), [u.sess, u.li_step], u.compare_out, api_name="lockin_open", show_progress="minimal",
        **u.model_work).success(lambda k: k, u.li_step, u.branch_at, **u.private)
    u.fr_b.click(guard(fidelity_run.fidelity_run), [u.sess], [u.sess, u.fr_plot_run, u.fr_status, u.fr_info],
               api_name="fidelity_run", **u.model_work)
    u.fr_stop.click(guard(fidelity_run.fidelity_cancel), [u.sess, u.job_id], u.fr_cancelled, api_name="fidelity_cancel")
    u.hm_signal.input(guard(H.set_heatmap), [u.sess, u.hm_signal], [u.sess, u.heatmaps[-1]], api_name="heatmap",
                    show_progress="hidden")
    u.cmp_slider.release(guard(compare.compare_select), [u.sess, u.cmp_slider], [u.cmp_a, u.cmp_b], api_name="compare_step",
                       show_progress="hidden")
    u.fid_b.click(guard(fidelity.fidelity), [u.sess, u.slider], [u.sess, u.fid_plot, u.fid_table, u.fid_status, u.fid_info],
                api_name="fidelity", **u.model_work)
    u.export_btn.click(guard(files.export_trace), [u.sess, u.export_fmt], u.export_file, api_name="export")
    u.import_evt = u.upload.upload(guard(files.import_trace), [u.sess, u.upload, u.overlay], u.explore_out,
                                   api_name="import")
    u.import_evt.success(**u.after_run)
    wire_cascade(u, guard)
    # the overlay and heatmap menus list what the shown run recorded (plus what every run has)
    u.menus = dict(fn=guard(H.signal_menus), inputs=[u.sess, u.overlay, u.hm_signal], outputs=[u.overlay, u.hm_signal],
                   show_progress="hidden", **u.private)
    for evt in (u.run_evt, u.step_evt, u.reset_evt, u.import_evt):
        evt.then(**u.menus)

    u.model, u.prompt, u.puzzle, u.steps = c["model"], c["prompt"], c["puzzle"], c["steps"]
    u.reset_again = dict(fn=guard(F["reset"]), inputs=[u.sess, *u.form, u.overlay], outputs=[*u.explore_out, u.timer],
                       **u.model_work, **u.private)
    u.model.change(guard(on_model), [u.model, u.prompt], [*u.groups, u.example, u.story, u.story_text, u.prompt, u.steps],
                 **u.private).then(**u.reset_again).then(**u.menus)
    u.story.input(guard(on_story), [u.story, u.model],
                [u.prompt, u.puzzle, u.grid, c["gen_length"], u.steps, u.preset, *preset_fields(c), u.branch_preset,
                 u.branch_at, u.story_text], **u.private).then(**u.reset_again).then(**u.menus)
    u.example.input(guard(on_example), [u.example, u.model], [u.prompt, u.puzzle, u.grid, u.steps], **u.private).then(**u.reset_again).then(**u.menus)
    u.puzzle.input(guard(on_puzzle), [u.puzzle, u.model], [u.grid, u.steps], **u.private)
    u.grid.change(guard(on_grid), [u.grid, u.model, u.puzzle], [u.puzzle, u.steps], **u.private)
    u.prompt.input(guard(on_prompt), [u.prompt, u.model], u.steps, **u.private)
    u.preset.input(guard(on_preset), u.preset, preset_fields(c), **u.private)
    groups = tuple(c["_knob_groups"])
    c["policy"].change(guard(lambda p: on_policy(p, groups)), c["policy"], [c["_knobs"], *c["_knob_groups"].values()],
                       **u.private)
    c["gen_length"].input(lambda n: n, c["gen_length"], u.steps, **u.private)
    u.demo.load(**u.reset_again)


def build_demo(concurrency: int = 2) -> gr.Blocks:
    default = models.default_model()
    d = {**H.default_inputs(default), "model": default, "model_choices": models.model_choices()}
    c: dict = {}
    u = SimpleNamespace()  # the components, by name, for the tab builders and the wiring
    with gr.Blocks(title=TITLE) as demo:
        u.demo = demo
        u.sess = gr.State(None, time_to_live=4 * 3600)
        gr.HTML(HEADER, js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=340):
                (u.example, u.groups, u.grid, u.preset, u.export_fmt, u.export_btn, u.export_file, u.upload, u.story,
                 u.story_text) = _setup_column(c, d)
            with gr.Column(scale=3):
                with gr.Tabs() as u.tabs:
                    _explore_tab(u, default)
                    _compare_tab(u)
                    _lockin_tab(u)
                    cascade_tab(u)
                    _fidelity_tab(u)
                    _frontier_tab(u)
                    with gr.Tab("About", id="about"):
                        gr.Markdown(ABOUT_MD)
        u.timer = gr.Timer(0.6, active=False)
        _wire(u, c, concurrency)
    return demo


HEATMAP_API_LABELS = ("entropy_heatmap", "tis_heatmap", "grad_heatmap")  # the third: the picked signal

# A click on a column of the lock-in chart fills the step field and opens that hand-over.
LOCKIN_JS = r"""
element.addEventListener('click', (e) => {
  const col = e.target.closest('[data-step]');
  if (!col) return;
  const inp = document.querySelector('#lockin-step input');
  if (!inp) return;
  inp.value = col.dataset.step;
  inp.dispatchEvent(new Event('input', {bubbles: true}));
  inp.dispatchEvent(new Event('change', {bubbles: true}));
  setTimeout(() => { const b = document.querySelector('#btn-lockin-open'); if (b) b.click(); }, 150);
});
"""
