"""Pieces of the report with hand-computed expectations: escaping, think split, tables, selection."""

from __future__ import annotations

import pytest

from r1repro.report.evaltable import columns, eval_table, fmt
from r1repro.report.highlight import mark_html, split_think, visible
from r1repro.report.summary import flatten
from r1repro.report.traces import _choose, _spread


@pytest.mark.parametrize("text, spans, lo, hi, expected", [
    # no spans: plain escaping, quotes included
    ('<b onclick="x">', [], 0, None, "&lt;b onclick=&quot;x&quot;&gt;"),
    # one span, text around it escaped
    ("a<b> Wait c", [(5, 9, "reflect", "r")], 0, None, 'a&lt;b&gt; <mark class="reflect" title="r">Wait</mark> c'),
    # overlapping spans: the earlier start wins, the other is dropped
    ("abcdef", [(2, 6, "x", ""), (0, 4, "y", "")], 0, None, '<mark class="y" title="">abcd</mark>ef'),
    # a span crossing the window is clipped to it
    ("abcdef", [(1, 5, "x", "")], 3, 6, '<mark class="x" title="">de</mark>f'),
    # the marked text itself is escaped
    ("x<script>", [(1, 9, "foreign", "t")], 0, None, 'x<mark class="foreign" title="t">&lt;script&gt;</mark>'),
])
def test_mark_html(text, spans, lo, hi, expected):
    assert mark_html(text, spans, lo, hi) == expected


@pytest.mark.parametrize("text, opened, expected", [
    ("think</think><answer>1</answer>", True, ((0, 5), (13, 31))),   # prompt opened <think>
    ("<think>ab</think>c", False, ((7, 9), (17, 18))),                 # completion opens it
    ("still thinking", True, ((0, 14), (14, 14))),                      # never closed: all think
    ("<think>still", False, ((7, 12), (12, 12))),
    ("just an answer", False, (None, (0, 14))),                         # no think part at all
])
def test_split_think(text, opened, expected):
    assert split_think(text, opened) == expected


def test_fmt():
    assert fmt(0.5) == "0.500" and fmt(47.55, 1) in ("47.5", "47.6") and fmt(None) == "–" and fmt(True) == "–"


def test_columns_order_and_k_sorting():
    s = {"metrics": {"pass@10": 0.9, "maj@4": 0.5, "pass@1": 0.3, "pass@2": 0.4, "format/rate": 1.0,
                     "accuracy": 0.3}}
    assert [c[0] for c in columns([s])] == ["accuracy", "pass@1", "pass@2", "pass@10", "maj@4", "format/rate"]


def test_deltas_and_tones():
    base = {"n": 4, "k": 2, "metrics": {"pass@1": 0.2, "length/truncated": 0.3, "length/mean": 100.0}}
    rl = {"n": 4, "k": 2, "metrics": {"pass@1": 0.35, "length/truncated": 0.1, "length/mean": 80.0}}
    t = eval_table("t", [("base", base, None), ("rl", rl, base)])
    assert t.headers == ["n", "k", "pass@1 (95% CI)", "length (tokens)", "truncated"]
    cells = {h: c for h, c in zip(t.headers, t.rows[1][1])}
    assert (cells["pass@1 (95% CI)"].text, cells["pass@1 (95% CI)"].delta) == ("0.350", "+0.150")
    assert cells["pass@1 (95% CI)"].tone == "good"
    assert (cells["truncated"].delta, cells["truncated"].tone) == ("-0.200", "good")   # lower is better
    assert (cells["length (tokens)"].delta, cells["length (tokens)"].tone) == ("-20.0", "")  # neutral
    assert all(c.delta == "" for c in t.rows[0][1])


def test_spread_keeps_ends_evenly():
    # round(i * 9 / 5) for i = 0..5 -> positions 0, 2, 4, 5, 7, 9
    assert _spread(list(range(1, 11)), 6) == [1, 3, 5, 6, 8, 10]
    assert _spread([4, 8], 6) == [4, 8]


def test_choose_puts_shared_ids_first_then_alternates():
    rl_ids = ["p1", "p2", "e2"]
    eval_ids = {"b": ["b1", "b2"], "a": ["a1", "e2"]}
    assert _choose(rl_ids, eval_ids, 5) == [("e2", "a"), ("p1", "train"), ("a1", "a"), ("p2", "train"),
                                            ("b1", "b")]


def test_flatten():
    assert flatten({"rl": {"loss": "pg", "optim": {"lr": 1e-5}}, "seed": 1, "eval": {"checkpoints": ["rl"]}}) \
        == {"rl.loss": "pg", "rl.optim.lr": 1e-5, "seed": 1, "eval.checkpoints": ["rl"]}


def test_control_characters_become_visible_one_for_one():
    # ESC, vertical tab, CR, DEL, a C1 control; tab and newline stay
    assert visible("a\x1b[31m\x0b\r\x7f\x85\t\n") == "a␛[31m␋␍␡\ufffd\t\n"
    assert mark_html("x\x1by", [(2, 3, "r", "")]) == 'x␛<mark class="r" title="">y</mark>'


def test_markdown_trace_is_fenced_and_clean():
    from r1repro.report.markdown import fence

    text = "```\n<script>\x1b[2J"
    assert fence(text) == "````text\n```\n<script>␛[2J\n````\n"


def test_choose_shows_a_problem_shared_by_tasks_once_under_the_first():
    # the quickstart evaluates the same problems plain and with each mode forced
    eval_ids = {"arith_forced": ["q1", "q2"], "arith": ["q1", "q2"], "other": ["o1"]}
    assert _choose([], eval_ids, 5) == [("q1", "arith"), ("o1", "other"), ("q2", "arith")]


def test_paired_interval_follows_the_change_only_within_one_run():
    base = {"n": 4, "k": 2, "checkpoint": "base", "metrics": {"pass@1": 0.2}}
    change = {"from": "base", "pass@1": {"delta": 0.15, "ci95": [0.05, 0.25], "n": 4}}
    rl = {"n": 4, "k": 2, "checkpoint": "rl", "metrics": {"pass@1": 0.35}, "change": change}
    cell = eval_table("t", [("base", base, None), ("rl", rl, base)], paired=True).rows[1][1][2]
    assert cell.delta == "+0.150 [+0.050, +0.250]"
    # across runs (compare.py) the same summaries get no interval: the change was against another base
    assert eval_table("t", [("base", base, None), ("rl", rl, base)]).rows[1][1][2].delta == "+0.150"
    other = {**base, "checkpoint": "sft"}
    assert eval_table("t", [("sft", other, None), ("rl", rl, other)], paired=True).rows[1][1][2].delta == "+0.150"
