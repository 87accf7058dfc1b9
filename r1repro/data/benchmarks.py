"""Loaders for the word-problem and competition sets: GSM8K, AIME 2024/2025, AMC 2023, Minerva, SVAMP,
ASDiv, MAWPS (the MATH family is in `mathsets.py`).

Why here: each set stores its gold differently (see `answers.py`); one small parse function per
set maps a raw row to a `Problem` and names the field when a row is unusable. Files come from
`<data_dir>/<folder>/` (README.md there gives the license line); GSM8K and AIME 2025 can also come
from the Hugging Face Hub with option `hub: true` (same parser; needs network; untested offline).

Ids: `<loader>/<split>/<row id>`; GSM8K uses the 1-based line number, zero-padded to 5 digits
(`gsm8k/test/00001`), the others the set's own id/idx field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from r1repro.data import answers
from r1repro.data.base import (
    LOADERS,
    LoadResult,
    RowError,
    file_inputs,
    hub_rows,
    jsonl_rows,
    need,
    parse_rows,
    readme_license,
    require_file,
)
from r1repro.data.schema import Problem


def check_split(loader: str, split: str, allowed: tuple[str, ...]) -> None:
    if split not in allowed:
        raise ValueError(f"{loader}: unknown split {split!r}; available: {', '.join(allowed)}")


def gold_or_error(field: str, fn: Any, value: Any) -> str:
    try:
        return fn(value)
    except ValueError as e:
        raise RowError(field, f"no usable gold answer ({e})") from None


def load_file_set(name: str, split: str, data_dir: Path, folder: str, file: str, parse,
                  skip_bad: bool, hub: tuple[str, str | None, str] | None = None) -> LoadResult:
    """Shared body: rows from the local JSONL (or the Hub), `parse(row, line)` each, record inputs."""
    bad: list[dict] = []
    if hub:
        rows, inputs = hub_rows(*hub)
        problems, n = parse_rows(rows, parse, skip_bad, bad)
        return LoadResult(problems, bad, inputs, f"see the Hub card of {hub[0]}", rows=n)
    path = require_file(data_dir / folder / file, name)
    problems, n = parse_rows(jsonl_rows(path, f"{folder}/{file}"), parse, skip_bad, bad)
    return LoadResult(problems, bad, file_inputs([path], data_dir), readme_license(path.parent), rows=n)


@LOADERS.register("gsm8k")
def load_gsm8k(split: str, data_dir: Path, *, skip_bad: bool = False, variant: str = "main",
               hub: bool = False) -> LoadResult:
    """GSM8K train (7,473) / test (1,319). variant "socratic" reads test_socratic.jsonl."""
    check_split("gsm8k", split, ("train", "test"))
    if variant not in ("main", "socratic"):
        raise ValueError(f"gsm8k: option variant must be 'main' or 'socratic', got {variant!r}")
    file = f"{split}.jsonl" if variant == "main" else f"{split}_socratic.jsonl"

    def parse(row: dict, line: int | None) -> Problem:
        solution, gold = gold_or_error("answer", answers.gsm8k_split, need(row, "answer"))
        return Problem(f"gsm8k/{split}/{line:05d}", "gsm8k", split, need(row, "question").strip(),
                       gold, solution, {"variant": variant} if variant != "main" else {})

    return load_file_set("gsm8k", split, data_dir, "gsm8k", file, parse, skip_bad,
                         ("openai/gsm8k", variant, split) if hub else None)


@LOADERS.register("aime24")
def load_aime24(split: str, data_dir: Path, *, skip_bad: bool = False) -> LoadResult:
    """AIME 2024 (30 problems); `answer` is a zero-padded string ("025" -> "25")."""
    check_split("aime24", split, ("test",))

    def parse(row: dict, line: int | None) -> Problem:
        gold = gold_or_error("answer", answers.canonical_number, need(row, "answer"))
        rid = need(row, "id", int)
        return Problem(f"aime24/test/{rid}", "aime24", "test", need(row, "problem").strip(), gold,
                       row.get("solution"), {"url": row.get("url")})

    return load_file_set("aime24", split, data_dir, "aime24", "test.jsonl", parse, skip_bad)


@LOADERS.register("aime25")
def load_aime25(split: str, data_dir: Path, *, skip_bad: bool = False, repair: bool = True,
                hub: bool = False) -> LoadResult:
    """AIME 2025 (30); `answer` is an int. repair=True restores the 3 upstream rows whose `\\f`/`\\t`
    were parsed as control characters (README: form feed -> `\\f`, tab -> `\\t`)."""
    check_split("aime25", split, ("test",))

    def parse(row: dict, line: int | None) -> Problem:
        gold = gold_or_error("answer", answers.canonical_number, need(row, "answer", (int, str)))
        question, meta = need(row, "problem").strip(), {}
        if repair and ("\x0c" in question or "\t" in question):
            question, meta = question.replace("\x0c", "\\f").replace("\t", "\\t"), {"repaired": True}
        rid = str(need(row, "id", (str, int)))
        if not rid.isdigit():
            raise RowError("id", f"expected a number 0-29, got {rid!r}")
        part = "I" if int(rid) < 15 else "II"  # README: ids 0-14 are AIME I, 15-29 AIME II
        return Problem(f"aime25/test/{rid}", "aime25", "test", question, gold, None,
                       {**meta, "contest": f"AIME {part} 2025"})

    return load_file_set("aime25", split, data_dir, "aime25", "test.jsonl", parse, skip_bad,
                         ("math-ai/aime25", None, "test") if hub else None)


@LOADERS.register("amc23")
def load_amc23(split: str, data_dir: Path, *, skip_bad: bool = False) -> LoadResult:
    """AMC 2023 (40); `answer` is a float (27.0 -> "27")."""
    check_split("amc23", split, ("test",))

    def parse(row: dict, line: int | None) -> Problem:
        gold = gold_or_error("answer", answers.canonical_number, need(row, "answer", (int, float, str)))
        return Problem(f"amc23/test/{need(row, 'id', int)}", "amc23", "test", need(row, "problem").strip(),
                       gold, None, {"url": row.get("url")})

    return load_file_set("amc23", split, data_dir, "amc23", "test.jsonl", parse, skip_bad)


@LOADERS.register("minerva")
def load_minerva(split: str, data_dir: Path, *, skip_bad: bool = False) -> LoadResult:
    """Minerva OCW courses (272); gold = last `\\boxed{}` of `solution`."""
    check_split("minerva", split, ("test",))

    def parse(row: dict, line: int | None) -> Problem:
        solution = need(row, "solution")
        gold = answers.last_boxed(solution)
        if not gold:
            raise RowError("solution", "no \\boxed{...} answer")
        return Problem(f"minerva/test/{need(row, 'idx', int)}", "minerva", "test", need(row, "problem").strip(),
                       gold, solution, {"course": row.get("type")})

    return load_file_set("minerva", split, data_dir, "minerva_math", "test.jsonl", parse, skip_bad)


@LOADERS.register("svamp")
def load_svamp(split: str, data_dir: Path, *, skip_bad: bool = False) -> LoadResult:
    """SVAMP (1,000); question = Body + " " + Question; `Answer` is a float."""
    check_split("svamp", split, ("test",))

    def parse(row: dict, line: int | None) -> Problem:
        gold = gold_or_error("Answer", answers.canonical_number, need(row, "Answer", (int, float)))
        question = f"{need(row, 'Body').strip()} {need(row, 'Question').strip()}"
        return Problem(f"svamp/test/{need(row, 'idx', int)}", "svamp", "test", question, gold, None,
                       {"equation": row.get("Equation"), "type": row.get("Type"), "orig_id": row.get("ID")})

    return load_file_set("svamp", split, data_dir, "svamp", "test.jsonl", parse, skip_bad)


@LOADERS.register("asdiv")
def load_asdiv(split: str, data_dir: Path, *, skip_bad: bool = False) -> LoadResult:
    """ASDiv (2,215); question = body + " " + question; answer "9 (apples)" -> "9". 180 answers are
    not plain numbers (names, times "3:30 p.m.", ratios "3:4", fractions "5/2"): kept as text,
    with meta answer_type "text" so an eval can filter them."""
    check_split("asdiv", split, ("test",))

    def parse(row: dict, line: int | None) -> Problem:
        raw = need(row, "answer")
        gold = gold_or_error("answer", answers.canonical_answer, answers.strip_units(raw))
        try:
            answers.canonical_number(gold)
            kind = "number"
        except ValueError:
            kind = "text"
        question = f"{need(row, 'body').strip()} {need(row, 'question').strip()}"
        return Problem(f"asdiv/test/{need(row, 'idx', int)}", "asdiv", "test", question, gold, None,
                       {"answer_raw": raw, "answer_type": kind, "solution_type": row.get("solution_type"),
                        "formula": row.get("formula")})

    return load_file_set("asdiv", split, data_dir, "asdiv", "test.jsonl", parse, skip_bad)


MAWPS_SUBSETS = ("addsub", "multiarith", "singleeq", "singleop")


@LOADERS.register("mawps")
def load_mawps(split: str, data_dir: Path, *, skip_bad: bool = False, subset: str | None = None) -> LoadResult:
    """MAWPS (2,065 in test.jsonl); subset reads one of addsub/multiarith/singleeq/singleop.jsonl."""
    check_split("mawps", split, ("test",))
    if subset is not None and subset not in MAWPS_SUBSETS:
        raise ValueError(f"mawps: option subset must be one of {', '.join(MAWPS_SUBSETS)}, got {subset!r}")
    tag = subset or "test"

    def parse(row: dict, line: int | None) -> Problem:
        gold = gold_or_error("target", answers.canonical_number, need(row, "target", (int, float)))
        rid = row.get("idx", line - 1 if line else None) if subset is None else line
        return Problem(f"mawps/{tag}/{rid}", "mawps", "test", need(row, "input").strip(), gold, None,
                       {"type": row.get("type", subset)})

    return load_file_set("mawps", split, data_dir, "mawps", f"{tag}.jsonl", parse, skip_bad)
