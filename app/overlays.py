"""The per-position signals the explorer shows, in ONE table: overlays on the canvas, heatmaps,
tooltip lines, and the record fields a loaded trace must have.

Every read of a per-position value goes through `values(record, name)`, so a signal moving into
`StepRecord.signals` (a dict) needs no change anywhere else.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Signal:
    name: str  # record field / signals key
    label: str
    palette: str | None = None  # canvas overlay palette (None: not an overlay)
    scale: str = "Viridis"  # Plotly colour scale of its heatmap
    title: str = ""  # heatmap title
    desc: str = ""
    symmetric: bool = False  # colour range centred on 0
    heatmap: bool = False  # one of the Explore tab's heatmaps
    tooltip: bool = False  # a line in a masked position's hover text
    role: bool = False  # a boolean mask (shown as "BoE candidate / probe")
    missing: str = "no values"  # what an all-NaN heatmap says


SIGNALS = (
    Signal("confidence", "Confidence", "greens", "Greens", "Confidence", "probability of the top proposal"),
    Signal("entropy", "Entropy", "oranges", "Oranges", "Entropy (nats)", "uncertainty of the position, nats",
           heatmap=True),
    Signal("tis", "TIS", "diverging", "RdBu_r", "TIS", "Token Influence Score: predicted drop of future entropy",
           symmetric=True, heatmap=True, tooltip=True, missing="not computed by this policy (BoE computes it)"),
    Signal("grad_norm", "‖∂F/∂e‖", "purples", "Purples", "‖∂F/∂e‖", "gradient magnitude of the future entropy F",
           heatmap=True, tooltip=True, missing="not computed by this policy (BoE computes it)"),
    Signal("candidates", "candidate", role=True),
    Signal("probes", "probe", role=True),
)
BY_NAME = {s.name: s for s in SIGNALS}
NONE = Signal("none", "None")
OVERLAYS = {"none": NONE, **{s.name: s for s in SIGNALS if s.palette}}
OVERLAY_CHOICES = [(s.label, k) for k, s in OVERLAYS.items()]
HEATMAPS = tuple(s.name for s in SIGNALS if s.heatmap)
TOOLTIP = tuple(s for s in SIGNALS if s.tooltip)
ROLES = tuple(s for s in SIGNALS if s.role)
RECORD_FIELDS = tuple(s.name for s in SIGNALS)  # (B, N) arrays every loaded record must carry

PALETTES = {
    "greens": ["#f4fbf2", "#c7e9c0", "#74c476", "#31a354", "#006d2c"],
    "oranges": ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"],
    "purples": ["#fcfbfd", "#dadaeb", "#9e9ac8", "#6a51a3", "#3f007d"],
    "diverging": ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"],
}


def values(record, name: str) -> np.ndarray:
    """The (B, N) values of signal `name` in a step record."""
    signals = getattr(record, "signals", None)
    if isinstance(signals, dict) and name in signals:
        return signals[name]
    return getattr(record, name)


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
    sig = OVERLAYS.get(overlay, NONE)
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
    return 0.0, hi if hi > 0 else 1.0


def overlay_colour(overlay: str, value: float, lo: float, hi: float) -> str | None:
    palette = OVERLAYS.get(overlay, NONE).palette
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
