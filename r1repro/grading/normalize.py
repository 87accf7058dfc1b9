"""Normalisation of LaTeX answers as data: ordered (name, pattern, replacement) rule tables.

Why: every public grader grows an if/elif chain of string hacks that nobody can audit. Here each
rewrite is one named row; tests/unit/test_grading_normalize.py has a case per row.

    normalize(r"\\left( \\dfrac12, 1{,}000 \\right)")  # -> "(\\frac{1}{2},1000)"

`normalize` returns a whitespace-free math string plus flags (percent, degree) that the
comparison step uses according to the policy. Besides the rule tables, four small functions do
what a regex row cannot: font wrappers with nested braces (`\\mathbf{\\frac{3}{4}}`), scale words
(`2.5 thousand` -> 2500, exactly), equations joined by words (`x = 2 \\text{ or } x = -2` ->
`2, -2`) and inequalities written the other way round (`-2 \\ge x` -> `x \\le -2`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

# Rules applied before whitespace is removed, in order.
PRE_RULES: list[tuple[str, str, str]] = [
    ("unicode minus", "[\u2212\u2012\u2013\u2014]", "-"),
    ("unicode times", "\u00d7", r"\\times "),
    ("unicode cdot", "\u00b7|\u22c5", r"\\cdot "),
    ("unicode pi", "\u03c0", r"\\pi "),
    ("unicode infinity", "\u221e", r"\\infty "),
    ("unicode sqrt", "\u221a", r"\\sqrt"),
    ("unicode le/ge", "\u2264", r"\\le "),
    ("unicode ge", "\u2265", r"\\ge "),
    ("thousands \\,", r"(?<=\d)\\,(?=\d{3}(?!\d))", ""),
    ("thousands {,}", r"(?<=\d)\{,\}(?=\d{3}(?!\d))", ""),
    ("thousands ,\\!", r"(?<=\d),\\!\s*(?=\d{3}(?!\d))", ""),
    ("matrix environments", r"\\(begin|end)\{(?:[bBvV]?matrix|smallmatrix)\}", r"\\\1{pmatrix}"),
    ("display style", r"\\(?:displaystyle|textstyle|scriptstyle)", ""),
    ("\\left/\\right", r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|bigg|Bigg)(?![a-zA-Z])", ""),
    ("spacing macros", r"(?<!\\)\\(?:quad|qquad|[,;:! ])|~", " "),
    ("\\dfrac/\\tfrac", r"\\[dt]frac(?![a-zA-Z])", r"\\frac"),
    ("\\frac12", r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}"),
    ("\\frac1{x}", r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{"),
    ("\\frac{x}2", r"(\\frac\{[^{}]*\})\s*(\d)", r"\1{\2}"),
    ("\\sqrt3", r"\\sqrt\s*(\d+|[a-zA-Z](?![a-zA-Z]))", r"\\sqrt{\1}"),
    ("\\sqrt\\pi", r"\\sqrt\s*(\\[a-zA-Z]+)", r"\\sqrt{\1}"),
    ("degree ^\\circ", r"\^\s*\{?\s*\\circ\s*\}?|\u00b0|\\degree(?![a-zA-Z])", "\u00b0"),
    ("degree word", r"(?<=\d)\s*(?:degrees?|deg)\b", "\u00b0"),
    ("percent word", r"(?<=\d)\s*(?:percent|pct)\b", "%"),
    ("\\% to %", r"\\%", "%"),
    ("currency", r"\\\$|\$|\u20ac|\u00a3|\\euro|\\pounds", ""),
    ("text wrappers", r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mbox|operatorname|boldsymbol|mathsf)\s*\{([^{}]*)\}", r"\1"),
    ("bare ^{\\prime}", r"\^\{\\prime\}", "'"),
    ("infinity", r"\\infin(?![a-zA-Z])|\binf\b|\binfinity\b", r"\\infty"),
    ("empty set", r"\\varnothing|\\emptyset|\\\{\s*\\\}", r"\\emptyset"),
    ("\\lt", r"\\lt(?![a-zA-Z])", "<"),
    ("\\gt", r"\\gt(?![a-zA-Z])", ">"),
    ("\\le forms", r"\\leq?slant|\\leqq|\\leq(?![a-zA-Z])", r"\\le"),
    ("\\ge forms", r"\\geq?slant|\\geqq|\\geq(?![a-zA-Z])", r"\\ge"),
    ("\\neq", r"\\ne(?![a-zA-Z])", r"\\neq"),
    ("ascii <=", r"<=", r"\\le "),
    ("ascii >=", r">=", r"\\ge "),
    ("\\over", r"\{([^{}]*)\\over([^{}]*)\}", r"\\frac{\1}{\2}"),
    ("trailing period", r"[.\s]+$", ""),
    ("leading 'is'", r"^\s*(?:is|=|:)\s+", ""),
]

UNIT_WORDS = ["dollars?", "cents?", "euros?", "pounds?", "yuan", "rupees?", "units?", "square", "feet", "foot", "feet", "ft", "inches", "inch", "in", "miles?", "mi", "meters?", "metres?", "m", "km", "kilometers?", "cm", "centimeters?", "mm", "millimeters?", "yards?", "yd", "hours?", "hrs?", "hr", "h", "minutes?", "mins?", "min", "seconds?", "secs?", "sec", "s", "days?", "weeks?", "months?", "years?", "kg", "kilograms?", "grams?", "g", "mg", "pounds?", "lbs?", "lb", "ounces?", "oz", "liters?", "litres?", "l", "ml", "milliliters?", "gallons?", "gal", "cups?", "quarts?", "pints?", "mph", "kmh", "km/h", "m/s", "people", "persons?", "students?", "children", "kids", "apples?", "books?", "cookies?", "pages?", "points?", "times", "marbles?", "eggs?", "boxes?", "bags?", "cars?", "pieces?", "sq", "units", "square", "units", "cubic", "sq\\.?", "cm\\^2", "m\\^2", "cm\\^3", "m\\^3", "ft\\^2", "in\\^2", "units\\^2", "degrees?", "radians?", "rad"]
_UNITS = r"(?:(?:" + "|".join(UNIT_WORDS) + r")\b\.?(?:\s*\^\s*\{?\d\}?)?\s*)+"
_LONG_UNITS = r"(?:(?:" + "|".join(w for w in UNIT_WORDS if len(w.rstrip("?")) > 2 or w in ("cm", "mm", "km", "ft")) \
    + r")\b\.?(?:\s*\^\s*\{?\d\}?)?\s*)+"
_SPACE = r"(?:\s|\\[,;:! ]|\\q?quad(?![a-zA-Z])|~)*"
# A unit is stripped only after a number, a group or \pi (`36\pi \text{ cm}^2`), and only when
# spaced or inside \text{}: `2m` stays; after \pi a bare unit needs 2+ letters (`2\pi h` stays).
_UNIT_TEXT_RE = re.compile(
    r"(?:(?<=[\d}%)])|(?<=\\pi))" + _SPACE + r"\\(?:text|mbox|mathrm|textrm)\{\s*" + _UNITS
    + r"\}(?:\s*\^\s*\{?\d\}?)?\s*$", re.IGNORECASE)
_UNIT_RE = re.compile(r"(?:(?<=[\d}%)])\s+" + _UNITS + r"|(?<=\\pi)\s+" + _LONG_UNITS + r")$", re.IGNORECASE)
# Any one or two spaced plain words after a number ("72 clips"); never "or"/"and" (hedges).
_WORDS_RE = re.compile(r"(?<=\d)\s+(?!(?:or|and)\b)[a-zA-Z]{2,}(?:\s+(?!(?:or|and)\b)[a-zA-Z]{2,})?\.?$")

NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "twenty": "20", "hundred": "100", "half": "\\frac{1}{2}", "none": "0",
}

# Rules applied after whitespace removal.
POST_RULES: list[tuple[str, str, str]] = [
    ("\\cdot/\\times in sci", r"\\(?:cdot|times)10\^", r"\\times10^"),
    ("+infinity", r"\+\\infty", r"\\infty"),
    ("a single-letter lhs", r"^[a-zA-Z](?:_\{?\w\}?)?=(?!.*=)", ""),
    ("x\\in", r"^[a-zA-Z]\\in", ""),
    ("brace around all", r"^\{([^{}]*)\}$", r"\1"),
    ("thousands 1,250", r"^(-?\d{1,3}(?:,\d{3})+(?:\.\d+)?)(%|\u00b0)?$", None),
]

_FONTS_RE = re.compile(r"\\(?:mathbf|boldsymbol|bm|pmb|textbf|mathit|textit|emph|mathsf|textsf|mathtt|texttt"
                       r"|underline|mathnormal|textnormal)\s*\{")
_FONT_SWITCH_RE = re.compile(r"\\(?:bf|bfseries|boldmath|it|itshape|rm)(?![a-zA-Z])\s*")
SCALE_WORDS = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12,
               "dozen": 12}
"""Scale words after a number: `2.5 thousand` is 2500 and `3 dozen` is 36 (never a unit to drop)."""
_SCALE_RE = re.compile(r"(?<![\w.])(-?\d[\d,]*(?:\.\d+)?)" + _SPACE + r"(?:\\(?:text|mbox|textrm|mathrm)\{\s*)?("
                       + "|".join(SCALE_WORDS) + r")s?\b\s*\}?", re.IGNORECASE)
_EQ_SEP_RE = re.compile(r"\s*(?:,|;|\\lor(?![a-zA-Z])|\\vee(?![a-zA-Z])|\bor\b|\band\b)\s*", re.IGNORECASE)
_EQ_PART_RE = re.compile(r"^([a-zA-Z])(?:_\{?\w+\}?)?\s*=\s*([^=<>]+)$")
_REL = {"<": ">", ">": "<", "\\le": "\\ge", "\\ge": "\\le"}
_REL_RE = re.compile(r"<|>|\\le(?![a-zA-Z])|\\ge(?![a-zA-Z])")
_VAR = r"[a-zA-Z](?:_\{?\w+\}?)?"


def unwrap_fonts(s: str) -> str:
    """`\\mathbf{\\frac{3}{4}}` -> `\\frac{3}{4}` (nested braces), `{\\bf 12}` -> `{12}`."""
    for _ in range(20):  # bounded: each pass removes one wrapper
        m = _FONTS_RE.search(s)
        if not m:
            break
        depth, j = 1, m.end()
        while j < len(s) and depth:
            depth += {"{": 1, "}": -1}.get(s[j], 0) if s[j - 1] != "\\" else 0
            j += 1
        if depth:
            break  # unbalanced: leave it to the parser to reject
        s = s[:m.start()] + s[m.end():j - 1] + s[j:]
    return _FONT_SWITCH_RE.sub("", s) if "\\" in s else s


def _scaled(m: re.Match) -> str:
    from decimal import Decimal, InvalidOperation

    try:
        v = Decimal(m.group(1).replace(",", "")) * SCALE_WORDS[m.group(2).lower()]
    except InvalidOperation:
        return m.group(0)
    text = format(v, "f")
    return (text.rstrip("0").rstrip(".") if "." in text else text) + " "


def scale_words(s: str) -> str:
    """`1.5 million` -> `1500000`, `3 dozen` -> `36` (exact decimal arithmetic)."""
    return _SCALE_RE.sub(_scaled, s).strip() if re.search(r"\d", s) else s


def _split_words(s: str) -> list[str]:
    """Split at top-level separators (`,` `;` or and \\lor), never inside brackets or braces."""
    parts, depth, start = [], 0, 0
    for m in re.finditer(r"[([{]|[)\]}]|" + _EQ_SEP_RE.pattern, s, re.IGNORECASE):
        tok = m.group(0)
        if tok in "([{":
            depth += 1
        elif tok in ")]}":
            depth -= 1
        elif depth == 0:
            parts.append(s[start:m.start()])
            start = m.end()
    parts.append(s[start:])
    return [p.strip() for p in parts]


def equation_list(s: str) -> str:
    """`x = 2 \\text{ or } x = -2`, `x=2 and x=-2`, `x_1 = 2, x_2 = -2`, `x = 2 or -2` -> `2, -2`:
    a solution set written as equations in one variable. Anything else is returned unchanged."""
    if s.count("=") < 1 or not _EQ_SEP_RE.search(s):
        return s
    parts = _split_words(s)
    first = _EQ_PART_RE.match(parts[0]) if len(parts) > 1 else None
    if not first:
        return s
    values = [first.group(2).strip()]
    for p in parts[1:]:
        m = _EQ_PART_RE.match(p)
        if m and m.group(1) == first.group(1):
            values.append(m.group(2).strip())
        elif not m and "=" not in p and p and not re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", p)):
            values.append(p)  # "x = 2 or -2"
        else:
            return s
    return ", ".join(values)


def flip_inequality(s: str) -> str:
    """Inequalities with the variable first: `-2 \\ge x` -> `x \\le -2`, and a chain ascending:
    `3 > x > 1` -> `1 < x < 3`. Anything else is returned unchanged."""
    ops = _REL_RE.findall(s)
    if not ops or len(ops) > 2 or "=" in s:
        return s
    sides = [x.strip() for x in _REL_RE.split(s)]
    if len(ops) == 1:
        a, b = sides
        if re.fullmatch(_VAR, b) and not re.fullmatch(_VAR, a):
            return f"{b} {_REL[ops[0]]} {a}"
        return s
    a, x, b = sides
    if re.fullmatch(_VAR, x) and ops[0] in (">", "\\ge") and ops[1] in (">", "\\ge"):
        return f"{b} {_REL[ops[1]]} {x} {_REL[ops[0]]} {a}"
    return s


_PRE = [(n, re.compile(p), r) for n, p, r in PRE_RULES]
_POST = [(n, re.compile(p), r) for n, p, r in POST_RULES]


class Normalized(NamedTuple):
    text: str
    """Whitespace-free math string without the percent/degree marks."""
    percent: bool
    """The answer carried a `%`."""
    degree: bool
    """The answer carried a degree sign."""
    words: str
    """A lower-case, single-spaced plain-text form (for text answers)."""


def apply_rules(s: str, rules=_PRE) -> str:
    for _name, pat, rep in rules:
        if rep is None:  # thousands separators: only when the whole answer is one number
            m = pat.match(s)
            if m:
                s = m.group(1).replace(",", "") + (m.group(2) or "")
            continue
        s = pat.sub(rep, s)
    return s


def _unwrap_text(s: str) -> str:
    for _ in range(3):  # nested \text{\textbf{..}}
        s2 = _PRE[[n for n, _, _ in _PRE].index("text wrappers")][1].sub(r"\1", s)
        if s2 == s:
            break
        s = s2
    return s


_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@lru_cache(maxsize=1 << 16)
def normalize(ans: str, *, strip_units: bool = True) -> Normalized:
    """Normalise an extracted answer (see module docstring). Never raises on str input."""
    s = ans.strip()
    if _PLAIN_NUMBER.fullmatch(s):  # the common GSM8K case: nothing to rewrite
        return Normalized(s, False, False, s.replace(".", " ").replace("-", " ").strip())
    s = unwrap_fonts(s.strip("$").strip())
    s = scale_words(s)
    if strip_units:
        s = _UNIT_TEXT_RE.sub("", s)
    s = _unwrap_text(s)
    s = equation_list(apply_rules(s, _PRE))
    words = re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()
    if strip_units:
        s = _WORDS_RE.sub("", _UNIT_RE.sub("", s)).strip()
    low = s.lower().strip()
    if low in NUMBER_WORDS:
        s = NUMBER_WORDS[low]
    s = re.sub(r"\s+", "", flip_inequality(s))
    s = apply_rules(s, _POST)
    percent = s.endswith("%")
    s = s.rstrip("%")
    degree = s.endswith("\u00b0")
    s = s.replace("\u00b0", "")
    if s.endswith("%"):
        percent, s = True, s.rstrip("%")
    return Normalized(s, percent, degree, words)
