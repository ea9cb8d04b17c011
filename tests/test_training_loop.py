"""The one training loop the trainers share: budgets, resume, schedule progress, logging, checkpoints."""
import torch

from boe_core.models import training


def _loop(seen, lrs, saved, logs, **kw):
    w = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([w], lr=0.1)

    def step_fn(step):
        seen.append(step)
        loss = ((w - torch.tensor([1.0, -1.0])) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return training.StepOut(loss.item(), {"acc": 0.5}, tokens=3, group="g")

    def lr_fn(step, progress):
        lrs.append(progress)
        return 0.1

    return training.TrainLoop(step_fn, lr_fn, opt, logs.append, lambda s: saved.append((s.step, s.tokens_seen)),
                              evaluate=lambda: {"val": 1}, log_every=2, **kw), w


def test_a_step_budget_runs_exactly_and_resumes_where_it_stopped():
    seen, lrs, saved, logs = [], [], [], []
    loop, _ = _loop(seen, lrs, saved, logs, max_steps=4)
    st = loop.run(training.LoopState())
    assert seen == [0, 1, 2, 3] and st.step == 4 and st.tokens_seen == 12
    assert saved[-1] == (4, 12)
    assert lrs == [0.0, 0.25, 0.5, 0.75]  # progress = step / max_steps
    assert any("g:loss=" in m and ",acc=0.5000" in m for m in logs) and any('final step 4: val {"val": 1}' in m for m in logs)
    assert loop.last["step"] == 4 and loop.last["acc"] == 0.5

    seen2, lrs2 = [], []
    loop2, _ = _loop(seen2, lrs2, saved, logs, max_steps=6)
    st2 = loop2.run(training.LoopState(step=4, tokens_seen=12))
    assert seen2 == [4, 5] and st2.step == 6 and st2.tokens_seen == 18 and lrs2 == [4 / 6, 5 / 6]


def test_the_optimizer_step_clips_and_reports_the_norm():
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    m = torch.nn.Module()
    m.w = w
    opt = torch.optim.SGD([w], lr=1.0)
    gn = training.optimizer_step(m, opt, (w ** 2).sum() / 2, grad_clip=1.0)  # grad = w, norm 5
    assert abs(gn - 5.0) < 1e-6
    assert torch.allclose(w.detach(), torch.tensor([3.0 - 0.6, 4.0 - 0.8]))


def test_a_budget_is_required():
    import pytest

    with pytest.raises(ValueError, match="budget"):
        training.TrainLoop(lambda s: None, lambda s, p: 0.1, None, print, lambda s: None)
