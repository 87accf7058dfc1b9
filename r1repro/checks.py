"""Check a recipe's names, options and input paths before any work starts.

Why: `config.load_recipe` checks keys, types and ranges, but the names a recipe picks from what the
code registers (loaders and their options, prompt templates, advantage estimators, losses,
aggregations, KL estimators, rewards, scripts) live in modules `config` must not import. Without
this check a typo (`rl.advantage: grpoo`, a loader option `max_step`) surfaces only when its stage
runs, minutes in, after a run directory was made. Every problem is reported at once, each naming
the file (or override) that set the key and, from the registry, the closest valid name.

    cfg = load_checked("recipes/quickstart.yaml", ["rl.advantage=grpo"])   # RecipeError on a bad name

Every CLI command calls it before it writes anything; `r1repro run --dry-run` adds the data and
grader checks (pipeline.dry_run). Valid names come from the registries, never from copies.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from r1repro.config import Recipe, RecipeError, TaskConfig, load_recipe, to_dict, where
from r1repro.registry import Registry, UnknownNameError
from r1repro.rundir import RunPaths

Problem = tuple[str, Any, str]
"""(dotted key, value, what is wrong with it)."""


def _name(registry: Registry, key: str, value: Any) -> list[Problem]:
    try:
        registry[value]
    except UnknownNameError as e:
        return [(key, value, str(e))]
    return []


def _script(key: str, value: str) -> list[Problem]:
    from r1repro.text import SCRIPTS

    if value in SCRIPTS:
        return []
    close = difflib.get_close_matches(value, SCRIPTS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return [(key, value, f"unknown script {value!r}{hint} known: {', '.join(SCRIPTS)}")]


def source_problems(key: str, spec: Any) -> list[Problem]:
    """A data source: its loader is registered and takes every option given."""
    from r1repro.data.loaders import LOADERS, check_options

    found = _name(LOADERS, f"{key}.loader", spec.loader)
    if found:
        return found
    try:
        check_options(spec.loader, dict(spec.options))
    except ValueError as e:
        return [(f"{key}.options", dict(spec.options), str(e))]
    return []


def task_problems(key: str, task: TaskConfig) -> list[Problem]:
    from r1repro.data.templates import TEMPLATES

    out = source_problems(f"{key}.dataset", task.dataset)
    if task.template is not None:
        out += _name(TEMPLATES, f"{key}.template", task.template)
    return out + _script(f"{key}.language", task.language)


def name_problems(cfg: Recipe) -> list[Problem]:
    """Every registered name and loader option the recipe uses."""
    from r1repro.algos import ADVANTAGES, AGGREGATIONS, KL_ESTIMATORS, POLICY_LOSSES
    from r1repro.data.templates import TEMPLATES

    rc = cfg.rl
    out: list[Problem] = []
    for i, spec in enumerate(cfg.data.train):
        out += source_problems(f"data.train[{i}]", spec)
    out += _name(TEMPLATES, "data.template", cfg.data.template)
    out += _name(ADVANTAGES, "rl.advantage", rc.advantage)
    out += _name(POLICY_LOSSES, "rl.loss", rc.loss)
    out += _name(AGGREGATIONS, "rl.aggregation", rc.aggregation)
    out += _name(KL_ESTIMATORS, "rl.kl_estimator", rc.kl_estimator)
    out += reward_problems(rc.rewards)
    for name, task in cfg.eval.tasks.items():
        out += task_problems(f"eval.tasks.{name}", task)
    return out + extra_problems(cfg)


def valid_names() -> dict[str, list[str]]:
    """Dotted recipe field -> the names its registry holds (what `r1repro config --describe` lists);
    the one place that maps fields to registries besides name_problems."""
    from r1repro.algos import ADVANTAGES, AGGREGATIONS, KL_ESTIMATORS, POLICY_LOSSES
    from r1repro.data.loaders import LOADERS
    from r1repro.data.templates import TEMPLATES
    from r1repro.rewards import REWARDS
    from r1repro.trackers import TRACKERS

    names = lambda reg: sorted(reg.names())  # noqa: E731
    return {"data.train": names(LOADERS), "data.template": names(TEMPLATES), "rl.advantage": names(ADVANTAGES),
            "rl.loss": names(POLICY_LOSSES), "rl.aggregation": names(AGGREGATIONS),
            "rl.kl_estimator": names(KL_ESTIMATORS), "rl.rewards": names(REWARDS),
            "report_to": names(TRACKERS)}


def reward_problems(rewards: Mapping[str, Any]) -> list[Problem]:
    """Each reward is registered, takes the options given, and a language reward's script exists."""
    from r1repro.rewards import REWARDS, reward_specs

    out: list[Problem] = []
    for name, spec in rewards.items():
        key = f"rl.rewards.{name}"
        found = _name(REWARDS, key, name)
        if not found:
            try:
                options = reward_specs({name: spec})[name][1]
            except ValueError as e:
                found = [(key, spec, str(e))]
            else:
                found = _script(f"{key}.script", options["script"]) if "script" in options else []
        out += found
    return out


def extra_problems(cfg: Recipe) -> list[Problem]:
    """The trackers report_to names, and the optional packages the recipe needs (each tracker's, peft
    for model.lora), with the extra that installs each."""
    from r1repro.trackers import PACKAGES, TRACKERS

    out: list[Problem] = []
    for i, name in enumerate(cfg.report_to):
        found = _name(TRACKERS, f"report_to[{i}]", name)
        if not found and importlib.util.find_spec(PACKAGES[name][0]) is None:
            module, extra = PACKAGES[name]
            found = [(f"report_to[{i}]", name, f"needs the {module} package: pip install 'r1repro[{extra}]'")]
        out += found
    if cfg.model.lora is not None and importlib.util.find_spec("peft") is None:
        out.append(("model.lora", to_dict(cfg.model.lora), "needs peft: pip install 'r1repro[lora]'"))
    return out


def path_problems(cfg: Recipe, stages: Iterable[str]) -> list[Problem]:
    """Inputs the given stages will read from outside the run directory, and how stages depend."""
    stages = set(stages)
    out: list[Problem] = []
    sft = "sft" in stages and cfg.sft.enabled
    if sft and cfg.sft.data and not cfg.sft.traces_from and not Path(cfg.sft.data).is_file():
        out.append(("sft.data", cfg.sft.data, "no such file"))
    if sft and cfg.sft.traces_from and not RunPaths(cfg.sft.traces_from).rollouts().is_dir():
        out.append(("sft.traces_from", cfg.sft.traces_from,
                    "no RL rollouts there (rl/rollouts/ is missing): run that recipe's rl stage first"))
    path = cfg.model.path
    loads_model = stages & {"sft", "rl", "eval"} and path != "tiny"
    if loads_model and (Path(path).is_absolute() or path.startswith((".", "runs/"))) and not Path(path).exists():
        out.append(("model.path", path, "no such checkpoint directory"))
    if "rl" in stages and cfg.rl.enabled and cfg.rl.init == "sft" and not cfg.sft.enabled:
        out.append(("rl.init", "sft", "RL starts from the SFT checkpoint, but sft.enabled is false"))
    return out


def check_recipe(cfg: Recipe, origins: Mapping[str, str] | None = None, *, stages: Sequence[str] = ()) -> None:
    """Raise one RecipeError listing every bad name, option, or (for `stages`) missing input path."""
    _raise(name_problems(cfg) + path_problems(cfg, stages), origins or {})


def _raise(found: list[Problem], origins: Mapping[str, str]) -> None:
    lines = [f"{where(key, origins)} = {value!r}: {why}" for key, value, why in found]
    if len(lines) == 1:
        raise RecipeError(lines[0])
    if lines:
        raise RecipeError("\n  ".join([f"{len(lines)} problems:"] + lines))


def load_checked(path: str | Path, overrides: Sequence[str] = (), *, stages: Sequence[str] = ()) -> Recipe:
    """load_recipe, then check_recipe with messages naming the file that set each bad key."""
    origins: dict[str, str] = {}
    cfg = load_recipe(path, overrides, origins=origins)
    check_recipe(cfg, origins, stages=stages)
    return cfg


def check_task(name: str, task: TaskConfig, origins: Mapping[str, str] | None = None,
               template: str | None = None) -> None:
    """A task evaluated on its own (`r1repro eval --model ... --task`), and the --template asked for."""
    from r1repro.data.templates import TEMPLATES

    found = task_problems(f"eval.tasks.{Path(name).stem}", task)
    if template is not None:
        found += _name(TEMPLATES, "--template", template)
    _raise(found, origins or {})
