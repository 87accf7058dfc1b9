"""Lists of names written for people come from, or are checked against, the registries."""

import re
import typing
from pathlib import Path

from r1repro.algos import ADVANTAGES, AGGREGATIONS, POLICY_LOSSES
from r1repro.checks import valid_names
from r1repro.config import RLConfig, describe
from r1repro.rewards import REWARDS
from r1repro.train.rl import UPDATES

ROOT = Path(__file__).resolve().parents[2]


def test_describe_lists_each_registry_field_with_the_registry_names():
    lines = {line.split(" ", 1)[0]: line for line in describe(valid=valid_names())}
    for key, names in valid_names().items():
        assert lines[key].endswith(f" Valid: {', '.join(names)}."), key
    assert "Valid: " + ", ".join(sorted(ADVANTAGES.names())) + "." in lines["rl.advantage"]


def test_rl_algorithm_choices_are_the_update_registry():
    allowed = typing.get_args(typing.get_type_hints(RLConfig)["algorithm"])
    assert sorted(allowed) == sorted(UPDATES.names())


def test_readme_names_every_estimator_loss_aggregation_and_reward():
    readme = (ROOT / "README.md").read_text()
    quoted = set(re.findall(r"`([a-z_0-9]+)`", readme))
    for registry in (ADVANTAGES, POLICY_LOSSES, AGGREGATIONS, REWARDS, UPDATES):
        missing = set(registry.names()) - quoted
        assert not missing, f"README does not name {sorted(missing)}"


def test_rl_module_docstring_names_every_estimator_loss_and_update():
    import r1repro.train.rl as rl

    words = set(re.findall(r"[a-z_0-9]+", rl.__doc__))
    for registry in (ADVANTAGES, POLICY_LOSSES, AGGREGATIONS, UPDATES):
        assert not set(registry.names()) - words, registry
