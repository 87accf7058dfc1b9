"""A lean sampling loop for small models: KV cache, finished rows leave the batch, cheap stop checks.

Why: for small models on CPU, transformers' `generate` spends much of each step outside the model
(logits processors, stopping criteria) and keeps computing rows that already finished. This loop
does prefill + one forward per token, samples with temperature / top-p from a seeded generator,
and drops finished rows from the batch and the cache (the last live row takes a finished row's
place, so the cache copies a few rows, not all of them). The KV cache is written in place into
preallocated room (GrowingLayer) instead of being re-concatenated every token, and sampling uses
one uniform per row and a top-64 nucleus: on SmolLM2-135M (2 CPU threads, 32 rows, 64 tokens) the
two took generation from 50 to 78 tokens/s (docs/real-models.md). On CPU the linear layers run on the
CPU's faster kernel (r1repro.kernels.frozen_linears: oneDNN on AMD, MKL on transposed weights
elsewhere), the inverse-CDF draw searches block sums first (_draw), rows that share a prompt of
96 tokens or more read its keys/values once per step (shared_prefix_attention), and for the plain
Llama and Qwen2 classes a decode step runs as tensor code over the model's weights (lean_decode_step),
with its attention and small operations in C where r1repro.native builds decode.c (native_decode_step:
SmolLM2-135M, 128 rows, 2 Xeon threads, 436 -> 532 tokens/s in one process).
Greedy output equals `model.generate`'s (tests/unit/test_rollout_contract.py); the HF backend uses
`generate` for models it was not checked on (engine: "generate").
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from transformers import AttentionInterface, DynamicCache
from transformers.cache_utils import Cache, DynamicLayer

from r1repro import native
from r1repro.kernels import block_product, frozen_linears
from r1repro.models import cache_kw, distinct_left_padded

DRAW_BLOCK = 256  # _draw searches block sums first, then one block of this many columns
NUCLEUS_CANDIDATES = 64  # top-p looks at the 64 likeliest tokens first; exact whenever they hold > top_p


def _search(cdf: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """(R, 1): per row, the first column of the (R, N) cumulative sums that exceeds u (R, 1). u is kept
    below the row's total, so the column found has a positive probability even when u rounds up."""
    u = torch.minimum(u, torch.nextafter(cdf[:, -1:], torch.zeros_like(cdf[:, -1:])))
    return torch.searchsorted(cdf, u, right=True)


def _draw(probs: torch.Tensor, gen: torch.Generator, order: torch.Tensor | None = None) -> torch.Tensor:
    """One index per row of (R, N) unnormalised probabilities, by inverse CDF: one uniform per row.

    torch.multinomial draws an exponential for every column (53 ms a step for 32 x 49,152 on one
    CPU); a cumulative sum and a binary search sample the same distribution with one uniform. Over a
    large vocabulary the search runs in two levels: over the sums of DRAW_BLOCK-column blocks (float32
    sums, whose pairwise reduction errs by ~1e-7 relative, the softmax's own precision), then inside
    the chosen block only, in float64. A float64 cumsum over 49,152 columns took 117 ms for 128 rows
    on one Zen 3 thread, this 5.5 ms; below 8 blocks the one-level search is cheaper and stays.
    A zero-probability token is never drawn.
    order (R,): row j takes the order[j]-th uniform (the loop's rows are not in request order)."""
    r, n = probs.shape
    u = torch.rand(r, 1, generator=gen, device=probs.device, dtype=torch.float64)  # (R, 1)
    u = u if order is None else u[order]
    if n <= 8 * DRAW_BLOCK:
        cdf = probs.double().cumsum(-1)  # (R, N)
        return _search(cdf, u * cdf[:, -1:]).squeeze(-1)
    pad = -n % DRAW_BLOCK
    blocks = (F.pad(probs, (0, pad)) if pad else probs).reshape(r, -1, DRAW_BLOCK)  # (R, B, S)
    cdf = blocks.sum(-1).double().cumsum(-1)  # (R, B)
    u = u * cdf[:, -1:]
    b = _search(cdf, u)  # (R, 1)
    before = F.pad(cdf, (1, 0)).gather(1, b)  # (R, 1): the mass of the blocks before it
    inner = blocks[torch.arange(r, device=probs.device), b.squeeze(1)].double().cumsum(-1)  # (R, S)
    return (b * DRAW_BLOCK + _search(inner, u - before)).squeeze(-1)  # (R,)


def _nucleus(sorted_p: torch.Tensor, top_p: float) -> torch.Tensor:
    """Zero the tokens of descending-sorted probabilities whose preceding mass already exceeds top_p."""
    return sorted_p.masked_fill(sorted_p.cumsum(-1) - sorted_p > top_p, 0.0)


def _sample(logits: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator,
            order: torch.Tensor | None = None) -> torch.Tensor:
    """Next token per row from (R, V) logits: greedy when temperature is 0, else temperature + nucleus.
    Float32 logits are overwritten: exp((logits - max) / T) in place, the softmax's numerators (_draw
    needs no normalising). torch.softmax(logits / T) wrote two fresh (R, V) tensors a step: for 128 x
    49,152 13 ms against 3 here beside a 22 ms LM head (2 threads of the Xeon, family 6 model 207)."""
    if temperature <= 0:
        return logits.argmax(-1)  # (R,)
    x = logits.float()  # (R, V): the logits themselves when float32
    probs = x.sub_(x.amax(-1, keepdim=True)).mul_(1.0 / temperature).exp_()  # (R, V), unnormalised
    if top_p >= 1.0:
        return _draw(probs, gen, order)
    probs = probs.div_(probs.sum(-1, keepdim=True))  # the nucleus is a share of the whole mass
    # A token outside the top K has more than the top K's mass before it, so when that mass exceeds
    # top_p for every row the nucleus lies inside the top K: no full-vocabulary sort is needed.
    top, idx = probs.topk(min(NUCLEUS_CANDIDATES, probs.shape[-1]), dim=-1)  # (R, K), descending
    if not bool((top.sum(-1) > top_p).all()):
        top, idx = probs.sort(dim=-1, descending=True)  # (R, V)
    return idx.gather(-1, _draw(_nucleus(top, top_p), gen, order)[:, None]).squeeze(-1)  # (R,)


class StopChecker:
    """Detects stop strings at the end of a row's tokens, decoding only when the new token could end one."""

    def __init__(self, tokenizer, stop: Sequence[str]):
        self.tokenizer, self.stop = tokenizer, tuple(stop)
        last_chars = {s[-1] for s in self.stop}
        vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        # byte-level tokens spell bytes differently; decode each id once to see its text
        self.may_end = {i for i in range(len(vocab)) if any(c in tokenizer.decode([i]) for c in last_chars)}
        self.window = max((len(s) for s in self.stop), default=0) + 2

    def hit(self, tokens: list[int]) -> bool:
        if not self.stop or tokens[-1] not in self.may_end:
            return False
        tail = self.tokenizer.decode(tokens[-self.window :], skip_special_tokens=True)
        return any(s in tail for s in self.stop)


class GrowingLayer(DynamicLayer):
    """A DynamicLayer that writes new keys/values into spare capacity instead of re-concatenating.

    DynamicLayer copies the whole layer cache on every token (torch.cat), so a step costs time
    proportional to the cache; here capacity doubles when full and a step writes only the new token.
    keys/values are views of the first `length` positions, which attention reads as they are.
    `capacity` (prompt width + max_new_tokens in the loop) sizes the first allocation."""

    def __init__(self, capacity: int = 0):
        super().__init__()
        self.capacity = capacity

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self._k = self._v = None
        self._len = 0

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        k, v = self.append(key_states, value_states)
        k.copy_(key_states)
        v.copy_(value_states)
        return self.keys, self.values

    def append(self, key_like: torch.Tensor, value_like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Room for key_like's S positions (key_like/value_like (B, H, S, D) give shapes and dtype): the
        views of the keys' and values' buffers there (B, H, S, D), for the caller to fill."""
        if not self.is_initialized:
            self.lazy_initialization(key_like, value_like)
        n, s = self._len, key_like.shape[-2]
        if self._k is None or n + s > self._k.shape[-2]:
            cap = max(self.capacity, 2 * (n + s))
            b, h, _, d = key_like.shape  # (B, H, S, D)
            k = key_like.new_empty(b, h, cap, d)
            v = value_like.new_empty(b, h, cap, value_like.shape[-1])
            if n:
                k[:, :, :n], v[:, :, :n] = self._k[:, :, :n], self._v[:, :, :n]
            self._k, self._v = k, v
        self._len = n + s
        self.keys, self.values = self._k[:, :, : self._len], self._v[:, :, : self._len]
        return self._k[:, :, n : n + s], self._v[:, :, n : n + s]

    def get_seq_length(self) -> int:
        return self._len if self.is_initialized else 0

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Row j becomes row indices[j], copying only the filled positions, not the spare room.

        More rows (a prompt's prefill fanned out to its samples) go to new buffers. Fewer rows stay in
        the same buffers and only the rows whose place changes are copied: the loop fills a finished
        row's place with a row from the end (sample_loop), so that is a few rows, not the whole cache."""
        if self.get_seq_length() == 0:
            return
        n, m = self._len, len(indices)
        if m > self._k.shape[0]:
            k, v = self._k[:, :, :n].index_select(0, indices), self._v[:, :, :n].index_select(0, indices)  # (m, H, n, D)
            self._k = k.new_empty(m, k.shape[1], self._k.shape[2], k.shape[3])
            self._v = v.new_empty(m, v.shape[1], self._v.shape[2], v.shape[3])
            self._k[:, :, :n], self._v[:, :, :n] = k, v
        else:
            dst = (indices != torch.arange(m, device=indices.device)).nonzero().squeeze(1)  # rows that change
            if len(dst):  # the right-hand side is gathered before it is written: overlap is safe
                src = indices[dst]
                self._k[dst, :, :n], self._v[dst, :, :n] = self._k[src, :, :n], self._v[src, :, :n]
            self._k, self._v = self._k[:m], self._v[:m]
        self.keys, self.values = self._k[:, :, :n], self._v[:, :, :n]


# ------------------------------------------------------------------------------ shared-prefix attention
# The k samples of a prompt share its keys/values. A decode step of the plain loop reads them k times
# (each row's cache holds its own copy); here each distinct prompt's keys/values are kept once and a
# step's attention runs in two parts merged by their log-sum-exps, as FlashInfer's and vLLM's cascade
# attention do: the rows of a prompt attend together to the prompt (one pass per prompt, all its rows'
# queries at once), each row alone to the tokens it generated. Gated to the CPU (the flash kernel that
# returns log-sum-exps) and to model types whose attention takes the attention interface's kwargs.
SHARED_PREFIX_IMPL = "r1repro_shared_prefix"
SHARED_PREFIX_MODELS = ("llama", "qwen2")  # checked against `generate` (tests/unit/test_rollout_loop.py)
# below this prompt width the two passes' extra operations cost what the shared reads save: SmolLM2-135M,
# 128 rows of 16 prompts, 2 Zen 5 threads: 72-token prompts even, 112 tokens +5%, 333 tokens +25% and
# 2.3x less memory (docs/benchmarks.md)
SHARED_PREFIX_MIN_WIDTH = 96
_FLASH_CPU = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)


def _flash(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float | None, bias: torch.Tensor | None = None):
    """softmax(q k^T scale + bias) v (B, H, Lq, D) and the log-sum-exp of each query's scores (B, H, Lq)."""
    return _FLASH_CPU(q, k, v, 0.0, False, attn_mask=bias, scale=scale)


def shared_prefix_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                            shared_prefix=None, **kwargs):
    """A decode step's attention (one query per row) for a SharedPrefixCache: key/value are the rows'
    generated tokens (R, Hkv, G, D); the prompts' keys/values, once per distinct prompt, come from
    the cache. A key/value head's g query heads act as g queries of it (no repeat of keys/values)."""
    cache: SharedPrefixCache = shared_prefix
    layer = cache.layers[module.layer_idx]
    r, h, _, d = query.shape  # (R, H, 1, D)
    hkv = key.shape[1]
    g = h // hkv
    q = query.reshape(r, hkv, g, d)  # (R, Hkv, g, D)
    out_s, lse_s = _flash(q, key, value, scaling)  # each row over its own generated tokens
    u = layer.prefix_keys.shape[0]
    qp = q.new_zeros(u, hkv, cache.slots, g, d)  # each prompt's rows' queries side by side
    qp[cache.src, :, cache.slot] = q
    out_p, lse_p = _flash(qp.view(u, hkv, -1, d), layer.prefix_keys, layer.prefix_values, scaling, cache.bias)
    out_p = out_p.reshape(u, hkv, cache.slots, g, d)[cache.src, :, cache.slot]  # (R, Hkv, g, D)
    lse_p = lse_p.reshape(u, hkv, cache.slots, g)[cache.src, :, cache.slot]  # (R, Hkv, g)
    lse = torch.logaddexp(lse_p, lse_s)
    out = out_p * (lse_p - lse).exp().unsqueeze(-1) + out_s * (lse_s - lse).exp().unsqueeze(-1)
    return out.to(query.dtype).reshape(r, 1, h, d), None  # (R, 1, H, D)


class SharedPrefixLayer(DynamicLayer):
    """One layer's cache for rows that share prompts: the prefill's keys/values, one row per distinct
    prompt (U, Hkv, P, D), and each row's generated tokens in a GrowingLayer (R, Hkv, G, D)."""

    def __init__(self, prefill: DynamicLayer, capacity: int):
        super().__init__()
        self.prefix_keys, self.prefix_values = prefill.keys.contiguous(), prefill.values.contiguous()  # (U, Hkv, P, D)
        self.suffix = GrowingLayer(capacity)
        self.device, self.is_initialized = prefill.keys.device, True

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        self.keys, self.values = self.suffix.update(key_states, value_states)
        return self.keys, self.values

    def append(self, key_like: torch.Tensor, value_like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """GrowingLayer.append on the rows' own tokens: views of the new positions, for the caller to fill."""
        k, v = self.suffix.append(key_like, value_like)
        self.keys, self.values = self.suffix.keys, self.suffix.values
        return k, v

    def get_seq_length(self) -> int:
        return self.prefix_keys.shape[-2] + self.suffix.get_seq_length()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self.suffix.batch_select_indices(indices)
        self.keys, self.values = self.suffix.keys, self.suffix.values


class SharedPrefixCache(Cache):
    """The decode-time cache of sample_loop when rows share prompts: SharedPrefixLayers plus, shared by
    all layers, each live row's prompt (src) and place among that prompt's rows (slot), and the
    prompts' left padding as an additive bias (U, 1, 1, P)."""

    def __init__(self, prefill: DynamicCache, src: list[int], prompt_mask: torch.Tensor, capacity: int):
        super().__init__(layers=[SharedPrefixLayer(layer, capacity) for layer in prefill.layers])
        taken: dict[int, int] = {}  # rows of each prompt so far
        slot = []
        for s in src:
            slot.append(taken.get(s, 0))
            taken[s] = slot[-1] + 1
        device = prompt_mask.device
        self.src = torch.tensor(src, device=device)  # (R,)
        self.slot = torch.tensor(slot, device=device)  # (R,)
        self.slots = max(slot) + 1
        self.bias = padding_bias(prompt_mask, prefill.layers[0].keys.dtype)  # (U, 1, 1, P) or None
        self._logits: torch.Tensor | None = None

    def logits_buffer(self, rows: int, vocab: int, like: torch.Tensor) -> torch.Tensor:
        """(rows, vocab): the first rows of one buffer kept for the whole loop (native_decode_step's logits)."""
        if self._logits is None or self._logits.shape[0] < rows or self._logits.shape[1] != vocab:
            self._logits = like.new_empty(rows, vocab)
        return self._logits[:rows]

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Row j becomes row indices[j] (fewer rows as rows finish; see GrowingLayer)."""
        self.src, self.slot = self.src[indices], self.slot[indices]
        for layer in self.layers:
            layer.batch_select_indices(indices)


def decode_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scaling: float,
                     prompt_bias: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(q k^T scaling + bias) v for one query per row, as two batched matrix multiplies: query
    (R, H, 1, D), key/value the cache (R, Hkv, L, D), a key/value head's g query heads as g queries of
    it, in their dtype (float32 under lean_decode_applies). prompt_bias (R, 1, 1, P) is added to the
    first P positions (-inf on the prompts' left padding).
    SDPA's flash kernel runs one small product per row and head: 1.35 vs 1.00 ms a layer at 128 rows
    and 101 positions, 2.78 vs 1.51 ms at 180 (SmolLM2-135M's heads, 2 threads of the Xeon)."""
    r, h, _, d = query.shape
    hkv = key.shape[1]
    scores = torch.matmul(query.reshape(r, hkv, h // hkv, d), key.transpose(-1, -2))  # (R, Hkv, g, L)
    scores.mul_(scaling)
    if prompt_bias is not None:
        scores[..., : prompt_bias.shape[-1]] += prompt_bias
    out = torch.matmul(scores.softmax(-1), value)  # (R, Hkv, g, D)
    return out.reshape(r, 1, h, d)  # (R, 1, H, D)


# ------------------------------------------------------------------------------ native decode step
# lean_decode_step with the work between its matrix multiplies in C (r1repro/rollout/decode.c, built by
# r1repro.native). Attention runs over a SharedPrefixCache whatever the rows a prompt: each row and head's
# scores, softmax and weighted values in registers, each prompt's keys/values kept once (no fan-out copy
# at the prefill) and read from the CPU's cache for its other rows. SmolLM2-135M, 128 rows of 16 prompts,
# 2 threads of a Xeon (family 6 model 207), the benchmark's batch in one process, rotated order: 436
# tokens/s in PyTorch, 479 with the C attention, 532 with the small operations in C too (docs/benchmarks.md).
NATIVE_HEAD_DIMS = (32, 64, 128)  # the kernel's unrolled head sizes
NATIVE_MAX_GROUP = 8  # query heads a key/value head


@functools.cache
def _native_kernel():
    """r1repro/rollout/decode.c's functions (attention, add_rmsnorm, silu_mul, qkv_rope) with their
    argument types, or None where the library was not built."""
    ptr, n, f = ctypes.c_void_p, ctypes.c_long, ctypes.c_float
    return native.functions("rollout/decode", attention=[ptr] * 6 + [n] * 4 + [ptr, ptr] + [n] * 6 + [f],
                            add_rmsnorm=[ptr, ptr, n, n, ptr, f, ptr, n, n], silu_mul=[ptr, ptr, n, n, ptr, n],
                            qkv_rope=[ptr] * 3 + [n] * 2 + [ptr] * 8 + [n] * 6)


def native_decode_applies(model) -> bool:
    """Whether sample_loop's decode steps run native_decode_step: lean_decode_applies, a head size the
    kernel unrolls, at most NATIVE_MAX_GROUP query heads a key/value head, SiLU, no bias but on q/k/v's
    projections, and decode.c built."""
    if not lean_decode_applies(model):
        return False
    layers, a = model.model.layers, model.model.layers[0].self_attn
    plain = all(getattr(layer.mlp, n).bias is None for layer in layers for n in ("gate_proj", "up_proj", "down_proj")) \
        and all(layer.self_attn.o_proj.bias is None for layer in layers) and model.lm_head.bias is None
    return (a.head_dim in NATIVE_HEAD_DIMS and a.q_proj.out_features // a.k_proj.out_features <= NATIVE_MAX_GROUP
            and plain and getattr(model.config.get_text_config(decoder=True), "hidden_act", None) == "silu"
            and _native_kernel() is not None)


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def native_decode_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scaling: float,
                            cache: SharedPrefixCache, layer: SharedPrefixLayer) -> torch.Tensor:
    """decode_attention over a SharedPrefixCache in one C call: query (R, H, 1, D) float32, key/value the
    rows' own tokens (R, Hkv, G, D) as GrowingLayer views (rows and heads strided, positions contiguous),
    the prompts' keys/values (U, Hkv, P, D) from the layer. -> (R, 1, H, D)."""
    r, h, _, d = query.shape
    hkv, g = key.shape[1], key.shape[2]
    kp, vp = layer.prefix_keys, layer.prefix_values
    assert query.is_contiguous() and key.stride()[2:] == (d, 1) and value.stride()[2:] == (d, 1) \
        and cache.src.dtype == torch.int64 and cache.src.is_contiguous() \
        and (cache.bias is None or cache.bias.is_contiguous()), "native attention's layout"
    out = torch.empty(r, 1, h, d, dtype=query.dtype)  # cache.bias (U, 1, 1, P) is read as (U, P)
    _native_kernel().attention(query.data_ptr(), kp.data_ptr(), vp.data_ptr(), _ptr(cache.bias), key.data_ptr(),
                               value.data_ptr(), key.stride(0), key.stride(1), value.stride(0), value.stride(1),
                               cache.src.data_ptr(), out.data_ptr(), r, hkv, h // hkv, d, kp.shape[2], g, scaling)
    return out


def native_decode_step(model, ids: torch.Tensor, positions: torch.Tensor, cache: SharedPrefixCache) -> torch.Tensor:
    """lean_decode_step with its small operations in C (decode.c): a residual add with the next RMSNorm,
    SiLU x up, and q/k/v's biases, RoPE and cache writes each one call, on the linear layers' column
    blocks as they come (kernels.block_product: no reassembly); attention by native_decode_attention.
    ids, positions (R,) -> next-token logits (R, V). For native_decode_applies models."""
    ops, m, r = _native_kernel(), model.model, ids.shape[0]
    h = m.embed_tokens.forward(ids)  # (R, C), the residual stream, updated in place
    cos, sin = (t.reshape(r, -1).contiguous() for t in m.rotary_emb(h, positions[:, None]))  # (R, D)
    x = torch.empty_like(h)  # each norm's output
    layers, c = m.layers, h.shape[1]
    a0 = layers[0].self_attn
    d = a0.head_dim
    heads, kv_heads = a0.q_proj.out_features // d, a0.k_proj.out_features // d
    like = h.new_empty(r, kv_heads, 1, d)  # the shape of a step's keys/values, for GrowingLayer.append

    def add_norm(y: torch.Tensor | None, norm) -> None:  # h += y (blocks); x = norm(h)
        p, n = (1, 0) if y is None else (y.shape[0], y.shape[2])
        ops.add_rmsnorm(h.data_ptr(), _ptr(y), p, n, norm.weight.data_ptr(), norm.variance_epsilon, x.data_ptr(), r, c)

    add_norm(None, layers[0].input_layernorm)
    for i, layer in enumerate(layers):
        a, mlp, cache_layer = layer.self_attn, layer.mlp, cache.layers[i]
        q, k, v = (block_product(p, x) for p in (a.q_proj, a.k_proj, a.v_proj))  # (P, R, N/P) each
        kc, vc = cache_layer.append(like, like)  # (R, Hkv, 1, D) views at this step's position
        qr = torch.empty(r, heads, 1, d)
        ops.qkv_rope(q.data_ptr(), k.data_ptr(), v.data_ptr(), q.shape[2], k.shape[2], _ptr(a.q_proj.bias),
                     _ptr(a.k_proj.bias), _ptr(a.v_proj.bias), cos.data_ptr(), sin.data_ptr(), qr.data_ptr(),
                     kc.data_ptr(), vc.data_ptr(), kc.stride(0), kc.stride(1), r, heads, kv_heads, d)
        out = native_decode_attention(qr, cache_layer.keys, cache_layer.values, a.scaling, cache, cache_layer)
        add_norm(block_product(a.o_proj, out.view(r, -1)), layer.post_attention_layernorm)
        g, u = block_product(mlp.gate_proj, x), block_product(mlp.up_proj, x)  # (P, R, I/P)
        act = torch.empty(r, g.shape[0] * g.shape[2])
        ops.silu_mul(g.data_ptr(), u.data_ptr(), g.shape[0], g.shape[2], act.data_ptr(), r)
        add_norm(block_product(mlp.down_proj, act), layers[i + 1].input_layernorm if i + 1 < len(layers) else m.norm)
    # the logits into one buffer for the whole loop (_sample overwrites them in place; the next step's go
    # where they were): 25 MB a step at 128 rows that is not fresh pages each time (+2% tokens/s)
    buffer = cache.logits_buffer(r, model.lm_head.out_features, like=h)
    return block_product(model.lm_head, x, out=buffer[None])[0]  # (R, V)


def padding_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor | None:
    """(R, 1, 1, P): 0 where the (R, P) attention mask is 1, -inf where 0; None when nothing is padded."""
    if bool(mask.all()):
        return None
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask == 0, float("-inf"))[:, None, None]


def shares_prefix(model, distinct: int, rows: int, width: int) -> bool:
    """Whether sample_loop decodes with shared-prefix attention: on CPU, for the checked model types
    with full attention everywhere and SDPA, when rows share prompts (at least two rows a prompt) of
    at least SHARED_PREFIX_MIN_WIDTH tokens (the padded width)."""
    text = model.config.get_text_config(decoder=True) if getattr(model, "config", None) is not None else None
    return (rows >= 2 * distinct and width >= SHARED_PREFIX_MIN_WIDTH and _FLASH_CPU is not None
            and getattr(text, "model_type", None) in SHARED_PREFIX_MODELS and _full_sdpa_on_cpu(model))


def _full_sdpa_on_cpu(model) -> bool:
    """The model (its text decoder's config) attends through SDPA with full attention in every layer, on CPU."""
    config = getattr(model, "config", None)
    if config is None:
        return False
    types = getattr(config.get_text_config(decoder=True), "layer_types", None) or []
    return (getattr(config, "_attn_implementation", None) == "sdpa" and all(t == "full_attention" for t in types)
            and next(model.parameters()).device.type == "cpu")


@contextlib.contextmanager
def _attention_implementation(model, name: str):
    """model.config._attn_implementation is `name` inside (the attention modules read it every forward)."""
    config = model.config
    before = config._attn_implementation
    config._attn_implementation = name
    try:
        yield
    finally:
        config._attn_implementation = before


AttentionInterface.register(SHARED_PREFIX_IMPL, shared_prefix_attention)


# ------------------------------------------------------------------------------ lean decode step
# At a decode step's small batches transformers' decoder layers spend much of their time outside the
# matrix multiplies: module calls, keyword plumbing, the mask and the RoPE helpers. For the plain Llama
# and Qwen2 classes a step runs the same operations here as tensor code over the model's own weights
# and linear layers (their forward, so frozen_linears' kernels apply), with attention as two batched
# matrix multiplies (decode_attention) or shared_prefix_attention. SmolLM2-135M, 2 threads of a Xeon
# (family 6 model 207): 54 -> 48 ms a step at 8 rows, 208 -> 191 ms at 128; the 4-layer tiny model on
# one thread: 6.0 -> 4.8 ms at 128 rows (docs/benchmarks.md).
LEAN_MODELS = ("LlamaForCausalLM", "Qwen2ForCausalLM")  # checked against `generate` (tests/unit/test_rollout_loop.py)


def lean_decode_applies(model) -> bool:
    """Whether sample_loop's decode steps run lean_decode_step: a LEAN_MODELS class itself (not wrapped,
    e.g. by peft) in float32 on CPU with SDPA and full attention everywhere, its projections plain
    nn.Linear (no adapters or quantized layers) and no hooks on any module. (Other dtypes keep SDPA,
    which accumulates in float32 where decode_attention's products would not.)"""
    if type(model).__name__ not in LEAN_MODELS or not _full_sdpa_on_cpu(model):
        return False
    projections = [getattr(layer.self_attn, n) for layer in model.model.layers for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
    projections += [getattr(layer.mlp, n) for layer in model.model.layers for n in ("gate_proj", "up_proj", "down_proj")]
    return (next(model.parameters()).dtype == torch.float32
            and all(type(m) is torch.nn.Linear for m in projections + [model.lm_head])
            and not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules()))


def _rms_norm(norm, h: torch.Tensor) -> torch.Tensor:
    """LlamaRMSNorm's and Qwen2RMSNorm's forward for float32 input (their casts to float32 are no-ops)."""
    return norm.weight * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon))


def lean_decode_step(model, ids: torch.Tensor, positions: torch.Tensor, attend) -> torch.Tensor:
    """Next-token logits (R, V) for one new token per row: ids and positions (R,). attend(i, module, q, k, v)
    -> (R, 1, H, D) is layer i's attention, given the rotated query (R, H, 1, D) and the new token's key
    and value (R, Hkv, 1, D), which it writes to the cache. The operations of the model's forward, in
    its order (rotate_half's sign rides on the sine: (-x2) s = x2 (-s) exactly)."""
    m, r = model.model, ids.shape[0]
    h = m.embed_tokens.forward(ids)  # (R, C)
    cos, sin = m.rotary_emb(h, positions[:, None])  # (R, 1, D)
    half = cos.shape[-1] // 2
    sin = torch.cat([-sin[..., :half], sin[..., half:]], dim=-1)
    for i, layer in enumerate(m.layers):
        a, mlp = layer.self_attn, layer.mlp
        x = _rms_norm(layer.input_layernorm, h)
        q = a.q_proj.forward(x).view(r, -1, a.head_dim)  # (R, H, D)
        k = a.k_proj.forward(x).view(r, -1, a.head_dim)  # (R, Hkv, D)
        v = a.v_proj.forward(x).view(r, -1, 1, a.head_dim)  # (R, Hkv, 1, D)
        q = q * cos + q.roll(half, -1) * sin
        k = k * cos + k.roll(half, -1) * sin
        out = attend(i, a, q.unsqueeze(2), k.unsqueeze(2), v)  # (R, 1, H, D)
        h = h + a.o_proj.forward(out.reshape(r, -1))
        x = _rms_norm(layer.post_attention_layernorm, h)
        h = h + mlp.down_proj.forward(mlp.act_fn(mlp.gate_proj.forward(x)) * mlp.up_proj.forward(x))
    return model.lm_head.forward(_rms_norm(m.norm, h))  # (R, V)


def growing_cache(model, capacity: int = 0) -> DynamicCache:
    """A DynamicCache whose layers are GrowingLayers; a plain one for models with sliding or other
    non-full attention layers (or a transformers whose Cache no longer replicates a layer class)."""
    cache = DynamicCache()
    types = getattr(model.config.get_text_config(decoder=True), "layer_types", None) or []
    if all(t == "full_attention" for t in types) and getattr(cache, "layer_class_to_replicate", None) is DynamicLayer:
        cache.layer_class_to_replicate = functools.partial(GrowingLayer, capacity)
    return cache


def _fill_from_end(keep: list[int], rows: int) -> list[int]:
    """The live rows' new places: row j stays at j unless it is past the end (len(keep)), then it fills
    the place of a finished row. (rows = 5, keep = [0, 2, 4]) -> [0, 4, 2]."""
    m, kept = len(keep), set(keep)
    holes = [j for j in range(m) if j not in kept]
    movers = [j for j in keep if j >= m]
    sel = list(range(m))
    for h, j in zip(holes, movers):
        sel[h] = j
    return sel


class _DecodeSteps:
    """sample_loop's decode steps over its cache: lean_decode_step where it applies, else the model's
    forward (shared-prefix attention through the attention interface, or the model's own with the mask
    grown a column a step). select(rows) keeps the given rows of the cache, mask and padding bias."""

    def __init__(self, model, cache: Cache, mask: torch.Tensor, share: bool, native: bool = False):
        self.model, self.cache, self.mask, self.share, self.native = model, cache, mask, share, native
        self.lean = lean_decode_applies(model)
        # lean steps without a shared prefix: the prompts' padding as an additive bias (R, 1, 1, P)
        self.bias = padding_bias(mask, next(model.parameters()).dtype) if self.lean and not share else None

    def select(self, rows: torch.Tensor) -> None:
        self.cache.batch_select_indices(rows)
        self.mask = self.mask[rows]
        self.bias = None if self.bias is None else self.bias[rows]

    def _attend(self, i: int, module, q, k, v) -> torch.Tensor:
        k, v = self.cache.layers[i].update(k, v)
        if self.share:
            return shared_prefix_attention(module, q, k, v, None, scaling=module.scaling, shared_prefix=self.cache)[0]
        return decode_attention(q, k, v, module.scaling, self.bias)

    def __call__(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Next-token logits (R, V) for ids and positions (R, 1)."""
        if self.native:
            return native_decode_step(self.model, ids[:, 0], positions[:, 0], self.cache)
        if self.lean:
            return lean_decode_step(self.model, ids[:, 0], positions[:, 0], self._attend)
        if not self.share:
            self.mask = torch.cat([self.mask, torch.ones_like(self.mask[:, :1])], dim=1)  # (R, P + step + 1)
        out = self.model(input_ids=ids, attention_mask=None if self.share else self.mask, position_ids=positions,
                         **{cache_kw(self.model): self.cache}, use_cache=True,
                         **({"shared_prefix": self.cache} if self.share else {}))
        return out.logits[:, -1]


@torch.no_grad()
def sample_loop(model, prompt_ids: list[list[int]], *, pad_id: int, eos_id: int, max_new_tokens: int,
                temperature: float, top_p: float, seed: int, stop: StopChecker | None = None) -> list[tuple[list[int], str]]:
    """Generated ids and finish reason ("eos" | "stop" | "length") per prompt."""
    with frozen_linears(model), contextlib.ExitStack() as decoding:
        device = next(model.parameters()).device
        # the k samples of a prompt share its prefill: each distinct prompt is prefilled once, then its
        # cache row, mask and logits are copied to every row that asked for it; with shared-prefix
        # attention (shares_prefix) the cache keeps one copy per prompt and only the logits are copied
        ids, mask, src = distinct_left_padded(prompt_ids, pad_id)  # (U, P), (U, P); row -> distinct prompt
        width = ids.shape[1]
        ids, mask = ids.to(device), mask.to(device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (U, P)
        # the native kernel reads a prompt's keys/values once for all its rows, however many
        native = native_decode_applies(model)  # CPU only, as lean_decode_applies
        share = native or shares_prefix(model, len(ids), len(prompt_ids), width)
        cache = DynamicCache() if share else growing_cache(model, width + max_new_tokens)
        gen = torch.Generator(device=device).manual_seed(seed)
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, **{cache_kw(model): cache},
                    use_cache=True, logits_to_keep=1)
        logits = out.logits[:, -1]  # (U, V)
        if share:  # decode steps attend through shared_prefix_attention, which masks the padding itself
            cache = SharedPrefixCache(cache, src, mask, max_new_tokens)
        if len(ids) < len(prompt_ids):
            rows = torch.tensor(src, device=device)
            if not share:
                cache.batch_select_indices(rows)
            logits, mask, positions = logits[rows], mask[rows], positions[rows]  # (R, V), (R, P), (R, P)
        decode = _DecodeSteps(model, cache, mask, share, native)
        if share and not decode.lean:
            decoding.enter_context(_attention_implementation(model, SHARED_PREFIX_IMPL))
        next_pos = positions[:, -1:] + 1  # (R, 1)
        alive = list(range(len(prompt_ids)))  # original row of each live batch row
        order = None  # (R,): rank of each live row's original row, once rows are out of order
        tokens: list[list[int]] = [[] for _ in prompt_ids]
        finish = ["length"] * len(prompt_ids)
        for step in range(max_new_tokens):
            nxt = _sample(logits, temperature, top_p, gen, order)  # (R,)
            keep = []
            for j, tok in enumerate(nxt.tolist()):
                row = alive[j]
                tokens[row].append(tok)
                if tok == eos_id:
                    finish[row] = "eos"
                elif stop is not None and stop.hit(tokens[row]):
                    finish[row] = "stop"
                else:
                    keep.append(j)
            if not keep or step == max_new_tokens - 1:
                break
            if len(keep) < len(alive):  # finished rows leave the batch and the cache
                places = _fill_from_end(keep, len(alive))
                sel = torch.tensor(places, device=device)
                decode.select(sel)
                nxt, next_pos = nxt[sel], next_pos[sel]
                alive = [alive[j] for j in places]
                # each row keeps the uniform it would get in request order: the same samples as an ordered batch
                order = torch.tensor(alive, device=device).argsort().argsort()
            logits = decode(nxt[:, None], next_pos)
            next_pos = next_pos + 1
        return list(zip(tokens, finish))
