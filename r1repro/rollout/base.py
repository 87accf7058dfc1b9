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


def backend_from_config(sampling, model, tokenizer, *, stop: Sequence[str] = (), model_path: str | None = None,
                        dtype: str = "auto", seed: int = 0) -> RolloutBackend:
    """The backend a SamplingConfig names, with its engine settings."""
    if sampling.backend == "vllm":
        v = sampling.vllm
        return make_backend("vllm", model, tokenizer, stop=stop, model_path=model_path, dtype=dtype, seed=seed,
                            gpu_memory_utilization=v.gpu_memory_utilization, enable_sleep_mode=v.enable_sleep_mode,
                            tensor_parallel_size=v.tensor_parallel_size, max_model_len=v.max_model_len)
    return make_backend("hf", model, tokenizer, stop=stop, batch_size=sampling.batch_size, engine=sampling.engine)


def make_backend(name: str, model, tokenizer, *, stop: Sequence[str] = (), batch_size: int = 64,
                 **kwargs) -> RolloutBackend:
    if name == "hf":
        from r1repro.rollout.hf import HFBackend

        return HFBackend(model, tokenizer, stop=stop, batch_size=batch_size, engine=kwargs.get("engine", "loop"))
    if name == "vllm":
        from r1repro.rollout.vllm import VLLMBackend

        return VLLMBackend(model, tokenizer, stop=stop, **kwargs)
    raise ValueError(f"unknown rollout backend {name!r}; known: hf, vllm")
