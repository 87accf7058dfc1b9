"""Size guard: refuse, as too_large, answers whose symbolic evaluation could explode.

Why: sympy evaluates Integer**Integer and factorial(Integer) eagerly, so `9^{9^{9^9}}` or
`(10^9)!` hangs or exhausts memory inside the parser, before any timeout-friendly step. The
sandbox would kill it after the budget, but refusing up front is instant and says why.

    too_large(r"9^{9^{9^{9}}}", max_digits=10_000, max_nodes=200)  # -> "power tower ..."
"""

from __future__ import annotations

import math
import re

_TOKEN_RE = re.compile(r"\\[a-zA-Z]+|\d+(?:\.\d+)?|[a-zA-Z]|\S")
_NUM_RE = re.compile(r"\d+(?:\.\d+)?")
_BIG_OPS_RE = re.compile(r"\\(?:sum|prod|int|lim|iint|oint|bigcup|bigcap)(?![a-zA-Z])")
_FACT_LITERAL_RE = re.compile(r"(\d+)\s*!")
_FACT_GROUP_RE = re.compile(r"[)}]\s*!")
_FUNC_RE = re.compile(r"\\(?:binom|dbinom|tbinom|choose)\{(\d+)\}")


def _group(s: str, i: int) -> tuple[str, int]:
    """The operand starting at s[i]: a brace/paren group or one number/letter token."""
    if i < len(s) and s[i] in "{(":
        close = "}" if s[i] == "{" else ")"
        depth = 0
        for j in range(i, len(s)):
            depth += s[j] == s[i]
            depth -= s[j] == close
            if depth == 0:
                return s[i + 1:j], j + 1
        return s[i + 1:], len(s)
    m = re.match(r"\d+(?:\.\d+)?|\\?[a-zA-Z]+", s[i:])
    return (m.group(0), i + m.end()) if m else ("", i)


def log10_size(s: str) -> float:
    """A rough upper bound of log10(|value|) for a numeric power expression; inf when huge."""
    s = s.strip().replace("**", "^")
    if not s:
        return 0.0
    if _NUM_RE.fullmatch(s):
        return math.log10(max(float(s), 1.0)) if len(s) < 300 else float(len(s))
    base, i = _group(s, 0)
    if i < len(s) and s[i] == "^":
        exp, j = _group(s, i + 1)
        if j < len(s) and s[j] == "^":  # a^b^c is right-associative
            exp = s[i + 1:]
        e = log10_size(exp)
        if e > 15:
            return math.inf
        b = log10_size(base) if _NUM_RE.fullmatch(base.strip() or "x") else 1.0
        return b * 10 ** e if b > 0 else 0.0
    nums = [log10_size(n) for n in _NUM_RE.findall(s)]
    return sum(nums) + (math.inf if "^" in s and any("^" in p for p in [s[i:]]) else 0.0)


def too_large(s: str, *, max_digits: int, max_nodes: int, max_chars: int = 400) -> str | None:
    """Why `s` (a normalised answer) is too large to evaluate, or None when it is safe."""
    if len(s) > max_chars:
        return f"{len(s)} characters"
    if len(_TOKEN_RE.findall(s)) > max_nodes:
        return f"more than {max_nodes} tokens"
    for m in _FACT_LITERAL_RE.finditer(s):
        if len(m.group(1)) > 4 or int(m.group(1)) > 1000:
            return f"factorial of {m.group(1)[:20]}"
    if _FACT_GROUP_RE.search(s) and re.search(r"\d", s) and not re.search(r"[a-zA-Z]", s):
        return "factorial of a computed number"
    for m in _FUNC_RE.finditer(s):
        if len(m.group(1)) > 5:
            return "binomial of a huge number"
    if _BIG_OPS_RE.search(s):
        bounds = [int(n) for n in re.findall(r"\^\{?(\d{1,12})", s)]
        if any(b > 10_000 for b in bounds) or re.search(r"\^\{?[^}]*\^", s):
            return "huge sum/product/integral"
    for m in re.finditer(r"\^|\*\*", s):
        start = max(0, m.start() - 40)
        digits = _power_digits(s[start:m.start()], s[m.end():])
        if digits > max_digits:
            return "power tower" if digits == math.inf else f"power with ~{digits:.0f} digits"
    return None


def _power_digits(before: str, after: str) -> float:
    """Estimated digits of `base^exp` where base ends `before` and exp starts `after`."""
    after = after.replace("**", "^")
    exp, j = _group(after, 0)
    if j < len(after) and after[j] == "^":
        exp = after  # a tower: the whole rest is the exponent
    e = log10_size(exp) if re.fullmatch(r"[\d.^{}()\s]+", exp or "x") else (
        math.inf if "^" in exp and re.search(r"\d{2,}", exp) else 0.0)
    if e > 15:
        return math.inf
    bm = re.search(r"(\d+(?:\.\d+)?)\s*\}?\)?$", before)
    base = math.log10(max(float(bm.group(1)), 2.0)) if bm else 1.0
    return base * 10 ** e
