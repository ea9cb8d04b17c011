"""Remasks on the canvas: a token a step took back is drawn struck through, with the step at which
its position was committed again. Pure functions over a trace (row 0)."""
from __future__ import annotations

import html

import numpy as np


def came_back(trace, k: int) -> dict[int, int | None]:
    """position -> the step that committed it again, for each position step k took back (None:
    never committed again, which a finished run does not allow)."""
    if k < 0 or not trace.records:
        return {}
    out = {}
    for p in np.flatnonzero(trace.records[k].remasked[0]):
        back = next((r.step for r in trace.records[k + 1:] if r.chosen[0, p]), None)
        out[int(p)] = back
    return out


def struck(trace, k: int, i: int, label) -> tuple[list[str], list[str], str]:
    """(CSS classes, tooltip lines, inner HTML) of position i that step k took back: the old token
    struck through and, as a superscript, the step it came back at."""
    old = int(trace.records[k].canvas_before[0, i])
    back = came_back(trace, k).get(i)
    text = (label(old) or "?").strip() or "␣"
    when = f"committed again at step {back}" if back is not None else "not committed again"
    sup = f'<sup class="back">↺{back}</sup>' if back is not None else ""
    return (["mask", "remasked"], [f"position {i} · taken back at this step (was {text!r}); {when}"],
            f"<s>{html.escape(text)}</s>{sup}")


def history_line(trace, i: int, revised: set) -> list[str]:
    """A tooltip line with a position's commits and remasks, when it is in `revised` (the
    positions ever taken back)."""
    if i not in revised:
        return []
    events = trace.history(i)
    return ["history: " + ", ".join(f"{kind} @ {step}" for step, kind, _ in events)]


def remask_points(trace) -> tuple[list[int], list[int]]:
    """(positions, steps) of every remask of row 0, for the heatmaps."""
    xs, ys = [], []
    for r in trace.records:
        for p in np.flatnonzero(r.remasked[0]):
            xs.append(int(p))
            ys.append(r.step)
    return xs, ys
