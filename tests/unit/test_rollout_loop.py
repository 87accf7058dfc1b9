"""The lean sampling loop: greedy output identical to transformers' generate, stops, seeds, top-p."""

import copy

import pytest
import torch

from r1repro import kernels
from r1repro.config import TinyModelConfig
from r1repro.models import build_tiny_model, left_padded, train_tokenizer
from r1repro.rollout import loop
from r1repro.rollout.hf import HFBackend
from r1repro.rollout.loop import _draw, _fill_from_end, _sample, _search
from tests.fixtures.models import sharpened

TEXTS = [f"Q: Tom has {i} apples and gets {j} more. A: <think> {i} + {j} = {i + j}. </think> <answer> {i + j} </answer>"
         for i in range(20) for j in range(10)]
PROMPTS = ["Q: Tom has 3 apples and gets 4 more. A: <think>", "Q: Tom has 12 apples. A: <think>", "Q: A: <think>"]


@pytest.fixture(scope="module")
def tiny():
    tok = train_tokenizer(TEXTS, 320)
    model = build_tiny_model(TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64, vocab_size=320),
                             tok, seed=0).eval()
    return model, tok


@pytest.fixture(scope="module")
def varied(tiny):
    """tiny sharpened: its greedy rows differ (tiny's are one token repeated, equal to `generate`'s
    whatever the loop gets wrong)."""
    model, tok = tiny
    return sharpened(copy.deepcopy(model)), tok


def run(model, tok, engine, **kw):
    b = HFBackend(model, tok, stop=("</answer>",), batch_size=4, engine=engine)
    args = dict(n=2, max_new_tokens=12, temperature=0.0, top_p=1.0, seed=0) | kw
    return [[(c.ids, c.text, c.finish) for c in g] for g in b.generate(PROMPTS, **args)]


def test_greedy_matches_transformers_generate(varied):
    model, tok = varied
    got = run(model, tok, "loop")
    assert got == run(model, tok, "generate")
    assert len({ids for g in got for ids, _, _ in g}) > 1


@pytest.mark.skipif(kernels._LINEAR_POINTWISE is None or not torch.backends.mkldnn.is_available(), reason="no oneDNN")
def test_onednn_linears_match_generate_and_sample_what_f_linear_samples(varied, monkeypatch):
    # every linear layer of every step on oneDNN (the gates let only large layers and calls take it):
    # greedy output equals generate's, sampled tokens the loop's on F.linear
    model, tok = varied
    monkeypatch.setattr(kernels, "BACKEND", "onednn")
    want = run(model, tok, "loop", temperature=1.0, seed=3)
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    monkeypatch.setattr(kernels, "ONEDNN_MIN_MACS", 0)
    calls = []
    monkeypatch.setattr(kernels, "_LINEAR_POINTWISE", lambda *a: calls.append(1) or torch.ops.mkldnn._linear_pointwise(*a))
    assert run(model, tok, "loop") == run(model, tok, "generate")
    assert run(model, tok, "loop", temperature=1.0, seed=3) == want
    assert len(calls) > 0


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("panels", [False, True])
def test_transposed_mkl_linears_match_generate_and_sample_what_f_linear_samples(varied, threads, panels, monkeypatch):
    # every linear layer multiplies by a transposed copy of its weight (the path on Intel CPUs): linear.c's
    # panels, or MKL's column blocks, one a thread (batched multiplies with 2): greedy output equals
    # generate's, sampled tokens the loop's on F.linear (the tiny layers are below the gate until it is set to 0)
    model, tok = varied
    monkeypatch.setattr(kernels, "BACKEND", "mkl")
    if not panels:
        monkeypatch.setattr(kernels, "panel_kernel", lambda: None)
    elif kernels.panel_kernel() is None:
        pytest.skip("linear.c has no kernel here")
    want = run(model, tok, "loop", temperature=1.0, seed=3)
    monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    calls = []
    call = kernels._TransposedLinearForward.__call__
    monkeypatch.setattr(kernels._TransposedLinearForward, "__call__", lambda self, x: calls.append(1) or call(self, x))
    assert run(model, tok, "loop") == run(model, tok, "generate")
    assert run(model, tok, "loop", temperature=1.0, seed=3) == want
    assert len(calls) > 0


def test_sampling_is_seeded(tiny):
    model, tok = tiny
    a = run(model, tok, "loop", temperature=1.0, seed=1)
    assert a == run(model, tok, "loop", temperature=1.0, seed=1)
    assert a != run(model, tok, "loop", temperature=1.0, seed=2)
    # a random model rarely says EOS and never "</answer>": each row runs to the budget or ends on EOS
    assert all((len(ids) == 12 and finish == "length") or (finish == "eos" and ids[-1] == 0) for g in a for ids, _, finish in g)


def test_stop_string_and_eos_finish(tiny):
    model, tok = tiny
    # teach the model one completion by overfitting, then greedy must stop right after </answer>
    target = " 3 + 4 = 7. </think> <answer> 7 </answer>"
    p = tok(PROMPTS[0])["input_ids"]
    ids = torch.tensor([p + tok(target, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] * 3])
    model = build_tiny_model(TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64, vocab_size=320),
                             tok, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = model(input_ids=ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    for engine in ("loop", "generate"):
        c = HFBackend(model, tok, stop=("</answer>",), engine=engine).generate(
            PROMPTS[:1], n=1, max_new_tokens=40, temperature=0.0, top_p=1.0, seed=0)[0][0]
        assert c.finish == "stop", engine
        assert c.text.strip() == target.strip(), engine
        assert tok.decode(c.ids).endswith("</answer>")  # no tokens generated after the stop string
    no_stop = HFBackend(model, tok, stop=(), engine="loop").generate(PROMPTS[:1], n=1, max_new_tokens=40,
                                                                   temperature=0.0, top_p=1.0, seed=0)[0][0]
    assert no_stop.finish == "eos" and no_stop.ids[-1] == tok.eos_token_id  # EOS kept in ids, not in text
    assert no_stop.text.strip() == target.strip()


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    gen = torch.Generator().manual_seed(0)
    draws = {int(_sample(logits.clone(), 1.0, 0.6, gen)) for _ in range(200)}
    assert draws == {0, 1}  # 0.5 < 0.6 so token 1 is needed; tokens 2, 3 lie outside the nucleus
    assert {int(_sample(logits.clone(), 1.0, 0.4, gen)) for _ in range(50)} == {0}
    assert int(_sample(logits, 0.0, 1.0, gen)) == 0  # temperature 0 is greedy


def test_inverse_cdf_draws_follow_the_probabilities():
    gen = torch.Generator().manual_seed(0)
    probs = torch.tensor([[0.5, 0.3, 0.2, 0.0]]).repeat(20_000, 1)  # 20,000 rows, one draw each
    counts = torch.bincount(_draw(probs, gen), minlength=4).tolist()
    assert counts[3] == 0  # a zero-probability token is never drawn
    shares = [c / 20_000 for c in counts[:3]]
    assert all(abs(s - p) < 0.01 for s, p in zip(shares, [0.5, 0.3, 0.2])), shares  # s.e. <= 0.0036 a share



@pytest.mark.parametrize("top_p", [1.0, 0.99])  # the whole vocabulary; the nucleus path (all three tokens)
def test_temperature_sampling_follows_the_tempered_softmax(top_p):
    # logits log(0.5, 0.3, 0.2) at T = 0.5: probabilities ~ (0.25, 0.09, 0.04) / 0.38, by hand
    logits = torch.tensor([[0.5, 0.3, 0.2]]).log().repeat(20_000, 1)
    counts = torch.bincount(_sample(logits, 0.5, top_p, torch.Generator().manual_seed(0)), minlength=3).tolist()
    shares = [c / 20_000 for c in counts]
    assert all(abs(s - p) < 0.01 for s, p in zip(shares, [0.25 / 0.38, 0.09 / 0.38, 0.04 / 0.38])), shares
    assert torch.allclose(logits[0] / logits[0].sum(), torch.tensor([0.25, 0.09, 0.04]) / 0.38)  # overwritten in place

@pytest.mark.parametrize("columns", [600, 2600])  # one level; two: ten 256-column blocks and a padded one
def test_draw_matches_a_whole_vocabulary_inverse_cdf(columns):
    # zeros inside and across blocks
    probs = torch.rand(500, columns) * (torch.rand(500, columns) < 0.3)
    probs[:, -1] = 0.01  # every row has mass
    ours = _draw(probs, torch.Generator().manual_seed(3))
    u = torch.rand(500, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    cdf = probs.double().cumsum(-1)  # the one-level reference with the same uniforms
    ref = torch.searchsorted(cdf, u * cdf[:, -1:], right=True).squeeze(-1)
    assert (ours == ref).all()
    assert (probs.gather(1, ours[:, None]) > 0).all()


def test_two_level_draw_is_exact_across_a_block_edge():
    # mass on the last column of block 0 and two columns of block 1: the second level searches
    # u less block 0's mass (before); without it column 256 would never be drawn
    probs = torch.zeros(20_000, 4096)
    probs[:, 255], probs[:, 256], probs[:, 300] = 0.25, 0.25, 0.5
    counts = torch.bincount(_draw(probs, torch.Generator().manual_seed(0)), minlength=4096)
    assert counts.sum() == counts[255] + counts[256] + counts[300]  # no zero column
    shares = [counts[c].item() / 20_000 for c in (255, 256, 300)]
    assert all(abs(s - p) < 0.01 for s, p in zip(shares, [0.25, 0.25, 0.5])), shares


def test_search_never_lands_past_the_last_positive_column():
    # a uniform that rounds up to the row's total would find no column whose cdf exceeds it (searchsorted
    # returns N) or, clamped, a last column of probability 0; the search keeps u below the total
    cdf = torch.tensor([[0.25, 1.0, 1.0]], dtype=torch.float64)  # column 2 has probability 0
    assert _search(cdf, torch.tensor([[1.0]], dtype=torch.float64)).item() == 1
    assert _search(cdf, torch.tensor([[0.25]], dtype=torch.float64)).item() == 1  # right=True: cdf must exceed u
    assert _search(cdf, torch.tensor([[0.0]], dtype=torch.float64)).item() == 0


def reference_nucleus(probs: torch.Tensor, top_p: float) -> set[int]:
    """The nucleus by the textbook rule: sort, keep a token while the mass before it is <= top_p."""
    sorted_p, idx = probs.sort(descending=True)
    return {int(i) for p_before, i in zip(sorted_p.cumsum(0) - sorted_p, idx) if p_before <= top_p}


@pytest.mark.parametrize("peaked", [True, False])
def test_top_p_prefilter_keeps_exactly_the_nucleus(peaked):
    # peaked: the top 64 tokens hold more than top_p, so the top-64 shortcut decides; flat: they do
    # not (1,000 tokens with probabilities falling linearly), so the full sort must take over; both
    # must give the nucleus
    weights = torch.arange(1000, 0, -1, dtype=torch.float)  # distinct, decreasing
    logits = weights / 20 if peaked else weights.log()  # flat: probabilities proportional to the weights
    top_p = 0.9
    probs = torch.softmax(logits, -1)
    assert (probs.topk(64).values.sum() > top_p) == peaked
    nucleus = reference_nucleus(probs, top_p)
    gen = torch.Generator().manual_seed(0)
    draws = _sample(logits[None].repeat(4000, 1), 1.0, top_p, gen).tolist()
    assert set(draws) <= nucleus
    assert max(draws) >= max(nucleus) - (2 if peaked else 60)  # the nucleus's tail is reached, not cut short


def test_growing_cache_layer_matches_dynamic_layer():
    # same keys/values as transformers' concatenating layer through a prefill, single-token steps
    # past the first allocation, and rows leaving the batch
    from transformers.cache_utils import DynamicLayer

    from r1repro.rollout.loop import GrowingLayer

    g = torch.Generator().manual_seed(0)
    ours, ref = GrowingLayer(capacity=8), DynamicLayer()
    kv = lambda b, s: (torch.randn(b, 2, s, 4, generator=g), torch.randn(b, 2, s, 4, generator=g))  # (B, H, S, D)
    for step, s in enumerate([5, 1, 1, 1, 1, 1, 1, 1]):
        rows = ref.keys.shape[0] if step else 3
        k, v = kv(rows, s)
        got, want = ours.update(k, v), ref.update(k, v)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1]), step
        assert ours.get_seq_length() == ref.get_seq_length() == 5 + step
        if step in (3, 5, 6):  # row 1 finished; the two rows fan out to three (a prefill shared by samples);
            # row 0 finished and the last row takes its place (the loop's fill-from-the-end)
            keep = torch.tensor({3: [0, 2], 5: [0, 1, 1], 6: [2, 1]}[step])
            ours.batch_select_indices(keep)
            ref.batch_select_indices(keep)
    assert ours._k.shape[-2] == 22  # first allocation max(8, 2 x 5) = 10; outgrown at 11 tokens: 2 x 11



def test_finished_rows_are_replaced_from_the_end():
    assert _fill_from_end([0, 2, 4], 5) == [0, 4, 2]  # row 1 finished: row 4 takes its place
    assert _fill_from_end([1, 2, 3, 4], 5) == [4, 1, 2, 3]
    assert _fill_from_end([0, 1], 4) == [0, 1]  # the last rows finished: nothing moves
    assert _fill_from_end([3], 4) == [3]


# ----------------------------------------------------------------------------- shared-prefix attention
def gqa_model(arch: str, head_dim: int = 8):
    """A small random model with grouped-query attention (6 query heads on 2 key/value heads), as
    SmolLM2 (9 on 3) and Qwen2.5 have; EOS 0 of 64 tokens, so sampled rows end at different steps.
    head_dim 64 is one the native attention kernel takes."""
    import transformers

    cls = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config}[arch]
    cfg = cls(vocab_size=64, hidden_size=6 * head_dim, intermediate_size=96, num_hidden_layers=2, num_attention_heads=6,
              num_key_value_heads=2, max_position_embeddings=128, eos_token_id=0, pad_token_id=0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa").eval()


def native_or_skip():
    if loop._native_kernel() is None:
        pytest.skip("the native attention kernel was not built here (no C compiler?)")


@pytest.mark.parametrize("impl", ["flash", "native"])
def test_shared_prefix_attention_equals_attention_over_each_rows_full_cache(impl):
    # 3 prompts (left padding 0, 2, 4 of 6 positions), 7 rows in mixed order, 3 generated tokens; then
    # rows 1 and 4 finish and the last rows take their places. Both the flash passes and the C kernel.
    from types import SimpleNamespace

    from transformers import DynamicCache
    from transformers.integrations.sdpa_attention import repeat_kv

    g = torch.Generator().manual_seed(0)
    if impl == "native":
        native_or_skip()
    u, hkv, heads, p, d, gen_len = 3, 2, 6, 6, 64, 3
    src = [2, 0, 1, 0, 2, 2, 1]
    pad = torch.tensor([[1] * 6, [0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1]])  # (U, P)
    prefill = DynamicCache()
    pk, pv = torch.randn(u, hkv, p, d, generator=g), torch.randn(u, hkv, p, d, generator=g)
    prefill.update(pk, pv, 0)
    cache = loop.SharedPrefixCache(prefill, src, pad, capacity=4)
    assert cache.slot.tolist() == [0, 0, 0, 1, 1, 2, 1] and cache.slots == 3
    sk, sv = torch.randn(7, hkv, gen_len, d, generator=g), torch.randn(7, hkv, gen_len, d, generator=g)
    key, value = cache.layers[0].update(sk, sv)
    assert cache.get_seq_length() == p + gen_len

    def check(rows):
        q = torch.randn(len(rows), heads, 1, d, generator=g)
        if impl == "native":
            got = loop.native_decode_attention(q, key, value, 0.3, cache, cache.layers[0])
        else:
            got, _ = loop.shared_prefix_attention(SimpleNamespace(layer_idx=0), q, key, value, None, scaling=0.3,
                                                  shared_prefix=cache)
        full_k = torch.cat([pk[rows], sk_now], dim=2)  # (R, Hkv, P + G, D): the plain loop's cache
        full_v = torch.cat([pv[rows], sv_now], dim=2)
        mask = torch.cat([pad[rows], torch.ones(len(rows), gen_len, dtype=torch.long)], 1).bool()[:, None, None]
        want = torch.nn.functional.scaled_dot_product_attention(q, repeat_kv(full_k, 3), repeat_kv(full_v, 3),
                                                                attn_mask=mask, scale=0.3)
        assert got.shape == (len(rows), 1, heads, d)
        torch.testing.assert_close(got, want.transpose(1, 2), atol=1e-5, rtol=1e-5)

    sk_now, sv_now = sk, sv
    check(src)
    sel = torch.tensor(_fill_from_end([0, 2, 3, 5, 6], 7))  # [0, 6, 2, 3, 5]
    cache.batch_select_indices(sel)
    key, value = cache.layers[0].keys, cache.layers[0].values
    sk_now, sv_now = sk[sel], sv[sel]
    assert torch.equal(key, sk_now)
    check([src[i] for i in sel.tolist()])


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_shared_prefix_decoding_samples_what_the_plain_loop_samples(arch, monkeypatch):
    # prompts of 5, 9 and 2 tokens, 4, 3 and 1 rows each (sampled rows end at EOS at different steps),
    # sampled and greedy: the same tokens with and without the shared prefix, and the model's
    # attention implementation is back to SDPA after each call
    monkeypatch.setattr(loop, "SHARED_PREFIX_MIN_WIDTH", 0)  # the test's prompts are short
    model = gqa_model(arch)
    prompts = [[5, 6, 7, 8, 9]] * 4 + [[3, 1, 4, 1, 5, 9, 2, 6, 5]] * 3 + [[7, 7]]
    assert loop.shares_prefix(model, 3, len(prompts), 9)
    kw = dict(pad_id=0, eos_id=0, max_new_tokens=24, top_p=1.0, seed=3)
    shared = [loop.sample_loop(model, prompts, temperature=t, **kw) for t in (1.0, 0.0)]
    assert model.config._attn_implementation == "sdpa"
    monkeypatch.setattr(loop, "shares_prefix", lambda *a: False)
    plain = [loop.sample_loop(model, prompts, temperature=t, **kw) for t in (1.0, 0.0)]
    assert shared == plain
    assert len({len(toks) for toks, _ in shared[0]}) > 1  # rows left the batch at different steps


SHARED_PROMPTS = [[5, 6, 7, 8, 9]] * 3 + [[3, 1, 4, 1, 5, 9, 2, 6, 5]] * 3
DISTINCT_PROMPTS = [[5, 6, 7, 8, 9], [3, 1, 4, 1, 5, 9, 2, 6, 5], [7, 7], [2, 4, 6]]  # left padding 4, 0, 7, 6


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
@pytest.mark.parametrize("prompts", [SHARED_PROMPTS, DISTINCT_PROMPTS], ids=["shared", "distinct"])
def test_greedy_on_gqa_models_matches_generate(arch, prompts, monkeypatch):
    # the lean decode step, with shared-prefix attention for the repeated prompts
    monkeypatch.setattr(loop, "SHARED_PREFIX_MIN_WIDTH", 0)
    model = gqa_model(arch)
    assert loop.lean_decode_applies(model)
    got = [toks for toks, _ in loop.sample_loop(model, prompts, pad_id=0, eos_id=0, max_new_tokens=16,
                                                 temperature=0.0, top_p=1.0, seed=0)]
    ids, mask = left_padded(prompts, 0)
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=16, do_sample=False, pad_token_id=0,
                         eos_token_id=0)[:, ids.shape[1]:].tolist()
    assert got == [r[: r.index(0) + 1] if 0 in r else r for r in out]


def test_shared_prefix_only_where_it_is_checked_and_pays():
    model = gqa_model("llama")
    width = loop.SHARED_PREFIX_MIN_WIDTH
    assert loop.shares_prefix(model, 4, 8, width)
    assert not loop.shares_prefix(model, 4, 7, width)  # < 2 rows a prompt
    assert not loop.shares_prefix(model, 4, 8, width - 1)  # short prompts: nothing to gain
    model.config._attn_implementation = "eager"
    assert not loop.shares_prefix(model, 4, 8, width)
    model.config._attn_implementation = "sdpa"
    model.config.model_type = "gpt_neox"  # not checked against generate
    assert not loop.shares_prefix(model, 4, 8, width)


def test_attention_implementation_is_restored_after_an_error(monkeypatch):
    monkeypatch.setattr(loop, "SHARED_PREFIX_MIN_WIDTH", 0)
    monkeypatch.setattr(loop, "lean_decode_applies", lambda m: False)  # decode through the model's forward
    model = gqa_model("llama")
    seen = []

    def fail(*a, **k):
        seen.append(model.config._attn_implementation)
        raise RuntimeError("a failed sampling step")

    monkeypatch.setattr(loop, "_sample", fail)
    with pytest.raises(RuntimeError):
        loop.sample_loop(model, [[5, 6, 7]] * 4, pad_id=0, eos_id=0, max_new_tokens=4, temperature=1.0, top_p=1.0, seed=0)
    assert seen == [loop.SHARED_PREFIX_IMPL]  # the error came while decoding through shared-prefix attention
    assert model.config._attn_implementation == "sdpa"


def test_shared_prefix_decoding_through_lora_adapters(monkeypatch):
    # the RL stage samples from a peft-wrapped policy when model.lora is set: the same tokens as the plain loop
    peft = pytest.importorskip("peft")
    monkeypatch.setattr(loop, "SHARED_PREFIX_MIN_WIDTH", 0)
    model = peft.get_peft_model(gqa_model("llama"), peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                                                    init_lora_weights=False, task_type="CAUSAL_LM")).eval()
    prompts = [[5, 6, 7, 8, 9]] * 4 + [[3, 1, 4]] * 2
    kw = dict(pad_id=0, eos_id=0, max_new_tokens=12, temperature=1.0, top_p=1.0, seed=1)
    assert loop.shares_prefix(model, 2, len(prompts), 5)
    shared = loop.sample_loop(model, prompts, **kw)
    monkeypatch.setattr(loop, "shares_prefix", lambda *a: False)
    assert shared == loop.sample_loop(model, prompts, **kw)


def test_decode_attention_equals_sdpa_over_the_padded_cache():
    # 3 rows, 6 query heads on 2 key/value heads, 7 cached positions of which the first 3 hold a prompt
    # left-padded by 0, 1 and 3 positions
    g = torch.Generator().manual_seed(0)
    r, heads, hkv, length, d = 3, 6, 2, 7, 8
    q = torch.randn(r, heads, 1, d, generator=g)
    k, v = torch.randn(r, hkv, length, d, generator=g), torch.randn(r, hkv, length, d, generator=g)
    prompt_mask = torch.tensor([[1, 1, 1], [0, 1, 1], [0, 0, 0]])
    mask = torch.cat([prompt_mask, torch.ones(r, length - 3, dtype=torch.long)], 1).bool()[:, None, None]
    got = loop.decode_attention(q, k, v, 0.3, loop.padding_bias(prompt_mask, q.dtype))
    want = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3, enable_gqa=True)
    assert got.shape == (r, 1, heads, d)
    torch.testing.assert_close(got, want.transpose(1, 2), atol=1e-6, rtol=1e-5)
    assert loop.padding_bias(torch.ones(2, 3, dtype=torch.long), q.dtype) is None  # nothing padded: no bias


GQA_PROMPTS = [[5, 6, 7, 8, 9]] * 4 + [[3, 1, 4, 1, 5, 9, 2, 6, 5]] * 3 + [[7, 7]]


def decode_both_ways(model, monkeypatch, spied: str):
    """sample_loop's tokens on GQA_PROMPTS, sampled (T 1) and greedy: with its fast decode path (the
    loop's function `spied` must be called), then through the model's own forward."""
    kw = dict(pad_id=0, eos_id=0, max_new_tokens=24, top_p=1.0, seed=3)
    calls, fn = [], getattr(loop, spied)
    monkeypatch.setattr(loop, spied, lambda *a: calls.append(1) or fn(*a))
    fast = [loop.sample_loop(model, GQA_PROMPTS, temperature=t, **kw) for t in (1.0, 0.0)]
    assert calls
    monkeypatch.setattr(loop, "lean_decode_applies", lambda m: False)  # the model's own forward
    plain = [loop.sample_loop(model, GQA_PROMPTS, temperature=t, **kw) for t in (1.0, 0.0)]
    assert len({len(toks) for toks, _ in fast[0]}) > 1  # rows left the batch at different steps
    return fast, plain


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
@pytest.mark.parametrize("shared", [False, True])
def test_lean_decode_steps_sample_what_the_models_forward_samples(arch, shared, monkeypatch):
    # prompts of 5, 9 and 2 tokens (left padding), rows ending at EOS at different steps, sampled and
    # greedy, with and without shared-prefix attention: the lean step's tokens are the model forward's
    monkeypatch.setattr(loop, "SHARED_PREFIX_MIN_WIDTH", 0 if shared else 10**6)
    model = gqa_model(arch)
    assert loop.lean_decode_applies(model) and not loop.native_decode_applies(model)
    lean, plain = decode_both_ways(model, monkeypatch, "lean_decode_step")
    assert lean == plain


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
@pytest.mark.parametrize("linears", ["default", "mkl", "panels"])
def test_native_decode_steps_decode_what_the_models_forward_decodes(arch, linears, monkeypatch):
    # head size 64 (the kernel's): the same prompts; greedy tokens equal the model forward's, and the
    # kernel was called (prompts of one row and of several share the prompt cache); every linear layer
    # (gate at 0) on MKL's column blocks or on linear.c's panels (tails of 16 and 32 columns)
    native_or_skip()
    if linears != "default":
        monkeypatch.setattr(kernels, "BACKEND", "mkl")
        monkeypatch.setattr(kernels, "ONEDNN_MIN_WEIGHTS", 0)
    if linears == "mkl":  # 2 blocks a layer, the LM head's 64 columns in one (frozen_linears keeps heads whole)
        monkeypatch.setattr(kernels, "panel_kernel", lambda: None)
        monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    elif linears == "panels" and kernels.panel_kernel() is None:
        pytest.skip("linear.c has no kernel here")
    model = gqa_model(arch, head_dim=64)
    assert loop.native_decode_applies(model)
    native, plain = decode_both_ways(model, monkeypatch, "native_decode_attention")
    assert native[1] == plain[1]
    assert sum(a == b for a, b in zip(native[0], plain[0])) >= 6  # sampled: float rounding may move a draw


def test_native_decode_only_where_the_kernels_apply():
    native_or_skip()
    assert not loop.native_decode_applies(gqa_model("llama"))  # head size 8: not one the kernel unrolls
    assert loop.native_decode_applies(gqa_model("qwen2", head_dim=32))  # q/k/v biases go through qkv_rope
    model = gqa_model("llama", head_dim=64)
    assert loop.native_decode_applies(model)
    model.config.hidden_act = "gelu"
    assert not loop.native_decode_applies(model)  # the kernel's activation is SiLU
    model.config.hidden_act = "silu"
    model.model.layers[1].mlp.down_proj.bias = torch.nn.Parameter(torch.zeros(model.config.hidden_size))
    assert not loop.native_decode_applies(model)  # biases only on q/k/v
    model.model.layers[1].mlp.down_proj.bias = None
    model.config._attn_implementation = "eager"
    assert not loop.native_decode_applies(model)  # not a lean model


def test_lean_decode_only_for_the_plain_checked_classes():
    model = gqa_model("llama")
    assert loop.lean_decode_applies(model) and loop.lean_decode_applies(gqa_model("qwen2"))
    model.config._attn_implementation = "eager"
    assert not loop.lean_decode_applies(model)  # the prefill would attend differently
    model.config._attn_implementation = "sdpa"
    handle = model.model.layers[0].mlp.register_forward_hook(lambda *a: None)
    assert not loop.lean_decode_applies(model)  # the lean step would skip the hook
    handle.remove()
    model.config.layer_types = ["sliding_attention", "full_attention"]
    assert not loop.lean_decode_applies(model)
    assert not loop.lean_decode_applies(gqa_model("qwen2").to(torch.bfloat16))  # float32 only
    peft = pytest.importorskip("peft")
    wrapped = peft.get_peft_model(gqa_model("llama"), peft.LoraConfig(r=4, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    assert not loop.lean_decode_applies(wrapped)  # the adapters' forward would be skipped
    assert not loop.lean_decode_applies(wrapped.get_base_model())  # its q_proj is a LoRA layer now
