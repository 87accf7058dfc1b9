"""render_comparison: config differences, seed groups with mean ± std, joined eval tables, overlays."""

from __future__ import annotations

import json
import math

import pytest

from r1repro.report import render_comparison
from r1repro.report.compare import mean_std
from tests.fixtures.make_run import make_run


def rl_pass1(run, task="gsm8k"):
    return json.loads((run / "eval" / "rl" / task / "summary.json").read_text())["metrics"]["pass@1"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    runs = [make_run(root, "rloo-s0", seed=0), make_run(root, "rloo-s1", seed=1),
            make_run(root, "grpo-s0", seed=0, config_overrides={"rl.advantage": "grpo"})]
    paths = render_comparison(runs, root / "compare")
    return runs, paths, paths["index.html"].read_text("utf-8"), paths["report.md"].read_text("utf-8")


def test_mean_std_hand_computed():
    assert mean_std([0.5, 0.7]) == "0.600 ± 0.141"   # sample std: sqrt((0.01 + 0.01) / 1)
    assert mean_std([0.25]) == "0.250 ± –" and mean_std([]) == "–"


def test_seed_groups(study):
    runs, _, page, md = study
    a, b = rl_pass1(runs[0]), rl_pass1(runs[1])
    mean, std = (a + b) / 2, abs(a - b) / math.sqrt(2)
    assert f"<td>rl.advantage=rloo</td><td>2</td><td>0, 1</td><td>{mean:.3f} ± {std:.3f} (n=2)</td>" in page
    assert f"<td>rl.advantage=grpo</td><td>1</td><td>0</td><td>{rl_pass1(runs[2]):.3f} ± – (n=1)</td>" in page
    assert f"| rl.advantage=rloo | 2 | 0, 1 | {mean:.3f} ± {std:.3f} (n=2) |" in md


def test_config_differences_and_joined_tables(study):
    runs, paths, page, _ = study
    assert "<th>rl.advantage</th><th>seed</th>" in page   # name differs too but is ignored
    assert "<tr><td>grpo-s0</td><td>grpo</td><td>0</td></tr>" in page
    for run in runs:
        assert f"<tr><th>{run.name} / rl</th>" in page
    delta = rl_pass1(runs[1]) - rl_pass1(runs[0])  # second run's rl row against the first run's rl row
    row = page.split("<h3>gsm8k</h3>", 1)[1].split("<tr><th>rloo-s1 / rl</th>", 1)[1].split("</tr>", 1)[0]
    assert f"{delta:+.3f}</span>" in row
    assert "rl_reward.png" in paths and page.count("data:image/png;base64,") == len(
        [k for k in paths if k.endswith(".png")])
