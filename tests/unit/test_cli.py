"""CLI argument handling: overrides anywhere, clear errors with exit code 2, help for every command."""

import json
import logging
from pathlib import Path

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


def test_prepare_of_an_empty_source_fails_with_a_message_not_a_traceback(tmp_path, capsys, monkeypatch):
    # a console handler of an earlier in-process main() writes to that test's closed capture stream
    monkeypatch.setattr(logging.getLogger("r1repro"), "handlers", [])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"base: {Path(MICRO).resolve()}\n"
                      f"data: {{train: [{{loader: jsonl, options: {{path: {empty}}}}}]}}\n")
    assert main(["prepare", str(recipe), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"r1repro: error: data.train[0] (loader 'jsonl', split 'train', options {{'path': '{empty}'}}): " \
           f"no problems: {empty} holds no rows" in err
    assert "Traceback" not in err
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["stages"]["prepare"]["status"] == "failed"


@pytest.mark.parametrize("command", ["run", "prepare", "sft", "rl", "eval", "config"])
def test_every_command_checks_names_before_writing_anything(command, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(logging.getLogger("r1repro"), "handlers", [])
    run_dir = tmp_path / "run"
    extra = [] if command == "config" else ["--run-dir", str(run_dir)]
    assert main([command, MICRO, "rl.advantage=grpoo", *extra]) == 2
    err = capsys.readouterr().err
    assert ("r1repro: error: command-line override 'rl.advantage=grpoo': rl.advantage = 'grpoo': unknown advantage "
            "estimator 'grpoo'; did you mean 'grpo'") in err
    assert not run_dir.exists()


def test_eval_of_a_model_checks_the_template_before_loading_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(logging.getLogger("r1repro"), "handlers", [])
    code = main(["eval", "--model", str(tmp_path / "no-model"), "--task", "gsm8k", "--template", "r1zero"])
    assert code == 2
    assert "--template = 'r1zero': unknown prompt template 'r1zero'; did you mean 'r1_zero'" in capsys.readouterr().err


def test_report_of_one_run_refuses_out_instead_of_ignoring_it(tmp_path, capsys):
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "cmp")]) == 2
    assert "--out is for a comparison" in capsys.readouterr().err and not (tmp_path / "cmp").exists()
