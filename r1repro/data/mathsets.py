"""MATH loaders: Hendrycks 7.5k/5k (`math`), the PRM800K 12k/500 split (`math12k`), MATH-500 (`math500`).

Why: MATH has no answer field; the gold is the last `\\boxed{...}` (or `\\fbox`) of the solution with
brace matching. The "standard" RL split (PRM800K, "Let's Verify Step by Step") trains on 12,000 =
all 12,500 Hendrycks problems minus the 500 of MATH-500, and tests on MATH-500.

How: files are `<data_dir>/math_hendrycks/MATH/{train,test}/<subject>/<n>.json` and
`<data_dir>/math/test500.jsonl`. Ids keep the Hendrycks path (`math/test/algebra/1234`), so the
MATH-500 `unique_id` "test/algebra/1234.json" maps to the same id in every loader. The many
per-problem files are recorded in the card as one input: the sha256 of their sorted listing.

Options (all three loaders): `levels` (ints 1-5), `subjects` (folder names like
"number_theory" or type names like "Number Theory").
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from r1repro.data import answers
from r1repro.data.base import (
    LOADERS,
    LoadResult,
    RowError,
    display_path,
    file_inputs,
    jsonl_rows,
    need,
    parse_rows,
    readme_license,
    require_file,
)
from r1repro.data.benchmarks import check_split
from r1repro.data.schema import DataError, Problem
from r1repro.files import sha256_text

SUBJECTS = ("algebra", "counting_and_probability", "geometry", "intermediate_algebra",
            "number_theory", "prealgebra", "precalculus")


def subject_key(name: str) -> str:
    """"Counting & Probability" / "counting_and_probability" -> "counting_and_probability"."""
    return re.sub(r"[^a-z]+", "_", name.lower().replace("&", "and")).strip("_")


def make_filter(loader: str, levels: list[int] | None, subjects: list[str] | None):
    """A predicate on (level, subject); validates the options first and names bad values."""
    if levels is not None and (not isinstance(levels, (list, tuple)) or any(lv not in (1, 2, 3, 4, 5) for lv in levels)):
        raise ValueError(f"{loader}: option levels must be a list of ints 1-5, got {levels!r}")
    keys = None
    if subjects is not None:
        if isinstance(subjects, str) or not isinstance(subjects, (list, tuple)):
            raise ValueError(f"{loader}: option subjects must be a list, got {subjects!r}")
        keys = {subject_key(s) for s in subjects}
        unknown = keys - set(SUBJECTS)
        if unknown:
            raise ValueError(f"{loader}: unknown subjects {sorted(unknown)}; known: {', '.join(SUBJECTS)}")
    return lambda level, subject: ((levels is None or level in levels)
                                   and (keys is None or subject_key(subject) in keys))


def parse_level(value: object) -> int | None:
    """"Level 3" or 3 -> 3; the two upstream "Level ?" files -> None."""
    m = re.fullmatch(r"(?:Level )?(\d)", str(value).strip())
    return int(m.group(1)) if m else None


def hendrycks_files(data_dir: Path, split: str) -> list[str]:
    """MATH-relative paths "split/subject/n.json", sorted by subject then number."""
    root = data_dir / "math_hendrycks" / "MATH" / split
    if not root.is_dir():
        raise FileNotFoundError(f"math: expected folder {root} is missing; check the data directory "
                                f"(recipe `data.dir` or env R1REPRO_DATA)")
    names = [(d.name, f) for d in root.iterdir() if d.is_dir() for f in os.listdir(d) if f.endswith(".json")]
    names.sort(key=lambda x: (x[0], int(x[1][:-5]) if x[1][:-5].isdigit() else -1, x[1]))
    return [f"{split}/{subject}/{f}" for subject, f in names]


def hendrycks_rows(files: list[str], root: Path, digests: list[str]):
    """One row per file: (label, line, (MATH-relative path, parsed dict) or DataError). Appends a
    `sha256sum` line per file to `digests` (each file is read once)."""
    for rel in files:
        label = f"math_hendrycks/MATH/{rel}"
        data = (root / rel).read_bytes()
        digests.append(f"{hashlib.sha256(data).hexdigest()}  {rel}")
        try:
            yield label, None, (rel, json.loads(data.decode("utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            yield label, getattr(e, "lineno", None), DataError(label, getattr(e, "lineno", None), None, f"bad JSON: {e}")


# Two upstream solutions end in an empty `\\boxed{}`; both are multiple choice whose reasoning proves
# the count is 0, choice (A) (checked by hand). The fix is recorded in meta["gold_fix"].
GOLD_FIXES = {
    "train/number_theory/7115.json": "0",  # primes strictly between n!+1 and n!+n: none
    "train/number_theory/7117.json": "0",  # primes among P+n, n=2..59: none
}


def canonical_gold(raw: str) -> tuple[str, dict]:
    """Numbers canonicalised (".35625" -> "0.35625", "58,500" -> "58500", "097" -> "97"; 31 of
    12,500 golds change), LaTeX kept; the raw text is kept in meta["answer_raw"] when it differs."""
    gold = answers.canonical_answer(raw)
    return gold, ({"answer_raw": raw} if gold != raw else {})


def parse_hendrycks(rel: str, row: dict, source: str, split: str) -> Problem:
    solution = need(row, "solution")
    gold, meta = answers.last_boxed(solution), {}
    if not gold and rel in GOLD_FIXES:
        gold, meta = GOLD_FIXES[rel], {"gold_fix": "upstream \\boxed{} is empty; gold set by hand"}
    if not gold:
        raise RowError("solution", "no non-empty \\boxed{...} or \\fbox{...} answer")
    gold, raw = canonical_gold(gold)
    return Problem(f"math/{rel.removesuffix('.json')}", source, split, need(row, "problem").strip(), gold, solution,
                   {"level": parse_level(row.get("level")), "subject": need(row, "type"), "path": rel, **meta, **raw})


def load_hendrycks(source: str, split: str, files: list[Path], data_dir: Path, keep, skip_bad: bool) -> LoadResult:
    """Parse the given per-problem files; inputs = one sha256 over their sorted listing."""
    root = data_dir / "math_hendrycks" / "MATH"

    def parse(item: tuple[str, dict], line: int | None) -> Problem | None:
        p = parse_hendrycks(*item, source, split)
        return p if keep(p.meta["level"], p.meta["subject"]) else None

    bad: list[dict] = []
    digests: list[str] = []
    problems, n = parse_rows(hendrycks_rows(files, root, digests), parse, skip_bad, bad)
    splits = "+".join(sorted({f.split("/")[0] for f in files}))
    inputs = {f"{display_path(root, data_dir)}/{splits} ({len(files)} files, sha256 of listing)":
              sha256_text("\n".join(sorted(digests)) + "\n")}
    return LoadResult(problems, bad, inputs, readme_license(root.parent), rows=n)


@LOADERS.register("math")
def load_math(split: str, data_dir: Path, *, skip_bad: bool = False, levels: list[int] | None = None,
              subjects: list[str] | None = None) -> LoadResult:
    """Hendrycks MATH: train 7,500 / test 5,000 (before level/subject filters)."""
    check_split("math", split, ("train", "test"))
    keep = make_filter("math", levels, subjects)
    return load_hendrycks("math", split, hendrycks_files(data_dir, split), data_dir, keep, skip_bad)


@LOADERS.register("math500")
def load_math500(split: str, data_dir: Path, *, skip_bad: bool = False, levels: list[int] | None = None,
                 subjects: list[str] | None = None, source: str = "math500") -> LoadResult:
    """MATH-500 (`math/test500.jsonl`); gold = its `answer` field, id from `unique_id`."""
    check_split(source, split, ("test",))
    keep = make_filter(source, levels, subjects)
    path = require_file(data_dir / "math" / "test500.jsonl", source)

    def parse(row: dict, line: int | None) -> Problem | None:
        uid = need(row, "unique_id")
        level, subject = parse_level(row.get("level")), need(row, "subject")
        if not keep(level, subject):
            return None
        gold, raw = canonical_gold(need(row, "answer"))
        return Problem(f"math/{uid.removesuffix('.json')}", source, "test", need(row, "problem").strip(),
                       gold, row.get("solution"), {"level": level, "subject": subject, "path": uid, **raw})

    bad: list[dict] = []
    problems, n = parse_rows(jsonl_rows(path, "math/test500.jsonl"), parse, skip_bad, bad)
    return LoadResult(problems, bad, file_inputs([path], data_dir), readme_license(path.parent), rows=n)


def math500_paths(data_dir: Path) -> set[str]:
    """The 500 `unique_id`s ("test/precalculus/807.json") of MATH-500."""
    path = require_file(data_dir / "math" / "test500.jsonl", "math12k")
    out = set()
    for label, line, row in jsonl_rows(path, "math/test500.jsonl"):
        if isinstance(row, DataError):
            raise row
        if not isinstance(row, dict) or not isinstance(row.get("unique_id"), str):
            raise DataError(label, line, "unique_id", "missing")
        out.add(row["unique_id"])
    return out


@LOADERS.register("math12k")
def load_math12k(split: str, data_dir: Path, *, skip_bad: bool = False, levels: list[int] | None = None,
                 subjects: list[str] | None = None) -> LoadResult:
    """PRM800K split: train = 12,000 (all 12,500 Hendrycks minus MATH-500), test = MATH-500."""
    check_split("math12k", split, ("train", "test"))
    if split == "test":
        return load_math500("test", data_dir, skip_bad=skip_bad, levels=levels, subjects=subjects,
                            source="math12k")
    keep = make_filter("math12k", levels, subjects)
    held_out = math500_paths(data_dir)
    files = [f for s in ("train", "test") for f in hendrycks_files(data_dir, s) if f not in held_out]
    result = load_hendrycks("math12k", "train", files, data_dir, keep, skip_bad)
    result.inputs.update(file_inputs([data_dir / "math" / "test500.jsonl"], data_dir))
    return result
