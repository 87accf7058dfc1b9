"""Model text to safe HTML: escape every character, wrap highlighted spans in <mark>.

What: `mark_html(text, spans)` escapes `text` segment by segment and wraps each span in
`<mark class=...>`; `split_think(text)` cuts a completion into its think part and the rest;
`text_spans(text)` asks r1repro.text for foreign-script and reflection spans.
Why: completions are untrusted. Spans are computed on the raw text in Python and the text is
escaped piece by piece, so no model character ever reaches the page unescaped.
How: spans are half-open (start, end, css_class, title) character ranges; overlaps are resolved
by keeping the earlier-starting (then longer) span.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

Span = tuple[int, int, str, str]  # start, end, css class, title (tooltip)

# Control characters (model output has them: \x0b, \x1b, ...) become visible symbols, one character
# for one so span offsets still hold: C0 -> U+2400 "control pictures", DEL -> U+2421, C1 -> U+FFFD.
# They are invalid in HTML and, in report.md, an ESC could drive the terminal that prints it.
CONTROLS = str.maketrans({**{c: 0x2400 + c for c in range(32) if c not in (9, 10)}, 0x7F: 0x2421,
                          **{c: 0xFFFD for c in range(0x80, 0xA0)}})


def visible(text: str) -> str:
    """`text` with control characters (except tab and newline) replaced one-for-one by symbols."""
    return text.translate(CONTROLS)

try:  # r1repro.text is pure stdlib; its absence only costs the highlights
    from r1repro import text as _text
except ImportError:  # pragma: no cover - depends on the tree state
    _text = None

HIGHLIGHTS_AVAILABLE = _text is not None


def text_spans(text: str, target: str = "latin") -> list[Span]:
    """Foreign-script spans (class "foreign") and reflection phrases (class "reflect")."""
    if _text is None:
        return []
    try:
        _text.script_spans("", target=target)
    except ValueError:  # an unknown target script in the config: fall back rather than fail the report
        target = "latin"
    spans: list[Span] = [(s, e, "foreign", f"{script} script") for s, e, script in
                         _text.script_spans(text, target=target)]
    spans += [(s, e, "reflect", "reflection phrase") for s, e in _text.reflection_spans(text)]
    return spans


def _non_overlapping(spans: Sequence[Span], lo: int, hi: int) -> list[Span]:
    """Spans clipped to [lo, hi), sorted, overlaps dropped (earlier start, then longer, wins)."""
    out: list[Span] = []
    for s, e, cls, title in sorted(spans, key=lambda x: (x[0], -x[1])):
        s, e = max(s, lo), min(e, hi)
        if s >= e or (out and s < out[-1][1]):
            continue
        out.append((s, e, cls, title))
    return out


def mark_html(text: str, spans: Sequence[Span] = (), lo: int = 0, hi: int | None = None) -> str:
    """Escaped HTML of text[lo:hi] with each span wrapped in <mark class=cls title=title>."""
    hi = len(text) if hi is None else hi
    text = visible(text)
    parts, pos = [], lo
    for s, e, cls, title in _non_overlapping(spans, lo, hi):
        parts.append(html.escape(text[pos:s]))
        parts.append(f'<mark class="{html.escape(cls)}" title="{html.escape(title)}">'
                     f"{html.escape(text[s:e])}</mark>")
        pos = e
    parts.append(html.escape(text[pos:hi]))
    return "".join(parts)


def split_think(text: str, opened: bool = False) -> tuple[tuple[int, int] | None, tuple[int, int]]:
    """((think_lo, think_hi) or None, (rest_lo, rest_hi)) as character ranges of `text`.

    R1 prompts end with "<think>" (opened=True), so the completion starts inside the think part
    and closes it with "</think>"; one that never closes it is all think (it never finished
    thinking). A completion may also open "<think>" itself. Without either, there is no think part.
    """
    close = text.find("</think>")
    open_ = text.find("<think>")
    start = open_ + len("<think>") if open_ != -1 and (close == -1 or open_ < close) else 0
    if close != -1:
        return (start, close), (close + len("</think>"), len(text))
    if open_ != -1 or opened:
        return (start, len(text)), (len(text), len(text))
    return None, (0, len(text))
