"""SFT on a tiny random model, and an eval that resumes without regenerating graded samples."""

import json

import pytest
import torch

from r1repro.config import OptimConfig, SourceSpec, TaskConfig, TinyModelConfig
from r1repro.data.loaders import load_source
from r1repro.data.templates import TEMPLATES
from r1repro.evals import harness
from r1repro.models import build_tiny_model, train_tokenizer
from r1repro.train.common import build_optimizer
from r1repro.train.sft import encode_pair, nll_loss, sft_examples, sft_update

TINY = TinyModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64, vocab_size=320)


@pytest.fixture(scope="module")
def setup():
    template = TEMPLATES["qa"]
    problems = load_source(SourceSpec("arithmetic", "train", options={"n": 64, "max_steps": 2}), None).problems
    pairs = [(p, r) for p, r, *_ in sft_examples([p.to_dict() for p in problems], template, None)]
    tok = train_tokenizer([p + r for p, r in pairs], TINY.vocab_size)
    return template, problems, pairs, tok


def test_sft_loss_falls(setup):
    template, problems, pairs, tok = setup
    torch.manual_seed(0)
    model = build_tiny_model(TINY, tok, seed=0)
    examples = [encode_pair(tok, p, r, 256) for p, r in pairs[:16]]
    opt, sched = build_optimizer(model, OptimConfig(lr=3e-3), 30)
    losses = [sft_update(model, opt, sched, examples, tok.pad_token_id, aggregation="token_mean", micro_batch=8,
                         max_grad_norm=1.0)["loss/train"] for _ in range(30)]
    assert losses[-1] < 0.6 * losses[0], losses  # memorising 16 examples: the NLL must drop well below start


def test_prompt_positions_get_zero_gradient(setup):
    template, problems, pairs, tok = setup
    model = build_tiny_model(TINY, tok, seed=0)
    p, r = encode_pair(tok, *pairs[0], 256)
    captured = {}

    def keep(module, inputs, output):
        output.retain_grad()
        captured["h"] = output

    handle = model.model.norm.register_forward_hook(keep)
    loss = nll_loss(model, [p], [r], tok.pad_token_id, aggregation="token_mean", num_seqs=1, num_tokens=len(r),
                    chunk=64)
    loss.backward()
    handle.remove()
    grad = captured["h"].grad[0].norm(dim=-1)  # (T,) gradient reaching each position's final hidden state
    # position t predicts token t+1: positions before len(p)-1 predict prompt tokens and must get nothing
    assert torch.all(grad[: len(p) - 1] == 0)
    assert torch.all(grad[len(p) - 1 : len(p) + len(r) - 1] > 0)  # every response prediction has gradient
    # and the value is the plain masked NLL of the response tokens
    with torch.no_grad():
        logits = model(torch.tensor([p + r])).logits[0, :-1].log_softmax(-1)
        targets = torch.tensor(p + r)[1:]
        manual = -logits[torch.arange(len(targets)), targets][len(p) - 1 :].mean()
    assert loss.item() == pytest.approx(manual.item(), rel=1e-5)


def test_eval_resumes_without_regenerating(setup, tmp_path, monkeypatch):
    template, problems, pairs, tok = setup
    model = build_tiny_model(TINY, tok, seed=0)
    task = TaskConfig(k=2)
    task = TaskConfig(k=2, sampling=type(task.sampling)(max_new_tokens=16, temperature=1.0))
    eval_problems = problems[:6]
    out = tmp_path / "eval"
    meta = {"task": "arith", "checkpoint": "sft", "model": "memory"}
    first = harness.evaluate(model, tok, task, eval_problems, out, template_name="qa", meta=meta)
    lines = (out / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 6 * 3 and (out / "summary.json").exists()
    # interrupted: only problem 0 complete (its 3 records) and one record of problem 1
    by_pid = [json.loads(x) for x in lines]
    keep = [r for r in by_pid if r["problem_id"] == eval_problems[0].id]
    keep.append(next(r for r in by_pid if r["problem_id"] == eval_problems[1].id))
    (out / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))

    generated = []
    real = harness.generate_and_grade

    def counting(backend, template, tokenizer, chunk, task, **kw):
        generated.extend(p.id for p in chunk)
        return real(backend, template, tokenizer, chunk, task, **kw)

    monkeypatch.setattr(harness, "generate_and_grade", counting)
    second = harness.evaluate(model, tok, task, eval_problems, out, template_name="qa", meta=meta)
    assert eval_problems[0].id not in generated  # the graded problem was not regenerated
    assert sorted(set(generated)) == sorted(p.id for p in eval_problems[1:])
    records = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 18 and records[:3] == keep[:3]
    assert second["n"] == first["n"] == 6
