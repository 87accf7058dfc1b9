r"""Exact identity testing in pure Python: are two LaTeX expressions equal as functions?

Why: most MATH answers that are not literally equal to their gold differ only by algebra that has
an exact canonical form: 2/4 vs 1/2, 2\sqrt{2} vs \sqrt{8}, \frac{6\pi}{8} vs \frac{3\pi}{4},
(x+1)^2 vs x^2+2x+1. Sending these to sympy in a worker costs tens of milliseconds each; here they
take tens of microseconds, with no sympy and no eval of model text.

How: a small recursive-descent parser reads a LaTeX subset (numbers, + - \cdot \times / \div,
implicit products, ^ with constant rational exponents, \frac, \sqrt, \pi, i, one-letter and Greek
variables with subscripts; and, for the sandbox worker only, e and \sin \cos \tan \cot \sec \csc
\log \ln \exp) into a tree. Values are exact: elements of Q(i, \sqrt{p_1}, \sqrt{p_2}, ...), a
Fraction per square-free radicand, which is a canonical form (distinct square-free radicals are
linearly independent over Q; i is the radicand -1, with i*i = -1). Variables and \pi (transcendental, so it behaves as a variable) are
set to random rationals; two different rational functions of degree d agree at a random point
drawn from a set S with probability at most d/|S| (Schwartz-Zippel), so three agreeing points
with |S| ~ 10^9 make a false "equal" vanishingly rare, and one disagreeing point is a proof of
"different". The points depend on the two strings (crc32), so they cannot be aimed at.

Anything outside the exact subset (functions, e, \infty, a variable under a root, nested radicals,
huge numbers, an ambiguous `a/2x`) returns None: the caller falls back to sympy, whose worker
reads the same tree (symbolic.py) instead of running the slower ANTLR LaTeX parser when it can.

    equal(r"\frac{\sqrt{6}}{2}", r"\sqrt{\frac{3}{2}}")   # True
    equal(r"(x+1)^2", r"x^2+2x")                          # False
    equal(r"\sin x", r"\sin x")                          # None: not in the subset
"""

from __future__ import annotations

import random
import re
import zlib
from fractions import Fraction
from math import isqrt

MAX_EXPONENT = 64
"""Integer exponents beyond this are left to sympy."""
MAX_BITS = 4096
"""A number whose numerator or denominator needs more bits is left to sympy."""
MAX_TERMS = 64
"""A value with more square-free radicals than this is left to sympy."""
MAX_RADICAND = 10**8
"""Square roots of integers above this are not factored (sympy decides)."""
POINTS = 3
"""Random points at which two expressions with variables must agree."""

_TOKEN_RE = re.compile(r"\d+\.\d+|\.\d+|\d+|\\[a-zA-Z]+|[a-zA-Z](?:_\{[a-zA-Z0-9]{1,4}\}|_[a-zA-Z0-9])?|\S")
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
          "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "varphi", "chi", "psi", "omega"}
FUNCTIONS = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp"}
"""Functions the parser reads (for the sympy worker); exact evaluation gives up on them."""
_CONSTANTS = {"e", "i"}  # Euler's number, the imaginary unit


class GiveUp(Exception):
    """The expression is outside the subset this module decides."""


class _Pole(Exception):
    """Division by zero at this point (pick another point)."""


# ----------------------------------------------------------------------------- exact values
# A value is a Fraction, or a dict {radicand: Fraction} where a radicand is a sorted tuple of
# distinct primes, or -1 for i (() is the rational part), and value = sum(c * sqrt(prod(primes))).
I_UNIT = {(-1,): Fraction(1)}

def _as_dict(v) -> dict:
    return v if isinstance(v, dict) else ({(): v} if v else {})


def _pack(d: dict):
    d = {k: c for k, c in d.items() if c}
    if len(d) > MAX_TERMS:
        raise GiveUp("too many radicals")
    if not d:
        return Fraction(0)
    if len(d) == 1 and () in d:
        return d[()]
    return d


def _check_size(q: Fraction) -> Fraction:
    if q.numerator.bit_length() > MAX_BITS or q.denominator.bit_length() > MAX_BITS:
        raise GiveUp("number too large")
    return q


def add(a, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _check_size(a + b)
    out = dict(_as_dict(a))
    for k, c in _as_dict(b).items():
        out[k] = out.get(k, 0) + c
    return _pack(out)


def neg(a):
    return -a if isinstance(a, Fraction) else {k: -c for k, c in a.items()}


def _mul_radicands(r: tuple, s: tuple) -> tuple[int, tuple]:
    """sqrt(r) * sqrt(s) = f * sqrt(t) with t square-free: (f, t)."""
    common = set(r) & set(s)
    f = 1
    for p in common:
        f *= p
    return f, tuple(sorted(set(r) ^ set(s)))


def mul(a, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return _check_size(a * b)
    out: dict = {}
    for r, c in _as_dict(a).items():
        for s, d in _as_dict(b).items():
            f, t = _mul_radicands(r, s)
            out[t] = _check_size(out.get(t, 0) + c * d * f)
    return _pack(out)


def inv(a):
    if isinstance(a, Fraction):
        if not a:
            raise _Pole
        return 1 / a
    primes = sorted({p for k in a for p in k})
    if not primes:
        return inv(a.get((), Fraction(0)))
    p = primes[0]  # a = A + B sqrt(p); a (A - B sqrt(p)) = A^2 - p B^2 has no sqrt(p)
    conj = {k: (-c if p in k else c) for k, c in a.items()}
    norm = mul(a, conj)
    return mul(conj, inv(norm))


def power(a, n: int):
    if abs(n) > MAX_EXPONENT:
        raise GiveUp("exponent")
    if n < 0:
        return inv(power(a, -n))
    out, base = Fraction(1), a
    while n:
        if n & 1:
            out = mul(out, base)
        n >>= 1
        if n:
            base = mul(base, base)
    return out


def _factor(m: int) -> dict[int, int]:
    if m > MAX_RADICAND:
        raise GiveUp("radicand too large to factor")
    out, p = {}, 2
    while p * p <= m:
        while m % p == 0:
            out[p] = out.get(p, 0) + 1
            m //= p
        p += 1 if p == 2 else 2
    if m > 1:
        out[m] = out.get(m, 0) + 1
    return out


def sqrt(a):
    """The principal square root of a rational, exactly (sqrt(-4) = 2i); a nested radical gives up."""
    if not isinstance(a, Fraction):
        raise GiveUp("nested radical")
    if a < 0:
        return mul(I_UNIT, sqrt(-a))
    if not a:
        return Fraction(0)
    m = a.numerator * a.denominator  # sqrt(n/d) = sqrt(n d) / d
    r = isqrt(m)
    if r * r == m:
        return Fraction(r, a.denominator)
    outside, primes = 1, []
    for p, e in _factor(m).items():
        outside *= p ** (e // 2)
        if e % 2:
            primes.append(p)
    return {tuple(sorted(primes)): Fraction(outside, a.denominator)}


# ----------------------------------------------------------------------------- parsing
class _Parser:
    """expr := ['+'|'-'] product (('+'|'-') product)*
    product := implicit ((\\cdot | \\times | * | / | \\div) implicit)*
    implicit := power power*          (juxtaposition binds tighter than \\cdot and /)
    power := atom ('^' exponent)?
    atom := number | variable | \\pi | (expr) | {expr} | \\frac{expr}{expr} | \\sqrt{expr}"""

    def __init__(self, s: str):
        self.toks = _TOKEN_RE.findall(s)
        self.i = 0
        self.vars: set[str] = set()

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise GiveUp(f"expected {want!r}, got {tok!r}")
        self.i += 1
        return tok

    def parse(self):
        node = self.expr(0)
        if self.peek() is not None:
            raise GiveUp(f"unexpected {self.peek()!r}")
        return node

    def expr(self, depth: int):
        if depth > 40:
            raise GiveUp("nested too deep")
        sign = None
        if self.peek() in ("+", "-"):
            sign = self.take()
        node = self.product(depth)
        if sign == "-":
            node = ("neg", node)
        while self.peek() in ("+", "-"):
            op = self.take()
            rhs = self.product(depth)
            node = ("add", node, rhs if op == "+" else ("neg", rhs))
        return node

    def product(self, depth: int):
        node, _ = self.implicit(depth)
        while self.peek() in ("\\cdot", "\\times", "*", "/", "\\div"):
            op = self.take()
            rhs, n_factors = self.implicit(depth)
            if op in ("/", "\\div"):
                if n_factors > 1:  # a/2x: 1/(2x) to a parser, x/2 to many readers
                    raise GiveUp("ambiguous division")
                rhs = ("inv", rhs)
            node = ("mul", node, rhs)
        return node

    def implicit(self, depth: int):
        node, n = self.power(depth), 1
        while self.peek() is not None and self.peek() not in ("+", "-", "\\cdot", "\\times", "*", "/",
                                                               "\\div", ")", "}", "^"):
            if node[0] == "num" and self.peek() == "\\frac":
                raise GiveUp("3\\frac{1}{2}: a mixed number or a product")
            if self.peek()[0].isdigit() or self.peek()[0] == ".":
                raise GiveUp("a number after a factor: x2, 1.5.2")
            node, n = ("mul", node, self.power(depth)), n + 1
        return node, n

    def power(self, depth: int):
        base = self.atom(depth)
        if self.peek() != "^":
            return base
        self.take("^")
        tok = self.peek()
        if tok == "{":
            self.take("{")
            exp = self.expr(depth + 1)
            self.take("}")
        elif tok is not None and re.fullmatch(r"\d", tok):
            exp = ("num", Fraction(int(self.take())))
        else:
            raise GiveUp("exponent form")  # x^23, x^y, x^-1: ambiguous or symbolic
        if self.peek() == "^":
            raise GiveUp("tower")
        if _free(exp) or _has(exp, "const") or _has(exp, "fn"):
            return ("powx", base, exp)  # e^{x}: for the sympy worker; exact evaluation gives up
        return ("pow", base, _constant(exp))

    def atom(self, depth: int):
        tok = self.take()
        if tok[0].isdigit() or tok[0] == ".":
            return ("num", Fraction(tok))
        if tok in ("(", "{"):
            node = self.expr(depth + 1)
            self.take(")" if tok == "(" else "}")
            return node
        if tok == "\\frac":
            num = self.group(depth)
            den = self.group(depth)
            return ("mul", num, ("inv", den))
        if tok == "\\sqrt":
            if self.peek() == "[":
                raise GiveUp("n-th root")
            arg = self.group(depth)
            if _free(arg):
                raise GiveUp("a variable under a root")  # sqrt(x^2) is |x|: sympy decides
            return ("sqrt", arg)
        if tok == "\\pi":
            self.vars.add("\\pi")
            return ("var", "\\pi")
        if tok in _CONSTANTS:
            return ("const", tok)
        if tok.startswith("\\") and tok[1:] in FUNCTIONS:
            return self.function(tok[1:], depth)
        if tok.startswith("\\") and tok[1:] in _GREEK:
            self.vars.add(tok)
            return ("var", tok)
        if tok[0].isalpha():
            self.vars.add(tok)
            return ("var", tok)
        raise GiveUp(f"token {tok!r}")

    def function(self, name: str, depth: int):
        """\\sin(x), \\sin{x}, \\sin x (one atom), \\sin^2(x); `\\sin 2x` is ambiguous: give up."""
        exp = None
        if self.peek() == "^":
            self.take("^")
            tok = self.take()
            if tok == "{":
                exp = self.expr(depth + 1)
                self.take("}")
            elif re.fullmatch(r"\d", tok):
                exp = ("num", Fraction(int(tok)))
            else:
                raise GiveUp("function power form")
            exp = _constant(exp)
            if exp.denominator != 1 or exp < 1:
                raise GiveUp("\\sin^{-1} is arcsin")
        tok = self.peek()
        if tok in ("(", "{"):
            arg = self.atom(depth + 1)
        elif tok is not None and (re.fullmatch(r"[a-zA-Z](?:_.*)?", tok) or tok[1:] in _GREEK):
            arg = self.atom(depth + 1)
            if self.peek() not in (None, "+", "-", "\\cdot", "\\times", "*", "/", "\\div", ")", "}", "="):
                raise GiveUp("\\sin xy: sin(x) y or sin(xy)")
        else:
            raise GiveUp("function argument")
        node = ("fn", name, arg)
        return node if exp is None else ("pow", node, exp)

    def group(self, depth: int):
        self.take("{")
        node = self.expr(depth + 1)
        self.take("}")
        return node


def _free(node) -> bool:
    """Does the tree contain a variable (or pi)?"""
    if node[0] == "var":
        return True
    if node[0] in ("num", "const"):
        return False
    return any(_free(c) for c in node[1:] if isinstance(c, tuple))


def _has(node, kind: str) -> bool:
    if node[0] == kind:
        return True
    return any(_has(c, kind) for c in node[1:] if isinstance(c, tuple))


def _constant(node) -> Fraction:
    """The exact value of a constant rational exponent (2, {-1}, {\\frac{3}{2}})."""
    if _free(node):
        raise GiveUp("a symbolic exponent")
    v = evaluate(node, {})
    if not isinstance(v, Fraction) or v.denominator not in (1, 2):
        raise GiveUp("exponent is not an integer or a half")
    return v


def evaluate(node, env: dict):
    """The exact value of a tree with variables set by env."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "var":
        return env[node[1]]
    if kind == "const":
        if node[1] == "i":
            return I_UNIT
        raise GiveUp("e is transcendental")  # and not a variable: sympy decides
    if kind in ("fn", "powx"):
        raise GiveUp(f"{kind} {node[1]}")
    if kind == "add":
        return add(evaluate(node[1], env), evaluate(node[2], env))
    if kind == "mul":
        return mul(evaluate(node[1], env), evaluate(node[2], env))
    if kind == "neg":
        return neg(evaluate(node[1], env))
    if kind == "inv":
        return inv(evaluate(node[1], env))
    if kind == "sqrt":
        return sqrt(evaluate(node[1], env))
    if kind == "pow":
        base, e = evaluate(node[1], env), node[2]
        if e.denominator == 2:
            base = sqrt(base)
        return power(base, e.numerator)
    raise GiveUp(kind)


def parse(s: str):
    """(tree, variables) of a whitespace-free normalised answer; raises GiveUp outside the subset."""
    if len(s) > 400:
        raise GiveUp("too long")
    p = _Parser(s)
    return p.parse(), p.vars


def _difference(a: str, b: str):
    """Trees whose zero-ness decides a == b: one tree per side, or two pairs for equations."""
    if a.count("=") != b.count("="):
        raise GiveUp("equation against expression")
    if a.count("=") > 1:
        raise GiveUp("several equations")
    if "=" in a:  # L1 = R1 vs L2 = R2: the same when L1-R1 = +-(L2-R2), as the sympy step decides
        (l1, v1), (r1, w1) = (parse(x) for x in a.split("="))
        (l2, v2), (r2, w2) = (parse(x) for x in b.split("="))
        return ("add", l1, ("neg", r1)), ("add", l2, ("neg", r2)), v1 | w1 | v2 | w2, True
    (ta, va), (tb, vb) = parse(a), parse(b)
    return ta, tb, va | vb, False


def equal(a: str, b: str) -> bool | None:
    """True / False when both normalised answers are in the subset, else None. Never raises."""
    try:
        ta, tb, names, is_eq = _difference(a, b)
        seed = zlib.crc32(f"{a}\x00{b}".encode())
        if _same(ta, tb, sorted(names), seed):
            return True
        return is_eq and _same(ta, ("neg", tb), sorted(names), seed)  # sides swapped
    except (GiveUp, RecursionError, ValueError, ZeroDivisionError, OverflowError):
        return None


def _same(ta, tb, names: list[str], seed: int) -> bool:
    rng = random.Random(seed)
    points = POINTS if names else 1
    agreed, tries = 0, 0
    while agreed < points:
        tries += 1
        if tries > points + 5:
            raise GiveUp("poles everywhere")
        env = {n: Fraction(rng.randint(-10**9, 10**9) or 1, rng.randint(1, 10**3)) for n in names}
        try:
            va, vb = evaluate(ta, env), evaluate(tb, env)
        except _Pole:
            continue
        if _is_zero(add(va, neg(vb))):
            agreed += 1
        else:
            return False
    return True


def _is_zero(v) -> bool:
    return not v if isinstance(v, Fraction) else not any(v.values())
