"""The overlay and heatmap menus list the signals the shown run recorded, plus the sampler's core
statistics that every run has; before any run they list every declared signal."""
from __future__ import annotations

import pytest

from app import handlers as H, overlays
from app.session import Session
from boe_core import generate


@pytest.fixture(scope="module")
def runs(tiny):
    return {p: generate(tiny, "ab", gen_length=16, steps=4, policy=p) for p in ("confidence", "boe", "remdm")}


def test_a_run_lists_what_it_recorded(runs):
    core = {n for n in overlays.CORE_NAMES if n in overlays.overlays()}
    conf = set(overlays.recorded(runs["confidence"]))
    assert conf == {"none"} | core  # confidence records no signal of its own
    boe = set(overlays.recorded(runs["boe"]))
    assert {"tis", "grad_norm"} <= boe
    assert not boe & {"remdm_sigma", "ig_objective", "pc_calibrated", "delta"}  # other policies' signals
    remdm = set(overlays.recorded(runs["remdm"]))
    assert "remdm_sigma" in remdm and "tis" not in remdm


def test_the_menus_follow_the_shown_run(runs):
    sess = Session()
    radio, dropdown = H.signal_menus(sess, "tis", "tis")  # no run yet: everything
    assert [n for _, n in radio.choices] == list(overlays.overlays())
    sess.trace = runs["confidence"]
    radio, dropdown = H.signal_menus(sess, "tis", "tis")
    names = [n for _, n in radio.choices]
    assert "tis" not in names and radio.value == "none"  # the choice falls back when the run lacks it
    assert dropdown.value in names and "none" not in [n for _, n in dropdown.choices]
    sess.trace = runs["boe"]
    radio, dropdown = H.signal_menus(sess, "tis", "tis")
    assert radio.value == "tis" and dropdown.value == "tis"
