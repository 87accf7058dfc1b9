"""Memory-lean log-probs: hand values, gradients equal to the naive computation (float64), and a
check through saved-tensor hooks that no (B*T, V) tensor is kept for backward."""

import math

import pytest
import torch
import torch.nn.functional as F

from r1repro.algos.logprobs import chunked_token_logprobs, selective_log_softmax

F64 = torch.float64


def test_selective_log_softmax_hand_values():
    # uniform over 4: log(1/4); logits log([1, 3]) -> p(1) = 3/4
    logits = torch.tensor([[[0.0, 0.0, 0.0, 0.0], [0.0, math.log(3.0), -50.0, -50.0]]], dtype=F64)
    out = selective_log_softmax(logits, torch.tensor([[2, 1]]))
    expected = torch.tensor([[-math.log(4.0), math.log(0.75)]], dtype=F64)
    assert out.shape == (1, 2) and torch.allclose(out, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_selective_log_softmax_matches_log_softmax(dtype):
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(3, 5, 11, generator=g) * 4).to(dtype)
    ids = torch.randint(0, 11, (3, 5), generator=g)
    want = F.log_softmax(logits.float(), -1).gather(-1, ids[..., None]).squeeze(-1)
    got = selective_log_softmax(logits, ids, block_rows=4)  # 15 rows in blocks of 4, 4, 4, 3
    assert got.dtype == torch.float32 and torch.allclose(got, want, atol=1e-5)


def _naive(h, w, t, temperature=1.0, bias=None):
    logits = F.linear(h, w, bias) / temperature  # (B, T, V)
    logp_all = F.log_softmax(logits, -1)
    logp = logp_all.gather(-1, t.clamp(min=0)[..., None]).squeeze(-1)
    ent = -(logp_all.exp() * logp_all).sum(-1)
    return torch.where(t >= 0, logp, torch.zeros_like(logp)), ent


def test_chunked_hand_value():
    # zero weights: every logit 0, so log p = -log V and entropy = log V for every token
    h = torch.randn(2, 3, 4, dtype=F64)
    logp, ent = chunked_token_logprobs(
        h, torch.zeros(5, 4, dtype=F64), torch.zeros(2, 3, dtype=torch.long), chunk_size=4, with_entropy=True
    )
    assert torch.allclose(logp, torch.full((2, 3), -math.log(5), dtype=F64))
    assert torch.allclose(ent, torch.full((2, 3), math.log(5), dtype=F64))


@pytest.mark.parametrize("chunk_size", [1, 3, 10, 64])
@pytest.mark.parametrize("with_bias", [False, True])
def test_chunked_matches_naive_values_and_gradients(chunk_size, with_bias):
    g = torch.Generator().manual_seed(chunk_size)
    h = torch.randn(2, 5, 4, dtype=F64, generator=g, requires_grad=True)
    w = torch.randn(7, 4, dtype=F64, generator=g, requires_grad=True)
    bias = torch.randn(7, dtype=F64, generator=g, requires_grad=True) if with_bias else None
    t = torch.randint(0, 7, (2, 5), generator=g)
    t[1, 4] = -100  # padding target -> log p 0
    logp, ent = chunked_token_logprobs(
        h, w, t, chunk_size=chunk_size, temperature=0.7, with_entropy=True, bias=bias
    )
    ref_logp, ref_ent = _naive(h, w, t, 0.7, bias)
    assert logp.dtype == F64 and ent.dtype == F64
    assert torch.allclose(logp, ref_logp) and torch.allclose(ent, ref_ent)
    assert logp[1, 4].item() == 0.0
    params = [h, w] + ([bias] if with_bias else [])
    coef = torch.randn(2, 5, dtype=F64, generator=g)
    got = torch.autograd.grad((logp * coef).sum() + ent.sum(), params)
    want = torch.autograd.grad((ref_logp * coef).sum() + ref_ent.sum(), params)
    for a, b in zip(got, want):
        assert torch.allclose(a, b, atol=1e-10)


def test_chunked_without_entropy_and_no_grad():
    h, w = torch.randn(2, 3, 4), torch.randn(6, 4)
    t = torch.randint(0, 6, (2, 3))
    with torch.no_grad():
        logp, ent = chunked_token_logprobs(h, w, t, chunk_size=2)
    assert ent is None and torch.allclose(logp, _naive(h, w, t)[0], atol=1e-5)
    with pytest.raises(ValueError):
        chunked_token_logprobs(h, w, t, chunk_size=0)


def test_chunked_keeps_no_full_logits_for_backward():
    """Saved-tensor hooks see every tensor autograd keeps: none may be as big as (B*T, V)."""
    sizes = []

    def pack(x):
        sizes.append(x.numel())
        return x

    h = torch.randn(4, 16, 4, requires_grad=True)
    w = torch.randn(50, 4, requires_grad=True)
    t = torch.randint(0, 50, (4, 16))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        logp, _ = chunked_token_logprobs(h, w, t, chunk_size=8)
    assert max(sizes) < 8 * 50  # at most the weight (200) and chunk inputs; logits are 64 * 50 = 3200
    sizes.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        _naive(h, w, t)
    assert max(sizes) >= 64 * 50  # the naive path does keep them (the check can fail)
    logp.sum().backward()
    assert h.grad is not None and w.grad is not None


def test_chunked_bf16_inputs_give_float32():
    g = torch.Generator().manual_seed(3)
    h = torch.randn(2, 3, 8, generator=g).bfloat16()
    w = torch.randn(20, 8, generator=g).bfloat16()
    t = torch.randint(0, 20, (2, 3), generator=g)
    logp, ent = chunked_token_logprobs(h, w, t, chunk_size=4, with_entropy=True)
    want = F.log_softmax(F.linear(h, w).float(), -1).gather(-1, t[..., None]).squeeze(-1)
    assert logp.dtype == torch.float32 and ent.dtype == torch.float32
    assert torch.allclose(logp, want, atol=1e-5)


def test_shared_prompt_forward_matches_the_concatenated_path():
    """token_logprobs(prefix=...) forwards each distinct prompt once; log-probs and gradients must be
    those of prompt + completion concatenated (rows of different prompt and completion lengths)."""
    from r1repro.config import TinyModelConfig
    from r1repro.models import build_tiny_model, token_logprobs, train_tokenizer
    from r1repro.train.common import collate, collate_shared

    tok = train_tokenizer([f"Q: Tom has {i} apples and gets {j} more. A: {i + j}" for i in range(20)
                           for j in range(10)], 320)
    model = build_tiny_model(TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64,
                                             vocab_size=320), tok, seed=0)
    g = torch.Generator().manual_seed(0)
    prompts = [[5, 6, 7, 8, 9], [11, 12], [5, 6, 7, 8, 9], [13, 14, 15], [11, 12]]
    responses = [torch.randint(3, len(tok), (n,), generator=g).tolist() for n in (4, 7, 1, 5, 3)]

    def run(shared: bool):
        model.zero_grad()
        b = collate_shared(prompts, responses, 0) if shared else collate(prompts, responses, 0)
        logp, _ = token_logprobs(model, b.input_ids, b.attention_mask, b.loss_mask,
                                 prefix=b.prefix if shared else None)
        logp.sum().backward()  # zero outside the loss mask in both layouts, so both sums weight the same tokens
        return [row[m.bool()] for row, m in zip(logp, b.loss_mask)], [p.grad.clone() for p in model.parameters()]

    b = collate_shared(prompts, responses, 0)
    assert b.prompt_ids.shape == (3, 5) and b.rows.tolist() == [0, 1, 0, 2, 1]  # 3 distinct prompts, left-padded
    (ref_lp, ref_grads), (lp, grads) = run(False), run(True)
    assert [len(x) for x in lp] == [4, 7, 1, 5, 3]
    for a, b_ in zip(ref_lp, lp):
        torch.testing.assert_close(b_, a, atol=1e-5, rtol=0)
    for a, b_ in zip(ref_grads, grads):
        torch.testing.assert_close(b_, a, atol=1e-5, rtol=1e-4)
    assert max(float(a.abs().max()) for a in ref_grads) > 0.1  # the gradients are not trivially zero


def test_prompts_forwarded_once_for_the_step_match_each_micro_batch_forwarding_its_own():
    """ForwardedPrompts: the step's prompts forwarded once, their gradients taken back once after the
    micro-batches; log-probs and summed gradients equal those of each micro-batch forwarding its prompts."""
    from r1repro.config import TinyModelConfig
    from r1repro.models import ForwardedPrompts, build_tiny_model, token_logprobs, train_tokenizer
    from r1repro.train.common import collate_shared

    tok = train_tokenizer([f"Q: Tom has {i} apples and gets {j} more. A: {i + j}" for i in range(20)
                           for j in range(10)], 320)
    model = build_tiny_model(TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64,
                                             vocab_size=320), tok, seed=0)
    g = torch.Generator().manual_seed(1)
    prompts = [(5, 6, 7, 8, 9), (11, 12), (5, 6, 7, 8, 9), (13, 14, 15), (11, 12), (13, 14, 15)]
    responses = [torch.randint(3, len(tok), (n,), generator=g).tolist() for n in (4, 7, 1, 5, 3, 2)]
    micro = [[0, 1, 3], [2, 4, 5]]  # prompt (5..9) in both micro-batches, (13, 14, 15) too

    def run(once: bool):
        model.zero_grad()
        forwarded = ForwardedPrompts(model, prompts, 0) if once else None
        out = []
        for idx in micro:
            b = collate_shared([prompts[i] for i in idx], [responses[i] for i in idx], 0)
            prefix = forwarded.rows([prompts[i] for i in idx]) if once else b.prefix
            logp, _ = token_logprobs(model, b.input_ids, b.attention_mask, b.loss_mask, prefix=prefix)
            (logp.sum() * (1 + idx[0])).backward()  # micro-batches weigh differently: the sums must keep them apart
            out += [row[m.bool()] for row, m in zip(logp.detach(), b.loss_mask)]
        if once:
            forwarded.backward()
        return out, [p.grad.clone() for p in model.parameters()]

    (ref_lp, ref_grads), (lp, grads) = run(False), run(True)
    assert [len(x) for x in lp] == [4, 7, 5, 1, 3, 2]
    for a, b_ in zip(ref_lp, lp):
        torch.testing.assert_close(b_, a, atol=1e-5, rtol=0)
    for a, b_ in zip(ref_grads, grads):
        torch.testing.assert_close(b_, a, atol=1e-5, rtol=1e-4)
    assert max(float(a.abs().max()) for a in ref_grads) > 0.1
    # without the prompts' backward, the embeddings' gradient misses the prompt tokens' share
    model.zero_grad()
    forwarded = ForwardedPrompts(model, prompts, 0)
    b = collate_shared(prompts, responses, 0)
    token_logprobs(model, b.input_ids, b.attention_mask, b.loss_mask, prefix=forwarded.rows(prompts))[0].sum().backward()
    emb = model.get_input_embeddings().weight
    before = emb.grad[[13, 14, 15]].abs().sum()
    forwarded.backward()
    assert emb.grad[[13, 14, 15]].abs().sum() > before


def test_sequence_logprobs_with_prompts_forwarded_once_keep_each_completions_own():
    """The no-gradient log-probs (old policy, reference): with prompt sharing the prompts are forwarded
    once and micro-batches go by length; each completion still gets its own log-probs, in its place."""
    from r1repro.config import RLConfig, TinyModelConfig
    from r1repro.models import build_tiny_model, train_tokenizer
    from r1repro.rollout import Completion
    from r1repro.train.rl import sequence_logprobs

    tok = train_tokenizer([f"Q: {i} + {j} = {i + j}" for i in range(20) for j in range(10)], 300)
    model = build_tiny_model(TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64,
                                             vocab_size=300), tok, seed=0)
    g = torch.Generator().manual_seed(2)
    prompts = [(5, 6, 7, 8, 9), (11, 12), (5, 6, 7, 8, 9), (13, 14, 15), (11, 12)]
    comps = [Completion(p, tuple(torch.randint(3, len(tok), (n,), generator=g).tolist()), "x", "eos")
             for p, n in zip(prompts, (6, 1, 3, 7, 2))]
    shared = sequence_logprobs(model, comps, 0, RLConfig(micro_batch=2), micro_batch=2)
    plain = sequence_logprobs(model, comps, 0, RLConfig(micro_batch=2, share_prompt=False), micro_batch=2)
    assert [len(x) for x in shared] == [6, 1, 3, 7, 2]
    for a, b in zip(plain, shared):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=0)


def test_prompt_sharing_is_off_under_gradient_checkpointing():
    # HF turns the KV cache off in training under gradient checkpointing: the prompt cannot be shared
    from r1repro.config import RLConfig, TinyModelConfig
    from r1repro.models import build_tiny_model, enable_checkpointing, train_tokenizer
    from r1repro.train.rl import _shares_prompt

    tok = train_tokenizer(["Q: 1 + 2 = 3", "Q: 4 + 5 = 9"], 300)
    model = build_tiny_model(TinyModelConfig(hidden_size=32, layers=1, heads=2, intermediate_size=64,
                                             vocab_size=300), tok, seed=0)
    assert _shares_prompt(model, RLConfig()) and not _shares_prompt(model, RLConfig(share_prompt=False))
    enable_checkpointing(model)
    assert not _shares_prompt(model, RLConfig())
