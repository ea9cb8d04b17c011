"""The Gradio layout and the wiring of events to `app.handlers` (with stable API names)."""
from __future__ import annotations

import functools
import inspect
import logging

import gradio as gr

from boe_core import POLICIES, ConfigError

from . import handlers as H
from . import frontier, models, render
from .about import ABOUT_MD
from .session import BRANCH_DEFAULT, BOE_DEFAULTS, DEFAULT_PRESET, PRESETS, UserError

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


# The grid editor: 81 inputs built once in the browser; typing updates the component's value
# (an 81-character string) and fires "change"; a new value from the server refills the inputs.
GRID_JS = r"""
const box = element.querySelector('.sdk-edit');
function fill(v) {
  v = (v || '').padEnd(81, '0');
  if (!box.children.length) {
    for (let i = 0; i < 81; i++) {
      const inp = document.createElement('input');
      const r = Math.floor(i / 9), c = i % 9;
      inp.dataset.i = i; inp.maxLength = 2; inp.inputMode = 'numeric';
      inp.setAttribute('aria-label', 'row ' + (r + 1) + ' column ' + (c + 1));
      inp.className = 'cell' + (c % 3 == 2 && c < 8 ? ' br' : '') + (r % 3 == 2 && r < 8 ? ' bb' : '');
      box.appendChild(inp);
    }
  }
  Array.from(box.children).forEach((inp, i) => {
    const ch = v.charAt(i); const d = (ch >= '1' && ch <= '9') ? ch : '';
    if (inp.value !== d) inp.value = d;
  });
}
fill(props.value);
box.addEventListener('input', (e) => {
  const t = e.target; const ch = t.value.replace(/[^1-9]/g, '').slice(-1); t.value = ch;
  props.value = Array.from(box.children).map(c => c.value || '0').join('');
  trigger('change');
  if (ch) { const nx = box.children[+t.dataset.i + 1]; if (nx) nx.focus(); }
});
box.addEventListener('keydown', (e) => {
  const i = +e.target.dataset.i; const moves = {ArrowLeft: -1, ArrowRight: 1, ArrowUp: -9, ArrowDown: 9};
  if (e.key in moves) { const nx = box.children[i + moves[e.key]]; if (nx) { nx.focus(); e.preventDefault(); } }
});
watch('value', () => fill(props.value));
"""


def _grid_value(puzzle: str) -> str:
    """The editor's value: exactly 81 characters, '0' for blanks (best effort for bad strings)."""
    from boe_core.tasks.sudoku import normalize_grid

    s = normalize_grid(puzzle or "")[:81]
    return "".join(ch if ch in "123456789" else "0" for ch in s).ljust(81, "0")


def build_demo(concurrency: int = 2) -> gr.Blocks:
    default = models.default_model()
    d = H.default_inputs(default)
    is_sudoku = d["task"] == "sudoku"
    ex_choices = H.example_choices()
    with gr.Blocks(title=TITLE) as demo:
        sess = gr.State(None, time_to_live=4 * 3600)
        gr.HTML(HEADER, js_on_load=None)
        with gr.Row(equal_height=False):
            # ---------------- setup column ----------------
            with gr.Column(scale=1, min_width=340):
                model = gr.Dropdown(models.model_choices(), value=default, label="Model", allow_custom_value=True,
                                    info="shipped models, plus any given with --model")
                with gr.Group(visible=not is_sudoku) as text_group:
                    prompt = gr.Textbox(value=d["prompt"], lines=3, label="Prompt", max_length=20000,
                                        placeholder="Text for the model to continue")
                    gen_length = gr.Number(value=d["gen_length"], precision=0, label="Length (tokens to generate)")
                with gr.Group(visible=is_sudoku) as sudoku_group:
                    example = gr.Dropdown(ex_choices, value=ex_choices[0] if ex_choices else None,
                                          label="Example puzzle")
                    puzzle = gr.Textbox(value=d["puzzle"], lines=2, label="Puzzle (81 characters; 0 or . = blank)",
                                        max_length=1000)
                    with gr.Accordion("Edit as a grid", open=False):
                        grid = gr.HTML(_grid_value(d["puzzle"]), html_template='<div class="sdk sdk-edit"></div>',
                                       js_on_load=GRID_JS, label="grid", elem_id="grid-editor",
                                       apply_default_css=False)
                        gr.Markdown("Type 1–9 in a cell (focus moves on); Backspace or 0 clears it.",
                                    elem_classes="hint-text")
                preset = gr.Dropdown(list(PRESETS), value=DEFAULT_PRESET, label="Preset",
                                     info="sets the policy and its knobs")
                policy = gr.Dropdown(sorted(POLICIES), value=d["policy"], label="Policy")
                with gr.Row():
                    steps = gr.Number(value=d["steps"], precision=0, label="Steps", min_width=100, elem_id="in-steps")
                    block_length = gr.Number(value=0, precision=0, label="Block length (0 = one)", min_width=100)
                with gr.Row():
                    temperature = gr.Number(value=0.0, label="Temperature", min_width=100)
                    seed = gr.Number(value=0, precision=0, label="Seed", min_width=100)
                with gr.Accordion("BoE knobs", open=False):
                    r = gr.Number(value=0, precision=0, label="r · candidates per step (0 = max(8, 4b))")
                    rho = gr.Slider(0.01, 1.0, value=BOE_DEFAULTS["rho"], step=0.01, label="ρ · fraction of masks used as probes")
                    gamma = gr.Number(value=BOE_DEFAULTS["gamma"], label="γ · confidence exponent")
                    lam = gr.Number(value=BOE_DEFAULTS["lam"], label="λ · anti-collapse weight")
                    h_max = gr.Number(value=BOE_DEFAULTS["h_max"], label="h_max · entropy floor at the end")
                    tau_s = gr.Number(value=BOE_DEFAULTS["tau_s"], label="τ_s · soft-write temperature")
                    linearize_at = gr.Radio(["current", "surrogate"], value=BOE_DEFAULTS["linearize_at"],
                                            label="Linearise at")
                    probe_scope = gr.Radio(["canvas", "block"], value=BOE_DEFAULTS["probe_scope"], label="Probe scope")
                    use_aqa = gr.Checkbox(value=True, label="ActiveQueryAttention (sparse backward)")
                with gr.Accordion("Trace files", open=False):
                    with gr.Row():
                        export_fmt = gr.Radio(["json", "parquet"], value="json", label="Format", min_width=120)
                        export_btn = gr.Button("Export trace", min_width=100)
                    export_file = gr.File(label="Download", interactive=False)
                    upload = gr.File(label="Load a trace (.json export) to replay it without the model",
                                     file_types=[".json"], type="filepath")
            # ---------------- main column ----------------
            with gr.Column(scale=3):
                with gr.Tabs():
                    with gr.Tab("Explore", id="explore"):
                        with gr.Row(elem_classes="boe-controls"):
                            run_b = gr.Button("▶▶ Run", variant="primary", elem_id="btn-run")
                            step_b = gr.Button("Step ▶|", elem_id="btn-step")
                            back_b = gr.Button("|◀ Back", elem_id="btn-back")
                            play_b = gr.Button("▶ Play", elem_id="btn-play")
                            pause_b = gr.Button("❚❚ Pause", elem_id="btn-pause")
                            reset_b = gr.Button("⟲ Reset", variant="stop", elem_id="btn-reset")
                        with gr.Row():
                            slider = gr.Slider(0, 1, value=0, step=1, label="Step", interactive=False,
                                               elem_id="step-slider", scale=3)
                            overlay = gr.Radio(render.OVERLAY_CHOICES, value="none", label="Overlay",
                                               elem_id="overlay", scale=2)
                        status = gr.HTML(render.status_html(None, -1), label="status", elem_id="status", js_on_load=None, min_height=0)
                        messages = gr.HTML("", label="messages", elem_id="messages", js_on_load=None, min_height=0)
                        canvas = gr.HTML(render._empty("Loading…"), label="canvas", elem_id="canvas", js_on_load=None)
                        curve = gr.Plot(label="masked_entropy", show_label=False, elem_id="curve")
                        with gr.Tabs():
                            with gr.Tab("Entropy heatmap"):
                                heat_e = gr.Plot(label="entropy_heatmap", show_label=False)
                            with gr.Tab("TIS heatmap"):
                                heat_t = gr.Plot(label="tis_heatmap", show_label=False)
                            with gr.Tab("‖∂F/∂e‖ heatmap"):
                                heat_g = gr.Plot(label="grad_heatmap", show_label=False)
                        with gr.Accordion("Step data (JSON)", open=False):
                            info = gr.JSON(label="step_data", show_label=False)
                    with gr.Tab("Compare", id="compare"):
                        gr.Markdown("From the step selected in **Explore**, decode the rest with another policy "
                                    "and compare the two trajectories.")
                        with gr.Row():
                            branch_preset = gr.Dropdown(list(PRESETS), value=BRANCH_DEFAULT, label="Branch policy",
                                                        scale=2)
                            branch_b = gr.Button("Branch from the selected step", variant="primary",
                                                 elem_id="btn-branch", scale=1)
                        cmp_summary = gr.HTML(render.compare_summary_html(None, None, None), label="summary", js_on_load=None)
                        with gr.Row():
                            cmp_a = gr.HTML(render._empty("Run A"), label="canvas_a", elem_classes="compare-pane", js_on_load=None,
                                            elem_id="cmp-a")
                            cmp_b = gr.HTML(render._empty("Run B"), label="canvas_b", elem_classes="compare-pane", js_on_load=None,
                                            elem_id="cmp-b")
                        cmp_slider = gr.Slider(0, 1, value=0, step=1, label="Show both runs at step", elem_id="cmp-slider",
                                               interactive=False)
                        cmp_curve = gr.Plot(label="masked_entropy_ab", show_label=False)
                        with gr.Accordion("Comparison data (JSON)", open=False):
                            cmp_info = gr.JSON(label="comparison", show_label=False)
                    with gr.Tab("Fidelity", id="fidelity"):
                        gr.Markdown("Does the one-backward estimate (TIS) rank candidates like the real thing? "
                                    "For the step selected in **Explore**, this computes the *exact* one-step "
                                    "entropy drop of every BoE candidate (one forward each) and plots it "
                                    "against TIS.")
                        fid_b = gr.Button("Compute for the selected step", variant="primary", elem_id="btn-fidelity")
                        fid_status = gr.HTML("", label="fidelity_summary", js_on_load=None)
                        fid_plot = gr.Plot(label="fidelity_plot", show_label=False)
                        fid_table = gr.Dataframe(headers=["position", "proposal", "TIS", "exact Δ"],
                                                 datatype=["number", "str", "number", "number"], type="array",
                                                 interactive=False, label="Candidates (by TIS)")
                        with gr.Accordion("Fidelity data (JSON)", open=False):
                            fid_info = gr.JSON(label="fidelity", show_label=False)
                    with gr.Tab("Frontier", id="frontier"):
                        gr.Markdown("Quality vs compute from the last sweep (`python -m boe_core.bench pareto`): "
                                    "one line per policy over its step budgets; the dashed line is the Pareto "
                                    "frontier. Compute counts a backward by its measured cost in forwards.")
                        sweeps = frontier.sweep_files()
                        fr_file = gr.Dropdown(sweeps, value=sweeps[0] if sweeps else None, label="Sweep",
                                              elem_id="frontier-file")
                        fr_fig, fr_msg = frontier.frontier_plot(sweeps[0] if sweeps else None)
                        fr_note = gr.Markdown(fr_msg)
                        fr_plot = gr.Plot(fr_fig, label="frontier", show_label=False)
                    with gr.Tab("About", id="about"):
                        gr.Markdown(ABOUT_MD)
        timer = gr.Timer(0.6, active=False)

        inputs = [model, prompt, gen_length, puzzle, policy, steps, block_length, temperature, seed,
                  r, rho, gamma, lam, h_max, tau_s, linearize_at, probe_scope, use_aqa]
        explore_out = [sess, canvas, status, slider, curve, heat_e, heat_t, heat_g, info, messages]
        compare_out = [sess, cmp_a, cmp_b, cmp_summary, cmp_curve, cmp_slider, cmp_info]
        model_work = dict(concurrency_id="model", concurrency_limit=concurrency)
        private = dict(api_visibility="private")

        fr_file.change(guard(frontier.frontier_plot), [fr_file], [fr_plot, fr_note], api_name="frontier",
                       show_progress="minimal")
        run_evt = run_b.click(guard(H.run), [sess, *inputs, overlay], explore_out, api_name="run",
                              show_progress="minimal", **model_work)
        step_b.click(guard(H.step), [sess, *inputs, overlay], explore_out, api_name="step",
                     show_progress="minimal", **model_work)
        back_b.click(guard(H.back), [sess, overlay], explore_out, api_name="back", show_progress="hidden")
        slider.release(guard(H.select), [sess, slider, overlay], explore_out, api_name="select",
                       show_progress="hidden")
        overlay.input(guard(H.set_overlay), [sess, overlay], canvas, api_name="overlay", show_progress="hidden")
        play_b.click(lambda: gr.Timer(active=True), None, timer, **private)
        pause_b.click(lambda: gr.Timer(active=False), None, timer, cancels=[run_evt], **private)
        timer.tick(guard(H.play_tick), [sess, *inputs, overlay], [*explore_out, timer], show_progress="hidden",
                   **model_work, **private)
        reset_b.click(guard(H.reset), [sess, *inputs, overlay], [*explore_out, timer], api_name="reset",
                      cancels=[run_evt], **model_work)
        branch_b.click(guard(H.branch), [sess, branch_preset, slider], compare_out, api_name="branch",
                       show_progress="minimal", **model_work)
        cmp_slider.release(guard(H.compare_select), [sess, cmp_slider], [cmp_a, cmp_b], api_name="compare_step",
                           show_progress="hidden")
        fid_b.click(guard(H.fidelity), [sess, slider], [sess, fid_plot, fid_table, fid_status, fid_info],
                    api_name="fidelity", **model_work)
        export_btn.click(guard(H.export_trace), [sess, export_fmt], export_file, api_name="export")
        upload.upload(guard(H.import_trace), [sess, upload, overlay], explore_out, api_name="import")

        # --- glue: keep the setup fields consistent (not part of the API) ---
        def on_model(name):
            task = models.task_of(name) if name in models.model_choices() else "text"
            dd = H.default_inputs(name)
            return (gr.Group(visible=task != "sudoku"), gr.Group(visible=task == "sudoku"),
                    gr.Number(value=dd["steps"] if task == "sudoku" else dd["gen_length"]))

        def on_example(choice):
            p = H.example_puzzle(choice)
            return p, _grid_value(p), H.blanks(p)

        def on_puzzle(p):
            n = H.blanks(p)
            return _grid_value(p), (n if n else gr.skip())

        def on_grid(value):
            p = _grid_value(value if isinstance(value, str) else "")
            return p, H.blanks(p) or gr.skip()

        def on_preset(name):
            v = H.preset_values(name)
            keys = ["policy", "r", "rho", "gamma", "lam", "h_max", "tau_s", "linearize_at", "probe_scope", "use_aqa"]
            return tuple((0 if (k == "r" and v.get(k) is None) else v[k]) if k in v else gr.skip() for k in keys)

        model.change(guard(on_model), model, [text_group, sudoku_group, steps], **private).then(
            guard(H.reset), [sess, *inputs, overlay], [*explore_out, timer], **model_work, **private)
        example.input(guard(on_example), example, [puzzle, grid, steps], **private).then(
            guard(H.reset), [sess, *inputs, overlay], [*explore_out, timer], **model_work, **private)
        puzzle.input(guard(on_puzzle), puzzle, [grid, steps], **private)
        grid.change(guard(on_grid), grid, [puzzle, steps], **private)
        preset.input(guard(on_preset), preset,
                     [policy, r, rho, gamma, lam, h_max, tau_s, linearize_at, probe_scope, use_aqa], **private)
        gen_length.input(lambda n: n, gen_length, steps, **private)
        demo.load(guard(H.reset), [sess, *inputs, overlay], [*explore_out, timer], **model_work, **private)
    return demo
