"""Per-position signals: what a step records beside the canvas, declared once.

A `Signal` says how a (B, N) array is named, labelled and coloured. The sampler's own statistics
(confidence, margin, entropy, the selection score, confidence's own pick) are declared here as
`CORE_SIGNALS`; each policy declares the signals it adds (BoE: TIS, gradient norm, candidates,
probes). The trace's JSON/parquet/pandas export, the trace check, the explorer's overlays and
heatmaps are all generated from these declarations, so a new signal touches only the policy
that emits it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .registry import Registry


@dataclass(frozen=True)
class Signal:
    name: str  # key in StepRecord.signals and column in the pandas export
    label: str  # human label (overlay menu, chart titles)
    kind: str = "float"  # "float" (NaN where it does not apply) or "bool"
    colorscale: str = "Viridis"  # a Plotly colour scale name
    symmetric: bool = False  # centre the colour scale on 0 (signed quantities)
    overlay: bool = True  # offered as a canvas overlay / heatmap
    description: str = ""

    def __post_init__(self):
        if self.kind not in ("float", "bool"):
            raise ValueError(f"Signal {self.name!r}: kind={self.kind!r} must be 'float' or 'bool'")

    def to_dict(self) -> dict:
        return asdict(self)


# The sampler's own per-position statistics: StepRecord fields, present for every policy.
CORE_SIGNALS: tuple[Signal, ...] = (
    Signal("confidence", "confidence p(x̂)", colorscale="Blues", description="probability of the proposed token"),
    Signal("entropy", "entropy H (nats)", colorscale="Oranges", description="predictive entropy of the position"),
    Signal("margin", "margin p1 − p2", colorscale="Greens", description="gap between the top two probabilities"),
    Signal("score", "policy score", colorscale="Purples", description="the policy's selection score (higher first)"),
)
# Recorded for every policy in StepRecord.signals: what the confidence sampler would commit now.
CONFIDENCE_PICK = Signal("confidence_pick", "confidence's pick", kind="bool", overlay=False,
                         description="the top-b eligible positions by confidence: what a confidence "
                                     "sampler would commit at this step (same forward, no extra cost)")


# Signals that policies declare. A policy's signals are registered with it (policies.register);
# the built-in policies are registered when boe_core (and so boe_core.policies) is imported.
SIGNALS: Registry[Signal] = Registry("signal")


def all_signals() -> dict[str, Signal]:
    """Every declared signal by name: the core ones, then each registered policy's."""
    out = {s.name: s for s in CORE_SIGNALS}
    out[CONFIDENCE_PICK.name] = CONFIDENCE_PICK
    for name, s in SIGNALS.items():
        out.setdefault(name, s)
    return out


def overlay_signals() -> list[Signal]:
    """Float signals the explorer can paint on the canvas or draw as a position x step heatmap."""
    return [s for s in all_signals().values() if s.overlay and s.kind == "float"]


def declared(name: str) -> Signal:
    """The declaration of `name`; an undeclared signal (e.g. from a trace made by a plugin policy
    that is not loaded) gets a plain float declaration so it still exports and displays."""
    return all_signals().get(name) or Signal(name, name)
