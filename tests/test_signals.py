"""Signals are declared once by the policy that emits them; everything else is generated."""
import json
from pathlib import Path

import numpy as np
import torch

from boe_core import POLICIES, Signal, Trace, generate, overlay_signals
from boe_core.policies.base import Policy, PolicyResult, masked_scores, no_fallback
from boe_core.signals import all_signals
from boe_core.trace import SCHEMA_VERSION

FIXTURES = Path(__file__).parent / "fixtures"


class _ToyPolicy(Policy):
    """Commits left to right and emits a 'distance to the left edge' signal and a signed one."""

    name = "toy-left-first"
    description = "left to right (test only)"
    signals = (Signal("toy_distance", "distance from the left edge", colorscale="Greys"),
               Signal("toy_signed", "toy signed", colorscale="RdBu", symmetric=True))

    def score(self, ctx):
        pos = torch.arange(ctx.ids.shape[1], device=ctx.ids.device, dtype=torch.float64).expand(ctx.ids.shape)
        return PolicyResult(masked_scores(-pos, ctx.eligible), no_fallback(ctx),
                            signals={"toy_distance": pos.float(), "toy_signed": pos.float() - 4})


def test_a_new_policy_with_its_own_signal_touches_only_its_own_file(tiny):
    """The core records, exports and reloads the signal; the explorer offers it as an overlay, a
    heatmap and a hover line, coloured from its declaration, with no edit anywhere else."""
    from app import canvas, charts, overlays
    from app.ui import build_demo

    with POLICIES.registered(_ToyPolicy()):
        tr = generate(tiny, "ab", gen_length=6, steps=3, policy="toy-left-first", meta={"task": "text"})
        assert [int(np.flatnonzero(r.chosen[0])[0]) for r in tr.records] == [2, 4, 6]
        df = tr.to_pandas()
        assert "toy_distance" in df.columns
        assert df.loc[(df.step == 0) & (df.position == 5), "toy_distance"].item() == 5.0
        assert "toy_distance" in [s.name for s in overlay_signals()]
        back = Trace.from_json(tr.to_json())
        assert np.array_equal(back.records[1].signals["toy_distance"], tr.records[1].signals["toy_distance"])
        for r in back.records:
            r.check()
        # the explorer
        assert "toy_distance" in [n for _, n in overlays.overlay_choices()]
        assert "toy_distance" in overlays.heatmap_signals()
        assert "toy_distance" in [o.name for o in overlays.tooltip_signals()]
        assert overlays.get("toy_distance").palette == "greys"
        assert overlays.get("toy_signed").palette.startswith("diverging")
        html = canvas.canvas_html(tr, 0, "toy_distance")
        assert html.count("background:#") == int(tr.records[0].masked[0].sum())
        assert "distance from the left edge" in html  # its hover line
        lo, hi = overlays.overlay_range(tr, "toy_signed")
        assert lo == -hi > -np.inf
        fig = charts.heatmap_figure(tr, "toy_distance", 0)
        assert np.nanmax(np.array(fig.data[0].z, dtype=float)) > 0
        radios = [c for c in build_demo().config["components"] if c.get("props", {}).get("elem_id") == "overlay"]
        assert "toy_distance" in json.dumps(radios[0]["props"]["choices"])
        # bool signals are roles or markers, never overlays
        assert "candidates" not in dict(overlays.overlay_choices()).values()
        assert "confidence_pick" not in [o.name for o in overlays.roles()]
    assert "toy-left-first" not in POLICIES and "toy_distance" not in all_signals()  # gone with the policy


def test_every_step_records_confidences_own_pick(tiny):
    tr = generate(tiny, "ab", gen_length=8, steps=4, policy="random", seed=3)
    for r in tr.records:
        pick = r.signals["confidence_pick"][0]
        conf = np.where(r.eligible[0], r.confidence[0], -np.inf)
        assert set(np.flatnonzero(pick)) == set(np.argsort(-conf, kind="stable")[: int(r.n_commit[0])])


def test_version_1_traces_still_load():
    tr = Trace.from_json(FIXTURES / "trace_v1_boe.json")
    assert tr.config["policy"] == "boe" and tr.config["settings"]["r"] == 3
    rec = tr.records[0]
    assert set(rec.signals) == {"tis", "grad_norm", "candidates", "probes"}
    assert np.isfinite(rec.tis[0][rec.candidates[0]]).all()
    assert rec.candidates.dtype == bool and rec.notes == []
    again = Trace.from_json(tr.to_json())  # re-saved as v2
    assert again.to_dict()["version"] == SCHEMA_VERSION
    assert np.array_equal(again.records[0].tis, rec.tis, equal_nan=True)


def test_the_trace_check_names_a_signal_of_the_wrong_shape(tiny):
    tr = generate(tiny, "ab", gen_length=4, steps=2, policy="boe")
    rec = tr.records[0]
    rec.signals["confidence_pick"] = rec.signals["confidence_pick"][:, :3]
    try:
        rec.check()
    except ValueError as e:
        assert "'confidence_pick'" in str(e)
    else:
        raise AssertionError("a signal of the wrong shape passed the check")
