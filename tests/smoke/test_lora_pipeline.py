"""model.lora through real stages: SFT and RL train adapters only, the KL reference is the policy with
its adapters off, checkpoints during a stage hold the adapter, and each stage's final checkpoint is
a merged model that AutoModelForCausalLM loads (and that eval uses)."""

import json

import pytest
import torch
from conftest import MICRO, metrics, run_cli

pytest.importorskip("peft", reason="model.lora needs the lora extra (peft)")

LORA = ["model.lora={r: 4, alpha: 8}"]
# a constant reward of 1 with no baseline: every step moves the adapters (the micro model never answers right)
MOVING = ["rl.advantage=none", "rl.rewards.correct={wrong: 1, unparseable: 1}", "rl.optim.lr=1e-2"]


def test_lora_trains_saves_and_reloads_merged(tmp_path):
    from transformers import AutoModelForCausalLM

    from r1repro.config import load_recipe
    from r1repro.models import has_adapters, load_model, load_policy, token_logprobs

    run = tmp_path / "lora"
    over = [*LORA, *MOVING, "rl.kl_coef=0.1", "rl.kl_in=reward", "rl.save_every=1", "rl.keep_last=3",
            "report.enabled=false"]
    run_cli("run", str(MICRO), *over, "--run-dir", str(run))
    ckpts = run / "rl" / "checkpoints"
    assert (ckpts / "step_000002" / "adapter" / "adapter_model.safetensors").exists()
    with pytest.raises(FileNotFoundError, match="only LoRA adapters"):
        load_model(str(ckpts / "step_000002"))  # during the stage: the adapter only
    sft, final = run / "sft" / "checkpoints" / "step_000004", ckpts / "step_000003"
    assert json.loads((final / "meta.json").read_text())["merged"] is True

    cfg = load_recipe(MICRO, over)
    policy, tok = load_policy(str(sft), final, cfg.model)  # RL's start + its final adapter
    merged = AutoModelForCausalLM.from_pretrained(final)
    start = AutoModelForCausalLM.from_pretrained(sft)  # SFT's own merged model: RL's starting weights
    assert not has_adapters(merged) and has_adapters(policy)
    ids = torch.tensor([tok("Q: 1 + 2 = ? A: 3")["input_ids"]])
    mask = torch.ones_like(ids)
    mask[:, :3] = 0
    with torch.no_grad():
        lp = {name: token_logprobs(m, ids, torch.ones_like(ids), mask)[0]
              for name, m in (("policy", policy), ("merged", merged), ("start", start))}
    assert torch.allclose(lp["merged"], lp["policy"], atol=1e-5)
    assert not torch.allclose(lp["merged"], lp["start"], atol=1e-4)  # RL moved the weights

    state = torch.load(final / "trainer_state.pt", weights_only=False)
    n_lora = sum(p.requires_grad for p in policy.parameters())
    assert len(state["optimizer"]["param_groups"][0]["params"]) == n_lora  # the optimizer holds the adapters only
    records = [r for r in metrics(run / "rl" / "metrics.jsonl") if "reward/mean" in r]
    assert records[0]["reward/mean"] == 1.0 and 1.0 > records[1]["reward/mean"]  # KL to the adapters-off base
    assert (run / "eval" / "rl" / "arith" / "summary.json").exists()  # eval loaded the merged model
