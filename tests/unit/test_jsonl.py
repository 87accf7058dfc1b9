"""One JSONL reader (r1repro.files.scan_jsonl) behind every JSONL read in the package.

JSON written with ensure_ascii=False keeps U+2028, U+2029 and U+0085 raw inside strings; a reader
that splits with str.splitlines() (or a text-mode file, which also splits at a bare CR) cuts such a
record in two. GSM8K's train split has U+2028 in it, which is how this was found.
"""

import pytest

from r1repro.data.base import jsonl_rows
from r1repro.data.loaders import load_source
from r1repro.data.paths import DataDirNotFound, resolve_data_dir
from r1repro.data.schema import DataError, Problem, write_jsonl
from r1repro.data.schema import read_jsonl as read_problems
from r1repro.files import JSONLineError, atomic_write_jsonl, read_jsonl, scan_jsonl
from r1repro.report.load import read_jsonl as report_read_jsonl
from r1repro.train.traces import collect_traces

SEPARATORS = ["\u2028", "\u2029", "\u0085"]  # LINE SEPARATOR, PARAGRAPH SEPARATOR, NEXT LINE
TEXTS = [f"before{s}after" for s in SEPARATORS]


def test_unicode_line_separators_stay_inside_their_record(tmp_path):
    path = tmp_path / "x.jsonl"
    atomic_write_jsonl(path, [{"i": i, "text": t} for i, t in enumerate(TEXTS)])
    raw = path.read_text(encoding="utf-8")
    assert all(s in raw for s in SEPARATORS) and raw.count("\n") == 3  # written raw, one record a line
    assert read_jsonl(path) == [{"i": i, "text": t} for i, t in enumerate(TEXTS)]
    assert [n for n, _ in scan_jsonl(path)] == [1, 2, 3]


def test_every_reader_keeps_them(tmp_path):
    problems = [Problem(f"t/{i}", "t", "train", f"q{t}", str(i), f"s{t}", {}) for i, t in enumerate(TEXTS)]
    write_jsonl(tmp_path / "p.jsonl", problems)
    assert read_problems(tmp_path / "p.jsonl") == problems                      # data/train.jsonl
    assert [r["question"] for r in read_jsonl(tmp_path / "p.jsonl")] == [p.question for p in problems]  # SFT, RL
    assert [row["question"] for _, _, row in jsonl_rows(tmp_path / "p.jsonl")] == [p.question for p in problems]
    missing: list[str] = []
    assert len(report_read_jsonl(tmp_path / "p.jsonl", missing)) == 3 and missing == []  # the report
    folder = tmp_path / "run" / "rl" / "rollouts"
    folder.mkdir(parents=True)
    atomic_write_jsonl(folder / "step_000001.jsonl", [
        {"step": 1, "problem_id": f"p{i}", "prompt": "Q", "completion": f"think{t} </think>", "correct": True}
        for i, t in enumerate(TEXTS)])
    assert [r["response"] for r in collect_traces(tmp_path / "run", template="boxed")] == [
        f"think{t} </think>" for t in TEXTS]                                    # R1 stage 2 traces


def test_torn_last_line_is_ignored_but_a_bad_line_names_file_line_column(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "x"', encoding="utf-8")  # crash mid-append
    assert read_jsonl(path) == [{"step": 1}, {"step": 2}]
    # the same damage on a line that ends in a newline is not a torn append: an error
    path.write_text('{"step": 1}\n{"step": 2, "x"\n{"step": 3}\n', encoding="utf-8")
    with pytest.raises(JSONLineError) as e:
        read_jsonl(path)
    # '{"step": 2, "x"' has 15 characters; the parser expects ':' right after them, at column 16
    assert (e.value.path, e.value.line, e.value.column) == (str(path), 2, 16)
    assert str(e.value) == f"{path}:2: invalid JSON at column 16: Expecting ':' delimiter"


def test_column_of_a_record_cut_short_is_its_end_not_column_1(tmp_path):
    # json.loads('{"a": 1\n') reports "line 2 column 1": the newline counted as a line of the record
    path = tmp_path / "gsm8k" / "test.jsonl"
    path.parent.mkdir()
    path.write_text('{"question": "q", "answer": "#### 1"}\n{"a": 1\n{"question": "q", "answer": "#### 2"}\n')
    rows = list(jsonl_rows(path, "gsm8k/test.jsonl"))
    err = rows[1][2]
    assert isinstance(err, DataError) and (err.line, err.field) == (2, None)
    assert err.error == "bad JSON: Expecting ',' delimiter at column 8"  # '{"a": 1' is 7 characters


def test_non_utf8_and_bom(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"b": "\xff"}\n{"c": 3}\n')  # a BOM, then a Latin-1 byte
    got = list(scan_jsonl(path))
    assert got[0] == (1, {"a": 1}) and got[2] == (3, {"c": 3})
    assert isinstance(got[1][1], JSONLineError) and "not UTF-8" in str(got[1][1])
    missing: list[str] = []
    assert report_read_jsonl(path, missing) == [{"a": 1}, {"c": 3}] and missing == ["x.jsonl: skipped 1 unreadable line(s)"]


def test_blank_lines_and_crlf(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\r\n  \n{"b": 2}\r\n')
    assert list(scan_jsonl(path)) == [(1, {"a": 1}), (4, {"b": 2})]


def _gsm8k_train():
    try:
        path = resolve_data_dir(None) / "gsm8k" / "train.jsonl"
    except DataDirNotFound as e:
        pytest.skip(f"no data directory: {e}")
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def test_real_gsm8k_train_file_reads_whole(tmp_path):
    rows = read_jsonl(_gsm8k_train())
    assert len(rows) == 7473 and all(set(r) == {"question", "answer"} for r in rows)
    assert sum("\u2028" in r["question"] + r["answer"] for r in rows) == 1  # escaped in the source file
    # the prepare stage writes it raw (ensure_ascii=False); SFT and RL read that copy back whole
    problems = load_source({"loader": "gsm8k", "split": "train"}, None).problems
    write_jsonl(tmp_path / "train.jsonl", problems)
    assert "\u2028" in (tmp_path / "train.jsonl").read_text(encoding="utf-8")
    assert [Problem.from_dict(r) for r in read_jsonl(tmp_path / "train.jsonl")] == problems
    assert read_problems(tmp_path / "train.jsonl") == problems and len(problems) == 7473
