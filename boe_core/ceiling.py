"""The order ceiling of a finished run: the oracle order (`boe_core.policies.oracle`, which reads
the answer) decoding the run's own initial canvas with the run's budget, blocks and seed. Where
it solves a problem the run got wrong, the order alone could have solved it: the model proposed
the right tokens, and the run committed them in an order that lost them (issue #29).

    ceiling = order_ceiling(model, trace, target)   # a Trace; judge its final canvas as the run's
"""
from __future__ import annotations

import torch

from .config import DecodeConfig
from .errors import ConfigError
from .sampler import generate
from .trace import Trace

POLICY = "oracle"


def order_ceiling(model, trace: Trace, target) -> Trace:
    """The oracle order's run on `trace`'s initial canvas: the run's steps, block length,
    temperature and seed, the oracle's own default settings. `target`: (B, N) answer ids, -1
    where the answer says nothing (a task view's `CanvasPlan.target`, or a task's `answer_canvas`)."""
    if target is None:
        raise ConfigError("target", None, "the order ceiling reads the answer: this run has none")
    cfg = DecodeConfig.from_dict(trace.config).replace(policy=POLICY, settings={}).validate()
    am = None if trace.attention_mask is None else torch.as_tensor(trace.attention_mask)
    return generate(model, canvas=torch.as_tensor(trace.initial_canvas), attention_mask=am, config=cfg,
                    target=torch.as_tensor(target), meta=dict(trace.meta))  # the view judges by its meta
