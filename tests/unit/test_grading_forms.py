"""Answer forms the checker learned in issue #17: one table per class, a comment per case.

Every class has at least five accepted forms and near-miss negatives (wrong value, wrong sign,
extra solution or hedge), so that a new acceptance never becomes a false positive.

Run: python -m pytest tests/unit/test_grading_forms.py -q
"""

from __future__ import annotations

import pytest

from r1repro.grading import GraderPolicy, check
from r1repro.grading.sandbox import warmup


@pytest.fixture(scope="module", autouse=True)
def _warm():
    warmup()


# (response, gold, correct, reason)
MARKDOWN = [
    ("The answer is **12**.", "12", True, "exact"),                          # bold after the phrase
    ("**Answer:** 12", "12", True, "exact"),                                 # bold label, bare value
    ("The final answer is: **$\\frac{3}{4}$**", "\\frac34", True, "exact"),  # bold around inline math
    ("**The answer is 12.**", "12", True, "exact"),                          # the whole sentence bold
    ("The answer is *12*.", "12", True, "exact"),                            # italics
    ("The answer is __12__.", "12", True, "exact"),                          # underscore bold
    ("The answer is _12_.", "12", True, "exact"),                            # underscore italics
    ("The answer is $x_1$.", "x_1", True, "exact"),                          # a subscript, not emphasis
    ("#### **1,250**", "1250", True, "exact"),                               # bold GSM8K line
    ("<think>x</think> <answer>***7***</answer>", "7", True, "exact"),       # bold italics in the tag
    ("The answer is **12 apples**.", "12", True, "exact"),                   # bold value with a unit word
    ("The answer is **13**.", "12", False, "mismatch"),                      # wrong value
    ("The answer is **-12**.", "12", False, "mismatch"),                     # wrong sign
    ("The answer is **12** or **13**.", "12", False, "multiple_answers"),    # a bold hedge
    ("#### 9**9**9**9", "18", False, "too_large"),                           # a power, not emphasis
]

FONTS = [
    ("\\boxed{\\mathbf{\\frac{3}{4}}}", "\\frac34", True, "exact"),          # nested braces inside \mathbf
    ("\\boxed{\\boldsymbol{(1, 2)}}", "(1,2)", True, "exact"),               # a bold tuple
    ("\\boxed{\\textbf{12}}", "12", True, "exact"),                          # \textbf
    ("\\boxed{{\\bf 12}}", "12", True, "exact"),                             # the {\bf ..} switch
    ("\\boxed{\\mathbf{2\\sqrt{3}}}", "2\\sqrt3", True, "exact"),            # a bold radical
    ("\\boxed{\\bm{\\frac{\\pi}{2}}}", "\\frac{\\pi}{2}", True, "exact"),    # \bm
    ("\\boxed{\\textbf{\\$12}}", "12", True, "exact"),                       # bold currency
    ("\\boxed{\\mathbf{13}}", "12", False, "mismatch"),                      # wrong value
    ("\\boxed{\\boldsymbol{-\\frac{3}{4}}}", "\\frac34", False, "mismatch"),  # wrong sign
    ("\\boxed{\\textbf{(2, 1)}}", "(1,2)", False, "mismatch"),               # swapped tuple
    ("\\boxed{\\mathbf{12} \\text{ or } \\mathbf{13}}", "12", False, "multiple_answers"),  # bold hedge
    ("\\boxed{\\mathbf{1, 2, 3}}", "1, 2", False, "multiple_answers"),       # extra element
]

UNITS_AFTER_SYMBOLS = [
    ("\\boxed{36\\pi \\text{ cm}^2}", "36\\pi", True, "exact"),              # the case
    ("\\boxed{\\frac{9\\pi}{2} \\text{ square units}}", "\\frac{9\\pi}{2}", True, "exact"),  # two words
    ("\\boxed{12\\pi\\ \\text{m}^3}", "12\\pi", True, "exact"),              # `\ ` before the unit
    ("\\boxed{4\\sqrt{3} \\text{ cm}}", "4\\sqrt{3}", True, "exact"),        # after a radical
    ("\\boxed{100\\pi \\text{ square feet}}", "100\\pi", True, "exact"),     # square feet
    ("\\boxed{36\\pi\\,\\mathrm{cm}^2}", "36\\pi", True, "exact"),           # \mathrm unit, thin space
    ("The answer is $8\\pi$ cm$^3$.", "8\\pi", True, "exact"),               # unit outside the math
    ("\\boxed{2\\pi \\mbox{ inches}}", "2\\pi", True, "exact"),              # \mbox
    ("\\boxed{35\\pi \\text{ cm}^2}", "36\\pi", False, "mismatch"),          # wrong value
    ("\\boxed{-36\\pi \\text{ cm}^2}", "36\\pi", False, "mismatch"),         # wrong sign
    ("\\boxed{36 \\text{ cm}^2}", "36\\pi", False, "mismatch"),              # the pi dropped
    ("\\boxed{36\\pi \\text{ cm}^2}", "36", False, "mismatch"),              # pi added to a number
    ("\\boxed{2\\pi h}", "2\\pi", False, "mismatch"),                        # h is a variable here
]

EQUATION_SETS = [
    ("\\boxed{x = 2 \\text{ or } x = -2}", "2, -2", True, "exact"),          # the case
    ("The answer is $x=2$ and $x=-2$.", "2,-2", True, "exact"),              # two math segments
    ("\\boxed{x = -2 \\text{ and } x = 2}", "\\pm 2", True, "exact"),        # against \pm
    ("\\boxed{x_1 = 3, x_2 = -\\frac{1}{2}}", "3, -\\frac12", True, "exact"),  # subscripted roots
    ("\\boxed{x = 1 \\quad\\text{or}\\quad x = 5}", "\\{1, 5\\}", True, "exact"),  # \quad spacing, set gold
    ("\\boxed{x = 2 \\text{ or } -2}", "2,-2", True, "exact"),               # the variable once
    ("\\boxed{y = 0 \\lor y = 4}", "0, 4", True, "exact"),                   # \lor
    ("The answer is $x = 1$, $x = 2$, and $x = 3$.", "1,2,3", True, "exact"),  # Oxford comma
    ("\\boxed{x = 2 \\text{ or } x = 3}", "2, -2", False, "mismatch"),       # a wrong value
    ("\\boxed{x = 2 \\text{ or } x = 2}", "2, -2", False, "mismatch"),       # a sign lost
    ("\\boxed{x = 2, x = -2, x = 0}", "2, -2", False, "multiple_answers"),   # an extra solution
    ("\\boxed{x = 2}", "2, -2", False, "mismatch"),                          # a missing solution
    ("\\boxed{x = 2 \\text{ or } x = -2}", "2", False, "multiple_answers"),  # a hedge for a scalar gold
    ("The answer is $x=2$ and $x=-2$.", "2", False, "multiple_answers"),     # the same, in prose
    ("\\boxed{x = 2 \\text{ or } y = -2}", "2, -2", False, "multiple_answers"),  # two variables: a hedge
]

FLIPPED_INEQUALITIES = [
    ("\\boxed{-2 \\ge x}", "x \\le -2", True, "exact"),                      # the case
    ("\\boxed{3 > y}", "y < 3", True, "exact"),                              # strict
    ("\\boxed{\\frac{1}{2} \\leq t}", "t \\geq \\frac12", True, "exact"),     # \leq, \geq, fractions
    ("\\boxed{5 > x > 1}", "1 < x < 5", True, "exact"),                      # a descending chain
    ("\\boxed{5 \\ge x > -1}", "-1 < x \\le 5", True, "exact"),              # mixed chain
    ("\\boxed{0 \\lt a}", "a > 0", True, "exact"),                           # \lt
    ("\\boxed{-x \\ge 2}", "x \\le -2", True, "symbolic_equal"),             # negated variable (sympy)
    ("\\boxed{-2 \\le x}", "x \\le -2", False, "mismatch"),                  # the direction reversed
    ("\\boxed{-2 > x}", "x \\le -2", False, "mismatch"),                     # strict for non-strict
    ("\\boxed{2 \\ge x}", "x \\le -2", False, "mismatch"),                   # wrong sign
    ("\\boxed{-3 \\ge x}", "x \\le -2", False, "mismatch"),                  # wrong bound
    ("\\boxed{2x \\le -4}", "x \\le -2", False, "mismatch"),                 # not solved for x
    ("\\boxed{5 > x > 1}", "1 < x \\le 5", False, "mismatch"),               # an open end for a closed one
]

SCALE_WORDS = [
    ("\\boxed{1 \\text{ million}}", "1000000", True, "exact"),               # the case
    ("The answer is 2.5 thousand.", "2500", True, "exact"),                  # a decimal times a scale
    ("#### 3 dozen", "36", True, "exact"),                                   # dozen
    ("The answer is \\$1.2 billion.", "1200000000", True, "exact"),          # currency and billion
    ("\\boxed{4 \\text{ hundred}}", "400", True, "exact"),                   # hundred in \text
    ("The answer is 1.5 million dollars.", "1500000", True, "exact"),        # a unit after the scale
    ("\\boxed{2 \\text{ thousand}}", "2000", True, "exact"),                 # thousand in \text
    ("\\boxed{1 \\text{ million}}", "1", False, "mismatch"),                 # the scale is not a unit
    ("#### 3 dozen", "3", False, "mismatch"),                                # nor is dozen
    ("The answer is 2.5 thousand.", "25000", False, "mismatch"),             # a wrong value
    ("The answer is -2 thousand.", "2000", False, "mismatch"),               # a wrong sign
    ("\\boxed{1 \\text{ billion}}", "1000000", False, "mismatch"),           # the wrong scale
    ("\\boxed{2 \\text{ or } 3 \\text{ thousand}}", "3000", False, "multiple_answers"),  # a hedge
]

FINAL_ANSWER_BOXES = [
    ("First \\boxed{3} for the width. The final answer is \\boxed{5}.", "5", True, "exact"),  # the case
    ("We get $\\boxed{x=2}$ then $y = \\boxed{7}$. Final answer: $\\boxed{14}$", "14", True, "exact"),  # two in the working
    ("Area \\boxed{6}. **Final Answer**: \\boxed{12}", "12", True, "exact"),  # Markdown label
    ("\\boxed{1/2} so the final answer is $\\boxed{\\frac{3}{4}}$.", "\\frac34", True, "exact"),  # inline math
    ("\\boxed{3} ... The final answer is \\boxed{2} and \\boxed{5}.", "2, 5", True, "exact"),  # set gold, one box each
    ("Step \\boxed{4}. The final answer is \\boxed{5}. It is \\boxed{5}.", "5", True, "exact"),  # the same value again
    ("First \\boxed{5}. The final answer is \\boxed{4}.", "5", False, "mismatch"),  # the working had the gold
    ("First \\boxed{3}. The final answer is \\boxed{-5}.", "5", False, "mismatch"),  # wrong sign
    ("The final answer is \\boxed{5}. Or maybe \\boxed{6}.", "5", False, "multiple_answers"),  # hedge after it
    ("Final answer: \\boxed{5}. Final answer: \\boxed{6}.", "5", False, "multiple_answers"),  # two final answers
    ("\\boxed{3} ... The final answer is \\boxed{2}, \\boxed{5}, \\boxed{7}.", "2, 5", False,
     "multiple_answers"),                                                      # an extra solution
    ("\\boxed{5} so the answer is \\boxed{6}", "6", False, "multiple_answers"),  # no "final answer": a hedge
]

FLEX = GraderPolicy(last_number_fallback=True)
# (response, gold, strict reason, flexible correct, flexible reason)
GSM8K_PROSE = [
    ("She sells 16 - 3 - 4 = 9 eggs, so she makes 9 * 2 = 18 dollars.", "18", "no_answer", True,
     "exact"),                                                                 # the last number of the last sentence
    ("Total: $1,250.", "1250", "no_answer", True, "exact"),                    # currency and separators
    ("So he runs 3 * 60 = 180 meters a week.\nGood luck!", "180", "no_answer", True, "exact"),  # last sentence with a number
    ("The tank holds 12.50 liters.", "12.5", "no_answer", True, "numeric_equal"),  # decimals exactly
    ("Then 7 - 10 = -3. So the temperature is -3.", "-3", "no_answer", True, "exact"),  # negative
    ("<think>12 + 6</think> That makes 18 apples.", "18", "no_answer", True, "exact"),  # after the think block
    ("She makes 9 * 2 = 18 dollars.", "19", "no_answer", False, "mismatch"),   # wrong value
    ("The change is 5 - 8 = -3 degrees.", "3", "no_answer", False, "mismatch"),  # wrong sign
    ("She has 18 apples and 2 pears.", "18", "no_answer", False, "mismatch"),  # not the last number
    ("#### 17\nActually she pays 18.", "18", "mismatch", False, "mismatch"),   # a marker wins over prose
    ("<think>so 18</think> I cannot tell.", "18", "no_answer", False, "no_answer"),  # only the think has it
]


TABLES = {"markdown": MARKDOWN, "fonts": FONTS, "units_after_symbols": UNITS_AFTER_SYMBOLS,
          "equation_sets": EQUATION_SETS, "flipped_inequalities": FLIPPED_INEQUALITIES,
          "scale_words": SCALE_WORDS, "final_answer_boxes": FINAL_ANSWER_BOXES}
FORM_CASES = [pytest.param(*row, id=f"{name}-{i}") for name, rows in TABLES.items() for i, row in enumerate(rows)]


@pytest.mark.parametrize("response,gold,correct,reason", FORM_CASES)
def test_answer_forms(response, gold, correct, reason):
    v = check(response, gold)
    assert (v.correct, v.reason) == (correct, reason), v


@pytest.mark.parametrize("response,gold,strict_reason,flex_correct,flex_reason", GSM8K_PROSE)
def test_gsm8k_prose_strict_and_flexible(response, gold, strict_reason, flex_correct, flex_reason):
    strict = check(response, gold)  # the default policy (RL rewards) is strict
    assert (strict.correct, strict.reason) == (False, strict_reason), strict
    flex = check(response, gold, policy=FLEX)
    assert (flex.correct, flex.reason) == (flex_correct, flex_reason), flex


def test_every_class_has_five_accepted_forms_and_negatives():
    for name, rows in TABLES.items():
        assert sum(r[2] for r in rows) >= 5 and sum(not r[2] for r in rows) >= 3, name
    assert sum(r[3] for r in GSM8K_PROSE) >= 5 and sum(not r[3] for r in GSM8K_PROSE) >= 3
