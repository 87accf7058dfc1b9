"""Language mixing and reflection phrases in reasoning traces; pure stdlib.

What:
    language_stats(text, target="latin") -> LanguageStats(counts, target_share, mixed, switches)
    script_spans(text, target) -> [(start, end, script)] for words not in the target script
    count_reflections(text, phrases=DEFAULT_REFLECTION_PHRASES) -> int
    reflection_spans(text, phrases=...) -> [(start, end)]
    count_worked_steps(text) -> int: arithmetic steps written out ("7 * 2 = 14", "48/2 = 24")

Why: R1-Zero's traces mix languages, grow "wait, let me re-check" moments and learn to work a
problem out instead of guessing its answer; the eval summary,
the language-consistency reward and the report all count them the same way, through these functions.

How words are found: a word is a maximal run of letters (Unicode category L*, plus combining marks
M* attached to the letter before them) of one script; an apostrophe or hyphen between two letters of
the same script stays inside the word ("don't", "re-examine"). Han and Japanese kana characters are
one word each (those scripts do not separate words with spaces). A letter's script comes from the
first word of its Unicode name (LATIN, CYRILLIC, CJK -> han, HIRAGANA/KATAKANA -> japanese, ...);
letters of other scripts count as "other"; math-styled letters (MATHEMATICAL ITALIC X, DOUBLE-STRUCK
R, ...) and modifier letters are ignored. Ignored too: digits, punctuation, symbols, LaTeX commands
(`\\frac`, `\\boxed`) and, with skip_math=True (default), everything inside $...$, $$...$$, \\(...\\)
and \\[...\\] -- `$` delimits math only Pandoc-style (no space after the opening `$`, none before the
closing one, no digit right after it), so "$5 and $3" stays text.
Known limit: Japanese prose mixes kanji (han) with kana (japanese) and so reads as mixed.

Run the tests with `pytest tests/unit/test_text.py`.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass, field

SCRIPTS = (
    "latin", "han", "japanese", "hangul", "cyrillic", "greek", "arabic", "hebrew",
    "devanagari", "thai", "other",
)  # fmt: skip
"""Script names language_stats can return, and that `target` accepts."""

_NAME_PREFIX = {
    "LATIN": "latin", "FULLWIDTH LATIN": "latin", "CJK": "han", "KANGXI": "han",
    "IDEOGRAPHIC": "han", "HIRAGANA": "japanese", "KATAKANA": "japanese",
    "HALFWIDTH KATAKANA": "japanese", "KATAKANA-HIRAGANA": "japanese", "HANGUL": "hangul",
    "HALFWIDTH HANGUL": "hangul", "CYRILLIC": "cyrillic", "GREEK": "greek", "ARABIC": "arabic",
    "HEBREW": "hebrew", "DEVANAGARI": "devanagari", "THAI": "thai",
}  # fmt: skip
_IGNORED_PREFIX = (
    "MATHEMATICAL",
    "DOUBLE-STRUCK",
    "SCRIPT",
    "BLACK-LETTER",
    "MODIFIER",
    "PLANCK",
    "MICRO",
    "ANGSTROM",
    "KELVIN",
    "OHM",
    "ALEF",
    "BET SYMBOL",
    "FEMININE",
    "MASCULINE",
    "INFORMATION",
)  # fmt: skip  (letter-like symbols: units, ordinals, set-theory alephs)
_ONE_CHAR_WORDS = frozenset({"han", "japanese"})
_JOINERS = frozenset("'’-")
_MARK = "mark"  # a combining mark: joins the current word, never starts one

_MATH_RE = re.compile(
    r"\$\$.+?\$\$"  # display $$...$$
    r"|\\\(.+?\\\)|\\\[.+?\\\]"  # \( ... \)  and  \[ ... \]
    r"|\$(?![\s$])(?:[^$\\\n]|\\.)+?(?<!\s)\$(?!\d)",  # Pandoc-style inline $...$
    re.DOTALL,
)
_COMMAND_RE = re.compile(r"\\[A-Za-z]+")


@functools.lru_cache(maxsize=65536)
def char_script(ch: str) -> str | None:
    """Script of one character: a name from SCRIPTS, "mark" for a combining mark, None if not a letter."""
    cat = unicodedata.category(ch)
    if cat.startswith("M"):
        return _MARK
    if not cat.startswith("L"):
        return None
    name = unicodedata.name(ch, "")
    if name.startswith(_IGNORED_PREFIX):
        return None
    for prefix in (" ".join(name.split(" ", 2)[:2]), name.split(" ", 1)[0]):
        if prefix in _NAME_PREFIX:
            return _NAME_PREFIX[prefix]
    return "other"


def _skipped(text: str, skip_math: bool) -> list[bool]:
    skip = [False] * len(text)
    spans = list(_COMMAND_RE.finditer(text))
    if skip_math:
        spans += list(_MATH_RE.finditer(text))
    for m in spans:
        skip[m.start() : m.end()] = [True] * (m.end() - m.start())
    return skip


def words(text: str, *, skip_math: bool = True) -> list[tuple[int, int, str]]:
    """Words of `text` as (start, end, script), in order (see the module docstring for the rules)."""
    skip = _skipped(text, skip_math)
    out: list[tuple[int, int, str]] = []
    start, script = -1, ""  # the open word, start -1 when none

    def close(end: int) -> None:
        nonlocal start
        if start >= 0:
            out.append((start, end, script))
        start = -1

    for i, ch in enumerate(text):
        s = None if skip[i] else char_script(ch)
        if s == _MARK:
            continue  # extends the open word (if any); a stray mark is ignored
        if s is None:
            nxt = text[i + 1] if i + 1 < len(text) else ""
            joins = ch in _JOINERS and start >= 0 and nxt and not skip[i + 1] and char_script(nxt) == script
            if not (joins and script not in _ONE_CHAR_WORDS):
                close(i)
            continue
        if s in _ONE_CHAR_WORDS or s != script or start < 0:
            close(i)
            start, script = i, s
            if s in _ONE_CHAR_WORDS:
                close(i + 1)
    close(len(text))
    return out


@dataclass(frozen=True)
class LanguageStats:
    counts: dict[str, int] = field(default_factory=dict)
    """Words per script, only scripts that occur."""
    target_share: float = 1.0
    """Share of words in the target script; 1.0 when the text has no words at all."""
    mixed: bool = False
    """More than one script occurs."""
    switches: int = 0
    """Number of consecutive word pairs whose scripts differ."""


def _check_target(target: str) -> None:
    if target not in SCRIPTS:
        raise ValueError(f"unknown script {target!r}; known: {', '.join(SCRIPTS)}")


def think_part(response: str) -> str:
    """The reasoning that the language and reflection metrics and the language reward measure: the
    text before </think> (all of it when there is none), without the <think> tag. A tag is markup,
    not a word: kept, "think" counted as a Latin word in every trace."""
    return response.split("</think>")[0].replace("<think>", "")


def language_stats(text: str, target: str = "latin", *, skip_math: bool = True) -> LanguageStats:
    """Count words per script in `text` and how often consecutive words switch script."""
    _check_target(target)
    ws = words(text, skip_math=skip_math)
    counts: dict[str, int] = {}
    for _, _, s in ws:
        counts[s] = counts.get(s, 0) + 1
    switches = sum(1 for a, b in itertools.pairwise(ws) if a[2] != b[2])
    share = counts.get(target, 0) / len(ws) if ws else 1.0
    return LanguageStats(counts=counts, target_share=share, mixed=len(counts) > 1, switches=switches)


def script_spans(text: str, target: str = "latin", *, skip_math: bool = True) -> list[tuple[int, int, str]]:
    """(start, end, script) of words not in the target script, adjacent ones of one script merged
    when only spaces separate them (one highlight per foreign phrase; Han characters merge too)."""
    _check_target(target)
    spans: list[tuple[int, int, str]] = []
    for s, e, sc in words(text, skip_math=skip_math):
        if sc == target:
            continue
        if spans and spans[-1][2] == sc and not text[spans[-1][1] : s].strip():
            spans[-1] = (spans[-1][0], e, sc)
        else:
            spans.append((s, e, sc))
    return spans


DEFAULT_REFLECTION_PHRASES: tuple[str, ...] = (
    "wait", "hmm", "aha", "let me check", "let me verify", "let me double-check", "let me re-check",
    "let me recheck", "let me reconsider", "let me re-examine", "let me think again", "let's check",
    "let's verify", "let's re-evaluate", "let's double-check", "re-examine", "re-evaluate",
    "double-check", "double check", "verify", "reconsider", "recheck", "re-check",
    "on second thought", "i made a mistake", "that's not right", "but actually",
)  # fmt: skip
"""Case-insensitive phrases that mark self-verification; the longest match wins at a position."""


@functools.lru_cache(maxsize=32)
def _phrase_regex(phrases: tuple[str, ...]) -> re.Pattern[str]:
    def one(p: str) -> str:
        parts = [re.escape(w).replace("'", "['’]") for w in p.split()]
        return r"\s+".join(parts)

    ordered = sorted(set(phrases), key=len, reverse=True)  # longest first: "let me verify" > "verify"
    return re.compile(r"(?<!\w)(?:" + "|".join(map(one, ordered)) + r")(?!\w)", re.IGNORECASE)


def reflection_spans(
    text: str, phrases: tuple[str, ...] = DEFAULT_REFLECTION_PHRASES
) -> list[tuple[int, int]]:
    """(start, end) of non-overlapping reflection phrases, whole words only, case-insensitive."""
    if not phrases:
        return []
    return [m.span() for m in _phrase_regex(tuple(phrases)).finditer(text)]


def count_reflections(text: str, phrases: tuple[str, ...] = DEFAULT_REFLECTION_PHRASES) -> int:
    """Number of reflection phrases in `text` (see reflection_spans)."""
    return len(reflection_spans(text, phrases))


WORKED_STEP = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?\s*[-+*/×÷x]\s*-?\d+(?:\.\d+)?\s*=\s*-?\d")
"""One written-out arithmetic step: number, operator, number, `=`, number ("7 * 2 = 14", "48/2 = 24")."""


def count_worked_steps(text: str) -> int:
    """Number of arithmetic steps written out in `text` (WORKED_STEP): a trace that shows its work
    has at least one; a direct answer ("</think> <answer> 9 </answer>") has none."""
    return len(WORKED_STEP.findall(text))
