"""Rollout backends behind one interface: sample n completions per prompt.

    backend = make_backend("hf", model, tokenizer, stop=("</answer>",))
    groups = backend.generate(prompts, n=8, max_new_tokens=256, temperature=1.0, top_p=1.0, seed=0)
    groups[i][j].ids, .text, .truncated

'hf' runs transformers' generate on CPU or GPU; 'vllm' (GPU extra, imported lazily) runs a vLLM
engine and receives the policy's weights after every optimizer step.
"""

from r1repro.rollout.base import Completion, RolloutBackend, backend_from_config, make_backend

__all__ = ["Completion", "RolloutBackend", "backend_from_config", "make_backend"]
