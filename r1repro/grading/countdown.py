"""Countdown verifier (TinyZero-style): reach `target` using each given number exactly once.

Why: the expression comes from the model, so it is parsed by a small recursive-descent parser over
fractions.Fraction (+ - * / and parentheses only), never eval'd, with a bounded length.

    check_countdown("<answer>(6 - 2) * 5</answer>", [2, 5, 6], 20).reason   # "exact"
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

from r1repro.grading.extract import extract_answer
from r1repro.grading.policy import GraderPolicy
from r1repro.grading.verdict import Verdict

MAX_EXPR_CHARS = 200
"""Longer expressions are too_large."""
_TOKEN_RE = re.compile(r"\s*(?:(\d+)|(.))")


class _ParseError(ValueError):
    pass


def _tokens(s: str) -> list[str]:
    out = []
    for m in _TOKEN_RE.finditer(s):
        tok = m.group(1) or m.group(2)
        if tok is None or tok.isspace():
            continue
        if m.group(1) is None and tok not in "+-*/()":
            raise _ParseError(f"bad character {tok!r}")
        out.append(tok)
    return out


class _Parser:
    """expr := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*;
    factor := NUMBER | '(' expr ')' (no unary minus: every number must be a given one)."""

    def __init__(self, toks: list[str]):
        self.toks, self.i, self.numbers = toks, 0, []

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise _ParseError("unexpected end")
        self.i += 1
        return tok

    def expr(self, depth: int = 0) -> Fraction:
        if depth > 50:
            raise _ParseError("nested too deep")
        v = self.term(depth)
        while self.peek() in ("+", "-"):
            v = v + self.term(depth) if self.take() == "+" else v - self.term(depth)
        return v

    def term(self, depth: int) -> Fraction:
        v = self.factor(depth)
        while self.peek() in ("*", "/"):
            op, rhs = self.take(), self.factor(depth)
            if op == "/" and rhs == 0:
                raise _ParseError("division by zero")
            v = v * rhs if op == "*" else v / rhs
        return v

    def factor(self, depth: int) -> Fraction:
        tok = self.take()
        if tok == "(":
            v = self.expr(depth + 1)
            if self.take() != ")":
                raise _ParseError("missing )")
            return v
        if tok.isdigit():
            self.numbers.append(int(tok))
            return Fraction(int(tok))
        raise _ParseError(f"unexpected {tok!r}")


def evaluate(expr: str) -> tuple[Fraction, list[int]]:
    """Value and the numbers used, of an arithmetic expression; raises ValueError when invalid."""
    expr = expr.replace("\\times", "*").replace("\\cdot", "*").replace("\\div", "/")
    expr = expr.replace("\u00d7", "*").replace("\u00f7", "/").replace("\\left", "").replace("\\right", "")
    p = _Parser(_tokens(expr))
    v = p.expr()
    if p.peek() is not None:
        raise _ParseError(f"trailing {p.peek()!r}")
    return v, p.numbers


def check_countdown(response: str, numbers: Sequence[int], target: int, *,
                    policy: GraderPolicy | None = None) -> Verdict:
    """exact when the final expression uses each number exactly once and equals target."""
    t0 = time.perf_counter()
    try:
        v = _check(response, numbers, target, policy or GraderPolicy())
    except Exception as e:  # noqa: BLE001
        v = Verdict(False, "unparseable", None, method=f"internal error: {type(e).__name__}")
    return dataclasses.replace(v, elapsed_ms=(time.perf_counter() - t0) * 1000)


def _check(response, numbers, target, policy) -> Verdict:
    gold = f"{target} from {sorted(int(n) for n in numbers)}"
    ex = extract_answer(response, policy)
    v = _check_expression(ex, numbers, target, gold)
    return dataclasses.replace(v, source=ex.source)


def _check_expression(ex, numbers, target, gold: str) -> Verdict:
    if ex.reason != "ok":
        return Verdict(False, ex.reason, ex.answer, None, gold, "countdown")
    expr = ex.answer.strip().strip("$").strip()
    expr = re.sub(r"=\s*-?\d+\s*$", "", expr).strip()  # "(6-2)*5 = 20" -> "(6-2)*5"
    if len(expr) > MAX_EXPR_CHARS:
        return Verdict(False, "too_large", expr[:200], None, gold, "countdown")
    try:
        value, used = evaluate(expr)
    except (ValueError, ZeroDivisionError, RecursionError):
        return Verdict(False, "unparseable", ex.answer, expr, gold, "countdown")
    norm = f"{expr} = {value}"
    if Counter(used) != Counter(int(n) for n in numbers) or value != target:
        return Verdict(False, "mismatch", ex.answer, norm, gold, "countdown")
    return Verdict(True, "exact", ex.answer, norm, gold, "countdown")
