"""DAPO's batch hygiene inside a real RL step (tiny random model): dynamic sampling draws and keeps the
groups it should, a masked truncated completion adds exactly nothing to the update, and the soft
overlong penalty lands in the rewards."""

import dataclasses

import torch
from test_rl_learns import TEXTS, toy_context  # noqa: F401  (TEXTS: the toy tokenizer's text)

from r1repro.config import OptimConfig, RLConfig, SamplingConfig
from r1repro.data.schema import Problem
from r1repro.grading import Verdict
from r1repro.rewards import ScoreResult
from r1repro.rollout import Completion
from r1repro.train.rl import Batch, policy_update, rl_step, rollout


class OddGoldScorer:
    """Hand-made groups: a problem with an odd gold gets rewards [1, 0, ..., 0] (informative), an even
    gold [0, ..., 0] (all equal). Rows are prompt-major, so row i is sample i % k of its prompt."""

    def __init__(self, k: int):
        self.k = k

    def __call__(self, responses, golds, metas):
        r = [float(int(g) % 2 == 1 and i % self.k == 0) for i, g in enumerate(golds)]
        return ScoreResult(r, {"toy": r}, [Verdict(x == 1.0, "match" if x else "mismatch") for x in r])


class ListSampler:
    """Hands out indices 0, 1, 2, ... in order (the draws are then known by hand)."""

    def __init__(self):
        self.pos = 0

    def take(self, n):
        out = list(range(self.pos, self.pos + n))
        self.pos += n
        return out


def problem(gold: int) -> Problem:
    return Problem(f"toy/{gold}", "toy", "train", f"What is {gold - 1} + 1?", str(gold))


def dynamic_context(max_draws: int):
    rc = RLConfig(group_size=2, prompts_per_step=2, micro_batch=8, dynamic_sampling=True, max_draws=max_draws,
                  sampling=SamplingConfig(max_new_tokens=4, batch_size=16), optim=OptimConfig(lr=1e-3))
    ctx = toy_context(rc, steps=2)
    ctx.scorer, ctx.sampler = OddGoldScorer(rc.group_size), ListSampler()
    ctx.problems = [problem(g) for g in (4, 6, 5, 7)]  # draw 2: both all-equal; draw 3: both informative
    return ctx


def test_dynamic_sampling_draws_until_the_batch_is_informative():
    ctx = dynamic_context(max_draws=3)
    first = [problem(2), problem(3)]  # informative: [no, yes]
    batch, stats = rl_step(ctx, 1, first)
    # drawn: 2, 3 | 4, 6 | 5, 7 -> informative [F, T, F, F, T, T]: the first two informative are 3 and 5
    assert [p.gold for p in batch.problems] == ["3", "5"]
    assert batch.rewards.tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert len(batch.completions) == 4 and batch.prompts[1].count("4 + 1") == 1
    assert stats["dynamic/draws"] == 3 and stats["dynamic/prompts"] == 6 and stats["dynamic/filled"] == 0
    assert stats["dynamic/all_same"] == 0.5  # 3 of the 6 drawn groups
    assert stats["groups/all_same"] == 0.0  # the trained batch
    assert ctx.sampler.pos == 4


def test_dynamic_sampling_stops_at_max_draws_and_fills_the_batch():
    ctx = dynamic_context(max_draws=2)
    batch, stats = rl_step(ctx, 1, [problem(2), problem(3)])
    # drawn: 2, 3 | 4, 6 -> one informative group (3); the first dropped one (2) fills the batch
    assert [p.gold for p in batch.problems] == ["2", "3"]
    assert stats["dynamic/draws"] == 2 and stats["dynamic/filled"] == 0.5 and stats["dynamic/all_same"] == 0.75


def test_dynamic_sampling_needs_no_second_draw_when_every_group_is_informative():
    ctx = dynamic_context(max_draws=3)
    batch, stats = rl_step(ctx, 1, [problem(3), problem(5)])
    assert [p.gold for p in batch.problems] == ["3", "5"]
    assert stats["dynamic/draws"] == 1 and ctx.sampler.pos == 0


def test_without_dynamic_sampling_all_equal_groups_are_trained():
    ctx = dynamic_context(max_draws=3)
    ctx.rc = dataclasses.replace(ctx.rc, dynamic_sampling=False)
    batch, stats = rl_step(ctx, 1, [problem(2), problem(4)])
    assert [p.gold for p in batch.problems] == ["2", "4"] and stats["groups/all_same"] == 1.0
    assert not any(k.startswith("dynamic/") for k in stats)


def _completion(prompt, ids, finish):
    return Completion(tuple(prompt), tuple(ids), "x", finish)


def _updated_weights(completions, advantages, mask_truncated: bool = False, **rc_kw):
    rc = RLConfig(**{"group_size": len(completions), "micro_batch": 8, "mask_truncated": mask_truncated,
                     "sampling": SamplingConfig(max_new_tokens=5, batch_size=8),
                     "optim": OptimConfig(lr=1e-2, warmup_steps=0), **rc_kw})
    ctx = toy_context(rc, 1)
    # plain SGD with lr 1: the weights move by exactly the (clipped) gradient, which is what is compared
    ctx.optimizer = torch.optim.SGD(ctx.model.parameters(), lr=1.0)
    ctx.scheduler = torch.optim.lr_scheduler.LambdaLR(ctx.optimizer, lambda step: 1.0)
    before = [p.detach().clone() for p in ctx.model.parameters()]
    batch = Batch([], ["p"], completions, ["x"] * len(completions), torch.zeros(1, len(completions)),
                  torch.tensor(advantages), None)
    stats = policy_update(ctx, batch, None, None, seed=0)
    return [b - p.detach() for b, p in zip(before, ctx.model.parameters())], stats


def test_a_masked_truncated_completion_adds_nothing_to_the_update():
    prompt = [5, 6, 7]
    done = _completion(prompt, [8, 9, 10], "eos")
    cut = _completion(prompt, [11, 12, 13, 14, 15], "length")  # the budget of 5 tokens
    masked, _ = _updated_weights([done, cut], [-1.0, 1.0], mask_truncated=True)
    alone, _ = _updated_weights([done], [-1.0], mask_truncated=False)
    both, _ = _updated_weights([done, cut], [-1.0, 1.0], mask_truncated=False)
    # token_mean over the 3 kept tokens: the same gradient as `done` alone
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(masked, alone))
    assert max(float(a.abs().max()) for a in alone) > 1e-4  # the update is not trivially zero
    assert not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(masked, both))


def test_every_completion_masked_gives_a_zero_gradient_not_a_nonfinite_step():
    cut = _completion([5, 6], [11, 12, 13, 14, 15], "length")
    _, stats = _updated_weights([cut], [1.0], mask_truncated=True)
    assert stats["grad/norm"] == 0.0 and stats["skipped/nonfinite"] == 0


def test_zero_advantage_sequences_are_skipped_without_changing_the_update():
    prompt = [5, 6, 7]
    comps = [_completion(prompt, ids, "eos") for ids in ([8, 9, 10], [11, 12], [13, 14, 15, 16], [8, 12, 9])]
    adv = [1.0, 0.0, -0.5, 0.0]
    skipped, st_skip = _updated_weights(comps, adv, skip_zero_advantage=True, micro_batch=2)
    full, st_full = _updated_weights(comps, adv, skip_zero_advantage=False, micro_batch=2)
    assert st_skip["skipped/zero_adv"] == 0.5 and st_full["skipped/zero_adv"] == 0.0
    assert max(float(a.abs().max()) for a in full) > 1e-4  # the update is not trivially zero
    # the same update up to float summation order (the micro-batches hold other sequences)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(skipped, full))
    # an entropy bonus has a gradient of its own at advantage 0: nothing is skipped
    _, st_ent = _updated_weights(comps, adv, skip_zero_advantage=True, entropy_coef=0.01)
    assert st_ent["skipped/zero_adv"] == 0.0


def test_all_zero_advantages_keep_one_sequence_and_take_a_zero_step():
    comps = [_completion([5, 6], ids, "eos") for ids in ([8, 9], [10, 11, 12])]
    delta, stats = _updated_weights(comps, [0.0, 0.0], skip_zero_advantage=True)
    assert stats["skipped/zero_adv"] == 0.5 and stats["grad/norm"] == 0.0 and stats["skipped/nonfinite"] == 0
    assert all(float(d.abs().max()) == 0.0 for d in delta)


def test_soft_overlong_penalty_is_added_to_the_rewards():
    rc = RLConfig(group_size=4, micro_batch=8, overlong_buffer=4, overlong_penalty=0.5,
                  sampling=SamplingConfig(max_new_tokens=8, batch_size=16))
    ctx = toy_context(rc, 1)
    batch, _, _ = rollout(ctx, 1, [problem(3)])
    lengths = [len(c.ids) for c in batch.completions]
    by_hand = [-0.5 * max(0, n - 4) / 4 for n in lengths]  # 0 up to 4 tokens, -0.5 at the budget of 8
    toy = batch.score.components["toy"]
    assert batch.score.components["overlong"] == by_hand
    assert batch.rewards.view(-1).tolist() == [t + p for t, p in zip(toy, by_hand)]
    assert 8 in lengths  # a random model runs into the budget: the penalty is exercised
