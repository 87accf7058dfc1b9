"""Verifiable data: one `Problem` schema, loaders, prompt templates, synthetic tasks, the prepare stage.

    schema.py     Problem, read_jsonl / write_jsonl
    answers.py    gold extraction from reference data (\\boxed, ####, numbers)
    paths.py      resolve_data_dir (recipe data.dir, env R1REPRO_DATA, ../shared/data)
    base.py       LOADERS registry, LoadResult, row reading, bad-row policy
    benchmarks.py gsm8k, aime24, aime25, amc23, minerva, svamp, asdiv, mawps
    mathsets.py   math (7.5k/5k), math12k (12k/500), math500
    tabular.py    jsonl: your own JSONL/CSV/Parquet (or Hub) files with a field mapping
    synthetic.py  arithmetic and countdown generators
    loaders.py    load_source(spec): options checked, limit applied
    hygiene.py    normalisation, dedupe, contamination (exact + n-gram)
    templates.py  TEMPLATES: r1_zero, boxed, chat, gsm8k_kshot, qa
    prepare.py    the prepare stage: data/train.jsonl, data/eval-<task>.jsonl, data/card.json

See docs/data.md.
"""
