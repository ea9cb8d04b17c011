"""The setup column (model, inputs, preset, policy and its knobs, trace files) and the glue that
keeps its fields consistent (not part of the API)."""
from __future__ import annotations

import gradio as gr

from boe_core import ConfigError
from boe_core.knobs import ui_value
from boe_core.presets import default_preset_for, presets
from boe_core.tasks.views import get_view, views

from . import files, models, stories
from . import handlers as H
from .grid_editor import GRID_JS, grid_value
from .guard import guard
from .inputs import build, build_knobs, knobs_of, scoped_knobs, scoped_name
from .session import BRANCH_DEFAULT, DEFAULT_PRESET


# Inputs a task view may hide (each sits in its own group of the setup column).
HIDEABLE = ("prompt", "gen_length", "puzzle")


def view_of(model):
    """The task view of a model name (the text view for an unknown name)."""
    return get_view(models.task_of(model) if model in models.model_choices() else "text")


def build_setup(c: dict, d: dict):
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
    preset = gr.Dropdown(list(presets(d["model"])), value=default_preset_for(d["model"]), label="Preset",
                         info="sets the policy and its knobs (the model's own, chosen on its val split, first)")
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
    known = name in models.model_choices()
    label = default_preset_for(name if known else None)  # the model's own BoE default, if it ships one
    return (*[gr.Group(visible=n in view.inputs) for n in HIDEABLE],
            gr.Dropdown(choices=labels, value=labels[0] if labels else None, visible=bool(labels)),
            gr.Dropdown(choices=told, value=None, visible=bool(told)), "",
            gr.skip() if keep or "prompt" not in view.inputs else d["prompt"], gr.Number(value=d["steps"]),
            gr.Dropdown(choices=list(presets(name if known else None)), value=label),
            *_preset_fields(d["policy"], d["settings"]))


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


def on_preset(name, model=None):
    """The preset's policy and its knob values (the other policies' knobs stay as they are); the
    model's own presets are looked up first."""
    v = H.preset_values(name, model if model in models.model_choices() else None)
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


def wire_setup(u, c: dict):
    """The setup column's events: trace files, and the glue between its fields (after the tabs
    are wired: it reuses Explore's reset and menus and Compare's after-run hint)."""
    u.export_btn.click(guard(files.export_trace), [u.sess, u.export_fmt], u.export_file, api_name="export")
    u.import_evt = u.upload.upload(guard(files.import_trace), [u.sess, u.upload, u.overlay], u.explore_out,
                                   api_name="import")
    u.import_evt.success(**u.after_run)
    u.import_evt.then(**u.menus)

    u.model, u.prompt, u.puzzle, u.steps = c["model"], c["prompt"], c["puzzle"], c["steps"]
    u.model.change(guard(on_model), [u.model, u.prompt],
                   [*u.groups, u.example, u.story, u.story_text, u.prompt, u.steps, u.preset, *preset_fields(c)],
                   **u.private).then(**u.reset_again).then(**u.menus)
    u.story.input(guard(on_story), [u.story, u.model],
                  [u.prompt, u.puzzle, u.grid, c["gen_length"], u.steps, u.preset, *preset_fields(c), u.branch_preset,
                   u.branch_at, u.story_text], **u.private).then(**u.reset_again).then(**u.menus)
    u.example.input(guard(on_example), [u.example, u.model], [u.prompt, u.puzzle, u.grid, u.steps],
                    **u.private).then(**u.reset_again).then(**u.menus)
    u.puzzle.input(guard(on_puzzle), [u.puzzle, u.model], [u.grid, u.steps], **u.private)
    u.grid.change(guard(on_grid), [u.grid, u.model, u.puzzle], [u.puzzle, u.steps], **u.private)
    u.prompt.input(guard(on_prompt), [u.prompt, u.model], u.steps, **u.private)
    u.preset.input(guard(on_preset), [u.preset, u.model], preset_fields(c), **u.private)
    groups = tuple(c["_knob_groups"])
    c["policy"].change(guard(lambda p: on_policy(p, groups)), c["policy"], [c["_knobs"], *c["_knob_groups"].values()],
                       **u.private)
    c["gen_length"].input(lambda n: n, c["gen_length"], u.steps, **u.private)
    u.demo.load(**u.reset_again)
