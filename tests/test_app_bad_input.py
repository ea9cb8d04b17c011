"""Bad input gives a clear message (the ConfigError / UserError text as a gr.Error, never a
traceback), at the handler level and through gradio_client; the server keeps serving."""
import json

import gradio as gr
import pytest
import torch

from app import compare, fidelity, fidelity_run, files, lockin
from app import handlers as H
from app import models
from app.session import Session
from boe_core.presets import preset_settings
from app_helpers import default_model_or_reason, live_server
from app.ui import guard
from boe_core.tasks.sudoku import load_examples


@pytest.fixture(scope="module")
def names(tmp_path_factory):
    """(text model, sudoku model): the shipped ones, or small random stand-ins for whichever is
    not shipped (these cases only check validation, which happens before any model compute)."""
    from boe_core import shipped_models
    from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
    from boe_core.tasks.sudoku import sudoku_tokenizer
    from boe_core.tokenization import char_tokenizer

    torch.set_num_threads(1)
    shipped, extra = shipped_models(), []
    text = "kjv" if "kjv" in shipped else None
    sudoku = "sudoku" if "sudoku" in shipped else None
    root = tmp_path_factory.mktemp("models")
    if text is None:
        tok = char_tokenizer(list("abcdefghij "), {"mask_token": "[MASK]", "pad_token": "[PAD]"})
        TinyMDM(TinyMDMConfig(vocab_size=tok.vocab_size, max_length=64, d_model=16, n_layers=1, n_heads=2)) \
            .save_pretrained(root / "text")
        tok.save(root / "text")
        text = str(root / "text")
        extra.append(text)
    if sudoku is None:
        tok = sudoku_tokenizer()
        TinyMDM(TinyMDMConfig(vocab_size=tok.vocab_size, max_length=81, d_model=16, n_layers=1, n_heads=2,
                              task="sudoku")).save_pretrained(root / "sudoku")
        tok.save(root / "sudoku")
        sudoku = str(root / "sudoku")
        extra.append(sudoku)
    models.configure(extra=extra)
    yield text, sudoku
    models.configure()


def inputs(model, **over):
    v = dict(model=model, prompt="In the beginning", gen_length=8, puzzle=load_examples()[0]["puzzle"],
             policy="boe", steps=8, block_length=0, temperature=0.0, seed=0,
             settings={**preset_settings("BoE default")[1], "r": 0})
    v.update(over)
    return v


def expect_error(fn, *args, match, **kw):
    """Call a guarded handler (consuming generators); it must raise gr.Error naming `match`."""
    with pytest.raises(gr.Error) as ei:
        out = guard(fn)(*args, **kw)
        if hasattr(out, "__next__"):
            list(out)
    msg = str(ei.value.message if hasattr(ei.value, "message") else ei.value)
    assert match.lower() in msg.lower(), msg
    assert "Traceback" not in msg and "File \"" not in msg
    return msg


TEXT_CASES = [  # (id, overrides, expected words in the message)
    ("empty-prompt", {"prompt": ""}, "prompt"),
    ("blank-prompt", {"prompt": "   \n "}, "empty"),
    ("huge-prompt", {"prompt": "a" * 25_000}, "longer than"),
    ("nul-in-prompt", {"prompt": "In the\x00 beginning"}, "control characters"),
    ("escape-in-prompt", {"prompt": "\x1b[31mred"}, "U+001B"),
    ("prompt-over-context", {"prompt": "and " * 4000}, "context"),
    ("prompt-not-text", {"prompt": 123}, "prompt"),
    ("gen-length-zero", {"gen_length": 0}, "gen_length"),
    ("gen-length-negative", {"gen_length": -5}, "gen_length"),
    ("gen-length-fraction", {"gen_length": 2.5}, "whole number"),
    ("gen-length-missing", {"gen_length": None}, "gen_length"),
    ("gen-length-huge", {"gen_length": 10**9}, "too large"),
    ("steps-zero", {"steps": 0}, "steps"),
    ("steps-negative", {"steps": -3}, "steps"),
    ("steps-huge", {"steps": 10**6}, "too large"),
    ("steps-not-number", {"steps": "many"}, "whole number"),
    ("block-not-dividing", {"block_length": 3}, "block_length"),
    ("block-negative", {"block_length": -2}, "block_length"),
    ("temperature-nan", {"temperature": float("nan")}, "temperature"),
    ("temperature-negative", {"temperature": -1.0}, "temperature"),
    ("temperature-huge", {"temperature": 1e9}, "too large"),
    ("temperature-inf", {"temperature": float("inf")}, "temperature"),
    ("temperature-text", {"temperature": "hot"}, "temperature"),
    ("seed-negative", {"seed": -1}, "seed"),
    ("rho-zero", {"settings": {"rho": 0.0}}, "rho"),
    ("rho-above-one", {"settings": {"rho": 2.0}}, "rho"),
    ("r-negative", {"settings": {"r": -1}}, "r=-1"),  # r < b is no longer refused: the step raises it to b
    ("tau-zero", {"settings": {"tau_s": 0.0}}, "tau_s"),
    ("lam-nan", {"settings": {"lam": float("nan")}}, "lam"),
    ("linearize-unknown", {"settings": {"linearize_at": "sideways"}}, "linearize_at"),
    ("setting-of-another-policy", {"settings": {"eta": 0.5}}, "not a setting of policy 'boe'"),
    ("settings-not-an-object", {"settings": "[1, 2]"}, "settings"),
    ("settings-bad-json", {"settings": "{rho: 1"}, "JSON object"),
    ("policy-unknown", {"policy": "greedy"}, "unknown policy"),
    ("model-unknown", {"model": "gpt-17"}, "unknown model"),
    ("model-none", {"model": None}, "model"),
]


@pytest.mark.parametrize("case,over,match", TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_bad_text_inputs(names, case, over, match):
    text, _ = names
    kw = inputs(text)
    kw.update(over)
    expect_error(H.run, None, **kw, match=match)


SUDOKU_CASES = [
    ("puzzle-empty", "", "empty"),
    ("puzzle-short", "123", "81 cells"),
    ("puzzle-letters", "x" * 81, "invalid characters"),
    ("puzzle-duplicate-clue", "11" + "0" * 79, "breaks a Sudoku rule"),
    ("puzzle-full", None, "no blank"),
    ("puzzle-huge", "0" * 10_000, "too long"),
    ("puzzle-unsolvable", "123456780" + "000000009" + "0" * 63, "no solution"),
]


@pytest.mark.parametrize("case,puzzle,match", SUDOKU_CASES, ids=[c[0] for c in SUDOKU_CASES])
def test_bad_puzzles(names, case, puzzle, match):
    _, sudoku = names
    if puzzle is None:
        puzzle = load_examples()[0]["solution"]
    expect_error(H.step, None, **inputs(sudoku, puzzle=puzzle, steps=4), match=match)


def test_non_latin_prompt_runs_with_a_warning(names):
    text, _ = names
    sess = Session()
    prompt = "起初神创造天地 В начале"
    out = H.step(sess, **inputs(text, prompt=prompt))
    messages, info = out[-1], out[-2]
    assert 'class="msg warn"' in messages and "outside the Latin alphabet" in messages
    assert sess.trace is not None and sess.trace.num_steps == 1 and info["step"] == 0


@pytest.fixture()
def good_trace(names, tmp_path):
    _, sudoku = names
    sess = Session()
    list(H.run(sess, **inputs(sudoku, steps=2)))
    return sess, files.export_trace(sess, "json")


def _write(tmp_path, name, data):
    p = tmp_path / name
    (p.write_bytes if isinstance(data, bytes) else p.write_text)(data)
    return str(p)


def test_bad_trace_uploads(good_trace, tmp_path, monkeypatch):
    _, path = good_trace
    good = json.loads(open(path).read())
    cases = [
        (None, "no file"),
        (_write(tmp_path, "a.json", "{not json"), "not valid JSON"),
        (_write(tmp_path, "b.json", json.dumps({"schema": "something-else"})), "not a BoE Explorer trace"),
        (_write(tmp_path, "c.json", "[1, 2, 3]"), "not a BoE Explorer trace"),
        (_write(tmp_path, "d.json", json.dumps({**good, "version": 99})), "version"),
        (_write(tmp_path, "e.json", json.dumps({k: v for k, v in good.items() if k != "records"})), "missing"),
        (_write(tmp_path, "f.parquet", b"PAR1\x00\x00"), "parquet"),
        (_write(tmp_path, "g.json", b"\xff\xfe\x00garbage\x80"), "UTF-8"),
        (_write(tmp_path, "h.json", "[" * 100_000 + "]" * 100_000), "not valid"),
        (_write(tmp_path, "i.json", json.dumps({**good, "records": []})), "no steps"),
        (_write(tmp_path, "j.json", json.dumps({**good, "records": ["x"]})), "not a valid trace"),
    ]
    bad_shape = json.loads(json.dumps(good))
    bad_shape["records"][0]["entropy"] = {"dtype": "float32", "shape": [1, 3], "data": [0.0, 1.0, 2.0]}
    cases.append((_write(tmp_path, "k.json", json.dumps(bad_shape)), "shape"))
    bad_dtype = json.loads(json.dumps(good))
    bad_dtype["records"][0]["chosen"]["dtype"] = "float32"
    cases.append((_write(tmp_path, "l.json", json.dumps(bad_dtype)), "dtype"))
    for f, match in cases:
        expect_error(files.import_trace, None, f, "none", match=match)
    monkeypatch.setattr(files, "MAX_UPLOAD_BYTES", 100)
    expect_error(files.import_trace, None, path, "none", match="too large")


def test_actions_without_a_trace_or_with_bad_values(good_trace):
    sess, _ = good_trace
    expect_error(compare.branch, None, "confidence", 0, match="nothing to branch")
    expect_error(fidelity.fidelity, None, 0, match="nothing to check")
    expect_error(files.export_trace, None, "json", match="nothing to export")
    expect_error(compare.branch, sess, "confidence", 999, match="at_step")
    expect_error(compare.branch, sess, "no-such-policy", 0, match="unknown preset")
    expect_error(H.select, sess, "x", "none", match="whole number")
    expect_error(H.set_overlay, sess, "rainbow", match="overlay")
    expect_error(files.export_trace, sess, "xml", match="format")


def test_loaded_trace_of_unknown_model_is_replay_only(good_trace, tmp_path):
    _, path = good_trace
    d = json.loads(open(path).read())
    d["model"] = "model-not-here"
    p = _write(tmp_path, "m.json", json.dumps(d))
    out = files.import_trace(None, p, "none")
    sess = out[0]
    assert sess.trace.num_steps == 2
    expect_error(compare.branch, sess, "confidence", 0, match="can only be replayed")


def test_lockin_and_whole_run_fidelity_refuse_bad_input(good_trace, names, tmp_path):
    sess, path = good_trace
    expect_error(lockin.lockin, None, "confidence", match="no run to map")
    expect_error(fidelity_run.fidelity_run, None, match="nothing to check")
    expect_error(lockin.lockin_open, sess, 0, match="no lock-in map")
    expect_error(lockin.lockin, sess, "greedy", match="policy")
    list(lockin.lockin(sess, "confidence"))
    expect_error(lockin.lockin_open, sess, 999, match="at_step")
    expect_error(lockin.lockin_open, sess, -1, match="at_step")
    expect_error(lockin.lockin_open, sess, "two", match="whole number")
    expect_error(lockin.lockin_cancel, sess, "no-such-job", match="job_id")
    expect_error(fidelity_run.fidelity_cancel, sess, "no-such-job", match="job_id")
    expect_error(fidelity_run.fidelity_run, sess, 0, match="every")
    expect_error(H.set_heatmap, sess, "rainbow", match="signal")
    # a run that is not finished cannot be mapped
    half = Session()
    H.step(half, **inputs(names[1], steps=4))
    expect_error(lockin.lockin, half, "confidence", match="run it to the end")


def test_a_trace_made_by_another_model_is_refused(good_trace, names, tmp_path):
    """A Sudoku trace relabelled as the text model: replay works, model work is refused."""
    text, _ = names
    _, path = good_trace
    d = json.loads(open(path).read())
    d["model"] = text
    p = _write(tmp_path, "other.json", json.dumps(d))
    sess = files.import_trace(None, p, "none")[0]
    assert sess.trace.num_steps == 2
    for fn, args in ((lockin.lockin, ("confidence",)), (fidelity_run.fidelity_run, ()), (compare.branch, ("confidence", 0)),
                     (fidelity.fidelity, (0,))):
        expect_error(fn, sess, *args, match="another model")


@pytest.mark.slow  # a live server
def test_server_reports_errors_and_keeps_serving():
    name, why = default_model_or_reason()
    if name is None:
        pytest.fail(why)
    from gradio_client import Client, handle_file

    with live_server() as url:
        bad = Client(url, verbose=False)
        for kw, match in (({"model": "no-such-model"}, "unknown model"), ({"steps": 0}, "steps"),
                          ({"temperature": -1.0}, "temperature")):
            with pytest.raises(Exception) as ei:
                bad.predict(**kw, api_name="/run")
            assert match in str(ei.value) and "Traceback" not in str(ei.value)
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write("{broken")
        with pytest.raises(Exception) as ei:
            bad.predict(file=handle_file(f.name), api_name="/import")
        assert "not valid JSON" in str(ei.value)
        for kw, api, match in (({"job_id": "nope"}, "/lockin_cancel", "no such lockin job"), ({"at_step": 3}, "/lockin_open", "lock-in"),
                               ({"policy": "greedy"}, "/lockin", "greedy"), ({}, "/fidelity_run", "nothing to check")):
            with pytest.raises(Exception) as ei:
                bad.predict(**kw, api_name=api)
            assert match in str(ei.value) and "Traceback" not in str(ei.value)
        good = Client(url, verbose=False)
        kw = {"steps": 4} if name == "sudoku" else {"steps": 4, "gen_length": 4}
        info = good.predict(**kw, api_name="/run")[7]
        assert info["done"] and info["num_steps"] == 4
        assert bad.predict(**kw, api_name="/run")[7]["done"]  # the failing session recovers too
