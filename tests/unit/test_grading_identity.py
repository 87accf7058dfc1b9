"""identity.py: exact identity testing in pure Python (hand-checked values, a comment per case).

Run: python -m pytest tests/unit/test_grading_identity.py -q
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from r1repro.grading import GraderPolicy, check
from r1repro.grading.identity import I_UNIT, GiveUp, equal, evaluate, inv, mul, parse, sqrt

# (a, b, expected): True / False decided exactly, None when outside the subset (sympy decides)
EQUAL_CASES = [
    ("\\frac{6}{8}", "\\frac{3}{4}", True),                                  # equivalent fractions
    ("\\frac{6\\pi}{8}", "\\frac{3\\pi}{4}", True),                           # a rational multiple of pi
    ("2\\pi-\\frac{\\pi}{3}", "\\frac{5\\pi}{3}", True),                      # pi arithmetic
    ("\\sqrt{8}", "2\\sqrt{2}", True),                                        # a\sqrt{b} vs \sqrt{a^2 b}
    ("\\frac{\\sqrt{6}}{2}", "\\sqrt{\\frac{3}{2}}", True),                   # a root of a fraction
    ("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", True),                   # rationalised denominator
    ("\\frac{2}{\\sqrt{5}-1}", "\\frac{1+\\sqrt{5}}{2}", True),               # a conjugate
    ("\\frac{1}{\\sqrt{2}+\\sqrt{3}}", "\\sqrt{3}-\\sqrt{2}", True),          # two radicals in a denominator
    ("(\\sqrt{2}+\\sqrt{3})^2", "5+2\\sqrt{6}", True),                        # sqrt2 sqrt3 = sqrt6
    ("2^{1/2}", "\\sqrt{2}", True),                                           # a half exponent
    ("(x+1)^2", "x^2+2x+1", True),                                            # factored vs expanded
    ("(x-9)(x-4)(x+1)", "x^3-12x^2+23x+36", True),                            # a cubic
    ("(x+4y)(x-4y)", "x^2-16y^2", True),                                      # two variables
    ("\\frac{x^2-1}{x-1}", "x+1", True),                                      # a rational function
    ("x^{-1}", "\\frac{1}{x}", True),                                         # a negative exponent
    ("0.5x", "\\frac{x}{2}", True),                                           # decimals are exact
    ("\\alpha\\beta", "\\beta\\alpha", True),                                 # Greek variables commute
    ("x_1+x_2", "x_2+x_1", True),                                             # subscripted variables
    ("\\frac{12-10i}{2}", "6-5i", True),                                      # complex numbers
    ("(1+2i)(1-i)", "3+i", True),                                             # i*i = -1
    ("\\sqrt{-4}", "2i", True),                                               # the principal root
    ("y=2x+3", "2x+3=y", True),                                               # equation sides swapped
    ("(x+1)^2", "x^2+2x", False),                                             # a dropped constant
    ("\\sqrt{8}", "3\\sqrt{2}", False),                                       # a wrong coefficient
    ("\\sqrt{2}+\\sqrt{3}", "\\sqrt{5}", False),                              # radicals do not add
    ("\\frac{3\\pi}{4}", "\\frac{3}{4}", False),                              # pi dropped
    ("x_1+x_2", "x_2+x_3", False),                                            # another variable
    ("y=2x+3", "y=2x+4", False),                                              # another line
    ("2y=4x+6", "y=2x+3", False),                                             # scaled: not solved for y
    ("1+i", "1-i", False),                                                    # the conjugate
    ("\\sin(x)", "\\sin(x)", None),                                           # functions: sympy
    ("e^{x}", "e^{x}", None),                                                 # e: sympy
    ("\\sqrt{x^2}", "x", None),                                               # |x|, not x
    ("\\sqrt[3]{8}", "2", None),                                              # n-th roots
    ("a/2x", "\\frac{a}{2x}", None),                                          # 1/(2x) or x/2?
    ("3\\frac{1}{2}\\pi", "\\frac{7\\pi}{2}", None),                          # mixed number or product?
    ("x^23", "x^{23}", None),                                                 # x^2 * 3 or x^23?
    ("1.5.2x", "0.3x", None),                                                 # juxtaposed numbers
    ("\\sin xy", "\\sin(x)y", None),                                          # sin(xy) or sin(x) y?
    ("\\frac{1}{x-x}", "1", None),                                            # a pole everywhere
    ("x^{1000}", "x^{1000}", None),                                           # exponent over 64
    ("2^{10000}", "2^{10000}", None),                                         # exponent over 64
    ("\\sqrt{1000000007}", "\\sqrt{1000000007}", None),                       # too large to factor
    ("x!", "x!", None),                                                       # factorial
    ("__import__('os')", "1", None),                                          # not mathematics
]


@pytest.mark.parametrize("a,b,expected", EQUAL_CASES)
def test_equal(a, b, expected):
    assert equal(a, b) is expected
    assert equal(b, a) is expected  # symmetric


def test_exact_values():
    r2, r3 = sqrt(Fraction(2)), sqrt(Fraction(3))
    assert mul(r2, r3) == {(2, 3): Fraction(1)}                  # sqrt2 sqrt3 = sqrt6
    assert mul(r2, r2) == Fraction(2)                            # sqrt2^2 = 2
    assert sqrt(Fraction(12, 9)) == {(3,): Fraction(2, 3)}        # sqrt(4/3) = 2 sqrt3 / 3
    assert mul(I_UNIT, I_UNIT) == Fraction(-1)                   # i^2 = -1
    x = {(): Fraction(1), (2,): Fraction(1), (3,): Fraction(1)}  # 1 + sqrt2 + sqrt3
    assert mul(x, inv(x)) == Fraction(1)                         # the conjugate inverse
    tree, names = parse("\\frac{x}{2}+\\pi")
    assert names == {"x", "\\pi"}
    assert evaluate(tree, {"x": Fraction(4), "\\pi": Fraction(1)}) == Fraction(3)
    with pytest.raises(GiveUp):
        parse("\\sqrt{x}")                                         # a variable under a root


def test_random_polynomials_against_expansion():
    # second layer: products of random linear factors equal their expansion, and every
    # single-coefficient change is caught
    rng = random.Random(0)
    for _ in range(50):
        roots = [rng.randint(-9, 9) for _ in range(rng.randint(1, 4))]
        coeffs = [1]
        for r in roots:
            coeffs = [a + r * b for a, b in zip(coeffs + [0], [0] + coeffs)]
        factored = "".join(f"(x{'+' if r >= 0 else '-'}{abs(r)})" for r in roots)
        n = len(coeffs) - 1
        expanded = "+".join(f"{c}x^{{{n - i}}}" for i, c in enumerate(coeffs)).replace("+-", "-")
        assert equal(factored, expanded) is True, (factored, expanded)
        j = rng.randrange(len(coeffs))
        coeffs[j] += rng.choice([-1, 1])
        wrong = "+".join(f"{c}x^{{{n - i}}}" for i, c in enumerate(coeffs)).replace("+-", "-")
        assert equal(factored, wrong) is False, (factored, wrong)


# check(): the verdicts and the step that decided them
CHECK_CASES = [
    ("\\boxed{\\sqrt{12}}", "2\\sqrt{3}", True, "symbolic_equal", "identity"),   # radical, no sympy
    ("\\boxed{(x-1)(x+1)}", "x^2-1", True, "symbolic_equal", "identity"),      # polynomial, no sympy
    ("\\boxed{(x-1)(x+2)}", "x^2-1", False, "mismatch", "identity"),           # a wrong factor, no sympy
    ("\\boxed{\\left(\\frac{6}{8}, \\sqrt{12}\\right)}", "(\\frac34, 2\\sqrt3)", True, "symbolic_equal",
     "identity"),                                                               # tuple: elements by identity
    ("\\boxed{2\\sin(x)\\cos(x)}", "\\sin(2x)", True, "symbolic_equal", "symbolic"),  # trig: sympy
    ("\\boxed{\\sqrt{4}}", "2", False, "mismatch", "fast"),                    # a number gold wants a number
]


@pytest.mark.parametrize("response,gold,correct,reason,method", CHECK_CASES)
def test_check_uses_identity(response, gold, correct, reason, method):
    from r1repro.grading.sandbox import warmup

    warmup()
    v = check(response, gold, policy=GraderPolicy(cache_size=0))
    assert (v.correct, v.reason) == (correct, reason), v
    assert v.method == method, v


def test_policy_knobs_bypass_identity():
    # factored forms off: only structural equality counts, so the identity test must not accept
    v = check("\\boxed{(x+1)^2}", "x^2+2x+1", policy=GraderPolicy(accept_factored_forms=False))
    assert (v.correct, v.method) == (False, "symbolic")
    # decimal approximations on: the identity test may accept but never reject
    v = check("\\boxed{1.41421\\sqrt{x}}", "\\sqrt{2x}", policy=GraderPolicy(accept_decimal_approximations=True))
    assert v.method != "identity"
