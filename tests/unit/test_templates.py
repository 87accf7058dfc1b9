"""Prompt templates: exact texts, response prefixes, SFT targets that the grader accepts."""

import pytest

from r1repro.data.paths import DataDirNotFound, resolve_data_dir
from r1repro.data.schema import Problem
from r1repro.data.templates import GSM8K_EXEMPLARS, TEMPLATES, gsm8k_kshot_template, sft_target

R1 = ("A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
      "assistant first thinks about the reasoning process in the mind and then provides the user with the "
      "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
      "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
      "User: What is 2+3?. Assistant: <think>")


def test_r1_zero_text_prefix_target_stop():
    t = TEMPLATES["r1_zero"]
    assert t.prompt("What is 2+3?") == R1
    assert (t.response_prefix, t.stop) == ("<think>", ("</answer>",))
    assert t.target("2 + 3 = 5.", "5") == " 2 + 3 = 5. </think> <answer> 5 </answer>"
    assert t.target(None, "5") == " </think> <answer> 5 </answer>"


def test_qa_boxed_kshot():
    assert TEMPLATES["qa"].prompt(" 2+3? ") == "Q: 2+3?\nA: <think>"
    assert TEMPLATES["boxed"].prompt("2+3?") == \
        "2+3?\nPlease reason step by step, and put your final answer within \\boxed{}.\n"
    assert TEMPLATES["boxed"].target("2 + 3 = 5.", "5") == "2 + 3 = 5.\nThe final answer is $\\boxed{5}$."
    two = TEMPLATES["gsm8k_2shot"].prompt("Q?")
    assert two.count("Question:") == 3 and two.endswith("Question: Q?\nAnswer:") and "#### 10\n\n" in two
    assert TEMPLATES["gsm8k_kshot"].prompt("Q?") == TEMPLATES["gsm8k_8shot"].prompt("Q?")
    assert TEMPLATES["gsm8k_8shot"].target("a\nb", "7") == " a\nb\n#### 7"
    with pytest.raises(ValueError, match="k must be 0..8"):
        gsm8k_kshot_template(9)


class FakeTokenizer:
    chat_template = "x"

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        assert not tokenize and add_generation_prompt
        return f"<|user|>{messages[0]['content']}<|assistant|>"


def test_chat_needs_tokenizer():
    t = TEMPLATES["chat"]
    assert t.prompt("2+3?", FakeTokenizer()) == \
        "<|user|>2+3?\nPlease reason step by step, and put your final answer within \\boxed{}.<|assistant|>"
    with pytest.raises(ValueError, match="needs a tokenizer"):
        t.prompt("2+3?")


def test_chat_answer_asks_for_the_phrase():
    t = TEMPLATES["chat_answer"]
    assert t.prompt("2+3?", FakeTokenizer()) == (
        '<|user|>2+3?\nAnswer with a short explanation and end with "The answer is N." where N is a number.<|assistant|>')
    assert (t.answer_format, t.response_prefix, t.stop) == ("phrase", "", ())
    assert t.target("2 + 3 = 5.", "5") == "2 + 3 = 5.\nThe answer is 5."


@pytest.mark.parametrize("name", ["r1_zero", "qa", "boxed", "chat", "chat_answer", "gsm8k_8shot"])
def test_targets_grade_correct_with_project_grader(name):
    grading = pytest.importorskip("r1repro.grading", reason="r1repro.grading not importable yet")
    t = TEMPLATES[name]
    for gold in ["72", "\\frac{1}{2}", "-3"]:
        assert grading.check(t.response_prefix + t.target("Some steps.", gold), gold).correct


def test_sft_target_uses_meta_answer():
    p = Problem("c/1", "countdown", "train", "Make 8 using 3, 5", "8", "3 + 5 = 8.", {"answer": "3 + 5"})
    assert sft_target(TEMPLATES["qa"], p) == " 3 + 5 = 8. </think> <answer> 3 + 5 </answer>"


def test_record_names_the_template():
    rec = TEMPLATES["qa"].record()
    assert rec["name"] == "qa" and rec["response_prefix"] == "<think>" and len(rec["sha256"]) == 64


def test_gsm8k_exemplars_are_the_first_train_rows():
    try:
        data = resolve_data_dir(None)
    except DataDirNotFound:
        pytest.skip("no ../shared/data (set R1REPRO_DATA)")
    from r1repro.data.loaders import load_source

    rows = load_source({"loader": "gsm8k", "split": "train", "limit": None}, data).problems[:8]
    assert tuple((p.question, p.solution, p.gold) for p in rows) == GSM8K_EXEMPLARS
