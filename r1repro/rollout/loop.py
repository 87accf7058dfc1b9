"""A lean sampling loop for small models: KV cache, finished rows leave the batch, cheap stop checks.

Why: for small models on CPU, transformers' `generate` spends much of each step outside the model
(logits processors, stopping criteria) and keeps computing rows that already finished. This loop
does prefill + one forward per token, samples with temperature / top-p from a seeded generator,
and drops finished rows from the batch and the cache. Greedy output equals `model.generate`'s
(tests/unit/test_rollout_contract.py); the HF backend uses `generate` for models it was not
checked on (engine: "generate").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import DynamicCache


def _sample(logits: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator) -> torch.Tensor:
    """Next token per row from (R, V) logits: greedy when temperature is 0, else temperature + nucleus."""
    if temperature <= 0:
        return logits.argmax(-1)  # (R,)
    probs = torch.softmax(logits.float() / temperature, dim=-1)  # (R, V)
    if top_p < 1.0:
        sorted_p, idx = probs.sort(dim=-1, descending=True)  # (R, V)
        outside = sorted_p.cumsum(-1) - sorted_p > top_p  # mass before the token already exceeds top_p
        sorted_p = sorted_p.masked_fill(outside, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_p)
    return torch.multinomial(probs, 1, generator=gen).squeeze(-1)  # (R,)


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


@torch.no_grad()
def sample_loop(model, prompt_ids: list[list[int]], *, pad_id: int, eos_id: int, max_new_tokens: int,
                temperature: float, top_p: float, seed: int, stop: StopChecker | None = None) -> list[tuple[list[int], str]]:
    """Generated ids and finish reason ("eos" | "stop" | "length") per prompt."""
    device = next(model.parameters()).device
    # the k samples of a prompt share its prefill: each distinct prompt is prefilled once, then its
    # cache row, mask and logits are copied to every row that asked for it
    first: dict[tuple[int, ...], int] = {}
    src = [first.setdefault(tuple(p), len(first)) for p in prompt_ids]  # row -> distinct prompt
    distinct = list(first)
    width = max(map(len, distinct))
    ids = torch.full((len(distinct), width), pad_id, dtype=torch.long)  # (U, P), left-padded
    mask = torch.zeros_like(ids)
    for r, p in enumerate(distinct):
        ids[r, width - len(p) :] = torch.tensor(p)
        mask[r, width - len(p) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (U, P)
    cache = DynamicCache()
    gen = torch.Generator(device=device).manual_seed(seed)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True,
                logits_to_keep=1)
    logits = out.logits[:, -1]  # (U, V)
    if len(distinct) < len(prompt_ids):
        rows = torch.tensor(src, device=device)
        cache.batch_select_indices(rows)
        logits, mask, positions = logits[rows], mask[rows], positions[rows]  # (R, V), (R, P), (R, P)
    next_pos = positions[:, -1:] + 1  # (R, 1)
    alive = list(range(len(prompt_ids)))  # original row of each live batch row
    tokens: list[list[int]] = [[] for _ in prompt_ids]
    finish = ["length"] * len(prompt_ids)
    for step in range(max_new_tokens):
        nxt = _sample(logits, temperature, top_p, gen)  # (R,)
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
            sel = torch.tensor(keep, device=device)
            cache.batch_select_indices(sel)
            mask, nxt, next_pos = mask[sel], nxt[sel], next_pos[sel]
            alive = [alive[j] for j in keep]
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)  # (R, P + step + 1)
        out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=next_pos, past_key_values=cache,
                    use_cache=True)
        logits = out.logits[:, -1]
        next_pos = next_pos + 1
    return list(zip(tokens, finish))
