"""Every GPU recipe passes its dry run: config, data, grader, rewards, trainer pieces; no weights."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from r1repro.config import load_recipe
from r1repro.data.paths import DataDirNotFound, resolve_data_dir
from r1repro.pipeline import dry_run

GPU_RECIPES = sorted(p for p in Path("recipes/gpu").glob("*.yaml") if not p.name.startswith("_"))
GPU_RECIPES += [Path("recipes/smollm2-135m-gsm8k.yaml"), Path("recipes/smollm2-135m-arith.yaml")]  # real-model CPU recipes
CLI_CHECKED = "qwen2.5-math-1.5b-r1zero-math12k"  # dry-run through the CLI below (same checks, plus imports)


def _data_available() -> bool:
    try:
        resolve_data_dir(None)
        return True
    except DataDirNotFound:
        return False


@pytest.mark.skipif(not _data_available(), reason="../shared/data (or $R1REPRO_DATA) is not present")
@pytest.mark.parametrize("path", [p for p in GPU_RECIPES if p.stem != CLI_CHECKED], ids=lambda p: p.stem)
def test_gpu_recipe_dry_run(path, tmp_path):
    cfg = load_recipe(path)
    plan = dry_run(cfg, tmp_path)
    assert plan["train"] >= cfg.rl.prompts_per_step
    assert set(plan["eval"]) == set(cfg.eval.tasks) and all(n > 0 for n in plan["eval"].values())
    assert plan["probe"] == 64  # 64 reference answers in the R1 format were all graded correct


def test_gpu_recipes_exist():
    assert len(GPU_RECIPES) >= 3


@pytest.mark.skipif(not _data_available(), reason="../shared/data (or $R1REPRO_DATA) is not present")
def test_dry_run_cli_loads_no_model_code():
    code = ("import sys; from r1repro.cli import main; rc = main(['run', 'recipes/gpu/qwen2.5-math-1.5b-r1zero-math12k.yaml',"
            " '--dry-run']); print('heavy:', [m for m in ('transformers', 'vllm') if m in sys.modules]); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "heavy: []" in out.stdout
    plan = json.loads(out.stdout[: out.stdout.rindex("}") + 1])
    assert plan["model"] == "Qwen/Qwen2.5-Math-1.5B" and plan["probe"] == 64 and plan["train"] >= 32
    assert set(plan["eval"]) == {"math500", "gsm8k", "aime24", "amc23"} and plan["eval"]["math500"] == 500
