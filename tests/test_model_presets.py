"""Per-model presets (issue #27 part 5, #28): a model folder's presets.json, read and checked by
boe_core.presets; without a model every function answers as before."""
import json

import pytest

from boe_core import ConfigError
from boe_core.presets import (DEFAULT_PRESET, default_preset_for, model_preset_entries, model_presets,
                              preset_settings, presets, read_presets_file)

GOOD = {
    "BoE · tuned": {"policy": "boe", "settings": {"gate": "additive", "beta": 1.0, "r": 4},
                    "chosen_on": "val split, infill token accuracy", "default": True},
    "BoE default": {"policy": "boe", "settings": {}, "chosen_on": "the Sudoku val tuning"},
}


def _folder(tmp_path, content, name="m"):
    d = tmp_path / name
    d.mkdir()
    (d / "presets.json").write_text(content if isinstance(content, str) else json.dumps(content))
    return d


class _Adapter:  # stands in for an adapter: load_model records its folder as model_dir
    def __init__(self, model_dir):
        self.model_dir = None if model_dir is None else str(model_dir)


def test_no_model_keeps_the_old_answers():
    assert list(presets(None)) == list(presets())
    assert preset_settings("BoE default") == preset_settings("BoE default", model=None)
    assert preset_settings("BoE default")[1]["gate"] == "threshold"
    assert default_preset_for() == DEFAULT_PRESET == "BoE default"


def test_model_file_is_read_listed_first_and_resolved(tmp_path):
    d = _folder(tmp_path, GOOD)
    for model in (d, str(d), _Adapter(d)):
        assert model_presets(model) == {"BoE · tuned": ("boe", {"gate": "additive", "beta": 1.0, "r": 4}),
                                        "BoE default": ("boe", {})}
        assert default_preset_for(model) == "BoE · tuned"
    table = presets(d)
    assert list(table)[0] == "BoE · tuned"
    assert set(presets()) < set(table)  # the policies' presets are still offered
    policy, s = preset_settings("BoE · tuned", model=_Adapter(d))
    assert policy == "boe" and s["gate"] == "additive" and s["beta"] == 1.0 and s["r"] == 4
    assert s["linearize_at"] == "midpoint"  # not overridden: the policy's default
    with pytest.raises(ConfigError):
        preset_settings("BoE · tuned")  # not a preset without that model
    assert model_preset_entries(d)["BoE · tuned"].chosen_on == "val split, infill token accuracy"


def test_a_model_label_wins_over_a_builtin_one(tmp_path):
    d = _folder(tmp_path, {"BoE default": {"policy": "boe", "settings": {"tau_c": 0.5},
                                           "chosen_on": "val"}})
    assert preset_settings("BoE default", model=d)[1]["tau_c"] == 0.5
    assert preset_settings("BoE default")[1]["tau_c"] == 0.9
    assert default_preset_for(d) == "BoE default"  # no entry marked default


def test_models_without_a_file_or_folder(tmp_path, tiny):
    (tmp_path / "bare").mkdir()
    assert model_presets(tmp_path / "bare") == {}
    assert default_preset_for(tmp_path / "bare") == DEFAULT_PRESET
    assert model_presets(tiny) == {}  # built in memory: no folder
    assert default_preset_for(_Adapter(None)) == DEFAULT_PRESET
    assert model_presets("some-org/hub-model") == {}  # a hub id: no folder here, no presets
    assert default_preset_for(str(tmp_path / "nowhere")) == DEFAULT_PRESET


@pytest.mark.parametrize("content, field", [
    ("{not json", "presets.json"),
    ([1, 2], "presets.json"),
    ({}, "presets.json"),
    ({"x": "boe"}, "'x'"),
    ({"x": {"policy": "nope", "chosen_on": "val"}}, "'x'.policy"),
    ({"x": {"policy": "boe", "settings": {"gate": "sideways"}, "chosen_on": "val"}}, "'x'.settings.gate"),
    ({"x": {"policy": "boe", "settings": {"tau_c": 2.0}, "chosen_on": "val"}}, "'x'.settings.tau_c"),
    ({"x": {"policy": "boe", "settings": {"no_such_knob": 1}, "chosen_on": "val"}}, "'x'.settings"),
    ({"x": {"policy": "boe", "settings": [1], "chosen_on": "val"}}, "'x'.settings"),
    ({"x": {"policy": "boe", "settings": {}}}, "'x'.chosen_on"),
    ({"x": {"policy": "boe", "settings": {}, "chosen_on": "  "}}, "'x'.chosen_on"),
    ({"x": {"policy": "boe", "settings": {}, "chosen_on": "val", "default": "yes"}}, "'x'.default"),
    ({"x": {"policy": "boe", "settings": {}, "chosen_on": "val", "colour": 1}}, "'x'.colour"),
    ({"x": {"policy": "boe", "chosen_on": "val", "default": True},
      "y": {"policy": "boe", "chosen_on": "val", "default": True}}, ": default"),
    ({"x": {"policy": "confidence", "chosen_on": "val", "default": True}}, "'x'.default"),
])
def test_bad_files_are_refused_naming_file_and_field(tmp_path, content, field):
    d = _folder(tmp_path, content)
    with pytest.raises(ConfigError) as err:
        model_presets(d)
    msg = str(err.value)
    assert str(d / "presets.json") in msg and field in msg
    with pytest.raises(ConfigError):
        read_presets_file(d / "presets.json")


def test_shipped_presets_files_are_valid():
    from boe_core.models import shipped_models
    from boe_core.paths import models_dir

    seen = 0
    for name in shipped_models():
        if (models_dir() / name / "presets.json").is_file():
            entries = model_preset_entries(name)
            label = default_preset_for(name)
            assert label in presets(name)
            assert preset_settings(label, model=name)[0] == "boe"
            assert all(e.chosen_on for e in entries.values())
            seen += 1
    assert seen >= 1 or not shipped_models()


def test_load_model_adapter_finds_its_folder_presets(tmp_path, tiny_sudoku_dir):
    import shutil

    from boe_core import load_model

    d = tmp_path / "saved"
    shutil.copytree(tiny_sudoku_dir, d)
    assert default_preset_for(load_model(str(d))) == DEFAULT_PRESET  # no presets.json yet
    (d / "presets.json").write_text(json.dumps(GOOD))
    adapter = load_model(str(d))
    assert adapter.model_dir == str(d)
    assert default_preset_for(adapter) == "BoE · tuned"
    assert preset_settings(default_preset_for(adapter), model=adapter)[1]["gate"] == "additive"
