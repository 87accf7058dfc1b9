"""LoRA (peft) on the tiny model: merged weights by hand, the reference with adapters disabled, and
checkpoints that hold the adapter (and, at the end of a stage, the merged model)."""

import pytest
import torch

pytest.importorskip("peft", reason="model.lora needs the lora extra (peft)")

from r1repro.config import LoRAConfig, ModelConfig, TinyModelConfig  # noqa: E402
from r1repro.models import (  # noqa: E402
    ADAPTER_DIR,
    adapters_disabled,
    add_lora,
    build_tiny_model,
    has_adapters,
    load_model,
    load_policy,
    merged_state_dict,
    save_checkpoint,
    token_logprobs,
    train_tokenizer,
)

TINY = TinyModelConfig(hidden_size=8, layers=1, heads=2, intermediate_size=16, vocab_size=300)
IDS = torch.tensor([[5, 6, 7, 8, 9, 10]])
MASK = torch.tensor([[0, 0, 1, 1, 1, 1]])  # the last four tokens are the "completion"


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer([f"{a} + {b} = {a + b}" for a in range(20) for b in range(20)], 300)


def logprobs(model):
    with torch.no_grad():
        return token_logprobs(model, IDS, torch.ones_like(IDS), MASK)[0]


def adapted(tok, r=2, alpha=4.0, targets=("q_proj",)):
    return add_lora(build_tiny_model(TINY, tok, seed=0), LoRAConfig(r=r, alpha=alpha, target_modules=targets))


def test_fresh_adapters_start_exactly_at_the_base_model(tok):
    base = logprobs(build_tiny_model(TINY, tok, seed=0))
    model = adapted(tok)
    assert has_adapters(model) and not has_adapters(build_tiny_model(TINY, tok, seed=0))
    assert torch.equal(logprobs(model), base)  # B = 0
    assert all("lora_" in n for n, p in model.named_parameters() if p.requires_grad)


def test_merged_weight_by_hand(tok):
    model = adapted(tok, r=2, alpha=4.0)  # scale alpha / r = 2
    layer = model.get_base_model().model.layers[0].self_attn.q_proj
    w = layer.base_layer.weight.detach().clone()  # (8, 8)
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(torch.eye(2, 8))  # A: picks input features 0 and 1
        layer.lora_B["default"].weight.fill_(0.5)  # B: every output gets half of each
    merged = merged_state_dict(model)
    # 2 * B @ A = 2 * 0.5 = 1.0 in input columns 0 and 1, nothing elsewhere
    expected = w.clone()
    expected[:, :2] += 1.0
    assert torch.allclose(merged["model.layers.0.self_attn.q_proj.weight"], expected, atol=1e-7)
    assert torch.equal(merged["model.layers.0.self_attn.k_proj.weight"],
                       model.get_base_model().model.layers[0].self_attn.k_proj.weight)  # not adapted
    assert not any("lora_" in k or "base_layer" in k for k in merged)
    assert torch.equal(layer.base_layer.weight, w)  # out of place: the training model is unchanged


def test_reference_is_the_base_with_adapters_disabled(tok):
    base = logprobs(build_tiny_model(TINY, tok, seed=0))
    model = adapted(tok, targets=("q_proj", "v_proj", "up_proj"))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.5)
    moved = logprobs(model)
    with adapters_disabled(model):
        ref = logprobs(model)
    assert torch.equal(ref, base) and not torch.allclose(moved, base, atol=1e-4)
    assert torch.equal(logprobs(model), moved)  # the adapters are back on after the context


def test_checkpoints_hold_the_adapter_and_the_final_one_the_merged_model(tok, tmp_path):
    from transformers import AutoModelForCausalLM

    save_checkpoint(build_tiny_model(TINY, tok, seed=0), tok, tmp_path / "base")
    cfg = ModelConfig(path=str(tmp_path / "base"), lora=LoRAConfig(r=2, alpha=4.0, target_modules=("q_proj", "v_proj")))
    model, _ = load_policy(str(tmp_path / "base"), None, cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.5)
    trained = logprobs(model)
    save_checkpoint(model, tok, tmp_path / "mid", merged=False)
    save_checkpoint(model, tok, tmp_path / "final", merged=True)
    assert (tmp_path / "mid" / ADAPTER_DIR / "adapter_config.json").exists()
    assert not (tmp_path / "mid" / "config.json").exists()
    with pytest.raises(FileNotFoundError, match="only LoRA adapters"):
        load_model(str(tmp_path / "mid"))
    resumed, _ = load_policy(str(tmp_path / "base"), tmp_path / "mid", cfg)  # base + the saved adapter
    assert torch.equal(logprobs(resumed), trained)
    assert any(p.requires_grad for p in resumed.parameters())  # trainable again
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "final")  # a plain HF model
    assert not has_adapters(merged)
    assert torch.allclose(logprobs(merged), trained, atol=1e-5)
