"""The RL loop really optimises its reward: sample -> reward -> advantage -> update, on a random model.

The reward is a toy one that a random model can improve quickly: the share of completion tokens
that are the digit "7". Every estimator and loss must raise it (vanilla REINFORCE included), and a
reward that punishes "7" must lower it: a sign error anywhere in the chain fails this test.
"""

import importlib.util

import pytest
import torch

from r1repro.config import LoRAConfig, OptimConfig, RLConfig, SamplingConfig, TinyModelConfig
from r1repro.data.schema import Problem
from r1repro.data.templates import Template
from r1repro.grading import Verdict
from r1repro.models import PolicyLogProbs, add_lora, build_tiny_model, train_tokenizer
from r1repro.rewards import ScoreResult
from r1repro.rollout.hf import HFBackend
from r1repro.train.common import EpochSampler, build_optimizer
from r1repro.train.critic import Critic
from r1repro.train.rl import Batch, RLContext, policy_update, rl_step, sample
from r1repro.train.sft import sft_update

TEXTS = [f"Q: What is {a} + {b}? A: {a + b} 7 77 {b}{a}" for a in range(30) for b in range(10)]
TINY = TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64, vocab_size=320)
PROBLEMS = [Problem(f"toy/{i}", "toy", "train", f"What is {i} + 1?", str(i + 1)) for i in range(4)]


def sevens(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(c == "7" for c in chars) / max(1, len(chars))


def letters(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(c.isalpha() for c in chars) / max(1, len(chars))


class ToyScorer:
    """A reward a random model can improve quickly: sign * measure(completion)."""

    def __init__(self, measure, sign):
        self.measure, self.sign = measure, sign

    def __call__(self, responses, golds, metas):
        r = [self.sign * self.measure(x) for x in responses]
        return ScoreResult(r, {"toy": r}, [Verdict(False, "mismatch") for _ in r])


def toy_context(rc: RLConfig, steps: int, measure=sevens, sign: float = 1.0, tmp_path=None,
                lora: LoRAConfig | None = None) -> RLContext:
    tok = train_tokenizer(TEXTS, 320)
    hf = build_tiny_model(TINY, tok, seed=0)
    model = PolicyLogProbs(add_lora(hf, lora) if lora else hf)
    opt, sched = build_optimizer(model, rc.optim, steps * rc.epochs)
    critic = None
    if rc.algorithm == "ppo":  # the value model starts from the same weights, saved to a folder
        model.model.save_pretrained(tmp_path / "init")
        tok.save_pretrained(tmp_path / "init")
        critic = Critic(str(tmp_path / "init"), rc.critic, steps * rc.epochs)
    return RLContext(rc, model, opt, sched, HFBackend(model.model, tok, batch_size=64), ToyScorer(measure, sign),
                     Template("toy", "Q: {question} A:", "think"), tok.pad_token_id, tok, critic=critic,
                     gen_model=model.model)


def train(advantage: str, loss: str, sign: float, steps: int = 12, measure=sevens, algorithm: str = "pg",
          tmp_path=None, lora: LoRAConfig | None = None) -> tuple[float, float]:
    rc = RLConfig(group_size=8, advantage=advantage, loss=loss, micro_batch=32, algorithm=algorithm,
                  epochs=2 if loss == "ppo_clip" else 1,
                  sampling=SamplingConfig(max_new_tokens=8, temperature=1.0, batch_size=64),
                  optim=OptimConfig(lr=1e-2), prompts_per_step=len(PROBLEMS))
    ctx = toy_context(rc, steps, measure, sign, tmp_path, lora)
    means = []
    for step in range(steps):
        batch, stats = rl_step(ctx, step, PROBLEMS)  # sample -> score -> advantages -> update
        means.append(stats["reward/mean"] * sign)
    return sum(means[:3]) / 3, sum(means[-3:]) / 3


@pytest.mark.parametrize("advantage,loss", [("none", "pg"), ("rloo", "pg"), ("grpo", "ppo_clip")])
def test_rl_raises_its_reward(advantage, loss):
    first, last = train(advantage, loss, sign=+1.0)
    # measured: from ~0.003 to 0.05-0.13 in 12 steps; a sign error would leave it at ~0
    assert last > max(0.03, 5 * first), (first, last)


def warm_start(tok, steps: int = 40):
    """The tiny model after `steps` SFT steps on TEXTS. A random tiny model's outputs are near uniform
    and its (tied) output head tiny: adapters on the blocks, with the head frozen, can barely move them."""
    model = build_tiny_model(TINY, tok, seed=0)
    opt, sched = build_optimizer(model, OptimConfig(lr=3e-3), steps)
    pairs = [(tok(t.split(" A:")[0] + " A:")["input_ids"], tok(t.split(" A:")[1])["input_ids"]) for t in TEXTS]
    order = EpochSampler(len(pairs), 0)
    for _ in range(steps):
        sft_update(model, opt, sched, [pairs[i] for i in order.take(16)], tok.pad_token_id, aggregation="token_mean",
                   micro_batch=16, max_grad_norm=1.0)
    return model


@pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="model.lora needs the lora extra (peft)")
@pytest.mark.parametrize("lora,lr", [(None, 1e-2), (LoRAConfig(r=8, alpha=16), 1e-1)])
def test_lora_rl_raises_its_reward_like_full_fine_tuning(lora, lr):
    """From the same warm start, RL raises the toy reward with LoRA (only the adapters train) as with
    full fine-tuning. Measured (20 steps): full 0.39 -> 1.00; LoRA r = 8 on every linear layer of the
    blocks, at 10x the lr (usual for LoRA), 0.39 -> 0.62-0.67, levelling off there (the head is frozen)."""
    rc = RLConfig(group_size=8, advantage="rloo", micro_batch=32, prompts_per_step=len(PROBLEMS),
                  sampling=SamplingConfig(max_new_tokens=8, temperature=1.0, batch_size=64), optim=OptimConfig(lr=lr))
    tok = train_tokenizer(TEXTS, 320)
    hf = warm_start(tok)
    model = PolicyLogProbs(add_lora(hf, lora) if lora else hf)
    opt, sched = build_optimizer(model, rc.optim, 20)
    ctx = RLContext(rc, model, opt, sched, HFBackend(model.model, tok, batch_size=64), ToyScorer(sevens, 1.0),
                    Template("toy", "Q: {question} A:", "think"), tok.pad_token_id, tok, gen_model=model.model)
    rewards = [rl_step(ctx, step, PROBLEMS)[1]["reward/mean"] for step in range(20)]
    assert sum(rewards[-3:]) / 3 > rewards[0] + 0.15, rewards
    if lora:  # only the adapters train
        assert all("lora_" in name for name, p in model.named_parameters() if p.requires_grad)


def test_ppo_with_a_value_model_raises_its_reward(tmp_path):
    first, last = train("rloo", "ppo_clip", sign=+1.0, algorithm="ppo", tmp_path=tmp_path)
    assert last > max(0.03, 5 * first), (first, last)


def test_rl_lowers_a_punished_behaviour():
    # measured (sampler of 5bff97c): 0.257 -> 0.190 after 12 steps, 0.098 after 20; a sign error raises it
    first, last = train("rloo", "pg", sign=-1.0, measure=letters, steps=20)
    assert last < first - 0.1, (first, last)  # the punished share of letters falls


def test_nonfinite_step_is_skipped_without_touching_weights():
    rc = RLConfig(group_size=4, micro_batch=8, sampling=SamplingConfig(max_new_tokens=6, batch_size=8),
                  optim=OptimConfig(lr=1e-2))
    ctx = toy_context(rc, 4)
    completions = sample(ctx.backend, ["Q: What is 1 + 1? A:"], rc, seed=0)
    before = [p.detach().clone() for p in ctx.model.parameters()]
    adv = torch.full((4,), float("nan"))
    batch = Batch([], ["p"], completions, [c.text for c in completions], torch.zeros(1, 4), adv, None)
    stats = policy_update(ctx, batch, None, None, seed=0)
    assert stats["skipped/nonfinite"] == 1
    assert all(torch.equal(a, b) for a, b in zip(before, ctx.model.parameters()))  # no optimizer step was taken


def test_run_stops_after_consecutive_nonfinite_steps(tmp_path):
    from conftest import MICRO, run_cli

    out = run_cli("run", str(MICRO), "rl.rewards.correct={wrong: .nan, unparseable: .nan}", "rl.max_nonfinite=2", "rl.steps=6", "eval.enabled=false",
                  "report.enabled=false", "--run-dir", str(tmp_path / "r"), check=False)
    assert out.returncode != 0
    assert "consecutive RL steps had a non-finite loss or gradient (rl.max_nonfinite=2)" in out.stderr


def test_kl_in_reward_penalises_drift_from_the_reference(tmp_path):
    """A constant reward of 1 with no baseline moves the policy; the KL penalty must then grow from 0."""
    import json

    from conftest import MICRO, run_cli

    run_cli("run", str(MICRO), "rl.kl_coef=0.1", "rl.kl_in=reward", "rl.optim.lr=1e-2", "rl.advantage=none",
            "rl.rewards.correct={wrong: 1, unparseable: 1}", "eval.enabled=false", "report.enabled=false",
            "--run-dir", str(tmp_path / "r"))
    records = [json.loads(x) for x in (tmp_path / "r" / "rl" / "metrics.jsonl").read_text().splitlines()]
    rewards = [r["reward/mean"] for r in records if "reward/mean" in r]
    assert rewards[0] == 1.0  # step 1: policy == reference, KL exactly 0
    assert 1.0 > rewards[1] > rewards[2]  # measured: 0.983, 0.967
