"""Hugging Face generation backend (CPU and GPU).

Prompts are repeated n times, sorted by length (less padding), left-padded and generated in
batches; each batch is seeded from (seed, batch index), so results do not depend on the global RNG.
Generation stops on EOS and on the template's stop strings (e.g. "</answer>").

engine "loop" (default) is r1repro.rollout.loop: a KV-cached loop that drops finished rows;
engine "generate" calls transformers' `model.generate` (the reference the loop is tested against).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from r1repro.models import encode_prompt, left_padded
from r1repro.rollout.base import Completion, cut_at_stop
from r1repro.rollout.loop import StopChecker, sample_loop


class HFBackend:
    def __init__(self, model, tokenizer, *, stop: Sequence[str] = (), batch_size: int = 64, engine: str = "loop"):
        if engine not in ("loop", "generate"):
            raise ValueError(f"unknown HF generation engine {engine!r}; known: loop, generate")
        self.model, self.tokenizer, self.stop, self.batch_size = model, tokenizer, tuple(stop), batch_size
        self.engine = engine
        self._stop_checker = StopChecker(tokenizer, self.stop) if self.stop and engine == "loop" else None

    def update_weights(self, model) -> None:
        self.model = model  # generation shares the training model's parameters

    def encode(self, prompt: str) -> list[int]:
        return encode_prompt(self.tokenizer, prompt)

    @torch.no_grad()
    def generate(self, prompts: Sequence[str], *, n: int, max_new_tokens: int, temperature: float,
                 top_p: float, seed: int) -> list[list[Completion]]:
        encoded = [self.encode(p) for p in prompts]
        jobs = sorted(((len(encoded[i]), i, j) for i in range(len(prompts)) for j in range(n)), reverse=True)
        out: list[list[Completion | None]] = [[None] * n for _ in prompts]
        model = getattr(self.model, "module", self.model)
        was_training = model.training
        model.eval()
        try:
            for b in range(0, len(jobs), self.batch_size):
                batch = jobs[b : b + self.batch_size]
                done = self._generate_batch([encoded[i] for _, i, _ in batch], max_new_tokens, temperature,
                                            top_p, seed * 100_003 + b)
                for (_, i, j), c in zip(batch, done):
                    out[i][j] = c
        finally:
            model.train(was_training)
        return out  # type: ignore[return-value]

    def _generate_batch(self, prompt_ids: list[list[int]], max_new_tokens: int, temperature: float,
                        top_p: float, seed: int) -> list[Completion]:
        model = getattr(self.model, "module", self.model)
        pad = self.tokenizer.pad_token_id
        eos = self.tokenizer.eos_token_id
        if self.engine == "loop":
            rows = sample_loop(model, prompt_ids, pad_id=pad, eos_id=eos, max_new_tokens=max_new_tokens,
                               temperature=temperature, top_p=top_p, seed=seed, stop=self._stop_checker)
            return [self._from_loop(p, toks, finish) for p, (toks, finish) in zip(prompt_ids, rows)]
        device = next(model.parameters()).device
        ids, mask = left_padded(prompt_ids, pad)  # (B, P), (B, P)
        width = ids.shape[1]
        sample = temperature > 0
        kwargs = dict(do_sample=True, temperature=temperature, top_p=top_p, top_k=0) if sample else dict(do_sample=False)
        if self.stop:
            kwargs.update(stop_strings=list(self.stop), tokenizer=self.tokenizer)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            gen = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                 max_new_tokens=max_new_tokens, pad_token_id=pad, eos_token_id=eos, **kwargs)
        new = gen[:, width:].tolist()  # (B, <= max_new_tokens)
        return [self._finish(p, row, eos, max_new_tokens) for p, row in zip(prompt_ids, new)]

    def _from_loop(self, prompt: list[int], toks: list[int], finish: str) -> Completion:
        body = toks[:-1] if finish == "eos" else toks
        text = self.tokenizer.decode(body, skip_special_tokens=True)
        if finish == "stop":
            text = cut_at_stop(text, self.stop)[0]
        return Completion(tuple(prompt), tuple(toks), text, finish)  # type: ignore[arg-type]

    def _finish(self, prompt: list[int], row: list[int], eos: int, max_new_tokens: int) -> Completion:
        # HF pads rows that finished early; when pad == eos the first pad looks like an EOS, so a stop
        # string before it takes precedence.
        pad = self.tokenizer.pad_token_id
        end = next((t for t, tok in enumerate(row) if tok in (eos, pad)), len(row))
        decode = lambda toks: self.tokenizer.decode(toks, skip_special_tokens=True)
        text, stopped = cut_at_stop(decode(row[:end]), self.stop)
        if stopped:
            k = end
            while k > 1 and cut_at_stop(decode(row[: k - 1]), self.stop)[1]:
                k -= 1  # shortest token prefix that still contains the stop string
            return Completion(tuple(prompt), tuple(row[:k]), text, "stop")
        if end < len(row):
            return Completion(tuple(prompt), tuple(row[: end + 1]), text, "eos")
        return Completion(tuple(prompt), tuple(row), text, "length")
