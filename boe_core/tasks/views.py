"""Task views: how a task's canvas is built, drawn and judged, one class per task, in a registry.

The explorer (and anything else that shows a trace) asks the view named by the model's `task`
field (`adapter.task`, TinyMDM config `task`; unknown -> `text`) instead of switching on the task:

- inputs: which run inputs it reads (`inputs`), its examples (`examples`, `example_values`), its
  defaults, and how a canvas is built from them (`build_canvas` -> `CanvasPlan`);
- drawing: `layout` ("chips": a line of tokens; "grid": cells with box borders), the label of the
  fixed positions, a token id -> display text function (`labeller`) and the canvas as one string;
- wrongness: `errors(trace, k)` (positions wrong after step k, by kind), `first_wrong(trace)` (the
  first wrong commit of a trace) and `solved`; the rules themselves live in the task modules.

Steps are record indices: k is the canvas after step k, k = -1 the initial canvas. Row 0 only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..canvas import prompt_canvas
from ..errors import ConfigError
from ..registry import Registry
from .fields import as_int, check_prompt
from .token_text import decode_ids, is_bytelevel, token_text

MAX_GEN_LENGTH = 1024


# --- facts of a trace at a step ----------------------------------------------------------------
def canvas_at(trace, k: int):
    """(canvas after step k, masked before it, chosen at it, record or None) of row 0."""
    if k < 0:
        c = trace.initial_canvas[0]
        masked = c == trace.mask_id
        if trace.attention_mask is not None:
            masked &= trace.attention_mask[0]
        return c, masked, np.zeros_like(masked), None
    r = trace.records[k]
    return r.canvas_after[0], r.masked[0], r.chosen[0], r


def commit_steps(trace) -> np.ndarray:
    """(N,) the step at which each position of row 0 was committed (-1: fixed or never)."""
    out = np.full(trace.initial_canvas.shape[1], -1, dtype=np.int64)
    for r in trace.records:
        out[r.chosen[0]] = r.step
    return out


# --- what a view hands out -----------------------------------------------------------------------
@dataclass
class CanvasPlan:
    """A canvas to decode: ids (1, N), attention mask or None, the trace meta the view needs later
    (task name, solution, example ...), and (kind, text) notes for the user."""
    ids: object
    attention_mask: object
    meta: dict
    notes: list = field(default_factory=list)
    # (1, N) the answer's token ids (-1 where none) when the view knows the answer (a Sudoku with a
    # unique solution): what a policy that reads the answer (the oracle ceiling) is given
    target: object = None


@dataclass(frozen=True)
class ExampleChoice:
    label: str  # what the examples dropdown shows
    values: dict  # the run inputs it sets, e.g. {"puzzle": ..., "steps": 45}


class TaskView:
    """The plain-text view; subclasses override what differs. Pure: no model compute here."""
    name = "text"
    order = 100  # registry display order (ties: registration order)
    inputs: tuple = ("prompt", "gen_length")  # the run inputs this view reads
    layout = "chips"
    grid: tuple | None = None  # (rows, cols, box rows, box cols) when layout == "grid"
    fixed_label = "prompt"
    # error kind -> (legend label, step-data key); positions carry the CSS class err-<kind>
    error_kinds: dict = {}

    # --- inputs -------------------------------------------------------------------------------
    def examples(self) -> list[ExampleChoice]:
        return []

    def example_values(self, label: str) -> dict:
        for e in self.examples():
            if label == e.label or (isinstance(label, str) and e.label.startswith(label + " ")):
                return dict(e.values)
        raise ConfigError("example", label, "unknown example")

    def default_values(self) -> dict:
        return {"prompt": "In the beginning God created", "gen_length": 24}

    def default_steps(self, values: dict) -> int | None:
        """Steps that commit one token per step for these inputs (None: leave the field alone)."""
        try:
            return as_int("gen_length", values.get("gen_length"), minimum=1)
        except Exception:
            return None

    def check_values(self, values: dict) -> None:
        """Cheap checks of the inputs this view reads (ConfigError naming the field)."""
        check_prompt(values.get("prompt"))

    def build_canvas(self, adapter, values: dict) -> CanvasPlan:
        prompt = check_prompt(values.get("prompt"))
        gl = as_int("gen_length", values.get("gen_length"), minimum=1, maximum=MAX_GEN_LENGTH)
        ids, am = prompt_canvas(adapter, prompt, gl)
        notes = []
        if any(ord(c) > 0x24F for c in prompt):
            notes.append(("warn", "The prompt has characters outside the Latin alphabet; the shipped KJV model "
                                  "was trained on English only, so expect odd continuations."))
        return CanvasPlan(ids, am, {"task": self.name, "prompt": prompt}, notes)

    # --- traces -------------------------------------------------------------------------------
    def recognises(self, trace) -> bool:
        """Whether a trace without a task name looks like this task's (for loaded files)."""
        return False

    def trace_problem(self, trace) -> str | None:
        """Why a loaded trace cannot be shown by this view, or None."""
        return None

    # --- drawing ------------------------------------------------------------------------------
    def labeller(self, trace) -> Callable[[int], str]:
        """token id -> the text a cell or chip shows."""
        bl = is_bytelevel(trace.id_to_token)
        return lambda tid: token_text(trace.id_to_token.get(int(tid), f"<{int(tid)}>"), bl)

    def canvas_text(self, trace, k: int) -> str:
        return decode_ids(trace.id_to_token, trace.mask_id, canvas_at(trace, k)[0])

    # --- wrongness ----------------------------------------------------------------------------
    def can_check(self, trace) -> bool:
        return False

    def knows_answer(self, trace) -> bool:
        """Whether "no wrong commit so far" means something (a reference or a checker exists)."""
        return self.can_check(trace)

    def errors(self, trace, k: int) -> dict[str, dict[int, str]]:
        """error kind -> {position: tooltip line} of the positions wrong after step k."""
        return {}

    def first_wrong(self, trace) -> dict | None:
        """The first wrong commit: {"step", "position", "where", "reason", ...}, or None."""
        return None

    def solved(self, trace, k: int) -> bool:
        return False

    # --- summaries (generic, from the above) ----------------------------------------------------
    def facts(self, trace, k: int) -> dict:
        """The task's part of the step data (the API's JSON)."""
        out = {"canvas": self.canvas_text(trace, k)}
        if k >= 0 and self.can_check(trace):
            errs = self.errors(trace, k)
            out.update({key: sorted(errs.get(kind, {})) for kind, (_, key) in self.error_kinds.items()})
            out["first_wrong"] = self.first_wrong(trace)
            out["solved"] = self.solved(trace, k)
        return out

    def verdict(self, trace, k: int) -> list[tuple[str, str]]:
        """(badge kind, text) of the status line: solved, the first wrong commit."""
        if k < 0 or not self.can_check(trace):
            return []
        out = [("ok", "solved ✓")] if self.solved(trace, k) else []
        fw = self.first_wrong(trace)
        if fw is not None:
            out.append(("bad", f"first wrong commit: step {fw['step']} ({fw['where']}, "
                               f"{fw['reason'].replace('_', ' ')})"))
        elif self.knows_answer(trace):
            out.append(("ok", "no wrong commit so far"))
        return out

    def outcome(self, trace, label: str) -> tuple[str, str] | None:
        """(badge kind, text) of a whole run, for comparing two runs; None without a checker."""
        if not self.can_check(trace):
            return None
        fw = self.first_wrong(trace)
        if fw is None:
            done = self.solved(trace, trace.num_steps - 1)
            return "ok", f"{label}: {'solved ✓' if done else 'no wrong commit'}"
        return "bad", f"{label} first goes wrong at step {fw['step']}"

    def compare_facts(self, trace) -> dict:
        if self.can_check(trace):
            return {"first_wrong": self.first_wrong(trace)}
        return {"text": decode_ids(trace.id_to_token, trace.mask_id, trace.final_canvas[0])}


TextView = TaskView

# --- registry ----------------------------------------------------------------------------------
# Built-ins: every module of boe_core.tasks is imported on first use; a view module registers its
# view at import (`register_view(MyView())`).
VIEWS: Registry[TaskView] = Registry("task view")  # filled by boe_core.tasks on import


def register_view(view: TaskView) -> TaskView:
    """Add (or replace) a view under `view.name`."""
    return VIEWS.register(view)


_TEXT = TaskView()
_TEXT.order = -1  # the text view comes first (its defaults fill the inputs other views hide)
register_view(_TEXT)


def views() -> dict[str, TaskView]:
    return dict(VIEWS.items())


def get_view(name) -> TaskView:
    """The view named `name`; the text view for any other name (a model's task it doesn't know)."""
    return VIEWS.find(name) or VIEWS.get("text")


def view_for_trace(trace) -> TaskView:
    """The view of a loaded trace: its meta task when known, else the first view that recognises
    its canvas, else text."""
    task = trace.meta.get("task") if isinstance(trace.meta, dict) else None
    if task in VIEWS:
        return VIEWS.get(task)
    return next((v for v in VIEWS.values() if v.recognises(trace)), VIEWS.get("text"))
