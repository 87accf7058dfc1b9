"""Rewards: hand-computed values for correctness, R1 format, language consistency and the Scorer.

Run: python -m pytest tests/unit/test_rewards.py -q
"""

from __future__ import annotations

import pytest

from r1repro.grading import GraderPolicy
from r1repro.rewards import (
    REWARDS,
    Scorer,
    format_reward,
    in_answer_format,
    is_r1_format,
    language_reward,
)

FORMAT_CASES = [
    ("<think>a</think><answer>1</answer>", True),                  # the R1 format
    ("<think>a</think>\n<answer>1</answer>\n", True),              # whitespace between/after is fine
    ("<think>a</think>", False),                                   # no answer block
    ("<answer>1</answer>", False),                                 # no think block
    ("<think>a</think><think>b</think><answer>1</answer>", False),  # two think blocks
    ("<think>a</think><answer>1</answer><answer>2</answer>", False),  # two answers
    ("<think>a<think>b</think><answer>1</answer>", False),         # nested think
    ("<think>a</think>text<answer>1</answer>", False),             # text between the blocks
    ("<think>a</think><answer>1</answer> trailing", False),        # text after the answer
    ("<think>a", False),                                           # unclosed
]


@pytest.mark.parametrize("response,ok", FORMAT_CASES)
def test_format(response, ok):
    assert is_r1_format(response) is ok
    assert format_reward([response], ["1"], [{}]) == [1.0 if ok else 0.0]


def test_language_reward_reads_the_reasoning():
    # the reasoning before </think>, the tag dropped; unclosed: all of it; no tags: the whole response
    # (a chat/boxed template has no think block, and its reasoning is still measured)
    assert language_reward(["<think>abc</think><answer>一</answer>"], ["1"], [{}]) == [1.0]
    # each Han character is a word: abc + 一 + 二 -> 1 of 3 Latin; so is the answer + 一 二 -> 4 of 6
    assert language_reward(["<think>abc 一二"], ["1"], [{}]) == [pytest.approx(1 / 3)]
    assert language_reward(["so 一二 is the answer"], ["1"], [{}], script="latin") == [pytest.approx(4 / 6)]


def test_language_reward():
    en = "<think>we add two and three</think><answer>5</answer>"
    mixed = "<think>we add 两个 and 三个</think><answer>5</answer>"  # 3 latin words, 4 han (per char)
    out = language_reward([en, mixed, "<think></think><answer>5</answer>"], ["5"] * 3, [{}] * 3)
    assert out[0] == 1.0  # every word latin
    assert out[1] == pytest.approx(3 / 7)  # text.py counts each han character as a word
    assert out[2] == 1.0  # no words: 1.0 by definition of language_stats


def test_scorer_weights_components_and_values():
    s = Scorer({"correct": {"weight": 1.0, "wrong": -0.5, "unparseable": -1.0}, "format": 0.5})
    responses = [
        "<think>2+2</think> <answer>4</answer>",   # correct, formatted: 1 + 0.5
        "<think>2+2</think> <answer>5</answer>",   # wrong, formatted: -0.5 + 0.5
        "<think>2+2 is 4",                         # no answer, unformatted: -1
        "The answer is 4.",                        # correct, unformatted: 1
    ]
    out = s(responses, ["4"] * 4)
    assert out.rewards == [1.5, 0.0, -1.0, 1.0]
    assert out.components == {"correct": [1.0, -0.5, -1.0, 1.0], "format": [1.0, 1.0, 0.0, 0.0]}
    assert [v.reason for v in out.verdicts] == ["exact", "mismatch", "no_answer", "exact"]


def test_scorer_countdown_meta():
    s = Scorer({"correct": 1.0})
    meta = {"verifier": "countdown", "numbers": [2, 5, 6]}
    out = s(["<think>x</think><answer>(6-2)*5</answer>", "<think>x</think><answer>6*5-2</answer>"],
            ["20", "20"], [meta, meta])
    assert out.rewards == [1.0, 0.0]
    assert out.verdicts[0].method == "countdown"


def test_scorer_with_language():
    s = Scorer({"correct": 1.0, "language": 0.1})
    out = s(["<think>two plus two</think><answer>4</answer>"], ["4"])
    assert out.rewards == [pytest.approx(1.1)]


def test_scorer_never_raises_on_model_text():
    s = Scorer({"correct": 1.0, "format": 1.0, "language": 1.0}, policy=GraderPolicy(timeout_s=2.0))
    junk = ["", "\x00", "<think>" * 100, "\\boxed{" * 100, "\\boxed{__import__('os')}", None]
    out = s(junk, ["1"] * len(junk))  # type: ignore[list-item]
    assert len(out.rewards) == len(junk)
    assert all(isinstance(r, float) for r in out.rewards)


def test_registry_names():
    assert REWARDS.names() == ["correct", "format", "language"]
    with pytest.raises(KeyError, match="did you mean 'format'"):
        Scorer({"formt": 1.0})


def test_reward_specs_take_a_weight_or_the_rewards_own_options():
    from r1repro.rewards import reward_specs

    specs = reward_specs({"correct": 1.0, "format": {"weight": 0.5},
                          "language": {"weight": 0.1, "script": "cyrillic"}})
    assert specs == {"correct": (1.0, {}), "format": (0.5, {}), "language": (0.1, {"script": "cyrillic"})}
    assert reward_specs({"correct": {"wrong": 0.2}}) == {"correct": (1.0, {"wrong": 0.2})}  # weight defaults to 1
    with pytest.raises(ValueError, match=r"reward 'correct': unknown option\(s\) 'wrong_value'; valid: weight, "
                                         r"wrong, unparseable"):
        reward_specs({"correct": {"wrong_value": 1.0}})
    with pytest.raises(KeyError, match="did you mean 'format'"):
        reward_specs({"formt": 1.0})


def test_language_reward_targets_the_script_the_recipe_names():
    # "减 6 - 5 = 1." has one Han word and no Latin one in the think block
    resp = "<think>减 6 - 5 = 1.</think> <answer>1</answer>"
    assert Scorer({"language": {"script": "han"}})([resp], ["1"]).components["language"] == [1.0]
    assert Scorer({"language": 1.0})([resp], ["1"]).components["language"] == [0.0]  # default: latin
# The template's answer format, as the `format` reward and the eval's format rate see it.
ANSWER_FORMAT_CASES = [
    ("phrase", "7 + 5 = 12. The answer is 12.", True),                 # what chat_answer asks for
    ("phrase", "So the answer is 12 stickers.", True),                  # units after the number are fine
    ("phrase", "7 + 5 = 12 stickers.", False),                          # a bare number is not the asked form
    ("phrase", "The answer is N.", False),                              # the instruction's placeholder copied
    ("phrase", "The answer is twelve.", False),                         # no digit
    ("phrase", "The final answer is \\boxed{12}.", False),              # a box: another format
    ("phrase", "The answer is 12.\n\nThen 3 more.", True),              # text after the answer sentence
    ("boxed", "so \\boxed{12}", True),
    ("boxed", "<think>\\boxed{3}</think> 12", False),                   # a box only in the reasoning
    ("hash", "7 + 5 = 12\n#### 12", True),
    ("hash", "The answer is 12.", False),
    ("think", "<think>a</think><answer>1</answer>", True),
    ("think", "The answer is 1.", False),
]


@pytest.mark.parametrize("fmt,response,ok", ANSWER_FORMAT_CASES)
def test_in_answer_format(fmt, response, ok):
    assert in_answer_format(response, fmt) is ok
    assert format_reward([response], ["12"], [{}], answer_format=fmt) == [1.0 if ok else 0.0]


def test_scorer_format_follows_template():
    out = Scorer({"correct": 1.0, "format": 0.1}, answer_format="phrase")(
        ["7 + 5 = 12. The answer is 12.", "7 + 5 = 12.", "The answer is 13."], ["12"] * 3)
    assert out.components["format"] == [1.0, 0.0, 1.0]
    assert out.rewards == pytest.approx([1.1, 0.0, 0.1])
    with pytest.raises(ValueError, match="unknown answer format"):
        Scorer({"format": 1.0}, answer_format="xml")
    assert in_answer_format(None, "phrase") is False  # never raises on model output
