"""Recipes: base inheritance, overrides, strict keys, types and ranges, with the error texts users see."""

import dataclasses
import typing
from pathlib import Path

import pytest

from r1repro.config import (
    Recipe,
    RecipeError,
    config_hash,
    describe,
    field_docs,
    load_recipe,
    load_task,
    to_dict,
    to_yaml,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def recipes(tmp_path):
    write(tmp_path / "base.yaml", "name: base\nseed: 1\nrl: {steps: 10, optim: {lr: 1.0e-5}}\n")
    write(tmp_path / "child.yaml", "base: base.yaml\nname: child\nrl: {optim: {warmup_steps: 3}}\n")
    return tmp_path


def test_base_inheritance_deep_merges(recipes):
    cfg = load_recipe(recipes / "child.yaml")
    assert cfg.name == "child"  # child wins
    assert cfg.seed == 1  # inherited
    assert cfg.rl.steps == 10  # inherited from a sibling key of the merged mapping
    assert cfg.rl.optim.lr == 1e-5 and cfg.rl.optim.warmup_steps == 3  # nested mapping merged, not replaced


def test_overrides_apply_last_and_parse_yaml_values(recipes):
    cfg = load_recipe(recipes / "child.yaml", ["rl.optim.lr=1e-6", "rl.steps=3", "stages=[prepare,rl]"])
    assert cfg.rl.optim.lr == 1e-6  # "1e-6" is a YAML string; float fields accept it
    assert cfg.rl.steps == 3
    assert cfg.stages == ("prepare", "rl")


def test_config_is_frozen(recipes):
    cfg = load_recipe(recipes / "child.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.rl.steps = 5  # type: ignore[misc]


def test_unknown_key_names_file_key_and_closest(recipes):
    bad = write(recipes / "bad.yaml", "base: base.yaml\nrl: {optim: {lrr: 0.1}}\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(bad)
    msg = str(e.value)
    assert str(bad) in msg  # the file that set the key
    assert "rl.optim.lrr" in msg  # the key path
    assert "did you mean 'rl.optim.lr'" in msg  # the closest valid key


def test_unknown_key_in_base_names_the_base_file(recipes):
    write(recipes / "base2.yaml", "sft: {stpes: 3}\n")
    child = write(recipes / "c2.yaml", "base: base2.yaml\n")
    with pytest.raises(RecipeError, match=r"base2\.yaml: sft\.stpes: unknown key; did you mean 'sft\.steps'"):
        load_recipe(child)


def test_unknown_key_in_override_names_the_override(recipes):
    with pytest.raises(RecipeError, match=r"command-line override 'rl.setps=3': rl.setps: unknown key"):
        load_recipe(recipes / "child.yaml", ["rl.setps=3"])


def test_wrong_type_names_field(recipes):
    with pytest.raises(RecipeError, match=r"rl.steps: expected an integer, got 'many'"):
        load_recipe(recipes / "child.yaml", ["rl.steps=many"])
    with pytest.raises(RecipeError, match=r"sft.enabled: expected true/false, got 1"):
        load_recipe(recipes / "child.yaml", ["sft.enabled=1"])


def test_out_of_range_names_field_and_range(recipes):
    with pytest.raises(RecipeError, match=r"rl.optim.lr = -0.1 is out of range: must be >= 0.0"):
        load_recipe(recipes / "child.yaml", ["rl.optim.lr=-0.1"])
    with pytest.raises(RecipeError, match=r"rl.sampling.top_p = 1.5 is out of range: must be > 0.0 and <= 1.0"):
        load_recipe(recipes / "child.yaml", ["rl.sampling.top_p=1.5"])


def test_literal_choice_lists_allowed_values(recipes):
    with pytest.raises(RecipeError, match=r"rl.kl_in = 'rewards' is not allowed; did you mean 'reward'\? allowed: loss, reward"):
        load_recipe(recipes / "child.yaml", ["rl.kl_in=rewards"])


def test_missing_file_and_base_cycle(tmp_path):
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(tmp_path / "nope.yaml")
    write(tmp_path / "a.yaml", "base: b.yaml\n")
    write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")


def test_eval_tasks_merge_over_task_files():
    task = load_task("gsm8k", {"k": 4})
    assert task.dataset.loader == "gsm8k" and task.dataset.split == "test"  # from evals/gsm8k.yaml
    assert task.k == 4  # recipe entry wins
    assert task.grader.timeout_s == 5.0  # from evals/_base.yaml via include:
    with pytest.raises(RecipeError, match=r"unknown eval task 'gsm8kk' \(no .*gsm8kk.yaml\); did you mean 'gsm8k'\?"):
        load_task("gsm8kk")


def test_every_recipe_in_the_repo_loads():
    for path in sorted(Path("recipes").rglob("*.yaml")):
        cfg = load_recipe(path)
        assert isinstance(cfg, Recipe), path


def test_hash_and_yaml_round_trip(recipes, tmp_path):
    cfg = load_recipe(recipes / "child.yaml")
    dumped = write(tmp_path / "dumped.yaml", to_yaml(cfg))
    again = load_recipe(dumped)
    assert config_hash(again) == config_hash(cfg)  # the resolved config written into a run reloads exactly
    assert config_hash(load_recipe(recipes / "child.yaml", ["seed=2"])) != config_hash(cfg)


def test_every_field_is_documented():
    undocumented = [line for line in describe() if line.rstrip().endswith(":")]
    assert undocumented == []
    assert field_docs(Recipe)["seed"].startswith("Seed")


def test_tiny_model_shape_is_checked_when_the_recipe_loads(tmp_path):
    recipe = write(tmp_path / "r.yaml", "model: {tiny: {hidden_size: 30, heads: 4}}\n")
    with pytest.raises(RecipeError, match=r"r.yaml: model.tiny: hidden_size 30 is not divisible by heads 4"):
        load_recipe(recipe)


def test_missing_base_names_the_recipe_holding_the_base_line(tmp_path):
    child = write(tmp_path / "child.yaml", "base: ../nope/base.yaml\nseed: 1\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(child)
    assert str(e.value) == (f"{child}: `base: ../nope/base.yaml`: no such recipe file "
                            f"{(tmp_path / '../nope/base.yaml').resolve()}")


def test_describe_shows_the_defaults_a_recipe_really_gets():
    # sft.optim and rl.optim are built by their parent's default_factory, not OptimConfig's own defaults
    lines = {line.split(" ", 1)[0]: line for line in describe() if line.split(" ", 1)[1].startswith("(")}
    real, flat = Recipe(), {}

    def walk(obj, prefix=""):
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            args = typing.get_args(hints[f.name])
            optional = [a for a in args if dataclasses.is_dataclass(a)] if type(None) in args else []  # model.lora
            if dataclasses.is_dataclass(v):
                walk(v, f"{prefix}{f.name}.")
            else:
                flat[f"{prefix}{f.name}"] = v
                if optional:  # None by default; its fields are listed with the values they get when set
                    walk(optional[0](), f"{prefix}{f.name}.")

    walk(real)
    assert set(lines) == set(flat)
    for key, value in flat.items():
        assert f"= {to_dict(value)!r}): " in lines[key], key
    assert "sft.optim.lr (float = 0.001)" in lines["sft.optim.lr"]
    assert "sft.optim.schedule (Literal = 'cosine')" in lines["sft.optim.schedule"]
