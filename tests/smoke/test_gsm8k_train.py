"""The full GSM8K train split (7,473 problems, one holding U+2028) through prepare and a few SFT steps.

SFT used to stop at "train.jsonl:<line>: invalid JSON": the prepared file keeps U+2028 raw and the
reader split lines at it. Skipped when the data directory is absent.
"""

import json

import pytest
from conftest import MICRO, metrics, run_cli

from r1repro.data.paths import DataDirNotFound, resolve_data_dir


def test_prepare_and_sft_on_the_full_gsm8k_train_split(tmp_path):
    try:
        resolve_data_dir(None)
    except DataDirNotFound as e:
        pytest.skip(f"no data directory: {e}")
    run = tmp_path / "gsm8k"
    run_cli("run", str(MICRO), "data.train=[{loader: gsm8k, split: train}]", "sft.steps=2", "sft.batch_size=4",
            "sft.micro_batch=4", "sft.eval_every=0", "sft.max_len=256", "--stages", "prepare,sft",
            "--run-dir", str(run))
    manifest = json.loads((run / "manifest.json").read_text())
    assert [manifest["stages"][s]["status"] for s in ("prepare", "sft")] == ["done", "done"]
    card = json.loads((run / "data" / "card.json").read_text())
    assert card["train"]["sources"][0]["rows"] == card["train"]["loaded"] == 7473
    assert "\u2028" in (run / "data" / "train.jsonl").read_text(encoding="utf-8")
    assert [r["step"] for r in metrics(run / "sft" / "metrics.jsonl")] == [1, 2]
