"""Memory-lean token log-probs: never hold full-vocabulary float32 logits for the whole batch.

What:
    selective_log_softmax(logits (...,V), ids (...)) -> (...)   log p(id) from logits you already have
    chunked_token_logprobs(hidden (B,T,H), lm_head_weight (V,H), targets (B,T), ...) -> (logp, entropy|None)

Why: for B=16, T=384 and SmolLM2's V=49152 the float32 logits alone are 1.2 GB, and autograd keeps
the logits and the log-softmax for backward. chunked_token_logprobs flattens the B*T tokens, runs
`chunk_size` rows at a time through lm_head + log-softmax + gather, and wraps each chunk in
torch.utils.checkpoint, so backward recomputes that chunk's logits instead of storing them: peak
extra memory is O(chunk_size * V), not O(B*T*V). The price is one more lm_head matmul per chunk.
`benchmarks/logprob_memory.py` measures it: during a chunk's backward a few (chunk, V) float32
buffers are alive at once (logits, softmax, gather/logsumexp grads), about 5 x chunk_size x V x 4
bytes, e.g. ~1 GB at chunk 1024 and V=49152 versus ~4.5 GB for the naive path at B*T=6144.
(torch.utils.checkpoint imports torch._dynamo on its first call: a one-off ~3 s on CPU.)

How: the model code calls `h = model.model(input_ids, attention_mask=...).last_hidden_state` and
`chunked_token_logprobs(h[:, :-1], model.lm_head.weight, input_ids[:, 1:], temperature=t)`.
The lm head is assumed bias-free (true for Llama/Qwen/SmolLM); pass `bias=` otherwise.
Targets < 0 (e.g. -100 padding) get log-prob 0; mask them in the loss as usual.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from r1repro.kernels import linear


def selective_log_softmax(logits: Tensor, ids: Tensor, *, block_rows: int = 512) -> Tensor:
    """log_softmax(logits)[..., ids] without materialising the full log-softmax. (..., V), (...) -> (...).

    Gathers the chosen logit and subtracts a logsumexp computed `block_rows` rows at a time, so the
    temporary is (block_rows, V), never the whole batch. bf16/fp16 blocks are upcast to float32
    first (logsumexp is inaccurate in low precision); the result is then float32. Use this on logits
    that already exist (e.g. a reference model under no_grad); for training through the lm head
    prefer chunked_token_logprobs, which also avoids keeping the logits for backward.
    """
    flat = logits.reshape(-1, logits.shape[-1])  # (N, V)
    flat_ids = ids.reshape(-1, 1)  # (N, 1)
    out = []
    for s in range(0, flat.shape[0], block_rows):
        rows = flat[s : s + block_rows]  # (n, V)
        if rows.dtype not in (torch.float32, torch.float64):
            rows = rows.float()  # (n, V)
        chosen = rows.gather(-1, flat_ids[s : s + block_rows]).squeeze(-1)  # (n,)
        out.append(chosen - torch.logsumexp(rows, dim=-1))  # (n,)
    return torch.cat(out).reshape(ids.shape)  # (...)


def _chunk_logprobs(
    h: Tensor, weight: Tensor, bias: Tensor | None, t: Tensor, temperature: float, with_entropy: bool
) -> tuple[Tensor, Tensor]:
    """One chunk: lm head, float32 log-softmax, gather. (N,H), (V,H), (N,) -> (N,), (N,)."""
    logits = linear(h, weight, bias)  # (N, V); on CPU in float32 through oneDNN (r1repro.kernels)
    if logits.dtype in (torch.bfloat16, torch.float16):
        logits = logits.float()  # (N, V) log-softmax in float32 (float64 stays float64)
    if temperature != 1.0:
        logits = logits / temperature  # (N, V), a copy: skipped at 1.0
    logz = torch.logsumexp(logits, dim=-1)  # (N,)
    valid = t >= 0  # (N,)
    chosen = logits.gather(-1, t.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (N,)
    logp = torch.where(valid, chosen - logz, torch.zeros_like(logz))  # (N,)
    if with_entropy:
        ent = logz - (torch.softmax(logits, dim=-1) * logits).sum(-1)  # (N,)
    else:
        ent = torch.zeros_like(logz)  # (N,) placeholder so checkpoint sees a fixed output
    return logp, ent


def chunked_token_logprobs(
    hidden: Tensor,
    lm_head_weight: Tensor,
    targets: Tensor,
    *,
    chunk_size: int = 1024,
    temperature: float = 1.0,
    with_entropy: bool = False,
    bias: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """log p(target) and optionally the entropy per token, chunk_size tokens at a time.

    (B,T,H), (V,H), (B,T) -> logp (B,T), entropy (B,T) or None; float32 for bf16/fp16/fp32 inputs.
    Logits are divided by `temperature` before the softmax (match the sampler's temperature).
    With gradients enabled each chunk runs under non-reentrant torch.utils.checkpoint, so backward
    recomputes the chunk's logits; without gradients (reference model) the chunks just run.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    b, t, h = hidden.shape
    flat_h = hidden.reshape(b * t, h)  # (N, H)
    flat_t = targets.reshape(b * t)  # (N,)
    needs_grad = torch.is_grad_enabled() and (
        hidden.requires_grad or lm_head_weight.requires_grad or (bias is not None and bias.requires_grad)
    )
    logps, ents = [], []
    for s in range(0, b * t, chunk_size):
        args = (flat_h[s : s + chunk_size], lm_head_weight, bias, flat_t[s : s + chunk_size])
        if needs_grad:
            lp, en = checkpoint(_chunk_logprobs, *args, temperature, with_entropy, use_reentrant=False)
        else:
            lp, en = _chunk_logprobs(*args, temperature, with_entropy)
        logps.append(lp)
        ents.append(en)
    logp = torch.cat(logps).reshape(b, t)  # (B, T)
    entropy = torch.cat(ents).reshape(b, t) if with_entropy else None  # (B, T)
    return logp, entropy
