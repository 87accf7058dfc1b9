"""Dedupe and contamination: planted duplicates and 13-gram overlaps are found, reported and dropped;
the prepare stage writes train/eval/card with sha256s; real GSM8K train vs test numbers."""

import json

import pytest

from r1repro.data.hygiene import contamination, decontaminate, dedupe, ngrams, normalise
from r1repro.data.paths import DataDirNotFound, resolve_data_dir
from r1repro.data.prepare import prepare
from r1repro.data.schema import Problem, read_jsonl
from r1repro.files import sha256_file

LONG = ("A farmer has 17 cows and each cow gives 3 liters of milk every single morning before the sun "
        "rises over the hill")


def P(pid, q, split="train"):
    return Problem(pid, "t", split, q, "1")


def test_normalise_and_ngrams():
    assert normalise("  What's 2+2?\n  (Answer: “four”) ") == "whats 2+2 answer four"  # + is a symbol
    assert ngrams("a b c d", 3) == {"a b c", "b c d"} and ngrams("a b", 3) == set()


def test_dedupe_keeps_first():
    kept, removed = dedupe([P("a", "What is 2+2?"), P("b", "what is 2 + 2"), P("c", "WHAT IS 2+2 ?!")])
    assert [p.id for p in kept] == ["a", "b"] and removed == [{"id": "c", "duplicate_of": "a"}]


def test_finds_planted_duplicate_and_13gram():
    evals = [P("e1", "How many legs do 3 spiders have?", "test"), P("e2", "Intro words here. " + LONG + "?", "test"),
             P("e3", "Something unrelated entirely.", "test")]
    train = [P("t1", "how many LEGS do 3 spiders have"),                       # exact after normalising
             P("t2", "Different start, but " + LONG + ". How much milk?"),     # shares 13-grams
             P("t3", "farmer has 17 cows and each cow gives 3 liters of milk"),  # only 12 words in common
             P("t4", "Nothing to see here.")]
    r = contamination(train, evals, n=13)
    assert (r["exact"], r["ngram"], r["train_overlapping"], r["train_ids"]) == (1, 1, 2, ["t1", "t2"])
    assert r["examples"]["exact"] == [{"eval_id": "e1", "train_id": "t1"}]
    assert r["examples"]["ngram"][0]["eval_id"] == "e2" and len(r["examples"]["ngram"][0]["ngram"].split()) == 13
    kept, report = decontaminate(train, {"x": evals})
    assert [p.id for p in kept] == ["t3", "t4"] and report["x"]["dropped"] is True
    kept, _ = decontaminate(train, {"x": evals}, drop=False)
    assert len(kept) == 4


def test_boilerplate_ngrams_are_ignored():
    shared = "Use each number exactly once and show your work in the think tags before answering"
    evals = [P(f"e{i}", f"Puzzle {i}. {shared}", "test") for i in range(12)]
    train = [P("t", f"Puzzle 99. {shared}")]
    assert contamination(train, evals, n=13, max_df=10)["ngram"] == 0              # in 12 > 10 evals
    r = contamination(train, evals[:3], n=13, max_df=10)                       # in 3 evals: counts
    assert (r["ngram"], r["train_overlapping"]) == (1, 1)


def write_sets(tmp_path):
    (tmp_path / "gsm8k").mkdir(parents=True)
    rows = [{"question": "q1 " + LONG, "answer": "#### 1"}, {"question": "q2 alone", "answer": "#### 2"},
            {"question": "Q2 ALONE!", "answer": "#### 2"}, {"question": "bad", "answer": "no final"}]
    (tmp_path / "gsm8k" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "gsm8k" / "README.md").write_text("# x\n- License: MIT (test)\n")
    test = [{"question": "prefix " + LONG + " how much?", "answer": "#### 5"}, {"question": "q3", "answer": "#### 3"}]
    (tmp_path / "gsm8k" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test))
    return tmp_path


def test_prepare_end_to_end(tmp_path):
    data, out = write_sets(tmp_path / "data"), tmp_path / "run" / "data"
    train = [{"loader": "gsm8k", "split": "train"}, {"loader": "arithmetic", "split": "train", "limit": 20}]
    evals = {"gsm8k": {"loader": "gsm8k", "split": "test"}, "arith": {"loader": "arithmetic", "split": "test", "limit": 5}}
    card = prepare(train, evals, out, data_dir=str(data), seed=0, skip_bad=True)
    assert sorted(f.name for f in out.iterdir()) == ["card.json", "eval-arith.jsonl", "eval-gsm8k.jsonl", "train.jsonl"]
    assert json.loads((out / "card.json").read_text()) == card
    assert card["train"]["loaded"] == 23 and card["train"]["dedupe"]["duplicates"] == 1
    assert card["contamination"]["gsm8k"]["ngram"] == 1 and card["train"]["decontaminated"] >= 1
    assert card["bad_rows"] == 1 and card["train"]["sources"][0]["bad_rows"][0]["line"] == 4
    assert card["licenses"]["gsm8k"] == "License: MIT (test)" and "gsm8k/train.jsonl" in card["inputs"]
    train_rows = read_jsonl(out / "train.jsonl")
    assert len(train_rows) == card["train"]["count"] == card["outputs"]["train"]["count"]
    assert "gsm8k/train/00001" not in {p.id for p in train_rows}                   # the contaminated one
    assert all(card["outputs"][k]["sha256"] == sha256_file(out / v["path"]) for k, v in card["outputs"].items())
    again = prepare(train, evals, tmp_path / "again", data_dir=str(data), seed=0, skip_bad=True)
    assert again["outputs"] == card["outputs"]                                    # reproducible bytes
    with pytest.raises(Exception, match="train.jsonl:4: field 'answer'"):
        prepare(train, evals, tmp_path / "strict", data_dir=str(data), seed=0)


def planted(tmp_path):
    """A data directory holding an empty file, a file of malformed rows and a MATH-500 file of level-1 rows."""
    data = tmp_path / "data"
    (data / "mine").mkdir(parents=True)
    (data / "mine" / "empty.jsonl").write_text("")
    (data / "mine" / "bad.jsonl").write_text('{"question": "q"}\n{"question": "", "answer": 2}\n')
    (data / "mine" / "good.jsonl").write_text('{"question": "What is 1 + 1?", "answer": 2}\n')
    (data / "math").mkdir()
    rows = [{"unique_id": f"test/algebra/{i}.json", "problem": f"p{i}", "answer": "1", "subject": "Algebra",
             "level": 1} for i in range(3)]
    (data / "math" / "test500.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


GOOD_TRAIN = {"loader": "jsonl", "split": "train", "options": {"path": "mine/good.jsonl"}}


@pytest.mark.parametrize("train, evals, skip_bad, message", [
    ([{"loader": "jsonl", "split": "train", "options": {"path": "mine/empty.jsonl"}}], {}, False,
     "data.train[0] (loader 'jsonl', split 'train', options {'path': 'mine/empty.jsonl'}): no problems: "
     "mine/empty.jsonl holds no rows"),
    ([GOOD_TRAIN, {"loader": "jsonl", "split": "train", "options": {"path": "mine/bad.jsonl"}}], {}, True,
     "data.train[1] (loader 'jsonl', split 'train', options {'path': 'mine/bad.jsonl'}): no problems: all 2 rows "
     "are malformed and were skipped (data.skip_bad), e.g. mine/bad.jsonl:1: field 'answer': no usable gold answer"),
    ([{"loader": "math500", "split": "test", "options": {"levels": [5]}}], {}, False,
     "data.train[0] (loader 'math500', split 'test', options {'levels': [5]}): no problems: the options keep "
     "none of its 3 rows"),
    ([GOOD_TRAIN], {"mine": {"loader": "jsonl", "split": "test", "options": {"path": "mine/empty.jsonl"}}}, False,
     "eval.tasks.mine (loader 'jsonl', split 'test', options {'path': 'mine/empty.jsonl'}): no problems: "
     "mine/empty.jsonl holds no rows"),
    ([GOOD_TRAIN], {"same": GOOD_TRAIN}, False,
     "data.train: no problems left: all 1 overlap the eval set(s) same (data.decontaminate drops them)"),
], ids=["empty file", "all rows bad", "filter drops all", "empty eval set", "all decontaminated"])
def test_prepare_refuses_an_empty_source_naming_it_and_why(tmp_path, train, evals, skip_bad, message):
    from r1repro.data.schema import DataError

    with pytest.raises(DataError) as e:
        prepare(train, evals, tmp_path / "out", data_dir=str(planted(tmp_path)), seed=0, skip_bad=skip_bad)
    assert str(e.value).startswith(message), str(e.value)
    assert not (tmp_path / "out" / "train.jsonl").exists()


def test_real_gsm8k_train_vs_test():
    try:
        data = resolve_data_dir(None)
    except DataDirNotFound:
        pytest.skip("no ../shared/data (set R1REPRO_DATA)")
    from r1repro.data.loaders import load_source

    train = load_source({"loader": "gsm8k", "split": "train"}, data).problems
    test = load_source({"loader": "gsm8k", "split": "test"}, data).problems
    r = contamination(train, test)
    assert (r["exact"], r["ngram"], r["train_overlapping"]) == (0, 3, 4)
    assert r["examples"]["ngram"][0] == {"eval_id": "gsm8k/test/00633", "train_id": "gsm8k/train/00021",
                                         "ngram": "a snowflake design some had a truck design and some had a rose"}
    assert len(dedupe(train)[1]) == 0 and len(dedupe(test)[1]) == 0


def test_synthetic_eval_sets_use_exact_match_only():
    from r1repro.data.synthetic import load_arithmetic

    train = load_arithmetic("train", n=4000, min_steps=1, max_steps=3).problems
    test = load_arithmetic("test", n=200, min_steps=1, max_steps=3).problems
    r = contamination(train, test)
    # templated questions share template 13-grams; only the 3 exact collisions count
    assert (r["exact"], r["ngram"], r["ngram_checked"], r["train_overlapping"]) == (3, 0, False, 3)
    planted = [*test[:5], P("real", "Intro words here. " + LONG + "?", "test")]    # one natural question: checked
    assert contamination([P("t", "x " + LONG)], planted)["ngram"] == 1
