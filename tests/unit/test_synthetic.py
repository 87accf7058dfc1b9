"""Synthetic generators: seeded, prefix-stable, disjoint train/test streams, bounded, and every gold
verified by the project's own checkers (r1repro.grading)."""

import re

import pytest

from r1repro.data.loaders import load_source
from r1repro.data.synthetic import load_arithmetic, load_countdown
from r1repro.data.templates import TEMPLATES, sft_target

grading = pytest.importorskip("r1repro.grading", reason="r1repro.grading (check) not importable yet")
countdown = pytest.importorskip("r1repro.grading.countdown", reason="r1repro.grading.countdown not importable yet")

STEP = re.compile(r"(\d+) ([-+*/]) (\d+) = (\d+)\.")


def test_arithmetic_first_problem_by_hand():
    p = load_arithmetic("train", n=1, seed=0).problems[0]
    assert (p.id, p.gold, p.solution) == ("arithmetic/train/s0/8da93b/000000", "6", "3 - 2 = 1. 1 * 6 = 6.")
    assert p.question == "Sam has 3 cards. He gives away 2. Then the number of cards is multiplied by 6. " \
                         "How many cards does Sam have now?"


def test_same_seed_same_problems_and_prefix_stable():
    a = load_arithmetic("train", n=50, seed=3).problems
    assert a == load_arithmetic("train", n=50, seed=3).problems
    assert load_arithmetic("train", n=10, seed=3).problems == a[:10]                  # more = extension
    assert a != load_arithmetic("train", n=50, seed=4).problems
    c = load_countdown("train", n=50, seed=3).problems
    assert c == load_countdown("train", n=50, seed=3).problems and c[:5] == load_countdown("train", n=5, seed=3).problems


def test_train_and_test_streams_are_disjoint_streams():
    train = {p.question for p in load_arithmetic("train", n=300, steps=3).problems}
    test = [p.question for p in load_arithmetic("test", n=300, steps=3).problems]
    assert sum(q in train for q in test) <= 3  # different streams; rare collisions are removed by prepare


@pytest.mark.parametrize("steps", [1, 2, 4, 6])
def test_arithmetic_solution_is_exact_and_bounded(steps):
    for p in load_arithmetic("train", n=100, steps=steps, max_value=50, max_operand=9).problems:
        chain = STEP.findall(p.solution)
        assert len(chain) == steps == p.meta["steps"]
        prev = None
        for a, op, b, r in chain:
            a, b, r = int(a), int(b), int(r)
            assert prev is None or a == prev
            assert r == {"+": a + b, "-": a - b, "*": a * b, "/": a // b}[op] and (op != "/" or a % b == 0)
            assert 1 <= r <= 50 and b <= 9
            prev = r
        assert p.gold == str(prev)


def test_bare_style_and_ops_knob():
    p = load_arithmetic("test", n=1, steps=3, ops="+-", style="bare").problems[0]
    assert re.fullmatch(r"What is \(\(\d+ [-+] \d+\) [-+] \d+\) [-+] \d+\?", p.question)
    assert all(op in "+-" for _, op, _, _ in STEP.findall(p.solution))


def test_flat_style_rewrites_the_expression_step_by_step():
    from r1repro.data.synthetic import rewrite_solution

    # hand-built chain 4 + 3 - 2 - 1: 7, 5, 4
    assert rewrite_solution(4, [("+", 3, 7), ("-", 2, 5), ("-", 1, 4)]) == "4 + 3 - 2 - 1 = 7 - 2 - 1 = 5 - 1 = 4"
    for p in load_arithmetic("test", n=50, steps=4, ops="+-", max_value=9, style="flat").problems:
        expr = p.question.removeprefix("What is ").removesuffix("?")
        parts = p.solution.split(" = ")
        assert parts[0] == expr and parts[-1] == p.gold and len(parts) == 5
        assert eval(expr) == int(p.gold)  # our own generated digits and +/-, not model output


@pytest.mark.parametrize("template", ["r1_zero", "qa", "boxed"])
def test_every_arithmetic_gold_verifies_with_the_grader(template):
    t = TEMPLATES[template]
    problems = load_arithmetic("train", n=200, min_steps=1, max_steps=5).problems
    verdicts = [grading.check(t.response_prefix + sft_target(t, p), p.gold) for p in problems]
    assert all(v.correct for v in verdicts), [v.reason for v in verdicts if not v.correct][:3]


def test_every_countdown_answer_verifies_with_check_countdown():
    t = TEMPLATES["r1_zero"]
    problems = load_countdown("train", n=300, min_count=2, max_count=5).problems
    for p in problems:
        assert p.meta["verifier"] == "countdown" and 2 <= len(p.meta["numbers"]) <= 5
        assert 1 <= int(p.gold) <= 100 and all(1 <= x <= 99 for x in p.meta["numbers"])
        response = t.response_prefix + sft_target(t, p)
        v = countdown.check_countdown(response, p.meta["numbers"], int(p.gold))
        assert v.correct, (p.question, p.meta["answer"], v.reason)
        # the target alone in the answer slot is not a solution
        assert not countdown.check_countdown(f"<answer>{p.gold}</answer>", p.meta["numbers"], int(p.gold)).correct


def test_limit_and_seed_offset_through_load_source():
    spec = {"loader": "countdown", "split": "train", "limit": 7, "options": {"seed": 2, "count": 3}}
    res = load_source(spec, None, seed=10)
    assert len(res.problems) == 7 and res.info["seed"] == 12
    assert res.problems == load_countdown("train", n=7, seed=12, count=3).problems
    with pytest.raises(ValueError, match="give limit or option n"):
        load_source({**spec, "options": {"n": 3}}, None)


@pytest.mark.parametrize("kwargs, words", [
    ({"ops": "+%"}, "ops must be a non-empty subset"),
    ({"style": "poem"}, "style must be"),
    ({"style": "flat", "ops": "+*"}, "allows ops '\\+-' only"),
    ({"min_steps": 3, "max_steps": 2}, "1 <= min <= max"),
    ({"max_value": 0}, "max_value must be a positive int"),
    ({"steps": 8, "ops": "*", "max_value": 20}, "cannot build 8 steps"),
])
def test_arithmetic_bad_knobs(kwargs, words):
    with pytest.raises(ValueError, match=words):
        load_arithmetic("train", n=3, **kwargs)


def test_show_work_empties_a_share_of_solutions_without_changing_problems():
    knobs = {"n": 400, "steps": 2, "ops": "+-", "max_value": 20, "style": "bare"}
    full = load_arithmetic("train", None, **knobs).problems
    mixed = load_arithmetic("train", None, show_work=0.25, **knobs).problems
    assert [(p.question, p.gold) for p in full] == [(p.question, p.gold) for p in mixed]  # same problems
    empty = [p for p in mixed if p.solution == ""]
    assert 0.65 < len(empty) / len(mixed) < 0.85  # about 1 - 0.25 answer directly
    assert all(p.meta["shows_work"] is False for p in empty)
    assert all(p.solution for p in full)
    with pytest.raises(ValueError, match="show_work must be in"):
        load_arithmetic("train", None, show_work=1.5, **knobs)


def test_labelled_style_by_hand():
    # the quickstart's task: steps carry letters, the worked solution names each step by its letter
    p = load_arithmetic("train", n=2, steps=3, ops="+-*/", max_value=9, max_operand=9, style="labelled").problems[1]
    assert p.question == "Start at 7. (a) + 2 (b) / 3 (c) + 3. What is the result?"
    assert p.solution == "(a) 7 + 2 = 9. (b) 9 / 3 = 3. (c) 3 + 3 = 6." and p.gold == "6"


def test_labelled_solutions_are_exact_and_bounded():
    for p in load_arithmetic("test", n=200, steps=4, ops="+-*/", max_value=9, max_operand=9,
                             style="labelled").problems:
        chain = re.findall(r"\(([a-d])\) (\d+) ([-+*/]) (\d+) = (\d+)\.", p.solution)
        assert [c[0] for c in chain] == list("abcd")
        asked = re.findall(r"\(([a-d])\) ([-+*/]) (\d+)", p.question)
        assert [(c[0], c[2], c[3]) for c in chain] == asked  # each step copies its labelled operation
        assert all(1 <= int(c[4]) <= 9 for c in chain) and p.gold == chain[-1][4]


def test_show_work_mixes_worked_and_direct_targets():
    ps = load_arithmetic("train", n=1000, steps=3, style="labelled", max_value=9, max_operand=9,
                         show_work=0.3).problems
    worked = [p for p in ps if p.solution]
    assert 0.25 < len(worked) / len(ps) < 0.35  # measured 0.30
    assert all(p.meta.get("shows_work") is False for p in ps if not p.solution)
    direct = sft_target(TEMPLATES["qa"], next(p for p in ps if not p.solution))
    assert re.fullmatch(r" </think> <answer> \d </answer>", direct)  # a direct answer: no steps at all


LABELLED = dict(steps=3, ops="+-*/", max_value=9, max_operand=9, style="labelled")


def test_mix_script_by_hand():
    # problem 2 of the train stream: "Start at 6. (a) - 5 (b) * 6 (c) / 2."; a mixed solution names each
    # operation in the script before the numbers, which stay as they are
    plain = load_arithmetic("train", n=3, **LABELLED).problems[2]
    han = load_arithmetic("train", n=3, mix_script="han", mix_share=1.0, **LABELLED).problems[2]
    cyr = load_arithmetic("train", n=3, mix_script="cyrillic", mix_share=1.0, **LABELLED).problems[2]
    assert plain.question == han.question == cyr.question == "Start at 6. (a) - 5 (b) * 6 (c) / 2. What is the result?"
    assert plain.solution == "(a) 6 - 5 = 1. (b) 1 * 6 = 6. (c) 6 / 2 = 3."
    assert han.solution == "(a) 减 6 - 5 = 1. (b) 乘 1 * 6 = 6. (c) 除 6 / 2 = 3."
    assert cyr.solution == "(a) минус 6 - 5 = 1. (b) умножить 1 * 6 = 6. (c) делить 6 / 2 = 3."
    assert han.meta["mixed_script"] == "han" and "mixed_script" not in plain.meta
    assert sft_target(TEMPLATES["qa"], han) == " (a) 减 6 - 5 = 1. (b) 乘 1 * 6 = 6. (c) 除 6 / 2 = 3. </think> <answer> 3 </answer>"
    # step-by-step styles without labels take the word at the start of each step; + is 加 / плюс
    bare = load_arithmetic("train", n=1, steps=2, style="bare", mix_script="han", mix_share=1.0).problems[0]
    assert (bare.question, bare.solution) == ("What is (9 * 6) / 6?", "乘 9 * 6 = 54. 除 54 / 6 = 9.")
    add = load_arithmetic("train", n=1, steps=1, ops="+", style="bare", mix_script="cyrillic", mix_share=1.0).problems[0]
    assert (add.question, add.solution) == ("What is 9 + 2?", "плюс 9 + 2 = 11.")


def test_mixing_changes_no_problem_and_mixes_a_share_of_the_worked_solutions():
    knobs = dict(n=2000, show_work=0.4, **LABELLED)
    plain = load_arithmetic("train", **knobs).problems
    mixed = load_arithmetic("train", mix_script="han", mix_share=0.5, **knobs).problems
    # same questions, golds, and the same problems show their work
    assert [(p.question, p.gold, bool(p.solution)) for p in plain] == [(p.question, p.gold, bool(p.solution))
                                                                        for p in mixed]
    worked = [p for p in mixed if p.solution]
    flagged = [p for p in worked if p.meta.get("mixed_script") == "han"]
    assert 0.45 < len(flagged) / len(worked) < 0.55  # mix_share is a share of the worked solutions
    assert all(re.search("[加减乘除]", p.solution) for p in flagged)
    assert not any(re.search("[加减乘除]", p.solution) for p in worked if p not in flagged)
    assert not any("mixed_script" in p.meta for p in mixed if not p.solution)  # a direct answer has nothing to mix
    # every unmixed worked solution is the quickstart's, unchanged
    assert all(a.solution == b.solution for a, b in zip(plain, mixed) if "mixed_script" not in b.meta)
    assert load_arithmetic("train", mix_script="han", mix_share=0.0, **knobs).problems == plain


@pytest.mark.parametrize("kwargs, words", [
    ({"mix_script": "latin", "mix_share": 0.5}, "mix_script must be one of 'han', 'cyrillic'"),
    ({"mix_script": "han", "mix_share": 1.5}, "mix_share must be in"),
    ({"mix_share": 0.5}, "mix_share needs mix_script"),
    ({"mix_script": "han", "mix_share": 0.5, "style": "flat", "ops": "+-"}, "flat' has no steps to name"),
])
def test_mixing_bad_knobs(kwargs, words):
    with pytest.raises(ValueError, match=words):
        load_arithmetic("train", n=3, **kwargs)


def test_distinct_skips_repeated_questions_and_stays_prefix_stable():
    opts = dict(steps=3, ops="+-*/", max_value=9, max_operand=9, style="labelled")
    plain = load_arithmetic("test", n=200, **opts).problems
    assert len({p.question for p in plain}) < 200  # the small space repeats (192 distinct here)
    d = load_arithmetic("test", n=200, distinct=True, **opts).problems
    assert len({p.question for p in d}) == 200
    assert load_arithmetic("test", n=50, distinct=True, **opts).problems == d[:50]
    with pytest.raises(ValueError, match="distinct problems"):
        load_arithmetic("test", n=50, steps=1, ops="+", max_value=3, max_operand=2, style="bare", distinct=True)


def test_streams_with_other_knobs_never_share_ids():
    # the quickstart evaluates three-step and four-step chains: same split, seed and index
    three = load_arithmetic("test", n=3, steps=3, style="labelled").problems
    four = load_arithmetic("test", n=3, steps=4, style="labelled").problems
    assert not {p.id for p in three} & {p.id for p in four}
    assert [p.id.rsplit("/", 1)[1] for p in three] == ["000000", "000001", "000002"]
    assert load_arithmetic("test", n=3, steps=3, style="labelled", show_work=0.5).problems[0].id == three[0].id
