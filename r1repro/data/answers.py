"""Gold-answer extraction from reference data: `\\boxed{}` with brace matching, GSM8K `####`, numbers.

Why: the RL reward is only as good as the gold, and each source stores it differently: MATH and
Minerva only in the solution's last `\\boxed{...}`, GSM8K after `#### ` with thousands separators,
AIME as zero-padded strings, AMC/SVAMP/MAWPS as floats (`27.0`), ASDiv with units (`"9 (apples)"`).
These functions turn each into one canonical string. They read *reference* data and raise
ValueError on a miss (the loader turns that into a DataError with file and line); grading model
output is `r1repro.grading`'s job.

    last_boxed("so $\\boxed{\\frac{1}{2}}$.")  -> "\\frac{1}{2}"
    canonical_number("025") -> "25";  canonical_number(27.0) -> "27";  canonical_number("1,600") -> "1600"
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BOX_RE = re.compile(r"\\(boxed|fbox)(?![A-Za-z])")
_NUMBER_RE = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")
_CALC_RE = re.compile(r"<<[^<>]*>>")
_GSM8K_FINAL_RE = re.compile(r"(?:^|\n)####\s*(.+?)\s*$")


def brace_pairs(text: str) -> dict[int, int]:
    """open index -> index just after its matching '}', for all groups, in one linear pass;
    `\\{` is skipped. Shared with the grader's extraction of model answers."""
    pairs, stack, i = {}, [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            stack.append(i)
        elif c == "}" and stack:
            pairs[stack.pop()] = i + 1
        i += 1
    return pairs


def box_spans(text: str) -> list[tuple[int, str | None]]:
    """(start, content) of every \\boxed/\\fbox in text, in order; None for an unbalanced one.

    A box inside another box is part of its content. `\\boxed 17` (no braces) is one token, up to
    whitespace or `$`. The one box parser of the package: gold answers (last_boxed) and model
    answers (r1repro.grading.extract) both read boxes through it."""
    out: list[tuple[int, str | None]] = []
    pairs = brace_pairs(text) if "\\boxed" in text or "\\fbox" in text else {}
    covered = -1  # end of the last box: a box nested inside it is part of its content
    for m in _BOX_RE.finditer(text):
        if m.start() < covered:
            continue
        i = m.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            end = pairs.get(i, -1)
            out.append((m.start(), None if end < 0 else text[i + 1:end - 1]))
            covered = end
        elif i > m.end():  # `\boxed 17`: one token, up to whitespace or `$`
            tok = re.match(r"[^\s$]+", text[i:])
            out.append((m.start(), tok.group(0) if tok else ""))
        else:
            out.append((m.start(), ""))
    return out


def last_boxed(text: str) -> str | None:
    """Content of the last balanced `\\boxed{...}` / `\\fbox{...}` (or `\\boxed 5`), stripped; else None."""
    for _, content in reversed(box_spans(text)):
        if content is not None:
            return content.strip()
    return None


def canonical_number(value: object) -> str:
    """A number as a canonical string: no sign `+`, padding, separators, trailing zeros or `.0`.

    Raises ValueError for anything that is not a plain number (ints, floats, numeric strings).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        d = Decimal(repr(value))
    elif isinstance(value, str) and _NUMBER_RE.match(value.strip()) and re.search(r"\d", value):
        d = Decimal(value.strip().replace(",", ""))
    else:
        raise ValueError(f"not a number: {value!r}")
    try:
        if d == d.to_integral_value():
            return str(int(d))
        return format(d.normalize(), "f")
    except InvalidOperation:
        raise ValueError(f"not a finite number: {value!r}") from None


def canonical_answer(value: object) -> str:
    """A number canonicalised; any other non-empty text stripped and kept (e.g. `\\frac{1}{2}`, `Yes`)."""
    try:
        return canonical_number(value)
    except ValueError:
        pass
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("empty answer")
    return text


def gsm8k_split(answer: str) -> tuple[str, str]:
    """GSM8K `answer` -> (solution without `<<..>>` annotations or the `####` line, canonical gold)."""
    m = _GSM8K_FINAL_RE.search(answer)
    if not m:
        raise ValueError("no final '#### <answer>' line")
    gold = canonical_number(m.group(1))
    solution = _CALC_RE.sub("", answer[: m.start()]).strip()
    return solution, gold


def strip_units(answer: str) -> str:
    """ASDiv style `"9 (apples)"` -> `"9"`; anything else (`"-(1/3)"`, `"Yes"`) is returned stripped."""
    m = re.match(r"^([+-]?[\d.,]+)\s*\([^()]*\)$", answer.strip())
    return m.group(1) if m else answer.strip()
