"""The trace browser: chosen problems across RL steps and checkpoints, with filters.

What: `browser_html(problems, target)` renders traces.TraceProblem's as problem cards holding one
card per sample (verdict badge, extracted vs gold, grader reason, length, reward and advantage for
rollouts), the think part in a collapsible <details>, foreign-script spans and reflection phrases
in <mark>; above them the filter bar that assets.JS drives (verdict, reason, task, source, text).
Why: model output is untrusted; all of it goes through highlight.mark_html, which escapes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from r1repro.report.highlight import HIGHLIGHTS_AVAILABLE, mark_html, split_think, text_spans
from r1repro.report.html import esc
from r1repro.report.traces import TraceProblem


def _verdict(s: dict) -> str:
    return "correct" if s.get("correct") is True else "incorrect"


def _num(v: object, fmt: str) -> str | None:
    return format(v, fmt) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _where(s: dict, task: str = "") -> str:
    if "checkpoint" in s:
        other = s.get("eval_task") and s["eval_task"] != task
        return f"{s['checkpoint']} checkpoint" + (f", {s['eval_task']}" if other else "")
    return f"held-out, RL step {s.get('step')}" if "task" in s else f"step {s.get('step')}"


def _source(s: dict) -> str:
    return "eval" if "checkpoint" in s or "task" in s else "rollout"


def _header(s: dict, task: str = "") -> str:
    where = _where(s, task)
    bits = [f'<span class="badge {_verdict(s)}">{_verdict(s)}</span>', f"<b>{esc(where)}</b>",
            "greedy" if s.get("greedy") else f"sample {esc(s.get('sample_idx', '–'))}",
            (f"answer <code>{esc(s.get('extracted') if s.get('extracted') is not None else '∅')}</code>"
             f" vs gold <code>{esc(s.get('gold', '–'))}</code>"),
            f"reason: {esc(s.get('reason', '–'))}"]
    if _num(s.get("length"), "d") is not None:
        bits.append(f"{esc(s['length'])} tokens" + (" (truncated)" if s.get("truncated") else ""))
    if _num(s.get("reward"), ".3g") is not None:
        bits.append(f"reward {_num(s['reward'], '.3g')}")
    if _num(s.get("advantage"), "+.3f") is not None:
        bits.append(f"advantage {_num(s['advantage'], '+.3f')}")
    return "<header>" + "".join(f"<span>{b}</span>" for b in bits) + "</header>"


def sample_html(s: dict, task: str, target: str = "latin") -> str:
    text = str(s.get("completion", ""))
    spans = text_spans(text, target)
    think, (lo, hi) = split_think(text, opened=str(s.get("prompt", "")).rstrip().endswith("<think>"))
    body = ""
    if think is not None:
        body += (f'<details class="think" open><summary>think ({think[1] - think[0]} chars)</summary>'
                 f"<pre>{mark_html(text, spans, *think)}</pre></details>")
    if hi > lo:
        body += f'<pre class="answer">{mark_html(text, spans, lo, hi)}</pre>'
    source = _source(s)
    attrs = (f'data-verdict="{_verdict(s)}" data-reason="{esc(s.get("reason", ""))}" '
             f'data-task="{esc((s.get("eval_task") or task) if source == "eval" else "train")}" data-source="{source}"')
    return f'<article class="trace" {attrs}>{_header(s, task)}{body}</article>'


def problem_html(p: TraceProblem, target: str = "latin") -> str:
    parts = [(f'<h3>{esc(p.problem_id)} <span class="sub">({esc(p.task)}) · gold '
              f"<code>{esc(p.gold)}</code></span></h3>"),
             f'<details class="prompt"><summary>prompt</summary><pre>{esc(p.prompt)}</pre></details>']
    if p.heldout:
        parts.append("<h4>Before and after RL (held-out, greedy)</h4><div class=\"traces pair\">"
                     + "".join(sample_html(s, p.task, target) for s in p.heldout) + "</div>")
    if p.rl:
        parts.append("<h4>Across RL steps</h4><div class=\"traces\">"
                     + "".join(sample_html(s, p.task, target) for s in p.rl) + "</div>")
    if p.evals:
        parts.append("<h4>Across checkpoints</h4><div class=\"traces\">"
                     + "".join(sample_html(s, p.task, target) for s in p.evals) + "</div>")
    return f'<div class="problem">{"".join(parts)}</div>'


def _select(ident: str, label: str, options: Sequence[tuple[str, str]]) -> str:
    opts = "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in options)
    return f'<label>{esc(label)} <select id="{ident}">{opts}</select></label>'


def filters_html(problems: Sequence[TraceProblem]) -> str:
    samples = [s for p in problems for s in p.samples]
    reasons = sorted({str(s.get("reason", "")) for s in samples})
    tasks = sorted({(s.get("eval_task") or p.task) if _source(s) == "eval" else "train"
                    for p in problems for s in p.samples})
    return ('<div class="filters">'
            + _select("f-verdict", "verdict", [("", "all"), ("correct", "correct"), ("incorrect", "incorrect")])
            + _select("f-reason", "reason", [("", "all")] + [(r, r) for r in reasons])
            + _select("f-task", "task", [("", "all")] + [(t, t) for t in tasks])
            + _select("f-source", "source", [("", "all"), ("rollout", "RL rollouts"), ("eval", "eval")])
            + '<input id="f-text" type="search" placeholder="search text…" aria-label="search text">'
            + '<button id="f-open" type="button">expand think</button>'
            + '<button id="f-close" type="button">collapse think</button>'
            + '<span id="f-count" class="sub"></span></div>')


def browser_html(problems: Sequence[TraceProblem], target: str = "latin") -> str:
    if not problems:
        return "<p>No traces: the run has neither RL rollouts nor eval samples.</p>"
    legend = ('<p class="legend sub">Highlights: <mark class="foreign">foreign script</mark> '
              '<mark class="reflect">reflection phrase</mark></p>' if HIGHLIGHTS_AVAILABLE else
              '<p class="sub">Highlighting unavailable: r1repro.text is not installed.</p>')
    return legend + filters_html(problems) + "".join(problem_html(p, target) for p in problems)
