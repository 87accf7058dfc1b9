"""Exact fast paths in pure Python: numbers as fractions.Fraction, and answer structures.

Why: most GSM8K and MATH answers are numbers, fractions, tuples or sets. Parsing them with a few
regular expressions and comparing Fractions exactly takes microseconds, needs no sympy, and
cannot be fooled by float rounding (0.333333 is not 1/3).

    parse_number(r"-2\\frac{1}{2}")   # Fraction(-5, 2)
    parse_structure(r"[1,2)")        # Struct("interval", ("1", "2"), "[)")
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

_INT = r"\d+"
_DEC = r"(?:\d+\.\d*|\.\d+|\d+)"
_NUM_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("int", re.compile(r"([-+]?)(\d+)")),
    ("decimal", re.compile(r"([-+]?)(\d+\.\d*|\.\d+)")),
    ("sci", re.compile(r"([-+]?)(" + _DEC + r")(?:[eE]|\\times10\^|\*10\^|\*\*)\{?([-+]?\d{1,6})\}?")),
    ("repeating", re.compile(r"([-+]?)(\d*)\.(\d*)\\overline\{(\d+)\}")),
    ("frac", re.compile(r"([-+]?)\\frac\{([-+]?" + _DEC + r")\}\{([-+]?" + _DEC + r")\}")),
    ("slash", re.compile(r"([-+]?)(" + _DEC + r")/(" + _DEC + r")")),
    ("mixed", re.compile(r"([-+]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}")),
]
MAX_EXPONENT = 10_000
"""Scientific-notation exponents beyond this are left to the guard (too_large)."""


class Number(NamedTuple):
    value: Fraction
    kind: str
    """Which literal form: int, decimal, sci, repeating, frac, slash, mixed."""
    reduced: bool
    """False for a fraction literal that is not in lowest terms (2/4)."""


def _sign(s: str) -> int:
    return -1 if s == "-" else 1


def parse_number(s: str) -> Number | None:
    """The exact value of a number literal (normalised, whitespace-free), or None."""
    if len(s) > 200:
        return None
    for kind, pat in _NUM_PATTERNS:
        m = pat.fullmatch(s)
        if not m:
            continue
        g = m.groups()
        try:
            if kind in ("int", "decimal"):
                return Number(_sign(g[0]) * Fraction(g[1]), kind, True)
            if kind == "sci":
                if abs(int(g[2])) > MAX_EXPONENT:
                    return None
                return Number(_sign(g[0]) * Fraction(g[1]) * Fraction(10) ** int(g[2]), kind, True)
            if kind == "repeating":
                whole, fixed, rep = g[1] or "0", g[2], g[3]
                base = Fraction(whole + "." + fixed) if fixed else Fraction(whole)
                tail = Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
                return Number(_sign(g[0]) * (base + tail), kind, True)
            if kind in ("frac", "slash"):
                num, den = Fraction(g[1]), Fraction(g[2])
                if den == 0:
                    return None
                reduced = "." in g[1] + g[2] or _reduced(num, den)
                return Number(_sign(g[0]) * num / den, kind, reduced)
            if kind == "mixed":
                num, den = int(g[2]), int(g[3])
                if den == 0 or num >= den:
                    return None
                return Number(_sign(g[0]) * (int(g[1]) + Fraction(num, den)), kind, _reduced(num, den))
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
    return None


def _reduced(num: Fraction, den: Fraction) -> bool:
    from math import gcd
    return den.denominator == 1 and num.denominator == 1 and gcd(int(num), int(den)) == 1 \
        and int(den) > 0


_OPEN = {"(": ")", "[": "]", "{": "}"}


def split_top(s: str, sep: str = ",") -> list[str]:
    """Split s on sep at bracket depth 0 (\\{ \\} count as brackets)."""
    parts, depth, cur, i = [], 0, [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] in "{}":
            depth += 1 if s[i + 1] == "{" else -1
            cur.append(s[i:i + 2])
            i += 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if depth == 0 and s.startswith(sep, i):
            parts.append("".join(cur))
            cur = []
            i += len(sep)
            continue
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _closes_at_end(s: str) -> bool:
    """True when the bracket opened at s[0] closes at the last character."""
    depth = 0
    for i, c in enumerate(s):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i == len(s) - 1
    return False


class Struct(NamedTuple):
    kind: str
    """scalar | tuple | interval | set | list | pm | union | matrix | base | choice."""
    items: tuple
    """Element strings (matrix: tuple of row tuples; base: (digits, base))."""
    brackets: str = ""
    """For tuple/interval: the two delimiters, e.g. "[)"."""


_MATRIX_RE = re.compile(r"\\begin\{([pbvBV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}")
_BASE_RE = re.compile(r"([0-9A-Za-z]+)_\{?(\d{1,2})\}?")
_CHOICE_RE = re.compile(r"\(?([A-E])\)?")


def parse_structure(s: str) -> Struct:
    """The top-level shape of a normalised answer; elements stay strings."""
    m = _MATRIX_RE.fullmatch(s)
    if m:
        rows = [r for r in m.group(2).split("\\\\") if r]
        return Struct("matrix", tuple(tuple(r.split("&")) for r in rows))
    if "\\cup" in s and len(split_top(s, "\\cup")) > 1:
        return Struct("union", tuple(split_top(s, "\\cup")))
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2]
        return Struct("set", tuple(split_top(inner)) if inner else ())
    if s[:1] in "([" and s[-1:] in ")]" and _closes_at_end(s):
        parts = split_top(s[1:-1])
        if len(parts) == 1 and s[0] + s[-1] == "()" and parts[0]:
            return parse_structure(parts[0])  # (\frac{1}{2}): redundant parentheses
        if len(parts) >= 2:
            br = s[0] + s[-1]
            kind = "tuple" if br in ("()", "[]") and (br == "()" or len(parts) != 2) else "interval"
            return Struct(kind, tuple(parts), br)
    parts = split_top(s)
    if len(parts) >= 2:
        return Struct("list", tuple(parts))
    pm = split_top(s, "\\pm")
    if len(pm) == 2:
        a, b = pm
        if not a:
            return Struct("pm", (b, "-" + b))
        return Struct("pm", (f"{a}+{b}", f"{a}-{b}"))
    m = _BASE_RE.fullmatch(s)
    if m and int(m.group(2)) >= 2:
        return Struct("base", (m.group(1).upper(), int(m.group(2))))
    m = _CHOICE_RE.fullmatch(s)
    if m:
        return Struct("choice", (m.group(1),))
    return Struct("scalar", (s,))


_MATH_WORDS = {"sin", "cos", "tan", "log", "ln", "exp", "sqrt", "frac", "pi", "infty", "cot", "sec",
               "csc", "arcsin", "arccos", "arctan", "cdot", "times", "div", "le", "ge"}


def is_text_answer(words: str, raw: str) -> bool:
    """A word answer (Monday, \\text{odd}, no solution): letters and spaces only, and either
    written in \\text{} or containing a word of four or more letters; never a function name."""
    if not re.fullmatch(r"[a-z]+(?: [a-z]+)*", words) or set(words.split()) & _MATH_WORDS:
        return False
    return "\\text" in raw or "\\mathrm" in raw or any(len(w) >= 4 for w in words.split())
