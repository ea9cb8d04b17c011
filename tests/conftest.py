import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest  # noqa: E402
import torch  # noqa: E402  (importing torch does not import triton)

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
