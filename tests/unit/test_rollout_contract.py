"""One rollout contract, checked on every backend: HF (a tiny real model) and vLLM (a fake engine).

vLLM is a GPU extra and absent here, so `vllm` is replaced by FakeVLLM below: a small engine with
vLLM's documented interface and output semantics (per-request seeds, stop strings kept with
include_stop_str_in_output, EOS kept in token_ids, finish_reason / stop_reason, sleep / wake_up,
reset_prefix_cache, model_runner.model.load_weights), sampling from its *own* copy of the model
loaded from model_path. The contract suite then checks VLLMBackend's translation both ways on
exactly the assertions HFBackend must meet. A real vLLM run needs a GPU (docs/scaling.md).
"""

from __future__ import annotations

import sys
import types

import pytest
import torch

from r1repro.config import TinyModelConfig
from r1repro.models import build_tiny_model, load_model, save_checkpoint, train_tokenizer
from r1repro.rollout import make_backend
from tests.fixtures.models import sharpened

PROMPTS = ["2 + 3 = ", "What is 7 * 6? Answer:", "x"]
TEXTS = [f"{a} + {b} = {a + b}. The answer is <answer>{a + b}</answer>" for a in range(20) for b in range(5)]


# ----------------------------------------------------------------------------- fake vLLM
class FakeSamplingParams:
    def __init__(self, *, n=1, temperature=1.0, top_p=1.0, max_tokens=16, stop=(), seed=None,
                 include_stop_str_in_output=False, skip_special_tokens=True):
        self.__dict__.update(locals())
        del self.__dict__["self"]


class FakeLLM:
    """vLLM's LLM, in miniature: its own model copy, one token at a time, no KV cache."""

    instances: list[FakeLLM] = []

    def __init__(self, model, tokenizer, **kwargs):
        self.kwargs = {"model": model, "tokenizer": tokenizer, **kwargs}
        self.hf, self.tok = load_model(model)
        self.calls: list[str] = []
        worker = types.SimpleNamespace(model_runner=types.SimpleNamespace(model=self))
        self.llm_engine = types.SimpleNamespace(model_executor=types.SimpleNamespace(
            driver_worker=types.SimpleNamespace(worker=worker)))
        FakeLLM.instances.append(self)

    def load_weights(self, weights):  # the engine model's method (vLLM models take (name, tensor) pairs)
        self.calls.append("load_weights")
        state = dict(weights)
        missing = set(self.hf.state_dict()) - set(state) - {"lm_head.weight"}
        assert not missing, f"weights without HF names: {sorted(missing)[:3]}"
        self.hf.load_state_dict({k: v.detach().clone() for k, v in state.items()}, strict=False)

    def sleep(self, level=1):
        self.calls.append(f"sleep{level}")

    def wake_up(self, tags=None):
        self.calls.append(f"wake:{','.join(tags or ['all'])}")

    def reset_prefix_cache(self):
        self.calls.append("reset_prefix_cache")

    @torch.no_grad()
    def generate(self, prompts, params, use_tqdm=True):
        self.calls.append("generate")
        self.last_params = params
        return [types.SimpleNamespace(prompt_token_ids=p["prompt_token_ids"],
                                      outputs=[self._one(p["prompt_token_ids"], sp, g, j) for j, g in
                                               enumerate(self._generators(sp))])
                for p, sp in zip(prompts, params)]

    def _generators(self, sp):
        base = torch.Generator().manual_seed(sp.seed)
        return [torch.Generator().manual_seed(int(torch.randint(2**31, (1,), generator=base))) for _ in range(sp.n)]

    def _one(self, prompt, sp, gen, index):
        eos, ids = self.tok.eos_token_id, []
        for _ in range(sp.max_tokens):
            logits = self.hf(torch.tensor([list(prompt) + ids])).logits[0, -1].float()  # (V,)
            if sp.temperature == 0:
                tok = int(logits.argmax())
            else:
                probs = torch.softmax(logits / sp.temperature, -1)
                sorted_p, order = probs.sort(descending=True)
                sorted_p[(sorted_p.cumsum(0) - sorted_p) > sp.top_p] = 0
                tok = int(order[torch.multinomial(sorted_p, 1, generator=gen)])
            ids.append(tok)
            if tok == eos:
                return types.SimpleNamespace(index=index, token_ids=ids, text=self.tok.decode(ids[:-1]),
                                             finish_reason="stop", stop_reason=None)
            text = self.tok.decode(ids, skip_special_tokens=True)
            hits = [(text.find(s), s) for s in sp.stop if s in text]
            if hits:
                at, s = min(hits)
                return types.SimpleNamespace(index=index, token_ids=ids, text=text[: at + len(s)],
                                             finish_reason="stop", stop_reason=s)
        return types.SimpleNamespace(index=index, token_ids=ids, text=self.tok.decode(ids), finish_reason="length",
                                     stop_reason=None)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tok = train_tokenizer(TEXTS, 320)
    cfg = TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64, vocab_size=320)
    path = tmp_path_factory.mktemp("tiny") / "model"
    save_checkpoint(sharpened(build_tiny_model(cfg, tok, seed=0)), tok, path)  # greedy rows that differ
    return path


@pytest.fixture
def fake_vllm(monkeypatch):
    mod = types.ModuleType("vllm")
    mod.LLM, mod.SamplingParams = FakeLLM, FakeSamplingParams
    monkeypatch.setitem(sys.modules, "vllm", mod)
    FakeLLM.instances.clear()
    return mod


@pytest.fixture(params=["hf", "vllm"])
def make(request, tiny):
    """make(stop=...) -> (backend, policy model, tokenizer) for the backend under test."""
    if request.param == "vllm":
        request.getfixturevalue("fake_vllm")

    def build(stop=(), **kwargs):
        model, tok = load_model(str(tiny))
        return make_backend(request.param, model, tok, stop=stop, model_path=str(tiny), **kwargs), model, tok

    return build


def gen(backend, prompts=PROMPTS, n=3, max_new_tokens=12, temperature=1.0, top_p=1.0, seed=0):
    return backend.generate(prompts, n=n, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                            seed=seed)


# ----------------------------------------------------------------------------- the contract
def test_groups_prompt_ids_and_budget(make):
    backend, _, tok = make()
    groups = gen(backend)
    assert len(groups) == len(PROMPTS) and all(len(g) == 3 for g in groups)
    for prompt, group in zip(PROMPTS, groups):
        for c in group:
            assert list(c.prompt_ids) == tok(prompt)["input_ids"]  # what training will see
            assert 1 <= len(c.ids) <= 12
            assert (c.finish == "length") == (len(c.ids) == 12 and c.ids[-1] != tok.eos_token_id)
            if c.finish == "length":
                assert c.text == tok.decode(c.ids, skip_special_tokens=True)


def test_seeds_reproduce_and_differ(make):
    backend, _, _ = make()
    a, b, c = (gen(backend, n=2, max_new_tokens=6, seed=s) for s in (1, 1, 2))
    assert [[x.ids for x in g] for g in a] == [[x.ids for x in g] for g in b]
    assert [[x.ids for x in g] for g in a] != [[x.ids for x in g] for g in c]
    assert any(len({x.ids for x in g}) > 1 for g in a)  # the n samples of a prompt are not copies


def test_greedy_is_the_models_argmax_continuation(make):
    backend, model, tok = make()
    groups = gen(backend, temperature=0.0, max_new_tokens=6)
    assert len({g[0].ids for g in groups}) > 1  # the prompts' continuations differ (the fixture's sharpened weights)
    for prompt, group in zip(PROMPTS, groups):
        assert len({c.ids for c in group}) == 1  # greedy: n identical samples
        ids = tok(prompt)["input_ids"]
        with torch.no_grad():
            for _ in range(6):
                ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
        assert list(group[0].ids) == ids[len(group[0].prompt_ids):][: len(group[0].ids)]


def test_stop_string_ends_the_completion_at_its_token(make):
    backend, _, tok = make()
    free = gen(backend, temperature=0.0, n=1, max_new_tokens=16)[1][0]
    stop = free.text[6:9]  # a string the greedy completion is known to contain
    assert len(stop) == 3
    backend, _, _ = make(stop=(stop,))
    c = gen(backend, temperature=0.0, n=1, max_new_tokens=16)[1][0]
    end = free.text.find(stop) + len(stop)
    assert c.finish == "stop" and c.text == free.text[:end]
    assert list(c.ids) == list(free.ids[: len(c.ids)])  # a prefix of the free-running completion ...
    assert stop not in tok.decode(c.ids[:-1], skip_special_tokens=True)  # ... and the shortest one


def test_update_weights_makes_generation_follow_the_policy(make):
    backend, model, tok = make()
    before = gen(backend, temperature=0.0, n=1, max_new_tokens=4)
    with torch.no_grad():  # make EOS the greedy first token for every prompt: tied embeddings, so
        emb = model.get_input_embeddings().weight  # scaling EOS's row scales its logit
        emb[tok.eos_token_id] = emb[[g[0].ids[0] for g in before]].mean(0) * 50
    backend.update_weights(model)
    after = gen(backend, temperature=0.0, n=1, max_new_tokens=4)
    for g in after:
        c = g[0]
        assert c.finish == "eos" and c.ids == (tok.eos_token_id,) and c.text == ""


# ----------------------------------------------------------------------------- vLLM specifics
def test_vllm_engine_settings_and_sampling_params(fake_vllm, tiny):
    model, tok = load_model(str(tiny))
    backend = make_backend("vllm", model, tok, stop=("</answer>",), model_path=str(tiny), dtype="float32",
                           gpu_memory_utilization=0.25, enable_sleep_mode=False, tensor_parallel_size=1, seed=7)
    llm = FakeLLM.instances[-1]
    assert {k: llm.kwargs[k] for k in ("model", "dtype", "gpu_memory_utilization", "enable_sleep_mode",
                                       "tensor_parallel_size", "seed")} == {
        "model": str(tiny), "dtype": "float32", "gpu_memory_utilization": 0.25, "enable_sleep_mode": False,
        "tensor_parallel_size": 1, "seed": 7}
    gen(backend, n=2, max_new_tokens=5, temperature=0.7, top_p=0.9, seed=3)
    ps = llm.last_params
    assert [(p.n, p.temperature, p.top_p, p.max_tokens, p.stop, p.include_stop_str_in_output) for p in ps] == [
        (2, 0.7, 0.9, 5, ["</answer>"], True)] * 3
    assert len({p.seed for p in ps}) == 3  # one seed per prompt (vLLM seeds each request on its own)


def test_vllm_sleep_mode_and_weight_sync_order(fake_vllm, tiny):
    model, tok = load_model(str(tiny))
    backend = make_backend("vllm", model, tok, model_path=str(tiny), enable_sleep_mode=True)
    llm = FakeLLM.instances[-1]
    gen(backend, n=1, max_new_tokens=2)
    backend.update_weights(model)
    gen(backend, n=1, max_new_tokens=2)
    assert llm.calls == ["sleep1", "wake:weights,kv_cache", "generate", "sleep1",
                         "wake:weights", "load_weights", "reset_prefix_cache",
                         "wake:kv_cache", "generate", "sleep1"]


def test_vllm_missing_gives_an_install_hint(monkeypatch, tiny):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError
    model, tok = load_model(str(tiny))
    with pytest.raises(ImportError, match=r"r1repro\[vllm\]"):
        make_backend("vllm", model, tok, model_path=str(tiny))
