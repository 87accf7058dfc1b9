"""Loaders against the real files in ../shared/data (skipped with a reason when absent), plus
bad-input behaviour on small planted files."""

import json

import pytest

from r1repro.data.loaders import LOADERS, load_source, loader_options
from r1repro.data.mathsets import GOLD_FIXES
from r1repro.data.paths import DataDirNotFound, resolve_data_dir
from r1repro.data.schema import DataError

try:
    DATA = resolve_data_dir(None)
except DataDirNotFound as e:
    DATA, WHY = None, str(e)
real = pytest.mark.skipif(DATA is None, reason="no ../shared/data (set R1REPRO_DATA to run the real-file tests)")


def load(loader, split="test", **options):
    return load_source({"loader": loader, "split": split, "options": options}, DATA)


@pytest.fixture(scope="module")
def math_all():
    return {s: load("math", s).problems for s in ("train", "test")}


@real
def test_gsm8k_counts_and_first_rows():
    train, test = load("gsm8k", "train"), load("gsm8k", "test")
    assert (len(train.problems), len(test.problems)) == (7473, 1319)
    first = test.problems[0]
    assert (first.id, first.gold) == ("gsm8k/test/00001", "18")
    assert first.question.startswith("Janet’s ducks lay 16 eggs per day.")
    assert train.problems[0].solution == ("Natalia sold 48/2 = 24 clips in May.\n"
                                          "Natalia sold 48+24 = 72 clips altogether in April and May.")
    assert not any("<<" in p.solution or "####" in p.solution for p in train.problems + test.problems)
    golds = [p.gold for p in train.problems + test.problems]
    assert not any("," in g for g in golds) and sum(g.startswith("-") for g in golds) == 5  # README: 3 + 2
    assert train.inputs == {"gsm8k/train.jsonl": "17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465"}
    assert train.license.startswith('License: MIT License, "Copyright (c) 2021 OpenAI"')


@real
def test_math_counts_levels_subjects(math_all):
    train, test = math_all["train"], math_all["test"]
    assert (len(train), len(test)) == (7500, 5000)
    assert sum(p.meta["subject"] == "Algebra" for p in test) == 1187                # README table
    assert sum(p.meta["level"] is None for p in train + test) == 2                  # "Level ?"
    p = next(p for p in test if p.id == "math/test/algebra/1")
    assert (p.gold, p.meta["level"], p.meta["path"]) == ("2", 3, "test/algebra/1.json")
    lvl5 = load("math", "test", levels=[5], subjects=["number_theory", "Counting & Probability"]).problems
    assert len(lvl5) == sum(p.meta["level"] == 5 and p.meta["subject"] in ("Number Theory", "Counting & Probability")
                            for p in test) > 0


@real
def test_math_golds_all_nonempty_and_match_math500(math_all):
    everything = math_all["train"] + math_all["test"]
    assert len(everything) == 12500 and all(p.gold for p in everything)
    assert sorted(p.meta["path"] for p in everything if "gold_fix" in p.meta) == sorted(GOLD_FIXES)
    by_id = {p.id: p for p in everything}
    m500 = load("math500").problems
    assert len(m500) == 500 and all(by_id[p.id].gold == p.gold for p in m500)
    raw = lambda p: p.meta.get("answer_raw", p.gold)
    assert all(raw(by_id[p.id]) == raw(p) for p in m500)                            # README: equal as text
    assert by_id["math/test/counting_and_probability/737"].gold == "58500"           # boxed{58,500}
    assert by_id["math/train/algebra/24014"].gold == "2"                            # `\boxed 2`


@real
def test_math12k_split_and_stable_ids(math_all):
    train, test = load("math12k", "train"), load("math12k", "test")
    assert (len(train.problems), len(test.problems)) == (12000, 500)
    assert not {p.id for p in train.problems} & {p.id for p in test.problems}
    assert {p.id for p in train.problems} | {p.id for p in test.problems} == {p.id for s in math_all.values() for p in s}
    assert test.problems[0].id == "math/test/precalculus/807"
    assert test.problems[0].gold == "\\left( 3, \\frac{\\pi}{2} \\right)"
    again = load("math", "test")
    assert again.problems == math_all["test"] and again.inputs == load("math", "test").inputs  # stable ids+content


@real
@pytest.mark.parametrize("loader, n, first_id, first_gold", [
    ("aime24", 30, "aime24/test/60", "204"),
    ("aime25", 30, "aime25/test/0", "70"),
    ("amc23", 40, "amc23/test/0", "27"),
    ("minerva", 272, "minerva/test/0", "1.6"),
    ("svamp", 1000, "svamp/test/0", "145"),
    ("asdiv", 2215, "asdiv/test/0", "9"),
    ("mawps", 2065, "mawps/test/0", "43"),
])
def test_small_sets(loader, n, first_id, first_gold):
    res = load(loader)
    assert len(res.problems) == n and (res.problems[0].id, res.problems[0].gold) == (first_id, first_gold)
    assert len({p.id for p in res.problems}) == n and not res.bad_rows and res.license


@real
def test_answer_types_canonicalised():
    aime24 = {p.id: p.gold for p in load("aime24").problems}
    assert aime24["aime24/test/67"] == "25" and aime24["aime24/test/75"] == "73"     # "025", "073"
    aime25 = load("aime25").problems
    assert [p.gold for p in aime25][:5] == ["70", "588", "16", "117", "279"]
    repaired = [p.id for p in aime25 if p.meta.get("repaired")]
    assert repaired == ["aime25/test/18", "aime25/test/19", "aime25/test/27"]
    assert not any("\x0c" in p.question or "\t" in p.question for p in aime25)
    assert [p.gold for p in load("amc23").problems][15] == "-1"                        # -1.0
    asdiv = load("asdiv").problems
    assert sum(p.meta["answer_type"] == "text" for p in asdiv) == 131
    assert load("svamp").problems[0].question.startswith("There are 87 oranges") and \
        load("svamp").problems[0].question.endswith("groups How big is each group of bananas?")
    assert len(load("mawps", subset="multiarith").problems) == 600


def write(tmp_path, rows):
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text("".join(r + "\n" for r in rows))
    return tmp_path


GOOD = json.dumps({"question": "1+1?", "answer": "1+1=<<1+1=2>>2\n#### 2"})


@pytest.mark.parametrize("row, field, words", [
    ('{"question": "x"', None, "bad JSON"),
    (json.dumps({"question": "x"}), "answer", "missing"),
    (json.dumps({"question": "x", "answer": "no final line"}), "answer", "no usable gold"),
    (json.dumps({"question": "", "answer": "#### 3"}), "question", "empty"),
])
def test_bad_rows_error_or_skip(tmp_path, row, field, words):
    d = write(tmp_path, [GOOD, row, GOOD])
    with pytest.raises(DataError) as e:
        LOADERS["gsm8k"]("test", d)
    assert (e.value.file, e.value.line, e.value.field) == ("gsm8k/test.jsonl", 2, field)
    assert str(e.value).startswith("gsm8k/test.jsonl:2:") and words in str(e.value)
    res = LOADERS["gsm8k"]("test", d, skip_bad=True)
    assert [p.id for p in res.problems] == ["gsm8k/test/00001", "gsm8k/test/00003"]
    assert [(b["file"], b["line"], b["field"]) for b in res.bad_rows] == [("gsm8k/test.jsonl", 2, field)]


def test_missing_data_dir_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.delenv("R1REPRO_DATA", raising=False)
    with pytest.raises(DataDirNotFound) as e:
        load_source({"loader": "gsm8k", "split": "test"}, str(tmp_path / "nope"))
    assert str(tmp_path / "nope") in str(e.value) and "data.dir" in str(e.value) and "R1REPRO_DATA" in str(e.value)
    monkeypatch.setenv("R1REPRO_DATA", str(tmp_path / "env"))
    with pytest.raises(DataDirNotFound, match="env R1REPRO_DATA"):
        resolve_data_dir(None)
    # synthetic loaders never look for a data directory
    assert len(load_source({"loader": "countdown", "limit": 3}, str(tmp_path / "nope")).problems) == 3


def test_unknown_option_and_split_named(tmp_path):
    with pytest.raises(ValueError, match=r"loader 'math': unknown option\(s\) 'level'; valid options: levels, subjects"):
        load_source({"loader": "math", "split": "test", "options": {"level": [1]}}, tmp_path)
    with pytest.raises(KeyError, match="did you mean 'gsm8k'"):
        load_source({"loader": "gsm8", "split": "test"}, tmp_path)
    with pytest.raises(ValueError, match="aime24: unknown split 'train'; available: test"):
        LOADERS["aime24"]("train", tmp_path)
    assert loader_options("arithmetic") == ["n", "seed", "steps", "min_steps", "max_steps", "max_value",
                                            "max_operand", "ops", "style", "show_work", "mix_script",
                                            "mix_share", "distinct"]


def test_limit_is_seeded_random_subset(tmp_path):
    d = write(tmp_path, [json.dumps({"question": f"q{i}", "answer": f"#### {i}"}) for i in range(50)])
    spec = {"loader": "gsm8k", "split": "test", "limit": 10}
    a, b = load_source(spec, d, seed=1), load_source(spec, d, seed=1)
    ids = [p.id for p in a.problems]
    assert ids == [p.id for p in b.problems] and len(ids) == 10 and ids == sorted(ids)
    assert ids != [f"gsm8k/test/{i:05d}" for i in range(1, 11)]                     # not the first N
    assert ids != [p.id for p in load_source(spec, d, seed=2).problems]
    assert a.info | {} == {**a.info, "loaded": 50, "kept": 10, "limit": 10}


def test_generic_jsonl_csv_parquet(tmp_path):
    import pandas as pd

    rows = [{"uid": "a", "problem": "P1", "sol": "so \\boxed{3}", "lvl": 1},
            {"uid": "b", "problem": "P2", "sol": "so \\boxed{x^2}", "lvl": 2}]
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    pd.DataFrame(rows).to_parquet(tmp_path / "s.parquet")
    opts = {"fields": {"question": "problem", "gold": "sol", "solution": "sol", "id": "uid"},
            "gold_from": "boxed", "meta": ["lvl"]}
    for ext in ("jsonl", "csv", "parquet"):
        res = load_source({"loader": "jsonl", "split": "train", "options": {**opts, "path": f"s.{ext}"}}, tmp_path)
        assert [(p.id, p.question, p.gold) for p in res.problems] == [("s/train/a", "P1", "3"), ("s/train/b", "P2", "x^2")]
        assert res.problems[0].solution == "so \\boxed{3}" and str(res.problems[1].meta["lvl"]) == "2"
    bad = tmp_path / "bad.csv"
    bad.write_text("problem,answer\nP1,4\nP2,\n")
    with pytest.raises(DataError, match=r"bad.csv:3: field 'answer'"):
        load_source({"loader": "jsonl", "options": {"path": str(bad), "fields": {"question": "problem"}}}, None)
