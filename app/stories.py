"""Stories for teaching: validation examples where confidence locks into an error that another
policy avoids (and one where BoE is the one that errs), picked and explained from measured facts
by scripts/make_stories.py into assets/examples/stories_<model>.json. The picker loads one: its
inputs, the policy to run and the policy to branch with, and its explanation."""
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


def find(model, label) -> dict:
    from .session import UserError

    for s in load_stories(model):
        if s["label"] == label:
            return s
    raise UserError(f"story={str(label)[:60]!r}: no such story for model {model!r}")


def story_html(story: dict | None) -> str:
    if not story:
        return ""
    k = int(story.get("branch_at", 0))
    steps = ("Press <b>Run</b>; the <b>Lock-in</b> tab then maps every hand-over to confidence: click step "
             f"{k} there to see {html.escape(story.get('other_preset', 'confidence'))}'s branch side by side.")
    return (f'<div class="story-text"><b>{html.escape(story["label"])}</b><br>{html.escape(story.get("explanation", ""))}'
            f'<br><span class="hint-text">{steps}</span></div>')
