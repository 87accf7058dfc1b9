"""Eval metrics on hand-computed cases; each literal's comment says how it was computed."""

import math

import pytest

from r1repro.metrics import (
    bootstrap_ci,
    distinct_solutions,
    diversity,
    language_metrics,
    length_stats,
    maj_at_k,
    mean_se,
    paired_change,
    pass_at_k,
    pass_at_k_mean,
    per_problem,
    reflection_rate,
    reflections_per_trace,
    summarize_eval,
    work_rate,
)


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 3, 1, 0.3),  # pass@1 = c/n
        (10, 0, 3, 0.0),  # nothing correct
        (5, 3, 3, 1.0),  # n - c = 2 < k = 3: every 3-subset has a correct one
        (1000, 1, 1, 0.001),  # c/n, large n
        (8, 1, 8, 1.0),  # k = n and one correct
    ],
)
def test_pass_at_k(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_binomial_form_for_large_n():
    # second layer: exact integer combinatorics for a case where naive floats would overflow
    exact = 1 - math.comb(100, 50) / math.comb(200, 50)
    assert pass_at_k(200, 100, 50) == pytest.approx(exact, rel=1e-12)


def test_pass_at_k_rejects_bad_input():
    for n, c, k in [(4, 5, 1), (4, 1, 5), (4, 1, 0), (4, -1, 1)]:
        with pytest.raises(ValueError):
            pass_at_k(n, c, k)


def test_pass_at_k_mean():
    # problem 1: n=4, c=1, k=2 -> .5 ; problem 2: all correct -> 1 ; mean .75
    assert pass_at_k_mean([[True, False, False, False], [True] * 4], 2) == 0.75


def test_maj_at_k_majority_and_tie():
    assert maj_at_k(["5", "3", "5", "7"], [True, False, True, False], 4)  # "5" has 2 votes
    # tie 2-2: the answer seen first wins
    assert maj_at_k(["5", "3", "5", "3"], [True, False, True, False], 4) is True
    assert maj_at_k(["3", "5", "5", "3"], [False, True, True, False], 4) is False


def test_maj_at_k_no_answer_never_wins():
    # three no-answers, one "5": "5" wins
    assert maj_at_k(["5", None, None, ""], [True, False, False, False], 4) is True
    assert maj_at_k([None, None, "  "], [False, False, False], 3) is False  # all no-answer


def test_maj_at_k_uses_first_k_and_strips():
    # k=1: only "1" votes, even though "2" is the majority of all four
    assert maj_at_k(["1", "2", "2", "2"], [True, False, False, False], 1) is True
    assert maj_at_k([" 5", "5 ", "3"], [True, True, False], 3) is True  # " 5" and "5 " are one answer
    with pytest.raises(ValueError):
        maj_at_k(["1"], [True], 2)


def test_mean_se():
    # [0,1,1,0,1]: mean .6; sample var (3*.4^2 + 2*.6^2)/4 = 1.2/4 = .3; se = sqrt(.3/5) = sqrt(.06)
    mean, se = mean_se([0, 1, 1, 0, 1])
    assert mean == pytest.approx(0.6) and se == pytest.approx(math.sqrt(0.06))
    assert mean_se([2.0, 2.0]) == (2.0, 0.0)
    m1, se1 = mean_se([3.0])
    assert m1 == 3.0 and math.isnan(se1)  # undefined with n - 1 = 0


def test_bootstrap_ci_seeded_contains_mean_and_zero_width_for_constants():
    values = [0, 1, 1, 0, 1, 1, 0, 1, 1, 1]  # mean .7
    lo, hi = bootstrap_ci(values, seed=0)
    assert lo <= 0.7 <= hi and 0.0 <= lo < hi <= 1.0
    assert bootstrap_ci(values, seed=0) == (lo, hi)  # deterministic for a seed
    assert bootstrap_ci(values, seed=1, n_boot=200) != (lo, hi)
    assert bootstrap_ci([0.25] * 7) == (0.25, 0.25)
    assert bootstrap_ci([0.5]) == (0.5, 0.5)


def test_length_stats():
    out = length_stats([10, 20, 30, 40, 100], [False, False, False, False, True])
    # mean 200/5 = 40; median 30; p90: position .9*4 = 3.6 -> 40 + .6*(100-40) = 76; 1 of 5 truncated
    assert out == {
        "length/mean": 40.0,
        "length/median": 30.0,
        "length/p90": pytest.approx(76.0),
        "length/max": 100.0,
        "length/truncated": 0.2,
    }


def test_language_metrics():
    out = language_metrics(["Hello world", "Hello 世界", "你好"], "latin")
    # trace 1: latin only (share 1); trace 2: Hello 世 界 -> share 1/3, mixed, 1 switch;
    # trace 3: han only (share 0). mixed 1/3; share (1 + 1/3 + 0)/3 = 4/9; switches 1/3
    assert out["lang/mixed_share"] == pytest.approx(1 / 3)
    assert out["lang/target_share"] == pytest.approx(4 / 9)
    assert out["lang/switches"] == pytest.approx(1 / 3)


def test_reflection_rate():
    # counts 1, 0, 2 ("Hmm", "wait"): 2 of 3 traces reflect; 3 phrases / 3 traces
    texts = ["Wait, no.", "fine", "Hmm, wait."]
    assert reflection_rate(texts) == pytest.approx(2 / 3)
    assert reflections_per_trace(texts) == 1.0
    with pytest.raises(ValueError):
        reflection_rate([])


def test_distinct_solutions_near_duplicates():
    base = "a b c d e f g h i j k"
    # 12 words differing only in the last word: 10 grams each, 9 shared -> Jaccard 9/11 = .818 >= .8
    assert distinct_solutions([base + " x", base + " y"]) == 1
    # 10 words differing in the last: 8 grams each, 7 shared -> 7/9 = .778 < .8
    short = "a b c d e f g h i"
    assert distinct_solutions([short + " x", short + " y"]) == 2
    # case and whitespace do not matter; digits do
    assert distinct_solutions(["The answer is 5", "the   ANSWER is 5", "the answer is 6"]) == 2
    assert distinct_solutions(["", ""]) == 1


def test_diversity():
    answers = [["5", "5", None, "3"], ["7", " 7 ", "7", "7"]]
    completions = [
        ["a b c d", "a b c d", "x y z", "A  B C D"],  # {abc, bcd} x3 and {xyz}: 2
        ["one two three four five", "one two three four six", "", ""],  # J=2/4, and the empties: 3
    ]
    correct = [[False, False, False, True], [False] * 4]
    out = diversity(answers, completions, correct)
    # distinct answers 2 and 1 -> 1.5 ; solutions (2 + 3)/2 ; one of two problems solved
    assert out == {
        "diversity/distinct_answers": 1.5,
        "diversity/distinct_solutions": 2.5,
        "diversity/any_correct": 0.5,
    }


def _rec(pid, idx, correct, extracted, reason, length, trunc, completion, fmt=True, greedy=False):
    rec = {
        "problem_id": pid, "sample_idx": idx, "correct": correct, "extracted": extracted,
        "reason": reason, "length": length, "truncated": trunc, "completion": completion,
        "format_ok": fmt,
    }  # fmt: skip
    if greedy:
        rec["greedy"] = True
    return rec


SAMPLES = [
    _rec("p2", 1, False, "3", "mismatch", 40, False, "So 3"),  # out of order on purpose
    _rec("p1", 0, True, "5", "exact", 10, False, "Wait, the answer is 5"),
    _rec("p1", 1, False, "6", "mismatch", 20, False, "2 * 3 = 6. The answer is 6"),
    _rec("p2", 0, False, None, "no_answer", 30, True, "我 think", fmt=False),
    _rec("p1", 0, True, "5", "exact", 12, False, "5", greedy=True),
    _rec("p2", 0, False, "4", "mismatch", 14, False, "4", greedy=True),
]


def test_work_rate():
    # 2 of 3 traces write out at least one arithmetic step; a direct answer writes none
    texts = ["(a) 7 + 2 = 9. (b) 9 / 3 = 3.", " </think> <answer> 3 </answer>", "so 48/2 = 24"]
    assert work_rate(texts) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        work_rate([])


def test_summarize_eval_hand_computed():
    out = summarize_eval(SAMPLES, k=2)
    m = out["metrics"]
    assert out["n"] == 2 and out["k"] == 2
    assert m["accuracy"] == 0.5  # greedy: p1 right, p2 wrong
    assert m["pass@1"] == 0.25  # p1: 1/2, p2: 0/2
    assert m["pass@1/se"] == pytest.approx(0.25)  # std([.5, 0], ddof=1) = .3536; / sqrt(2)
    lo, hi = m["pass@1/ci95"]
    assert 0.0 <= lo <= 0.25 <= hi <= 0.5
    assert m["pass@2"] == 0.5  # p1 has a correct sample, p2 none
    assert m["maj@2"] == 0.5  # p1: tie "5"/"6", "5" first -> right; p2: None never wins, "3" -> wrong
    assert m["format/rate"] == 0.75  # 3 of the 4 sampled records
    # sampled lengths 10, 20, 30, 40: mean 25, median 25, p90 at 2.7 -> 30 + .7*10 = 37; 1 truncated
    assert m["length/mean"] == 25.0 and m["length/median"] == 25.0 and m["length/max"] == 40.0
    assert m["length/p90"] == pytest.approx(37.0) and m["length/truncated"] == 0.25
    # only "我 think" is mixed (share 1/2, 1 switch): mixed 1/4, share (1+1+.5+1)/4, switches 1/4
    assert m["lang/mixed_share"] == 0.25 and m["lang/target_share"] == 0.875 and m["lang/switches"] == 0.25
    assert m["reflection/rate"] == 0.25 and m["reflection/per_trace"] == 0.25  # one "Wait"
    assert m["work/rate"] == 0.25  # only "2 * 3 = 6. ..." writes out a step
    # p1 answers {5, 6}, p2 {3}; all four completions differ; p1 solved
    assert m["diversity/distinct_answers"] == 1.5 and m["diversity/distinct_solutions"] == 2.0
    assert m["diversity/any_correct"] == 0.5
    assert out["reasons"] == {"mismatch": 2, "exact": 1, "no_answer": 1}
    assert list(out["reasons"]) == ["mismatch", "exact", "no_answer"]  # most frequent first


def test_summarize_eval_without_greedy_and_with_too_few_samples():
    sampled = [s for s in SAMPLES if not s.get("greedy")]
    out = summarize_eval(sampled, k=2)
    assert "accuracy" not in out["metrics"] and out["metrics"]["pass@2"] == 0.5
    with pytest.raises(ValueError, match="k=4"):
        summarize_eval(sampled, k=4)


def test_summarize_eval_greedy_only_and_reasoning_picker():
    greedy = [s for s in SAMPLES if s.get("greedy")]
    out = summarize_eval(greedy, k=1, reasoning=lambda text: "wait " + text)
    m = out["metrics"]
    assert m["accuracy"] == 0.5 and "pass@1" not in m
    assert m["length/mean"] == 13.0 and m["reflection/rate"] == 1.0  # every picked text has "wait"
    assert out["reasons"] == {"exact": 1, "mismatch": 1}


def _rec(pid, idx, correct, greedy=False):
    return {"problem_id": pid, "sample_idx": idx, "correct": correct, "greedy": greedy, "length": 1}


def test_per_problem_and_paired_change():
    # problem a: greedy wrong -> right, samples 1/2 -> 2/2; b: greedy right -> right, 0/2 -> 1/2;
    # c only in `before` (unpaired, left out)
    before = [_rec("a", 0, False, True), _rec("a", 0, True), _rec("a", 1, False),
              _rec("b", 0, True, True), _rec("b", 0, False), _rec("b", 1, False), _rec("c", 0, True, True)]
    after = [_rec("a", 0, True, True), _rec("a", 0, True), _rec("a", 1, True),
             _rec("b", 0, True, True), _rec("b", 0, True), _rec("b", 1, False)]
    assert per_problem(before)["a"] == {"pass@1": 0.5, "accuracy": 0.0}
    assert per_problem(before)["c"] == {"accuracy": 1.0}
    ch = paired_change(before, after)
    assert ch["accuracy"]["n"] == 2 and ch["accuracy"]["delta"] == pytest.approx(0.5)  # diffs 1, 0
    assert ch["pass@1"]["delta"] == pytest.approx(0.5)  # diffs +0.5, +0.5: every resample gives 0.5
    assert ch["pass@1"]["ci95"] == pytest.approx([0.5, 0.5])
    lo, hi = ch["accuracy"]["ci95"]
    assert 0.0 <= lo <= 0.5 <= hi <= 1.0  # resampled means of {1, 0} lie in [0, 1]


def test_paired_change_cancels_problem_difficulty():
    # 40 problems: after = before + 1 on every 4th problem (pass@1 from 4 samples), before varies wildly;
    # the unpaired CIs of the two sides overlap, the paired CI of the change excludes zero
    before, after = [], []
    for i in range(40):
        c_before = i % 4  # 0..3 correct of 4
        c_after = c_before + (1 if i % 4 == 0 else 0)
        before += [_rec(f"p{i}", j, j < c_before) for j in range(4)]
        after += [_rec(f"p{i}", j, j < c_after) for j in range(4)]
    ch = paired_change(before, after)["pass@1"]
    assert ch["delta"] == pytest.approx(10 * 0.25 / 40)  # 10 problems gain 1/4
    assert ch["ci95"][0] > 0
    b_ci = summarize_eval(before, 4)["metrics"]["pass@1/ci95"]
    a_ci = summarize_eval(after, 4)["metrics"]["pass@1/ci95"]
    assert a_ci[0] < b_ci[1]  # the two sides' own intervals overlap
