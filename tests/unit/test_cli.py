"""CLI argument handling: overrides anywhere, clear errors with exit code 2, help for every command."""

import json

import pytest

from r1repro.cli import build_parser, main

MICRO = "tests/smoke/micro.yaml"


def test_overrides_before_and_after_options(capsys):
    assert main(["run", MICRO, "rl.steps=7", "--dry-run", "rl.group_size=2"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["updates"] == 7  # rl.steps came through although it preceded the option
    assert main(["config", MICRO, "rl.group_size=2"]) == 0
    assert "group_size: 2" in capsys.readouterr().out


def test_unknown_option_and_bad_key_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", MICRO, "--bogus"])
    assert e.value.code == 2
    assert main(["config", MICRO, "rl.stepz=3"]) == 2
    assert "rl.stepz: unknown key; did you mean 'rl.steps'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "prepare", "sft", "rl", "eval", "report", "config"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage: r1repro " + command in out and "--" in out


def test_eval_format_rate_follows_the_template():
    from r1repro.data.templates import TEMPLATES
    from r1repro.evals.harness import format_ok

    assert format_ok(TEMPLATES["qa"], ["<think> 1 + 2 = 3. </think> <answer> 3 </answer>", "3"]) == [True, False]
    assert format_ok(TEMPLATES["boxed"], ["so $\\boxed{3}$", "it is 3"]) == [True, False]
    assert format_ok(TEMPLATES["gsm8k_8shot"], ["1 + 2 = 3\n#### 3", "3"]) == [True, False]
