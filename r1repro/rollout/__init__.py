"""Rollout backends behind one interface: sample n completions per prompt.

    backend = make_backend("hf", model, tokenizer, stop=("</answer>",))
    groups = backend.generate(prompts, n=8, max_new_tokens=256, temperature=1.0, top_p=1.0, seed=0)
    groups[i][j].ids, .text, .truncated

'hf' runs transformers' generate on CPU or GPU; 'vllm' (GPU extra, imported lazily) runs a vLLM
engine and receives the policy's weights after every optimizer step.
"""

from collections.abc import Sequence

from r1repro.rollout.base import Completion, RolloutBackend

__all__ = ["Completion", "RolloutBackend", "backend_from_config", "make_backend"]


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
