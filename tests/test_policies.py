"""Each policy's ordering on a hand-built logits fixture."""
import math

import numpy as np
import pytest
import torch

from boe_core import generate
from boe_core.models.base import MDMAdapter


class FixedLogits(MDMAdapter):
    """A stand-in model whose logits at each position are fixed, whatever the input."""

    split_head = False

    def __init__(self, logits):
        self.table = logits  # (N, V)
        self.max_length = logits.shape[0]
        super().__init__(mask_id=0, name="fixed")

    def embedding_matrix(self):
        return torch.eye(self.table.shape[1])

    def hidden(self, embeds, attention_mask=None, active=None):
        return self.table.expand(embeds.shape[0], -1, -1) + 0 * embeds.sum()

    def id_to_token(self, i):
        return str(i)

    def encode(self, text):
        return []


def _probs(*p):
    v = torch.tensor([1e-9, *p], dtype=torch.float64)  # id 0 is the mask, suppressed anyway
    return torch.log(v / v.sum()).float()


# position: (top prob, second prob, rest spread) -> designed so the orders differ
ROWS = [
    _probs(0.50, 0.49, 0.01),  # pos 0: confident-ish, tiny margin
    _probs(0.45, 0.05, *[0.5 / 10] * 10),  # pos 1: lower conf, big margin, high entropy
    _probs(0.48, 0.26, 0.26),  # pos 2: mid
    _probs(0.40, 0.30, 0.30),  # pos 3: lowest conf
]


def _fixture():
    V = max(r.numel() for r in ROWS)
    table = torch.full((4, V), -math.inf)
    for i, r in enumerate(ROWS):
        table[i, : r.numel()] = r
    return FixedLogits(table)


def _first_pick(policy):
    m = _fixture()
    tr = generate(m, canvas=torch.zeros(1, 4, dtype=torch.long), steps=4, policy=policy)
    return [int(np.flatnonzero(r.chosen[0])[0]) for r in tr.records]


def test_confidence_order():
    assert _first_pick("confidence") == [0, 2, 1, 3]


def test_margin_order():
    assert _first_pick("margin") == [1, 2, 3, 0]


def test_entropy_order():
    ent = [float(-(torch.softmax(r, 0) * torch.log_softmax(r, 0)).nan_to_num().sum()) for r in ROWS]
    assert _first_pick("entropy") == list(np.argsort(ent, kind="stable"))


def test_random_order_is_a_seeded_permutation():
    m = _fixture()
    orders = set()
    for seed in range(6):
        tr = generate(m, canvas=torch.zeros(1, 4, dtype=torch.long), steps=4, policy="random", seed=seed)
        order = tuple(int(np.flatnonzero(r.chosen[0])[0]) for r in tr.records)
        assert sorted(order) == [0, 1, 2, 3]
        orders.add(order)
    assert len(orders) > 1


def test_boe_falls_back_to_confidence_when_nothing_to_probe():
    m = _fixture()
    tr = generate(m, canvas=torch.zeros(1, 4, dtype=torch.long), steps=4, policy="boe")
    assert all(r.fallback[0] for r in tr.records)  # r >= |M|: every masked position is a candidate
    assert [int(np.flatnonzero(r.chosen[0])[0]) for r in tr.records] == [0, 2, 1, 3]


def test_selection_score_formula():
    from boe_core import BoESettings
    from boe_core.policies import StepContext
    from boe_core.policies.selection import selection_score
    from boe_core.numerics import token_stats

    m = _fixture()
    ids = torch.zeros(1, 4, dtype=torch.long)
    stats = token_stats(m.logits(ids), m.suppressed_ids, 0.0, None)
    cfg = BoESettings(gate="product", gamma=2.0, lam=0.5, h_max=3.0)
    masked = torch.ones(1, 4, dtype=torch.bool)
    ctx = StepContext(m, ids, None, masked, masked, torch.tensor([1]), 2, 4, stats, cfg, None)
    signal = torch.tensor([[1.0, 3.0, 2.0, 5.0]])
    cand = torch.tensor([[True, True, True, False]])
    s = selection_score(ctx, signal, cand)
    c, H = stats.confidence.double()[0], stats.entropy.double()[0]
    mm = torch.tensor([0.0, 1.0, 0.5])
    floor = 3.0 * 2 / 4
    expect = c[:3] ** 2 * mm - 0.5 * torch.clamp(floor - H[:3], min=0) ** 2
    assert torch.allclose(s[0, :3], expect)
    assert s[0, 3] == -math.inf
