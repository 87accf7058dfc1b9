"""The learning-rate schedule follows the step count, also across a skipped (non-finite) update."""

import warnings

import torch

from r1repro.config import OptimConfig
from r1repro.train.common import build_optimizer


def test_schedule_advances_on_a_skipped_update_without_warning():
    model = torch.nn.Linear(2, 1)
    cfg = OptimConfig(lr=1.0, warmup_steps=2, schedule="linear", min_lr_ratio=0.0)
    opt, sched = build_optimizer(model, cfg, total_steps=4)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "lr_scheduler.step() before optimizer.step()" was raised here
        for step in range(4):
            if step != 0:  # step 0's update is skipped: its loss was non-finite
                opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
    # factor(s): warmup (s + 1) / 2 for s < 2, then linear 1 - (s - 2) / (4 - 2); after k steps lr = factor(k)
    assert lrs == [1.0, 1.0, 0.5, 0.0]


def test_schedule_state_round_trips_for_resume():
    model = torch.nn.Linear(2, 1)
    cfg = OptimConfig(lr=1.0, warmup_steps=0, schedule="cosine", min_lr_ratio=0.1)
    opt, sched = build_optimizer(model, cfg, total_steps=10)
    for _ in range(3):
        opt.step()
        sched.step()
    opt2, sched2 = build_optimizer(model, cfg, total_steps=10)
    sched2.load_state_dict(sched.state_dict())
    opt2.step()
    sched2.step()
    opt.step()
    sched.step()
    assert sched2.get_last_lr() == sched.get_last_lr()
