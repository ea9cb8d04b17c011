"""Stories for teaching: validation examples where confidence locks into an error that another
policy avoids (and one where BoE is the one that errs), picked and explained from measured facts
by tools/make_stories.py into assets/examples/stories_<model>.json. The picker loads one: its
inputs, the policy to run and the policy to branch with, and its explanation.

Cascade stories (kind "cascade", tools/make_cascade_stories.py) are opened from the Cascade tab:
the story's run, its counterfactuals and root finders, and the commit the story is about
(`cascade.open`: step, position), explained from the measured facts the script stored."""
from __future__ import annotations

import html
import json
from pathlib import Path

from boe_core.paths import examples_dir

EXAMPLES_DIR = examples_dir()


def story_file(model: str | None) -> Path | None:
    if not model:
        return None
    name = Path(str(model)).name if ("/" in str(model) or "\\" in str(model)) else str(model)
    return EXAMPLES_DIR / f"stories_{name}.json"


def load_stories(model: str | None) -> list[dict]:
    """The stories of a model ([] when it has none or the file is unreadable)."""
    p = story_file(model)
    if p is None or not p.is_file():
        return []
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        return []
    stories = data.get("stories", []) if isinstance(data, dict) else []
    return [s for s in stories if isinstance(s, dict) and "label" in s and "values" in s]


def labels(model) -> list[str]:
    return [s["label"] for s in load_stories(model)]


CASCADE = "cascade"  # the kind of a story the Cascade tab opens


def cascade_labels(model) -> list[str]:
    return [s["label"] for s in load_stories(model) if s.get("kind") == CASCADE]


def run_values(story: dict, model: str, defaults: dict) -> dict:
    """The run inputs of a story: its values and the policy settings it was measured with, over
    `defaults` (the model's first inputs) for what it leaves out; temperature 0, seed 0."""
    saved = story.get("run_settings") if isinstance(story.get("run_settings"), dict) else {}
    policy = saved.get("policy") or defaults["policy"]
    settings = {k: v for k, v in saved.items() if k != "policy"} if saved else defaults.get("settings", {})
    v = {k: defaults[k] for k in ("prompt", "gen_length", "puzzle", "steps", "block_length") if k in defaults}
    v.update({k: x for k, x in story["values"].items() if k in ("prompt", "gen_length", "puzzle", "steps")})
    return {"model": model, **v, "policy": policy, "settings": settings, "temperature": 0.0, "seed": 0}


def find(model, label) -> dict:
    from .session import UserError

    for s in load_stories(model):
        if s["label"] == label:
            return s
    raise UserError(f"story={str(label)[:60]!r}: no such story for model {model!r}")


def story_html(story: dict | None) -> str:
    if not story:
        return ""
    if story.get("kind") == CASCADE:
        steps = ("Open it from the <b>Cascade</b> tab's story picker: it runs this example, computes the "
                 "counterfactuals and the root finders' rankings, and marks the commit the story is about. Or press "
                 "<b>Run</b>, then <b>Compute the counterfactuals</b> there.")
    else:
        k = int(story.get("branch_at", 0))
        steps = ("Press <b>Run</b>; the <b>Lock-in</b> tab then maps every hand-over to confidence: click step "
                 f"{k} there to see {html.escape(story.get('other_preset', 'confidence'))}'s branch side by side.")
    return (f'<div class="story-text"><b>{html.escape(story["label"])}</b><br>{html.escape(story.get("explanation", ""))}'
            f'<br><span class="hint-text">{steps}</span></div>')


def cascade_story_html(story: dict | None) -> str:
    """The Cascade tab's story panel: the label, the measured explanation, and where it came from."""
    if not story:
        return ""
    where = story.get("cascade", {}).get("open")
    mark = (f"The story's commit (step {where[0]}, position {where[1]}) is outlined in the graph and the table; "
            f"click its row to open its counterfactual in Compare." if where else "")
    return (f'<div class="story-text cascade-story"><b>{html.escape(story["label"])}</b><br>'
            f'{html.escape(story.get("explanation", ""))}<br><span class="hint-text">{html.escape(mark)} Measured by '
            f'<code>tools/make_cascade_stories.py</code> (the facts are stored with the story).</span></div>')
