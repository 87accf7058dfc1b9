"""Table-driven tests of r1repro.grading.check: one hand-checked case per row, with a comment.

Run: python -m pytest tests/unit/test_grading.py -q
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from r1repro.grading import GraderPolicy, Verdict, check, check_batch, extract_answer
from r1repro.grading.countdown import check_countdown
from r1repro.grading.sandbox import warmup

R1 = "<think>reasoning</think> <answer>{}</answer>"


@pytest.fixture(scope="module", autouse=True)
def _warm():
    warmup()  # worker start-up (sympy import) is not part of any check's budget


# (response, gold, correct, reason)
CASES = [
    # --- GSM8K forms ---
    ("#### 18", "18", True, "exact"),                                   # GSM8K marker
    ("#### 1,250", "1250", True, "exact"),                              # thousands comma
    ("The answer is $18.00.", "18", True, "numeric_equal"),             # dollars, cents
    ("\\boxed{18 \\text{ dollars}}", "18", True, "exact"),              # trailing unit word
    ("\\boxed{\\$1,250}", "1250", True, "exact"),                       # currency + thousands
    ("\\boxed{12{,}500}", "12500", True, "exact"),                      # LaTeX {,} separator
    ("\\boxed{1\\,000}", "1000", True, "exact"),                        # thin-space separator
    ("\\boxed{17}", "18", False, "mismatch"),                           # off by one
    ("\\boxed{-18}", "18", False, "mismatch"),                          # sign flip
    ("\\boxed{3+4}", "7", False, "mismatch"),                           # unsimplified arithmetic
    ("\\boxed{five}", "5", True, "exact"),                              # number word
    # --- fractions, decimals, percent, scientific, repeating ---
    ("\\boxed{\\frac12}", "0.5", True, "numeric_equal"),                # \frac12 == 0.5 exactly
    ("\\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}", True, "exact"),          # \dfrac
    ("\\boxed{2/4}", "\\frac{1}{2}", True, "numeric_equal"),            # unreduced accepted
    ("\\boxed{0.333}", "\\frac{1}{3}", False, "mismatch"),              # no 6-decimal rounding
    ("\\boxed{0.\\overline{3}}", "\\frac{1}{3}", True, "numeric_equal"),  # repeating decimal
    ("\\boxed{3\\frac{1}{2}}", "\\frac{7}{2}", True, "numeric_equal"),  # mixed number
    ("\\boxed{1.5\\times 10^{3}}", "1500", True, "numeric_equal"),      # scientific notation
    ("\\boxed{50}", "50\\%", True, "exact"),                            # % optional
    ("\\boxed{50\\%}", "50", True, "exact"),                            # extra % ignored
    ("\\boxed{0.5}", "50\\%", True, "numeric_equal"),                   # 0.5 is 50%
    # --- radicals and symbolic ---
    ("\\boxed{\\frac{\\sqrt3}{2}}", "\\frac{\\sqrt{3}}{2}", True, "exact"),   # \sqrt3
    ("\\boxed{\\frac{\\sqrt{6}}{2}}", "\\sqrt{\\frac{3}{2}}", True, "symbolic_equal"),  # rationalised
    ("\\boxed{2\\sqrt{2}}", "\\sqrt{8}", True, "symbolic_equal"),      # simplified radical
    ("\\boxed{1.414}", "\\sqrt{2}", False, "mismatch"),                 # decimal approximation
    ("\\boxed{(x+1)^2}", "x^2+2x+1", True, "symbolic_equal"),           # factored == expanded
    ("\\boxed{x^2+1}", "x^2+2x+1", False, "mismatch"),                  # different polynomial
    ("\\boxed{\\frac{\\pi}{2}}", "\\frac{\\pi}{2}", True, "exact"),     # same string
    # --- structures ---
    ("\\boxed{(3, \\frac{\\pi}{2})}", "(3, \\frac{\\pi}{2})", True, "exact"),  # polar point
    ("\\boxed{(\\frac{\\pi}{2}, 3)}", "(3, \\frac{\\pi}{2})", False, "mismatch"),  # swapped tuple
    ("\\boxed{\\{3, 1, 2\\}}", "\\{1,2,3\\}", True, "exact"),         # set order ignored
    ("\\boxed{3, 1, 2}", "1, 2, 3", True, "exact"),                     # bare list unordered
    ("\\boxed{1, 2, 3, 4}", "1, 2, 3", False, "multiple_answers"),      # more elements than gold
    ("\\boxed{\\pm 2}", "2, -2", True, "exact"),                        # \pm expands
    ("\\boxed{[1, 2)}", "[1,2)", True, "exact"),                        # interval
    ("\\boxed{(1, 2]}", "[1,2)", False, "mismatch"),                    # wrong open/closed ends
    ("\\boxed{x < 3}", "(-\\infty, 3)", False, "mismatch"),             # inequality for interval
    ("\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}}",
     "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", True, "exact"),  # matrix, spacing
    ("\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 4 & 3 \\end{pmatrix}}",
     "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", False, "mismatch"),  # entries swapped
    # --- bases, degrees, text, choices ---
    ("\\boxed{413_5}", "413_5", True, "exact"),                         # same base
    ("\\boxed{413_6}", "413_5", False, "mismatch"),                     # math-verify accepts this
    ("\\boxed{413}", "413_5", True, "exact"),                           # subscript optional
    ("\\boxed{30^\\circ}", "30", True, "exact"),                        # degree optional
    ("\\boxed{30}", "30^\\circ", True, "exact"),                        # degree optional
    ("\\boxed{\\text{Monday}}", "\\text{Monday}", True, "exact"),       # text answer
    ("\\boxed{monday}", "\\text{Monday}", True, "exact"),               # case-insensitive
    ("\\boxed{Tuesday}", "\\text{Monday}", False, "mismatch"),          # other text
    ("\\boxed{(B)}", "\\text{(B)}", True, "exact"),                     # choice letter
    ("\\boxed{B}", "\\text{(B)}", True, "exact"),                       # bare letter
    ("\\boxed{C}", "\\text{(B)}", False, "mismatch"),                   # other letter
    # --- extraction rules ---
    ("<think>\\boxed{5}</think>", "5", False, "no_answer"),             # answer only inside think
    ("<think>so 5", "5", False, "no_answer"),                           # unclosed think
    ("\\boxed{5} so final \\boxed{}", "5", False, "empty_answer"),      # empty final box: no fallback
    ("\\boxed{5} or \\boxed{6}", "5", False, "multiple_answers"),       # hedge with two boxes
    ("\\boxed{5 \\text{ or } 6}", "5", False, "multiple_answers"),      # x or y
    ("\\boxed{2}, \\boxed{3}", "2, 3", True, "exact"),                  # one box per set element
    (R1.format("\\boxed{18}"), "18", True, "exact"),                    # box inside <answer>
    (R1.format("18"), "18", True, "exact"),                             # bare <answer>
    ("<think>\\boxed{7}</think><answer>5</answer>", "5", True, "exact"),  # think box ignored
    ("Final Answer: The final answer is $6$. I hope it is correct.", "6", True, "exact"),  # Minerva
    ("I think it is 42.", "42", False, "no_answer"),                    # no marker, no fallback
    ("\\boxed 17", "17", True, "exact"),                                # \boxed 17
    ("\\fbox{17}", "17", True, "exact"),                                # \fbox
    ("\\boxed{x = 5}", "5", True, "exact"),                             # x = prefix
    # --- guards ---
    ("\\boxed{9^{9^{9^{9}}}}", "7", False, "too_large"),                # power tower
    ("\\boxed{(10^9)!}", "7", False, "too_large"),                      # huge factorial
]


@pytest.mark.parametrize("response,gold,correct,reason", CASES)
def test_check_table(response, gold, correct, reason):
    v = check(response, gold)
    assert (v.correct, v.reason) == (correct, reason), v


POLICY_CASES = [
    # (policy, response, gold, correct): each knob turned away from its default
    (GraderPolicy(accept_unreduced_fractions=False), "\\boxed{2/4}", "\\frac12", False),
    (GraderPolicy(percent_optional=False), "\\boxed{50}", "50\\%", False),
    (GraderPolicy(degree_optional=False), "\\boxed{30}", "30^\\circ", False),
    (GraderPolicy(base_subscript_optional=False), "\\boxed{413}", "413_5", False),
    (GraderPolicy(accept_inequality_for_interval=True), "\\boxed{x < 3}", "(-\\infty, 3)", True),
    (GraderPolicy(accept_inequality_for_interval=True), "\\boxed{1 \\le x < 3}", "[1, 3)", True),
    (GraderPolicy(accept_unsimplified_arithmetic=True), "\\boxed{3+4}", "7", True),
    (GraderPolicy(accept_decimal_approximations=True), "\\boxed{1.41421}", "\\sqrt{2}", True),
    (GraderPolicy(accept_factored_forms=False), "\\boxed{(x+1)^2}", "x^2+2x+1", False),
    (GraderPolicy(last_number_fallback=True), "So she has 42 apples.", "42", True),
    (GraderPolicy(require_think_close=False), "<think>\\boxed{5}", "5", True),
]


@pytest.mark.parametrize("policy,response,gold,correct", POLICY_CASES)
def test_policy_knobs(policy, response, gold, correct):
    assert check(response, gold, policy=policy).correct is correct


def test_verdict_fields_and_batch():
    v = check(R1.format("\\boxed{\\frac{2}{4}}"), "\\frac12")
    assert isinstance(v, Verdict)
    assert v.to_dict()["extracted"] == "\\frac{2}{4}"
    assert (v.normalized_pred, v.normalized_gold, v.method) == ("\\frac{2}{4}", "\\frac{1}{2}", "fast")
    assert v.elapsed_ms >= 0
    out = check_batch(["\\boxed{1}", "\\boxed{2}", "nothing"], ["1", "1", "1"])
    assert [x.reason for x in out] == ["exact", "mismatch", "no_answer"]


EXTRACT_CASES = [
    ("<answer>$\\frac{1}{2}$</answer>", "\\frac{1}{2}", "answer_tag"),   # $ stripped
    ("a \\boxed{\\frac{1}{\\sqrt{2}}} b", "\\frac{1}{\\sqrt{2}}", "boxed"),  # nested braces
    ("x\n#### 72\n", "72", "hash"),                                       # GSM8K line
    ("Therefore, the answer is 3.5.", "3.5", "phrase"),                   # decimal kept, period cut
]


@pytest.mark.parametrize("response,answer,source", EXTRACT_CASES)
def test_extract(response, answer, source):
    ex = extract_answer(response)
    assert (ex.answer, ex.source) == (answer, source)


COUNTDOWN_CASES = [
    ("<answer>(6 - 2) * 5</answer>", [2, 5, 6], 20, "exact"),       # correct
    ("<answer>(6 - 2) * 5 = 20</answer>", [2, 5, 6], 20, "exact"),  # trailing "= target"
    ("<answer>6 * 5 - 2</answer>", [2, 5, 6], 20, "mismatch"),      # value 28
    ("<answer>(6 - 2) * 5 * 1</answer>", [2, 5, 6], 20, "mismatch"),  # extra number
    ("<answer>5 * 4</answer>", [2, 5, 6], 20, "mismatch"),          # 4 is not given
    ("<answer>6 / 3 * 10</answer>", [3, 6, 10], 20, "exact"),       # exact division
    ("<answer>__import__('os')</answer>", [1], 1, "unparseable"),   # not arithmetic
    ("<answer>6 / (2 - 2)</answer>", [2, 2, 6], 1, "unparseable"),  # division by zero
    ("<think>(6-2)*5", [2, 5, 6], 20, "no_answer"),                 # unclosed think
]


@pytest.mark.parametrize("response,numbers,target,reason", COUNTDOWN_CASES)
def test_countdown(response, numbers, target, reason):
    assert check_countdown(response, numbers, target).reason == reason


def test_import_does_not_load_heavy_modules():
    code = ("import sys, r1repro.grading, r1repro.grading.policy, r1repro.grading.countdown;"
            "bad=[m for m in ('sympy','torch','transformers','math_verify','latex2sympy2_extended')"
            " if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_math_verify_backend():
    pol = GraderPolicy(backend="math_verify", timeout_s=5.0)
    assert check("\\boxed{\\frac{1}{2}}", "0.5", policy=pol).correct is True
    assert check("\\boxed{3}", "0.5", policy=pol).correct is False
