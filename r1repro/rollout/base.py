"""The rollout contract shared by every backend (tests/unit/test_rollout_contract.py checks it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class Completion:
    prompt_ids: tuple[int, ...]
    """Token ids of the prompt, as the model saw them."""
    ids: tuple[int, ...]
    """Generated token ids, up to and including the EOS token or the end of the stop string."""
    text: str
    """Decoded completion, without the EOS token."""
    finish: Literal["eos", "stop", "length"]
    """Why generation ended: EOS, a stop string, or the token budget."""

    @property
    def truncated(self) -> bool:
        return self.finish == "length"


class RolloutBackend(Protocol):
    def generate(self, prompts: Sequence[str], *, n: int, max_new_tokens: int, temperature: float,
                 top_p: float, seed: int) -> list[list[Completion]]:
        """n completions for each prompt, grouped by prompt (len(result) == len(prompts))."""
        ...

    def update_weights(self, model) -> None:
        """Make the next generate() sample from `model`'s current weights."""
        ...


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text up to and including the first stop string, and whether one was found."""
    best = None
    for s in stop:
        i = text.find(s)
        if i >= 0 and (best is None or i + len(s) < best):
            best = i + len(s)
    return (text, False) if best is None else (text[:best], True)
