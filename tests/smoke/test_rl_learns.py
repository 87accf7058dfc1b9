"""The RL loop really optimises its reward: sample -> reward -> advantage -> update, on a random model.

The reward is a toy one that a random model can improve quickly: the share of completion tokens
that are the digit "7". Every estimator and loss must raise it (vanilla REINFORCE included), and a
reward that punishes "7" must lower it: a sign error anywhere in the chain fails this test.
"""

import pytest
import torch

from r1repro.algos.advantages import ADVANTAGES
from r1repro.config import OptimConfig, RLConfig, SamplingConfig, TinyModelConfig
from r1repro.models import build_tiny_model, train_tokenizer
from r1repro.rollout.hf import HFBackend
from r1repro.train.common import build_optimizer
from r1repro.train.rl import Batch, policy_update, sample

TEXTS = [f"Q: What is {a} + {b}? A: {a + b} 7 77 {b}{a}" for a in range(30) for b in range(10)]


def sevens(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(c == "7" for c in chars) / max(1, len(chars))


def letters(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(c.isalpha() for c in chars) / max(1, len(chars))


def train(advantage: str, loss: str, sign: float, steps: int = 12, measure=sevens) -> tuple[float, float]:
    tok = train_tokenizer(TEXTS, 320)
    model = build_tiny_model(TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64,
                                             vocab_size=320), tok, seed=0)
    rc = RLConfig(group_size=8, advantage=advantage, loss=loss, micro_batch=32, epochs=2 if loss == "ppo_clip" else 1,
                  sampling=SamplingConfig(max_new_tokens=8, temperature=1.0, batch_size=64),
                  optim=OptimConfig(lr=1e-2))
    opt, sched = build_optimizer(model, rc.optim, steps * rc.epochs)
    backend = HFBackend(model, tok, batch_size=64)
    prompts = [f"Q: What is {i} + 1? A:" for i in range(4)]
    means = []
    for step in range(steps):
        completions = sample(backend, prompts, rc, seed=step)
        r = torch.tensor([sign * measure(c.text) for c in completions]).view(len(prompts), rc.group_size)
        means.append(float(r.mean()) * sign)
        adv = ADVANTAGES[advantage](r).reshape(-1)
        old = None
        if rc.epochs > 1:
            from r1repro.train.rl import sequence_logprobs

            old = sequence_logprobs(model, completions, tok.pad_token_id, rc, rc.micro_batch)
        batch = Batch([], prompts, completions, [c.text for c in completions], r, adv, None)
        policy_update(model, opt, sched, batch, old, None, tok.pad_token_id, rc, seed=step)
    return sum(means[:3]) / 3, sum(means[-3:]) / 3


@pytest.mark.parametrize("advantage,loss", [("none", "pg"), ("rloo", "pg"), ("grpo", "ppo_clip")])
def test_rl_raises_its_reward(advantage, loss):
    first, last = train(advantage, loss, sign=+1.0)
    # measured: from ~0.003 to 0.05-0.13 in 12 steps; a sign error would leave it at ~0
    assert last > max(0.03, 5 * first), (first, last)


def test_rl_lowers_a_punished_behaviour():
    # measured (sampler of 5bff97c): 0.257 -> 0.190 after 12 steps, 0.098 after 20; a sign error raises it
    first, last = train("rloo", "pg", sign=-1.0, measure=letters, steps=20)
    assert last < first - 0.1, (first, last)  # the punished share of letters falls


def test_nonfinite_step_is_skipped_without_touching_weights():
    tok = train_tokenizer(TEXTS, 320)
    model = build_tiny_model(TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64,
                                             vocab_size=320), tok, seed=0)
    rc = RLConfig(group_size=4, micro_batch=8, sampling=SamplingConfig(max_new_tokens=6, batch_size=8),
                  optim=OptimConfig(lr=1e-2))
    opt, sched = build_optimizer(model, rc.optim, 4)
    completions = sample(HFBackend(model, tok), ["Q: What is 1 + 1? A:"], rc, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    adv = torch.full((4,), float("nan"))
    batch = Batch([], ["p"], completions, [c.text for c in completions], torch.zeros(1, 4), adv, None)
    stats = policy_update(model, opt, sched, batch, None, None, tok.pad_token_id, rc, seed=0)
    assert stats["skipped/nonfinite"] == 1
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # no optimizer step was taken


def test_run_stops_after_consecutive_nonfinite_steps(tmp_path):
    from conftest import MICRO, run_cli

    out = run_cli("run", str(MICRO), "rl.wrong_value=.nan", "rl.unparseable_value=.nan", "rl.max_nonfinite=2", "rl.steps=6", "eval.enabled=false",
                  "report.enabled=false", "--run-dir", str(tmp_path / "r"), check=False)
    assert out.returncode != 0
    assert "consecutive RL steps had a non-finite loss or gradient (rl.max_nonfinite=2)" in out.stderr


def test_kl_in_reward_penalises_drift_from_the_reference(tmp_path):
    """A constant reward of 1 with no baseline moves the policy; the KL penalty must then grow from 0."""
    import json

    from conftest import MICRO, run_cli

    run_cli("run", str(MICRO), "rl.kl_coef=0.1", "rl.kl_in=reward", "rl.optim.lr=1e-2", "rl.advantage=none",
            "rl.unparseable_value=1", "rl.wrong_value=1", "eval.enabled=false", "report.enabled=false",
            "--run-dir", str(tmp_path / "r"))
    rewards = [json.loads(x)["reward/mean"] for x in (tmp_path / "r" / "rl" / "metrics.jsonl").read_text().splitlines()]
    assert rewards[0] == 1.0  # step 1: policy == reference, KL exactly 0
    assert 1.0 > rewards[1] > rewards[2]  # measured: 0.983, 0.967
