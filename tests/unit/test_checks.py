"""Names, options and input paths are checked when the recipe loads, not when their stage runs.

Each bad value below used to pass load_recipe and fail minutes later (prepare, SFT or RL), with a
traceback and a half-made run directory.
"""

from pathlib import Path

import pytest

from r1repro.checks import check_task, load_checked
from r1repro.config import RecipeError, load_task

MICRO = Path("tests/smoke/micro.yaml").resolve()


def override(ov: str) -> str:
    return f"command-line override {ov!r}"


@pytest.mark.parametrize("ov, message", [
    ("rl.advantage=grpoo", "rl.advantage = 'grpoo': unknown advantage estimator 'grpoo'; did you mean 'grpo' or"),
    ("rl.loss=ppo_clp", "rl.loss = 'ppo_clp': unknown policy loss 'ppo_clp'; did you mean 'ppo_clip'?"),
    ("rl.aggregation=token_mena", "rl.aggregation = 'token_mena': unknown loss aggregation 'token_mena'; "
                                  "did you mean 'token_mean' or"),
    ("rl.kl_estimator=k4", "rl.kl_estimator = 'k4': unknown KL estimator 'k4' known: k1, k2, k3"),
    ("rl.rewards={corect: 1.0}", "rl.rewards.corect = 'corect': unknown reward 'corect'; did you mean 'correct'?"),
    ("rl.rewards.language={weight: 0.1, script: latn}",
     "rl.rewards.language.script = 'latn': unknown script 'latn'; did you mean 'latin'?"),
    ("rl.rewards.correct={wrong_value: 1}",
     "rl.rewards.correct = {'wrong_value': 1}: reward 'correct': unknown option(s) 'wrong_value'; valid: weight, wrong, unparseable"),
    ("data.template=r1zero", "data.template = 'r1zero': unknown prompt template 'r1zero'; did you mean 'r1_zero'"),
    ("data.train=[{loader: gsm8, split: train}]",
     "data.train[0].loader = 'gsm8': unknown data loader 'gsm8'; did you mean 'gsm8k'?"),
    ("data.train=[{loader: arithmetic, options: {n: 5, max_step: 2}}]",
     "data.train[0].options = {'n': 5, 'max_step': 2}: loader 'arithmetic': unknown option(s) 'max_step'; "
     "valid options: n, seed, steps, min_steps, max_steps, max_value, max_operand, ops, style, show_work, mix_script, mix_share, distinct; "
     "did you mean 'max_steps'?"),
    ("eval.tasks.arith.dataset.loader=arithmetc",
     "eval.tasks.arith.dataset.loader = 'arithmetc': unknown data loader 'arithmetc'; did you mean 'arithmetic'?"),
    ("eval.tasks.arith.template=boxd", "eval.tasks.arith.template = 'boxd': unknown prompt template 'boxd'; "
                                       "did you mean 'boxed'?"),
    ("eval.tasks.arith.language=klingon", "eval.tasks.arith.language = 'klingon': unknown script 'klingon'"),
    ("report_to=[tensorbord]", "report_to[0] = 'tensorbord': unknown experiment tracker (report_to) 'tensorbord'; "
                               "did you mean 'tensorboard'?"),
])
def test_bad_name_names_the_override_key_and_closest(ov, message):
    with pytest.raises(RecipeError) as e:
        load_checked(MICRO, [ov])
    assert str(e.value).startswith(f"{override(ov)}: {message}"), str(e.value)  # closest match first


def test_optional_packages_are_checked_with_the_extra_that_installs_them(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("wandb", "peft") else real(name, *a))
    with pytest.raises(RecipeError) as e:
        load_checked(MICRO, ["report_to=[wandb]", "model.lora={r: 4}"])
    lines = str(e.value).splitlines()
    assert lines[0] == "2 problems:"
    assert lines[1].endswith("report_to[0] = 'wandb': needs the wandb package: pip install 'r1repro[wandb]'")
    assert "model.lora = {'r': 4, " in lines[2] and lines[2].endswith("needs peft: pip install 'r1repro[lora]'")


def test_every_problem_at_once_each_naming_its_file(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"base: {MICRO}\nrl: {{advantage: rlo}}\n")
    with pytest.raises(RecipeError) as e:
        load_checked(recipe, ["rl.loss=pgg"])
    assert str(e.value).splitlines() == [
        "2 problems:",
        f"  {recipe}: rl.advantage = 'rlo': unknown advantage estimator 'rlo'; did you mean 'rloo'? known: "
        "batch_mean, dr_grpo, grpo, none, reinforce_pp, rloo",
        f"  {override('rl.loss=pgg')}: rl.loss = 'pgg': unknown policy loss 'pgg'; did you mean 'pg'? known: pg, "
        "ppo_clip"]


def test_a_bad_name_in_a_task_file_names_the_task_file(tmp_path, monkeypatch):
    evals = tmp_path / "evals"
    evals.mkdir()
    (evals / "mytask.yaml").write_text("dataset: {loader: gsm8k, split: test, options: {varient: main}}\n")
    monkeypatch.setattr("r1repro.config.EVALS_DIR", evals)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"base: {MICRO}\neval: {{tasks: {{mytask: {{k: 2}}}}}}\n")
    with pytest.raises(RecipeError) as e:
        load_checked(recipe)
    assert str(e.value).startswith(f"{evals / 'mytask.yaml'}: eval.tasks.mytask.dataset.options = "
                                   "{'varient': 'main'}: loader 'gsm8k': unknown option(s) 'varient'")
    assert "did you mean 'variant'?" in str(e.value)


def test_input_paths_checked_for_the_stages_that_read_them(tmp_path):
    missing = str(tmp_path / "nope.jsonl")
    with pytest.raises(RecipeError, match=f"sft.data = '{missing}': no such file"):
        load_checked(MICRO, [f"sft.data={missing}"], stages=["prepare", "sft"])
    load_checked(MICRO, [f"sft.data={missing}"], stages=["rl"])  # the rl stage does not read it
    with pytest.raises(RecipeError, match="sft.traces_from = .*: no RL rollouts there"):
        load_checked(MICRO, [f"sft.traces_from={tmp_path}"], stages=["sft"])
    with pytest.raises(RecipeError, match="model.path = './no/such/model': no such checkpoint directory"):
        load_checked(MICRO, ["model.path=./no/such/model"], stages=["eval"])
    with pytest.raises(RecipeError, match="rl.init = 'sft': RL starts from the SFT checkpoint, but sft.enabled"):
        load_checked(MICRO, ["rl.init=sft", "sft.enabled=false"], stages=["rl"])


def test_every_recipe_in_the_repo_passes():
    for path in sorted(Path("recipes").rglob("*.yaml")):
        load_checked(path)


def test_a_task_on_its_own_and_the_template_asked_for():
    origins: dict = {}
    task = load_task("gsm8k", origins=origins)
    check_task("gsm8k", task, origins, template="chat")
    with pytest.raises(RecipeError, match="--template = 'chatt': unknown prompt template 'chatt'; did you mean 'chat'"):
        check_task("gsm8k", task, origins, template="chatt")
