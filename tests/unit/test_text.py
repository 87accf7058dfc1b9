"""Scripts, language mixing and reflection phrases on hand-written traces with exact counts."""

import subprocess
import sys
from pathlib import Path

import pytest

from r1repro.text import (
    DEFAULT_REFLECTION_PHRASES,
    LanguageStats,
    char_script,
    count_reflections,
    count_worked_steps,
    language_stats,
    reflection_spans,
    script_spans,
    words,
)

ROOT = Path(__file__).resolve().parents[2]


def test_english_trace():
    text = "First, 3 apples cost $6, so one apple costs $2. The answer is \\boxed{2}."
    # words: First apples cost so one apple costs The answer is -> 10 Latin; digits, $ and \boxed dropped
    st = language_stats(text)
    assert st == LanguageStats(counts={"latin": 10}, target_share=1.0, mixed=False, switches=0)


def test_chinese_trace_one_word_per_han_character():
    text = "我们先算出总数：3 + 4 = 7。"
    # 我 们 先 算 出 总 数 -> 7 Han characters, each one word; digits and punctuation dropped
    st = language_stats(text, target="han")
    assert st.counts == {"han": 7} and st.target_share == 1.0 and not st.mixed and st.switches == 0


def test_mixed_trace_counts_share_and_switches():
    text = "Let x be 总数. Then x = 5, 所以 answer 是 5. Так что"
    # words: Let x be | 总 数 | Then x | 所 以 | answer | 是 | Так что
    # latin: Let x be Then x answer = 6 ; han: 总 数 所 以 是 = 5 ; cyrillic: Так что = 2 ; total 13
    # script changes: be->总, 数->Then, x->所, 以->answer, answer->是, 是->Так = 6
    st = language_stats(text)
    assert st.counts == {"latin": 6, "han": 5, "cyrillic": 2}
    assert st.target_share == pytest.approx(6 / 13)
    assert st.mixed and st.switches == 6


def test_empty_or_wordless_text_is_fully_on_target():
    for text in ["", "1 + 2 = 3", "$x^2$", "\\frac{1}{2}"]:
        assert language_stats(text, target="han") == LanguageStats({}, 1.0, False, 0)


def test_math_and_latex_commands_are_skipped():
    # $a + b$ is math (skipped); "\text" and "\sqrt" commands dropped; {apples} inside braces counts
    text = "We add $a + b$ to get \\text{apples} and \\sqrt{4}"
    assert [text[s:e] for s, e, _ in words(text)] == ["We", "add", "to", "get", "apples", "and"]
    # with skip_math=False the math letters count as words too
    assert language_stats(text, skip_math=False).counts == {"latin": 8}


def test_dollar_amounts_are_not_math():
    # "$5 and $3": no closing "$" right after a non-space, so "and" is a word (Pandoc rule)
    text = "It costs $5 and $3 more"
    assert [text[s:e] for s, e, _ in words(text)] == ["It", "costs", "and", "more"]


def test_apostrophes_hyphens_accents_stay_in_a_word():
    text = "don't re-examine the naïve café - ok"
    assert [text[s:e] for s, e, _ in words(text)] == ["don't", "re-examine", "the", "naïve", "café", "ok"]


@pytest.mark.parametrize(
    "ch, script",
    [
        ("a", "latin"), ("Ａ", "latin"), ("中", "han"), ("ひ", "japanese"), ("カ", "japanese"),
        ("한", "hangul"), ("Ж", "cyrillic"), ("λ", "greek"), ("ب", "arabic"), ("ש", "hebrew"),
        ("क", "devanagari"), ("ก", "thai"), ("ሀ", "other"), ("7", None), ("+", None), ("𝑥", None),
        ("ℝ", None), ("µ", None),
    ],
)  # fmt: skip
def test_char_script(ch, script):
    assert char_script(ch) == script


def test_other_scripts_are_words():
    assert language_stats("안녕하세요 세계", target="hangul").counts == {"hangul": 2}  # spaces separate
    assert language_stats("こんにちは", target="japanese").counts == {"japanese": 5}  # one per kana
    assert language_stats("नमस्ते दुनिया", target="devanagari").counts == {"devanagari": 2}  # marks join


def test_unknown_target_raises():
    with pytest.raises(ValueError, match="latin"):
        language_stats("x", target="english")


def test_script_spans_merge_adjacent_foreign_words():
    text = "The answer 是 三 个 apples, Так что ok"
    # "是 三 个" (positions 11..16) is one Han span; "Так что" (25..32) one Cyrillic span
    assert script_spans(text, "latin") == [(11, 16, "han"), (25, 32, "cyrillic")]
    assert text[11:16] == "是 三 个" and text[25:32] == "Так что"
    assert script_spans("Only English here.", "latin") == []


def test_count_reflections_case_word_boundaries_longest_match():
    text = "Wait, let me verify. Hmm... WAIT. Awaiting nothing; Let's re-evaluate, verify again."
    # Wait | let me verify (one match, not also "verify") | Hmm | WAIT | Let's re-evaluate | verify
    # "Awaiting" is not "wait" (word boundary)
    assert count_reflections(text) == 6
    spans = reflection_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Wait",
        "let me verify",
        "Hmm",
        "WAIT",
        "Let's re-evaluate",
        "verify",
    ]


def test_reflections_curly_apostrophe_and_whitespace_and_custom_phrases():
    assert count_reflections("Let’s   double-check.\nOn second\nthought, no.") == 2
    assert count_reflections("wait wait", phrases=("aha",)) == 0
    assert count_reflections("Aha! aha.", phrases=("aha",)) == 2
    assert reflection_spans("x", phrases=()) == []
    assert "wait" in DEFAULT_REFLECTION_PHRASES and "on second thought" in DEFAULT_REFLECTION_PHRASES


def test_importing_pure_modules_does_not_import_transformers():
    # one fresh interpreter: text and metrics import neither torch nor transformers; algos adds torch only
    code = (
        "import sys, r1repro.metrics, r1repro.text\n"
        "assert 'torch' not in sys.modules\n"
        "import r1repro.algos\n"
        "bad = [m for m in ('transformers', 'vllm') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("text,n", [
    ("(a) 7 * 2 = 14. (b) 14 - 5 = 9.", 2),        # the quickstart's worked solution
    (" </think> <answer> 9 </answer>", 0),          # a direct answer shows no work
    ("Natalia sold 48/2 = 24 clips", 1),            # GSM8K style, no spaces
    ("1.5 + 2 = 3.5", 1),                           # decimals
    ("3 × 4 = 12 and 12 ÷ 3 = 4", 2),               # unicode operators
    ("x = 2", 0), ("3x = 6", 0),                    # algebra is not an arithmetic step
    ("step 1. 2 = 2", 0),                           # no operator
    ("(c) 3 + 3 =", 0),                             # cut off before the result
])
def test_count_worked_steps(text, n):
    assert count_worked_steps(text) == n
