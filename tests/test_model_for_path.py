"""The explorer finds the model of a trace made by a model given as a folder path: the trace names
the folder's last part (the adapter's name), the server offers the path. Exported and loaded
again, the trace can still be intervened on and its Cascade computed (app.common.model_for)."""
import shutil

import pytest
import torch

from app import files, models
from app import handlers as H
from app import intervene as IV
from app.common import model_for
from app.session import Session, UserError
from boe_core.paths import models_dir
from boe_core.tasks.views import commit_steps


@pytest.fixture(scope="module")
def path_run(tmp_path_factory):
    """A finished confidence run of the shipped sudoku model, offered by the server as a folder path."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("models") / "my-sudoku"
    shutil.copytree(models_dir() / "sudoku", folder)
    models.configure(extra=[str(folder)])
    sess = Session()
    list(H.run(sess, model=str(folder), prompt="", gen_length=8, puzzle=H.default_inputs("sudoku")["puzzle"],
               policy="confidence", steps=12, block_length=0, temperature=0.0, seed=0, settings={}))
    yield folder, sess
    models.configure()


def test_a_path_models_trace_names_the_folder_and_finds_its_model(path_run):
    folder, sess = path_run
    assert sess.trace.model == "my-sudoku"  # what load_model names it; the server lists the path
    assert str(folder) in models.model_choices() and "my-sudoku" not in models.model_choices()
    assert model_for(sess.trace, "test") is models.get_adapter(str(folder))


def test_an_exported_trace_of_a_path_model_is_intervened_on_after_loading(path_run):
    _, sess = path_run
    loaded = files.import_trace(Session(), files.export_trace(sess, "json"))[0]
    tr = loaded.trace
    pos = next(int(p) for p in range(tr.final_canvas.shape[1]) if commit_steps(tr)[p] == 2)
    list(IV.intervene(loaded, pos, "mask", "", 3, ""))
    assert loaded.branch is not None and loaded.branch.meta["interventions"][-1]["positions"] == [pos]


def test_a_trace_of_a_model_the_server_does_not_offer_is_still_refused(path_run):
    _, sess = path_run
    tr = sess.trace.from_dict(sess.trace.to_dict())
    tr.model = "no-such-model"
    with pytest.raises(UserError, match="no-such-model"):
        model_for(tr, "test")


def test_a_folder_of_the_same_name_holding_another_model_is_refused(path_run, tmp_path):
    folder, sess = path_run
    other = tmp_path / "my-sudoku"  # same last part, another model (another vocabulary)
    shutil.copytree(models_dir() / "sudoku6", other)
    models.configure(extra=[str(other)])
    try:
        with pytest.raises(UserError, match="another model"):
            model_for(sess.trace, "test")
    finally:
        models.configure(extra=[str(folder)])
