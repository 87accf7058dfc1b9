"""Problem schema and JSONL I/O; gold extraction from reference data (hand-checked cases)."""

import json

import pytest

from r1repro.data.answers import canonical_answer, canonical_number, gsm8k_split, last_boxed, strip_units
from r1repro.data.schema import DataError, Problem, read_jsonl, write_jsonl

P = Problem("gsm8k/test/00001", "gsm8k", "test", "2+2?", "4", "2 + 2 = 4.", {"level": 1})


def test_round_trip(tmp_path):
    path = tmp_path / "d" / "x.jsonl"
    write_jsonl(path, [P, Problem("a/1", "a", "train", "q", "1")])
    assert read_jsonl(path) == [P, Problem("a/1", "a", "train", "q", "1", None, {})]
    assert Problem.from_dict(P.to_dict()) == P
    assert [f.name for f in path.parent.iterdir()] == ["x.jsonl"]  # no temp file left behind


@pytest.mark.parametrize("line, field, words", [
    ('{"id": "a"', None, "bad JSON"),                                                       # truncated
    ('{"id": "a", "source": "s", "split": "t", "question": "q"}', "gold", "missing"),        # no gold
    ('{"id": "a", "source": "s", "split": "t", "question": "q", "gold": 4}', "gold", "int"),  # not str
    ('{"id": "a", "source": "s", "split": "t", "question": "q", "gold": "4", "meta": []}', "meta", "object"),
])
def test_read_errors_name_file_line_field(tmp_path, line, field, words):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(P.to_dict()) + "\n" + line + "\n")
    with pytest.raises(DataError) as e:
        read_jsonl(path)
    assert (e.value.file, e.value.line, e.value.field) == (str(path), 2, field)
    assert f"{path}:2:" in str(e.value) and words in str(e.value)


@pytest.mark.parametrize("text, gold", [
    ("so $\\boxed{5}$.", "5"),
    ("$\\boxed{1}$ then $\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"),        # last box, nested braces
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("\\fbox{7}", "7"),
    ("answer is $\\boxed 2$.", "2"),                                        # MATH train/algebra/24014
    ("= \\boxed {17}.$$", "17"),                                            # MATH train/algebra/1397
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),                                  # escaped braces are not groups
    ("\\boxed{}", ""),                                                      # empty: caller must reject
    ("no box here", None),
    ("\\boxed{unbalanced", None),
    ("\\boxedfoo{3}", None),                                                # another macro
])
def test_last_boxed(text, gold):
    assert last_boxed(text) == gold


@pytest.mark.parametrize("value, canon", [
    ("025", "25"), ("073", "73"), (27.0, "27"), (145.0, "145"), (-1.0, "-1"), (11.5, "11.5"),
    (1.84, "1.84"), ("1,600", "1600"), ("-3", "-3"), (70, "70"), ("3.50", "3.5"), ("+7", "7"), ("0.0", "0"),
])
def test_canonical_number(value, canon):
    assert canonical_number(value) == canon


@pytest.mark.parametrize("value", ["\\frac{1}{2}", "1,60", "", "Yes", True, None, "1.2.3"])
def test_canonical_number_rejects(value):
    with pytest.raises(ValueError):
        canonical_number(value)


def test_canonical_answer_keeps_text():
    assert canonical_answer(" \\frac{1}{2} ") == "\\frac{1}{2}"
    assert canonical_answer("3:30 p.m.") == "3:30 p.m."
    with pytest.raises(ValueError):
        canonical_answer("  ")


def test_gsm8k_split():
    answer = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips.\n#### 1,072"
    assert gsm8k_split(answer) == ("Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips.", "1072")
    with pytest.raises(ValueError, match="####"):
        gsm8k_split("no final line")


@pytest.mark.parametrize("raw, out", [("9 (apples)", "9"), ("14  (seats)", "14"), ("2.5 (kg)", "2.5"),
                                      ("-(1/3)", "-(1/3)"), ("Yes", "Yes"), ("3:4", "3:4")])
def test_strip_units(raw, out):
    assert strip_units(raw) == out
