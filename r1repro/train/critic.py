"""The value model of PPO (`rl.algorithm: ppo`): the starting policy's transformer with a scalar head.

What: `Critic(path, cfg)` loads a second copy of the starting weights, drops the LM head, and puts a
zero-initialised linear head on the last hidden state: V(s_t) for every completion token t, read
from the hidden state that predicts token t (the same alignment as the policy's log-probs). It has
its own AdamW and schedule (`rl.critic.optim`) and is trained by regression on GAE returns with
PPO's clipped value loss (r1repro.algos.value).

Why a separate network and not a head on the policy: a shared trunk couples the two losses
through one learning rate; TRL's PPOTrainer and OpenRLHF also train a separate critic. It costs a
second model in memory, which the group baselines (RLOO, GRPO) do not need; that is the trade-off
"Back to Basics" measures.

One process only: under torchrun the critic would need its own DDP wrapper (not done).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from r1repro.algos.value import value_loss
from r1repro.config import CriticConfig
from r1repro.models import load_model
from r1repro.rollout import Completion
from r1repro.train.common import build_optimizer, collate, scatter


class ValueModel(torch.nn.Module):
    """decoder (the transformer body of a causal LM) + Linear(hidden, 1), initialised to V = 0."""

    def __init__(self, causal_lm):
        super().__init__()
        self.decoder = causal_lm.get_decoder()
        self.head = torch.nn.Linear(causal_lm.config.hidden_size, 1)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
        """Values (B, T) at the loss_mask positions (position t-1's hidden state values token t), 0 elsewhere."""
        hidden = self.decoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        pred = loss_mask[:, 1:].bool()  # (B, T-1)
        values = torch.zeros(loss_mask.shape, dtype=hidden.dtype, device=hidden.device)  # (B, T)
        values[:, 1:][pred] = self.head(hidden[:, :-1][pred]).squeeze(-1)
        return values


class Critic:
    """The value model with its optimizer: `values(completions)` and one `step(...)` per minibatch."""

    def __init__(self, path: str, cfg: CriticConfig, total_updates: int, *, dtype: str = "float32",
                 device: torch.device | str = "cpu"):
        self.cfg = cfg
        self.model = ValueModel(load_model(path, dtype=dtype, device=device)[0]).to(device)
        self.optimizer, self.scheduler = build_optimizer(self.model, cfg.optim, total_updates)

    def _forward(self, part: Sequence[Completion], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        device = next(self.model.parameters()).device
        b = collate([c.prompt_ids for c in part], [c.ids for c in part], pad_id, device)
        return self.model(b.input_ids, b.attention_mask, b.loss_mask), b.loss_mask.bool()  # (B, T), (B, T)

    @torch.no_grad()
    def values(self, completions: Sequence[Completion], pad_id: int, micro_batch: int) -> list[torch.Tensor]:
        """V(s_t) for each completion token, one 1-D tensor per completion."""
        out = []
        for i in range(0, len(completions), micro_batch):
            v, m = self._forward(completions[i : i + micro_batch], pad_id)
            out += [row[mask] for row, mask in zip(v, m)]
        return out

    def step(self, completions: Sequence[Completion], old_values: Sequence[torch.Tensor],
             returns: Sequence[torch.Tensor], pad_id: int, micro_batch: int) -> dict[str, float]:
        """One optimizer step of the clipped value loss (token mean over the minibatch)."""
        self.optimizer.zero_grad(set_to_none=True)
        num_tokens = max(1, sum(len(c.ids) for c in completions))
        total, stats = 0.0, []
        for i in range(0, len(completions), micro_batch):
            v, m = self._forward(completions[i : i + micro_batch], pad_id)
            loss_tok, st = value_loss(v, scatter(old_values[i : i + micro_batch], m, v),
                                      scatter(returns[i : i + micro_batch], m, v), m, clip=self.cfg.value_clip)
            loss = loss_tok.sum() / num_tokens
            loss.backward()
            total += loss.item()
            stats.append(st)
        grad = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.max_grad_norm).item()
        if torch.isfinite(torch.tensor([total, grad])).all():
            self.optimizer.step()
        self.scheduler.step()
        return {"value/loss": total, "value/grad_norm": grad,
                **{k: float(sum(s[k] for s in stats) / len(stats)) for k in stats[0]}}

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
