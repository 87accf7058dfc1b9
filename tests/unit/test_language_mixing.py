"""The language-mixing metric on hand-written traces of the mixing task (recipes/mixing/): what a
reader sees in a trace is what language_stats, script_spans, language_metrics and the language
reward count. Each trace is the think part the model writes after "<think>"."""

import pytest

from r1repro.data.synthetic import load_arithmetic
from r1repro.data.templates import TEMPLATES, sft_target
from r1repro.metrics import language_metrics, work_rate
from r1repro.rewards import language_reward
from r1repro.text import count_worked_steps, language_stats, script_spans, think_part

UNMIXED = " (a) 6 - 5 = 1. (b) 1 * 6 = 6. (c) 6 / 2 = 3. "
HAN = " (a) 减 6 - 5 = 1. (b) 乘 1 * 6 = 6. (c) 除 6 / 2 = 3. "
CYRILLIC = " (a) минус 6 - 5 = 1. (b) умножить 1 * 6 = 6. (c) делить 6 / 2 = 3. "
ONE_STEP = " (a) 减 6 - 5 = 1. (b) 1 * 6 = 6. (c) 6 / 2 = 3. "  # a model that mixes in one step only
DIRECT = " "  # " </think> <answer> 3 </answer>": no reasoning at all


@pytest.mark.parametrize("trace, counts, share, switches", [
    # the labels a b c are the only words (Latin); digits, symbols and punctuation are not words
    (UNMIXED, {"latin": 3}, 1.0, 0),
    # a 减 b 乘 c 除: three Latin, three Han, and the script changes between each pair of words
    (HAN, {"latin": 3, "han": 3}, 0.5, 5),
    # the same with one Cyrillic word per step (умножить is one word, not eight letters)
    (CYRILLIC, {"latin": 3, "cyrillic": 3}, 0.5, 5),
    # a 减 b c: one Han word among four, switches a->减->b
    (ONE_STEP, {"latin": 3, "han": 1}, 0.75, 2),
    # no words at all: fully on target, not mixed
    (DIRECT, {}, 1.0, 0),
])
def test_language_stats_of_mixing_task_traces(trace, counts, share, switches):
    st = language_stats(trace, "latin")
    assert st.counts == counts and st.target_share == share and st.switches == switches
    assert st.mixed == (len(counts) > 1)


def test_script_spans_mark_each_foreign_operation_word():
    # one highlight per operation word: the Latin labels between them keep the spans apart
    assert [(HAN[s:e], sc) for s, e, sc in script_spans(HAN, "latin")] == [("减", "han"), ("乘", "han"), ("除", "han")]
    assert [CYRILLIC[s:e] for s, e, _ in script_spans(CYRILLIC, "latin")] == ["минус", "умножить", "делить"]
    assert script_spans(UNMIXED, "latin") == [] and script_spans(DIRECT, "latin") == []


def test_language_metrics_over_a_set_of_traces():
    # traces: unmixed, Han, one-step Han, direct. mixed: 2 of 4; target share (1 + .5 + .75 + 1) / 4;
    # switches (0 + 5 + 2 + 0) / 4
    m = language_metrics([UNMIXED, HAN, ONE_STEP, DIRECT], "latin")
    assert m == {"lang/mixed_share": 0.5, "lang/target_share": 0.8125, "lang/switches": 1.75}
    # the operation words do not hide the work: every worked trace still counts 3 steps
    assert [count_worked_steps(t) for t in (UNMIXED, HAN, CYRILLIC, ONE_STEP, DIRECT)] == [3, 3, 3, 3, 0]
    assert work_rate([UNMIXED, HAN, ONE_STEP, DIRECT]) == 0.75


def test_language_reward_on_full_responses():
    # the RL reward reads the think block of "<think>" + completion: Latin share, 1.0 for no words
    responses = [f"<think>{t}</think> <answer> 3 </answer>" for t in (UNMIXED, HAN, CYRILLIC, ONE_STEP, DIRECT)]
    assert language_reward(responses, ["3"] * 5, [{}] * 5, script="latin") == [1.0, 0.5, 0.5, 0.75, 1.0]
    # the eval and the RL metrics measure the same text: the part before </think>, tag removed
    assert [think_part(r) for r in responses] == [UNMIXED, HAN, CYRILLIC, ONE_STEP, DIRECT]


def test_the_think_tag_is_not_a_word():
    # with the tag kept, "think" was a Latin word in every trace: a Han share of 3/7 instead of 1/2,
    # and a reasoning written wholly in Chinese counted as mixed
    assert language_stats(think_part("<think>" + HAN + "</think> <answer> 3 </answer>")).target_share == 0.5
    assert not language_stats(think_part("<think>我们先算出总数</think> <answer> 7 </answer>"), "han").mixed
    assert think_part("The answer is \\boxed{3}.") == "The answer is \\boxed{3}."  # no tags: all of it


def test_the_traces_are_the_tasks_own_sft_targets():
    # the hand-written traces are exactly what the generator writes for problem 2 of the train stream
    knobs = dict(n=3, steps=3, ops="+-*/", max_value=9, max_operand=9, style="labelled")
    qa = TEMPLATES["qa"]
    targets = {script: sft_target(qa, load_arithmetic("train", mix_script=script, mix_share=1.0, **knobs).problems[2])
               for script in ("han", "cyrillic")}
    plain = sft_target(qa, load_arithmetic("train", **knobs).problems[2])
    assert think_part(plain) == UNMIXED
    assert think_part(targets["han"]) == HAN and think_part(targets["cyrillic"]) == CYRILLIC


def _flat(obj, prefix=""):
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in _flat(val, f"{prefix}{key}.").items()}
    if isinstance(obj, (list, tuple)):
        return {k: v for i, val in enumerate(obj) for k, v in _flat(val, f"{prefix}{i}.").items()}
    return {prefix[:-1]: obj}


def test_mixing_recipes_are_the_quickstart_plus_mixing():
    # stage 1 differs from the quickstart only in its name, the mixing options and the token budgets
    # (a mixed worked answer is 3 tokens longer); stage 2 adds R1's second stage to stage 1
    from r1repro.config import load_recipe, to_dict

    quick, one, two = (_flat(to_dict(load_recipe(f"recipes/{p}.yaml")))
                       for p in ("quickstart", "mixing/stage1", "mixing/stage2"))
    changed = {k for k in quick.keys() | one.keys() if quick.get(k) != one.get(k)}
    assert changed == {"name", "data.train.0.options.mix_script", "data.train.0.options.mix_share",
                       "rl.sampling.max_new_tokens", *(f"eval.tasks.{t}.sampling.max_new_tokens" for t in
                                                       ("arith", "arith_forced_worked", "arith_forced_direct",
                                                        "arith_4step"))}
    assert (one["data.train.0.options.mix_script"], one["data.train.0.options.mix_share"]) == ("han", 0.5)
    changed = {k for k in one.keys() | two.keys() if one.get(k) != two.get(k)}
    assert changed == {"name", "sft.traces_from", "sft.traces_per_problem", "rl.rewards.language.weight",
                       "rl.rewards.language.script"}
    assert two["sft.traces_from"] == "runs/mixing-stage1" and two["rl.rewards.language.weight"] == 0.3
