import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the tests never phone home

import pytest
import torch  # importing torch does not import triton

# Without a GPU, Triton kernels run through the CPU interpreter; it must be set before triton loads.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(scope="session")
def tiny():
    """A small random TinyMDM over 10 letters (float32)."""
    from boe_core import TinyMDMAdapter

    return TinyMDMAdapter.random(seed=0)


@pytest.fixture(scope="session")
def tiny64():
    """The same architecture in float64 with sharper (larger) embeddings, for finite differences."""
    from boe_core import TinyMDMAdapter

    m = TinyMDMAdapter.random(seed=1, dtype=torch.float64)
    with torch.no_grad():
        m.model.tok_emb.weight.mul_(25)
    return m


@pytest.fixture(scope="session")
def tiny_sudoku_dir(tmp_path_factory):
    """A random 1-layer TinyMDM over the Sudoku tokenizer (config task = sudoku), saved to disk."""
    from boe_core.models.tiny_mdm import TinyMDM, TinyMDMConfig
    from boe_core.tasks.sudoku import sudoku_tokenizer

    path = tmp_path_factory.mktemp("tiny_sudoku")
    tok = sudoku_tokenizer()
    torch.manual_seed(0)
    TinyMDM(TinyMDMConfig(vocab_size=tok.vocab_size, max_length=81, d_model=16, n_layers=1, n_heads=2,
                          task="sudoku")).save_pretrained(path)
    tok.save(path)
    return path
