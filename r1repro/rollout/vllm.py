"""vLLM rollout backend (extra `vllm`, GPU): a colocated engine that samples for the policy.

    backend = make_backend("vllm", policy, tokenizer, stop=("</answer>",), model_path="runs/q/base",
                           dtype="bfloat16", gpu_memory_utilization=0.3, enable_sleep_mode=True,
                           tensor_parallel_size=1)

What: the engine shares the GPU with training (gpu_memory_utilization is its share: weights +
KV cache). After every optimizer step `update_weights(policy)` hands the policy's full weights to
the engine's model in memory (`model.load_weights(...)`, as TRL's colocate mode does), no files.
With sleep mode the engine offloads its weights and frees its KV cache between generations
(`llm.sleep(level=1)`), giving that memory back to training.

Same semantics as the HF backend (tests/unit/test_rollout_contract.py runs one suite on both):
- prompts are tokenised here exactly as HFBackend.encode does and sent as token ids, so
  Completion.prompt_ids are what training sees;
- temperature (0 = greedy), top_p, no top-k, max_new_tokens -> max_tokens, stop strings included
  in the output; a prompt's n samples are seeded from (seed, prompt index), so they do not
  depend on the other prompts in the call;
- ids end with the EOS token when generation ended on EOS, or with the token that completed the
  stop string; text is the decoded ids (special tokens skipped) cut after the first stop string.

Under torchrun every rank runs its own engine on its GPU (vLLM's external_launcher executor)
for its own prompt shard; tensor_parallel_size > 1 is for one process driving several GPUs.
Weight sync reaches into vLLM internals (`llm_engine.model_executor.driver_worker`), which exist
in-process only, so this module sets VLLM_ENABLE_V1_MULTIPROCESSING=0 before importing vllm.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from r1repro import dist
from r1repro.models import encode_prompt
from r1repro.rollout.base import Completion, cut_at_stop

log = logging.getLogger("r1repro.rollout.vllm")


def _import_vllm():
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # engine in this process: weight sync
    try:
        import vllm
    except ImportError as e:
        raise ImportError("rl.sampling.backend=vllm needs the vllm extra on a GPU machine: "
                          "pip install 'r1repro[vllm]'") from e
    return vllm


def prompt_seed(seed: int, index: int) -> int:
    """The sampling seed of prompt `index` of a generate() call (a 31-bit int)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] >> 1)


class VLLMBackend:
    def __init__(self, model, tokenizer, *, stop: Sequence[str] = (), model_path: str | None = None,
                 dtype: str = "auto", gpu_memory_utilization: float = 0.3, enable_sleep_mode: bool = False,
                 tensor_parallel_size: int = 1, max_model_len: int | None = None, seed: int = 0,
                 **engine_kwargs):
        if model_path is None:
            raise ValueError("the vllm backend needs model_path (the checkpoint the engine starts from)")
        if dist.world_size() > 1 and tensor_parallel_size != 1:
            raise ValueError("under torchrun each rank runs its own engine: use tensor_parallel_size=1 "
                             "(tensor parallelism is for a single process driving several GPUs)")
        engine_kwargs.pop("engine", None)  # the HF backend's option
        engine_kwargs.pop("batch_size", None)
        vllm = _import_vllm()
        from r1repro.models import resolve_model_path

        self.tokenizer, self.stop, self.sleep_mode = tokenizer, tuple(stop), enable_sleep_mode
        self._sampling_params = vllm.SamplingParams
        if dist.world_size() > 1:
            engine_kwargs.setdefault("distributed_executor_backend", "external_launcher")
        self.llm = vllm.LLM(model=resolve_model_path(model_path), tokenizer=resolve_model_path(model_path),
                            dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
                            enable_sleep_mode=enable_sleep_mode, tensor_parallel_size=tensor_parallel_size,
                            max_model_len=max_model_len, seed=seed, **engine_kwargs)
        self._asleep: set[str] = set()
        self._sleep()

    # ------------------------------------------------------------------ sleep mode
    def _sleep(self) -> None:
        if self.sleep_mode:
            self.llm.sleep(level=1)  # level 1: weights to CPU memory, KV cache freed
            self._asleep = {"weights", "kv_cache"}

    def _wake(self, tags: Sequence[str]) -> None:
        todo = [t for t in tags if t in self._asleep]
        if not todo:
            return
        try:
            self.llm.wake_up(tags=todo)
        except TypeError:  # vLLM < 0.8.5: no tags, everything wakes
            self.llm.wake_up()
            todo = list(self._asleep)
        self._asleep -= set(todo)

    # ------------------------------------------------------------------ the contract
    def encode(self, prompt: str) -> list[int]:
        return encode_prompt(self.tokenizer, prompt)

    def update_weights(self, model) -> None:
        """Load `model`'s current weights into the engine (every rank calls this: FSDP2 gathers).
        A model under LoRA adapters hands over its merged weights (the engine knows no adapters)."""
        from r1repro.models import has_adapters, merged_state_dict

        state = merged_state_dict(model) if has_adapters(model) else dist.full_state_dict(model)  # HF names, full
        self._wake(["weights"])
        _engine_model(self.llm).load_weights(state.items())
        self.llm.reset_prefix_cache()  # cached KV blocks were computed with the old weights

    def generate(self, prompts: Sequence[str], *, n: int, max_new_tokens: int, temperature: float,
                 top_p: float, seed: int) -> list[list[Completion]]:
        encoded = [self.encode(p) for p in prompts]
        params = [self._sampling_params(n=n, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                                        max_tokens=max_new_tokens, stop=list(self.stop), seed=prompt_seed(seed, i),
                                        include_stop_str_in_output=True, skip_special_tokens=True)
                  for i in range(len(prompts))]
        self._wake(["weights", "kv_cache"])
        try:
            outs = self.llm.generate([{"prompt_token_ids": ids} for ids in encoded], params, use_tqdm=False)
        finally:
            self._sleep()
        return [[self._completion(ids, o) for o in sorted(out.outputs, key=lambda o: o.index)]
                for ids, out in zip(encoded, outs)]

    def _completion(self, prompt_ids: list[int], out) -> Completion:
        ids = list(out.token_ids)
        eos = self.tokenizer.eos_token_id
        if out.finish_reason == "length":
            finish = "length"
        elif isinstance(out.stop_reason, str):
            finish = "stop"
        else:  # EOS (stop_reason None) or a stop token id: train on the EOS the model produced
            finish = "eos"
            if not ids or ids[-1] != eos:
                ids.append(eos)
        body = ids[:-1] if finish == "eos" else ids
        text = cut_at_stop(self.tokenizer.decode(body, skip_special_tokens=True), self.stop)[0]
        return Completion(tuple(prompt_ids), tuple(ids), text, finish)  # type: ignore[arg-type]


def _engine_model(llm):
    """The engine's nn.Module (in-process engines only: V0, or V1 without multiprocessing)."""
    worker = llm.llm_engine.model_executor.driver_worker
    worker = getattr(worker, "worker", worker)  # V1 wraps the worker
    return worker.model_runner.model
