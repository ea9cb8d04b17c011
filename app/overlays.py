"""How the explorer shows per-position signals: overlays on the canvas, the heatmap, tooltip lines,
roles and markers, all read from the declarations in `boe_core.signals` (the core statistics and
every registered policy's own). A policy that declares a new signal gets an overlay and a heatmap
with no edit here.

- float signals with `overlay=True`: canvas overlays and heatmaps; the Signal's Plotly colour scale
  names the HTML palette, and `symmetric` ones use a diverging palette centred on 0;
- float signals that are not the sampler's core statistics: one line each in a masked position's
  hover text (TIS, ‖∂F/∂e‖, lookahead's Δ ...);
- bool signals: roles ("candidate", "probe" in the hover text), except `confidence_pick`, which is a
  marker on the canvas (what confidence would commit at this step).

Every read of a per-position value goes through `values(record, name)`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from boe_core.signals import CONFIDENCE_PICK, CORE_SIGNALS, all_signals, declared

# 5-stop HTML palettes, low -> high, named like the Plotly scales they imitate
PALETTES = {
    "greens": ["#f4fbf2", "#c7e9c0", "#74c476", "#31a354", "#006d2c"],
    "oranges": ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"],
    "purples": ["#fcfbfd", "#dadaeb", "#9e9ac8", "#6a51a3", "#3f007d"],
    "blues": ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"],
    "reds": ["#fff5f0", "#fcbba1", "#fb6a4a", "#cb181d", "#67000d"],
    "greys": ["#ffffff", "#d9d9d9", "#969696", "#525252", "#000000"],
    "viridis": ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"],
    # diverging, as Plotly's RdBu (low red, high blue) and its reverse
    "diverging": ["#b2182b", "#f4a582", "#f7f7f7", "#92c5de", "#2166ac"],
    "diverging_r": ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"],
}
_SCALE_PALETTE = {"greens": "greens", "oranges": "oranges", "purples": "purples", "blues": "blues",
                  "reds": "reds", "greys": "greys", "viridis": "viridis"}
CORE_NAMES = frozenset(s.name for s in CORE_SIGNALS)
MARKERS = frozenset({CONFIDENCE_PICK.name})  # bool signals drawn as a marker, not as a role


def palette_of(sig) -> str:
    """The HTML palette of a declared Signal: diverging for symmetric ones (in the direction of its
    scale), else the palette named like its Plotly scale (viridis when there is none)."""
    scale = (sig.colorscale or "").lower()
    rev = scale.endswith("_r")
    scale = scale[:-2] if rev else scale
    if sig.symmetric:
        return "diverging_r" if (scale == "rdbu") == rev else "diverging"
    return _SCALE_PALETTE.get(scale, "viridis")


@dataclass(frozen=True)
class Overlay:
    """The explorer's reading of one declared signal."""
    name: str
    label: str
    palette: str | None = None  # None: not a canvas overlay
    scale: str = "Viridis"  # Plotly colour scale of its heatmap
    desc: str = ""
    symmetric: bool = False
    kind: str = "float"
    missing: str = "no values"  # what an all-NaN heatmap says

    @property
    def title(self) -> str:
        return self.label


NONE = Overlay("none", "None")


def _overlay(sig) -> Overlay:
    shown = sig.kind == "float" and sig.overlay
    missing = "no values" if sig.name in CORE_NAMES else "not computed by this policy"
    return Overlay(sig.name, sig.label, palette_of(sig) if shown else None, sig.colorscale or "Viridis",
                   sig.description, sig.symmetric, sig.kind, missing)


def get(name: str) -> Overlay:
    """The overlay of a signal (an undeclared one reads as a plain float signal)."""
    return NONE if name == "none" else _overlay(declared(name))


def overlays() -> dict[str, Overlay]:
    """"none" and every float signal offered as an overlay, by name (registry order)."""
    return {"none": NONE, **{n: _overlay(s) for n, s in all_signals().items() if s.kind == "float" and s.overlay}}


def overlay_choices() -> list[tuple[str, str]]:
    """(label, name) pairs for the overlay radio."""
    return [(o.label if o is not NONE else "None", n) for n, o in overlays().items()]


def heatmap_signals() -> list[str]:
    """Signals offered as a position × step heatmap (every overlay)."""
    return [n for n in overlays() if n != "none"]


def recorded(trace) -> list[str]:
    """The overlay names a run offers: "none", the sampler's core statistics (every run has them)
    and the signals its records actually hold, in registry order. A loaded or live BoE run does
    not list another policy's "J = IG − C" or "ReMDM σ_t"."""
    records = trace.records if trace is not None else ()

    def held(name):  # some step has a value for it (NaN everywhere: not computed by this policy)
        for r in records:
            v = np.asarray(values(r, name), dtype=float)
            if v.size and np.isfinite(v).any():
                return True
        return False

    return [n for n in overlays() if n == "none" or n in CORE_NAMES or held(n)]


def run_overlay_choices(trace) -> list[tuple[str, str]]:
    """(label, name) pairs for the overlay radio of one run (before any run: every overlay)."""
    if trace is None or not trace.records:
        return overlay_choices()
    everything = dict((n, lbl) for lbl, n in overlay_choices())
    return [(everything[n], n) for n in recorded(trace)]


def tooltip_signals() -> list[Overlay]:
    """Float signals with their own hover line: everything but the sampler's core statistics."""
    return [o for n, o in overlays().items() if n != "none" and n not in CORE_NAMES]


def roles() -> list[Overlay]:
    """Bool signals read as a position's role (BoE candidate, probe ...)."""
    return [_overlay(s) for n, s in all_signals().items() if s.kind == "bool" and n not in MARKERS]


def values(record, name: str) -> np.ndarray:
    """The (B, N) values of signal `name` in a step record: a policy's signal, a core statistic (a
    record field), or NaN / False when the step has none."""
    signals = getattr(record, "signals", None)
    if isinstance(signals, dict) and name in signals:
        return signals[name]
    if name in CORE_NAMES or not callable(getattr(record, "signal", None)):
        return getattr(record, name)
    return record.signal(name)


def _hex(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def colour(palette: str, x: float) -> str:
    """Interpolated hex colour at x in [0, 1] of a named palette."""
    stops = PALETTES[palette]
    if x is None or not math.isfinite(x):
        return "#ffffff"
    x = min(1.0, max(0.0, float(x)))
    pos = x * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    f = pos - i
    a, b = _hex(stops[i]), _hex(stops[i + 1])
    return "#%02x%02x%02x" % tuple(round(a[j] + (b[j] - a[j]) * f) for j in range(3))


def text_colour(bg: str) -> str:
    r, g, b = _hex(bg)
    return "#111827" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def overlay_range(trace, overlay: str) -> tuple[float, float]:
    """(lo, hi) of an overlay over the whole trace, so colours stay comparable while scrubbing.
    Symmetric signals are centred on 0; confidence is [0, 1]."""
    sig = get(overlay) if overlay in overlays() else NONE
    if sig is NONE or sig.name == "confidence":
        return 0.0, 1.0
    vals = [values(r, sig.name)[0] for r in trace.records] if trace is not None and trace.records else []
    arr = np.concatenate([v[np.isfinite(v)] for v in vals]) if vals else np.zeros(0)
    if arr.size == 0:
        return (-1.0, 1.0) if sig.symmetric else (0.0, 1.0)
    if sig.symmetric:
        m = float(np.abs(arr).max()) or 1.0
        return -m, m
    hi = float(arr.max())
    lo = min(0.0, float(arr.min()))
    return lo, hi if hi > lo else lo + 1.0


def overlay_colour(overlay: str, value: float, lo: float, hi: float) -> str | None:
    palette = get(overlay).palette if overlay in overlays() else None
    if palette is None or value is None or not math.isfinite(value):
        return None
    return colour(palette, (value - lo) / (hi - lo) if hi > lo else 0.5)


def fmt(x) -> str:
    """A short number for badges and tooltips ('–' for missing)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    x = float(x)
    if x == 0:
        return "0"
    if abs(x) >= 100 or abs(x) < 0.01:
        return f"{x:.2e}"
    return f"{x:.3g}"
