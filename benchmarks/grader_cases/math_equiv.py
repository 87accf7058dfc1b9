r"""MATH-style answers that need more than string equality, for the grader's throughput benchmark.

Eight kinds, half equivalent (label True: mathematically equal) and half near misses (label
False: one coefficient, endpoint, bracket or sign changed), so that neither checker can win by
string comparison and a fast reject is worth as much as a fast accept:

  fractions     MATH-500 golds that are fractions, and fractions of pi, scaled by k/k
  radicals      MATH-500 radical golds and generated ones: a\sqrt{b} vs \sqrt{a^2 b},
                rationalised denominators, \sqrt{p/q}
  polynomials   factored vs expanded (one and two variables, repeated roots, leading factors)
  intervals     endpoints in other forms (2/4, \sqrt{12}), unions
  tuples        points whose coordinates are in other forms
  pi_multiples  sums and fractions of pi (2\pi - \frac{\pi}{3} vs \frac{5\pi}{3})
  complex       complex numbers in other forms (MATH-500 has six complex golds)
  transcendental  logs, exponentials and trig identities: none of the pure-Python paths decide
                these (sympy does), so they keep the set honest. 40 of 520 pairs (7.7%), more
                than their share of MATH-500's golds that are not plain numbers (1 of ~190).

Every pair is built from integers drawn with a fixed seed; the label is true by construction.
`python benchmarks/grader_cases/math_equiv.py` prints a sample of each kind.
"""

from __future__ import annotations

import json
import random
import re
from fractions import Fraction
from pathlib import Path

SIZES = {"fractions": 80, "radicals": 80, "polynomials": 80, "intervals": 80, "tuples": 80,
         "pi_multiples": 40, "complex": 40, "transcendental": 40}
"""Pairs per kind (half equivalent, half near misses)."""
SQUAREFREE = [2, 3, 5, 6, 7, 10, 11, 13, 14, 15, 17, 19, 21, 22, 23]


def _frac(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return f"{sign}\\frac{{{abs(q.numerator)}}}{{{q.denominator}}}"


def _pi(q: Fraction) -> str:
    """q*pi as MATH writes it: \\pi, 3\\pi, \\frac{\\pi}{2}, -\\frac{5\\pi}{6}."""
    sign, q = ("-" if q < 0 else ""), abs(q)
    num = "\\pi" if q.numerator == 1 else f"{q.numerator}\\pi"
    return sign + (num if q.denominator == 1 else f"\\frac{{{num}}}{{{q.denominator}}}")


def _wrap(pred: str, i: int) -> str:
    """The prediction in one of three response styles."""
    return [f"So the answer is $\\boxed{{{pred}}}$.",
            f"<think>Work it out.</think> <answer>\\boxed{{{pred}}}</answer>",
            f"<think>Compute.</think> <answer>{pred}</answer>"][i % 3]


def _fractions(rng, golds, kind="fractions"):
    real = [g for g in golds if re.fullmatch(r"-?\\[dt]?frac\{\d+\}\{\d+\}", g)]
    out = []
    while len(out) < SIZES[kind]:
        k = rng.randint(2, 6)
        if real and len(out) % 2 == 0:
            g = real[(len(out) // 2) % len(real)]
            sign, p, q = re.fullmatch(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}", g).groups()
            p, q = int(p), int(q)
            pi = ""
        else:
            f = Fraction(rng.randint(1, 30), rng.randint(2, 30))
            p, q, sign, pi = f.numerator, f.denominator, rng.choice(["", "-"]), "\\pi"
            g = sign + _pi(f)
        ok = len(out) % 4 < 2
        num = k * p if ok else k * p + rng.choice([-1, 1])
        out.append((f"{sign}\\frac{{{num}{pi}}}{{{k * q}}}", g, ok))
    return out


def _radicals(rng, golds, kind="radicals"):
    real = [g for g in golds if re.fullmatch(r"(\d+)\s*\\sqrt\{?(\d+)\}?", g)]
    out = []
    while len(out) < SIZES[kind]:
        ok = len(out) % 4 < 2
        shape = len(out) % 5
        a, b, c = rng.randint(2, 9), rng.choice(SQUAREFREE), rng.randint(2, 9)
        bump = 0 if ok else 1
        if shape == 0 and real:
            m = re.fullmatch(r"(\d+)\s*\\sqrt\{?(\d+)\}?", real[(len(out) // 5) % len(real)])
            a, b = int(m.group(1)), int(m.group(2))
            out.append((f"\\sqrt{{{a * a * b + bump}}}", m.group(0), ok))
        elif shape == 1:
            out.append((f"\\sqrt{{{a * a * b + bump}}}", f"{a}\\sqrt{{{b}}}", ok))
        elif shape == 2:
            out.append((f"\\frac{{{a}}}{{\\sqrt{{{b}}}}}", f"\\frac{{{a + bump}\\sqrt{{{b}}}}}{{{b}}}", ok))
        elif shape == 3:
            out.append((f"\\frac{{\\sqrt{{{a * a * b}}}}}{{{c}}}", f"\\frac{{{a}\\sqrt{{{b}}}}}{{{c + bump}}}", ok))
        else:
            out.append((f"{c} + \\sqrt{{{a * a * b}}}", f"{c + bump} + {a}\\sqrt{{{b}}}", ok))
    return out


def _poly_str(coeffs: list[int], var: str = "x") -> str:
    """[c_n, ..., c_0] -> 'c_n x^n + ... + c_0'."""
    n = len(coeffs) - 1
    terms = []
    for i, c in enumerate(coeffs):
        e = n - i
        if c == 0:
            continue
        mono = "" if e == 0 else var if e == 1 else f"{var}^{{{e}}}" if e > 9 else f"{var}^{e}"
        body = str(abs(c)) if (abs(c) != 1 or e == 0) else ""
        terms.append(("-" if c < 0 else "+") + body + mono)
    s = "".join(terms) or "0"
    return s[1:] if s.startswith("+") else s


def _mul(p, q):
    out = [0] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return out


def _lin(a: int, b: int) -> str:
    """(a x + b) as LaTeX."""
    ax = "x" if a == 1 else f"{a}x"
    return f"({ax}{'+' if b >= 0 else '-'}{abs(b)})"


def _polynomials(rng, golds, kind="polynomials"):
    out = []
    while len(out) < SIZES[kind]:
        ok = len(out) % 4 < 2
        shape = len(out) % 4
        if shape == 0:  # (x+a)(x+b)(x+c)
            rs = [rng.choice([i for i in range(-9, 10) if i]) for _ in range(3)]
            coeffs = [1]
            for r in rs:
                coeffs = _mul(coeffs, [1, r])
            fact = "".join(_lin(1, r) for r in rs)
        elif shape == 1:  # k(ax+b)^2
            k, a, b = rng.randint(2, 5), rng.randint(1, 4), rng.choice([-7, -5, -3, -1, 1, 2, 3, 5])
            coeffs = [k * c for c in _mul([a, b], [a, b])]
            fact = f"{k}{_lin(a, b)}^2"
        elif shape == 2:  # x(ax+b)(x+c)
            a, b, c = rng.randint(2, 5), rng.choice([-5, -3, 1, 3, 7]), rng.randint(-8, 8) or 1
            coeffs = _mul(_mul([1, 0], [a, b]), [1, c])
            fact = f"x{_lin(a, b)}{_lin(1, c)}"
        else:  # two variables: (x+ay)(x-by)
            a, b = rng.randint(1, 6), rng.randint(1, 6)
            fact = f"(x+{a}y)(x-{b}y)"
            mid = a - b
            mid_s = "" if mid == 0 else f"{'+' if mid > 0 else '-'}{abs(mid) if abs(mid) > 1 else ''}xy"
            exp_ok, exp_bad = f"x^2{mid_s}-{a * b}y^2", f"x^2{mid_s}-{a * b + 1}y^2"
            gold, pred = (fact, exp_ok if ok else exp_bad) if len(out) % 2 else (exp_ok, fact if ok else
                                                                                   f"(x+{a}y)(x+{b}y)")
            out.append((pred, gold, ok))
            continue
        expanded = _poly_str(coeffs if ok else coeffs[:-1] + [coeffs[-1] + rng.choice([-1, 1])])
        # half the time the gold is the factored form, half the time the expanded one
        out.append((expanded, fact, ok) if len(out) % 2 else (fact if ok else expanded, _poly_str(coeffs), ok))
    return out


def _endpoint(rng) -> tuple[str, str, str]:
    """(gold form, an equivalent form, a near miss) of one endpoint."""
    k = rng.randint(2, 4)
    if rng.random() < 0.5:
        q = Fraction(rng.randint(-20, 20), rng.randint(2, 9))
        return _frac(q), f"\\frac{{{k * q.numerator}}}{{{k * q.denominator}}}", _frac(q + 1)
    a, b = rng.randint(2, 6), rng.choice(SQUAREFREE)
    return f"{a}\\sqrt{{{b}}}", f"\\sqrt{{{a * a * b}}}", f"\\sqrt{{{a * a * b + 1}}}"


def _intervals(rng, golds, kind="intervals"):
    out = []
    while len(out) < SIZES[kind]:
        ok = len(out) % 4 < 2
        g1, e1, m1 = _endpoint(rng)
        lo, hi = ("-\\infty", g1) if rng.random() < 0.4 else (g1, "\\infty")
        plo, phi = ("-\\infty", e1) if lo == "-\\infty" else (e1, "\\infty")
        left = "(" if lo == "-\\infty" else rng.choice("([")
        right = ")" if hi == "\\infty" else rng.choice(")]")
        pleft, pright = left, right
        if not ok:  # the other bracket at the finite end, or a different finite endpoint
            if len(out) % 2 and lo != "-\\infty":
                pleft = "[" if left == "(" else "("
            elif len(out) % 2:
                pright = "]" if right == ")" else ")"
            else:
                plo, phi = ("-\\infty", m1) if lo == "-\\infty" else (m1, "\\infty")
        gold = f"{left}{lo}, {hi}{right}"
        pred = f"{pleft}{plo}, {phi}{pright}"
        if len(out) % 3 == 0:  # a union with a second, plain interval
            gold, pred = f"{gold} \\cup (10, 12]", f"{pred} \\cup (10, 12]"
        out.append((pred, gold, ok))
    return out


def _tuples(rng, golds, kind="tuples"):
    out = []
    while len(out) < SIZES[kind]:
        ok = len(out) % 4 < 2
        (g1, e1, m1), (g2, e2, _) = _endpoint(rng), _endpoint(rng)
        gold = f"({g1}, {g2})"
        pred = f"\\left({e1}, {e2}\\right)" if ok else (f"({m1}, {e2})" if len(out) % 2 else f"({e2}, {e1})")
        if not ok and pred.replace(" ", "") == gold.replace(" ", ""):
            pred = f"({m1}, {e2})"
        out.append((pred, gold, ok))
    return out


def _pi_multiples(rng, golds, kind="pi_multiples"):
    out = []
    while len(out) < SIZES[kind]:
        ok = len(out) % 4 < 2
        a, b = Fraction(rng.randint(1, 7), rng.randint(2, 6)), Fraction(rng.randint(1, 5), rng.randint(2, 6))
        total = a + b if len(out) % 2 else 2 - b
        shown = f"{_pi(a)} + {_pi(b)}" if len(out) % 2 else f"2\\pi - {_pi(b)}"
        out.append((shown, _pi(total if ok else total + Fraction(1, 6)), ok))
    return out


def _complex(rng, golds, kind="complex"):
    out = []
    while len(out) < SIZES[kind]:
        ok = len(out) % 4 < 2
        a, b, c, d = (rng.choice([i for i in range(-9, 10) if i]) for _ in range(4))
        re_, im = a * c - b * d, a * d + b * c  # (a+bi)(c+di)
        bump = 0 if ok else 1
        gold = f"{re_ + bump}{'+' if im >= 0 else '-'}{abs(im)}i"
        if len(out) % 2:
            out.append((f"({a}{'+' if b >= 0 else '-'}{abs(b)}i)({c}{'+' if d >= 0 else '-'}{abs(d)}i)", gold, ok))
        else:
            k = rng.randint(2, 5)
            out.append((f"\\frac{{{k * re_}{'+' if im >= 0 else '-'}{k * abs(im)}i}}{{{k}}}", gold, ok))
    return out


def _transcendental(rng, golds, kind="transcendental"):
    out = []
    while len(out) < SIZES[kind]:
        ok = len(out) % 4 < 2
        a, b = rng.randint(2, 9), rng.randint(2, 5)
        shape = len(out) % 4
        if shape == 0:
            out.append((f"{b}\\log({a})", f"\\log({a ** b if ok else a ** b + 1})", ok))
        elif shape == 1:
            out.append((f"2\\sin({a}x)\\cos({a}x)", f"\\sin({2 * a if ok else 2 * a + 1}x)", ok))
        elif shape == 2:
            out.append((f"e^{{{a}}} e^{{x}}", f"e^{{x+{a if ok else a + 1}}}", ok))
        else:
            out.append((f"\\cos^2({a}x) - \\sin^2({a}x)", f"\\cos({2 * a if ok else a}x)", ok))
    return out


KINDS = {"fractions": _fractions, "radicals": _radicals, "polynomials": _polynomials,
         "intervals": _intervals, "tuples": _tuples, "pi_multiples": _pi_multiples,
         "complex": _complex, "transcendental": _transcendental}


def math_equiv_cases(golds: list[str], seed: int = 0) -> list[tuple[str, str, str, bool]]:
    """(kind, response, gold, label) for every kind, SIZES[kind] each."""
    rng = random.Random(seed)
    out = []
    for kind, make in KINDS.items():
        for i, (pred, gold, ok) in enumerate(make(rng, golds)):
            out.append((kind, _wrap(pred, i), gold, ok))
    return out


def load_math500_golds(data: Path) -> list[str]:
    return [json.loads(x)["answer"] for x in (data / "math/test500.jsonl").read_text().splitlines()]


if __name__ == "__main__":
    import os

    root = Path(__file__).resolve().parents[2]
    data = Path(os.environ.get("R1REPRO_DATA", root.parent / "shared" / "data"))
    cases = math_equiv_cases(load_math500_golds(data))
    for kind in KINDS:
        rows = [c for c in cases if c[0] == kind]
        print(f"{kind}: {len(rows)} ({sum(c[3] for c in rows)} equivalent)")
        for c in rows[:4]:
            print("   ", c[3], "|", c[1], "|", c[2])
