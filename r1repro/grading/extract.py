"""Answer extraction: find the one final answer in a model response, or say why there is none.

Why: extraction decides what the reward looks at. It must never reward math that appears only in
the reasoning (inside <think>, or an earlier box when the final box is empty), and it must see a
hedge (two different boxed values) as a hedge.

Order (first hit wins; see docs/grading.md):
  1. with <think>: only the text after the last </think> counts (no closing tag -> no_answer);
  2. the last <answer>...</answer> (a box inside it preferred);
  3. the last \\boxed{...} / \\fbox{...} (brace matched, also `\\boxed 17`); when a box is
     introduced by "the final answer is", earlier boxes are working, not a hedge;
  4. the last `#### x` line;
  5. the last "the answer is ..." / "Final Answer: ..." clause (several $..$ joined by and/or/commas
     are one list);
  6. opt-in (policy.last_number_fallback, lm-eval's "flexible extract"): the last number of the
     last sentence.
Markdown emphasis around an answer (`**12**`, `*12*`, `__12__`) is dropped.

    >>> extract_answer("<think>2+2</think> <answer>\\\\boxed{4}</answer>").answer
    '4'
"""

from __future__ import annotations

import re
from typing import NamedTuple

from r1repro.data.answers import box_spans
from r1repro.grading.policy import GraderPolicy

MAX_RESPONSE_CHARS = 200_000
"""Longer responses are scanned only in their last MAX_RESPONSE_CHARS characters (bounded work)."""


class Extraction(NamedTuple):
    answer: str | None
    """The answer text (None when reason is not "ok")."""
    reason: str
    """"ok", "no_answer", "empty_answer", "multiple_answers" or "unparseable"."""
    source: str
    """Where it came from: "answer_tag", "boxed", "hash", "phrase", "last_number" or ""."""
    boxes: tuple[str, ...] = ()
    """All distinct box contents of the final segment, in order (for set-valued golds)."""


_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_HASH_RE = re.compile(r"####\s*([^\n]*)")
_PHRASE_RE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)[*_]*\s*(?:is|:|=)\s*:?\s*", re.IGNORECASE)
# "the final answer is" right before a box: the boxes before the first such phrase are working
_FINAL_BOX_RE = re.compile(
    r"final\s+answer[*_]*\s*(?:is|:|=)?\s*:?\s*(?:\$+|\\\(|\\\[|\*\*)?\s*(?=\\(?:boxed|fbox)(?![a-zA-Z]))",
    re.IGNORECASE)
# Markdown emphasis: **x**, *x*, __x__, _x_ as a span (never inside a word or a number: 9**9 is a
# power, x_1 a subscript)
_EMPHASIS_RES = [re.compile(r"(?<![\w*])\*\*\*?(?=\S)(.+?)(?<=\S)\*?\*\*(?![\w*])", re.DOTALL),
                 re.compile(r"(?<![\w_])__(?=\S)(.+?)(?<=\S)__(?![\w_])", re.DOTALL),
                 re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*(?![\w*])"),
                 re.compile(r"(?<![\w_\\])_(?=[^\s_{])([^_]+?)(?<=[^\s_])_(?![\w_])")]
# several inline math segments joined by words: "$x=2$ and $x=-2$", "$2$, $3$, and $5$"
_MATH_SEG = r"\$+([^$]+)\$+"
_MATH_LIST_RE = re.compile(_MATH_SEG + r"(?:\s*(?:,\s*(?:and|or)?|and|or)\s*" + _MATH_SEG + r")+", re.IGNORECASE)
_NUMBER_RE = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def find_boxes(text: str) -> list[str | None]:
    """Contents of every \\boxed/\\fbox in text, in order; None for an unbalanced one."""
    return [c for _, c in box_spans(text)]


def strip_emphasis(ans: str) -> str:
    """Drop Markdown emphasis: `**12**` -> `12`, `*x*`, `__x__`, `_x_`, and a stray marker left at either
    end by "**Answer:** 12"."""
    for pat in _EMPHASIS_RES:
        if "*" in ans or "_" in ans:
            ans = pat.sub(r"\1", ans)
    ans = re.sub(r"^\s*(?:\*+|_{2,})\s*|\s*(?:\*+|_{2,})\s*$", "", ans)
    return ans.strip()


def _strip_math(ans: str) -> str:
    ans = strip_emphasis(ans.strip())
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if ans.startswith(left) and ans.endswith(right) and len(ans) >= len(left) + len(right):
            ans = ans[len(left):len(ans) - len(right)].strip()
    return ans.strip()


def _from_boxes(text: str, source: str) -> Extraction | None:
    spans = box_spans(text)
    if not spans:
        return None
    final = _FINAL_BOX_RE.search(text) if len(spans) > 1 else None
    if final:  # boxes in the working before "the final answer is \boxed{..}" are not a hedge
        spans = [sp for sp in spans if sp[0] >= final.end()] or spans
    boxes = [c for _, c in spans]
    last = boxes[-1]
    if last is None:
        return Extraction(None, "unparseable", source)
    while True:  # \boxed{\boxed{12}} -> 12
        inner = find_boxes(last.strip())
        if len(inner) == 1 and inner[0] is not None and re.fullmatch(
                r"\\(?:boxed|fbox)\s*\{.*\}", last.strip(), re.DOTALL):
            last = inner[0]
        else:
            break
    if not last.strip():
        return Extraction(None, "empty_answer", source)
    distinct: list[str] = []
    for b in boxes:
        if b is not None and b.strip() and b.strip() not in distinct:
            distinct.append(b.strip())
    return Extraction(last.strip(), "ok", source, tuple(distinct))


def _phrase_answer(text: str) -> str | None:
    matches = list(_PHRASE_RE.finditer(text))
    if not matches:
        return None
    rest = strip_emphasis(text[matches[-1].end():].split("\n", 1)[0].strip())
    several = _MATH_LIST_RE.match(rest)
    if several:  # "$x=2$ and $x=-2$": one list (a scalar gold then sees a hedge)
        return ", ".join(m.strip() for m in re.findall(_MATH_SEG, several.group(0)))
    math = re.match(r"\$+([^$]*)\$+", rest) or re.match(r"\\\((.*?)\\\)", rest)
    if math:
        return math.group(1).strip()
    rest = re.split(r"(?<!\d)\.(?!\d)|\.\s|\.$", rest, maxsplit=1)[0]
    return strip_emphasis(rest)


def _last_number(text: str) -> str | None:
    sentences = [s for s in re.split(r"(?<!\d)[.!?\n](?!\d)", text) if _NUMBER_RE.search(s)]
    if not sentences:
        return None
    return _NUMBER_RE.findall(sentences[-1])[-1].replace("$", "")


def final_segment(response: str, policy: GraderPolicy) -> str | None:
    """The part of the response that may hold the answer (None: an unclosed <think>)."""
    if "<think>" in response or "</think>" in response:
        idx = response.rfind("</think>")
        if idx < 0:
            return None if policy.require_think_close else response
        return response[idx + len("</think>"):]
    return response


def extract_answer(response: str, policy: GraderPolicy | None = None) -> Extraction:
    """The final answer of `response` (see module docstring for the order). Never raises."""
    policy = policy or GraderPolicy()
    if not isinstance(response, str):
        return Extraction(None, "no_answer", "")
    text = final_segment(response[-MAX_RESPONSE_CHARS:], policy)
    if text is None:
        return Extraction(None, "no_answer", "")
    tags = _ANSWER_RE.findall(text)
    if not tags and "<answer>" in text:  # an unclosed final tag: take what follows it
        tags = [text[text.rfind("<answer>") + len("<answer>"):]]
    if tags:
        distinct = {t.strip() for t in tags if t.strip()}
        if len(distinct) > 1 and policy.reject_multiple_boxed:  # two different final answers
            return Extraction(None, "multiple_answers", "answer_tag")
        inner = tags[-1]
        boxed = _from_boxes(inner, "answer_tag")
        if boxed is not None:
            return boxed
        phrase = _phrase_answer(inner) if _PHRASE_RE.search(inner) else None
        ans = _strip_math(phrase if phrase else inner)
        return Extraction(ans, "ok", "answer_tag") if ans else Extraction(None, "empty_answer", "answer_tag")
    boxed = _from_boxes(text, "boxed")
    if boxed is not None:
        return boxed
    hashes = _HASH_RE.findall(text)
    if hashes:
        ans = _strip_math(hashes[-1])
        return Extraction(ans, "ok", "hash") if ans else Extraction(None, "empty_answer", "hash")
    phrase = _phrase_answer(text)
    if phrase is not None:
        ans = _strip_math(phrase)
        return Extraction(ans, "ok", "phrase") if ans else Extraction(None, "empty_answer", "phrase")
    if policy.last_number_fallback:
        num = _last_number(text)
        if num is not None:
            return Extraction(num, "ok", "last_number")
    return Extraction(None, "no_answer", "")
