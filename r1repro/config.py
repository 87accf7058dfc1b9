"""Recipes -> frozen, validated configs.

A recipe is YAML. `base: other.yaml` inherits another recipe (deep merge, child wins, paths relative
to the child). Dotted overrides from the command line (`rl.optim.lr=1e-6`) are applied last. The
merged tree is built into the frozen dataclasses below with strict keys: an unknown key is an error
that names the file that set it, the key path and the closest valid key; a wrong type or an
out-of-range value names the field and what is allowed.

Each field is documented once, in the docstring right under it (`r1repro config --describe`
prints these). Importing this module imports neither torch nor transformers.

    cfg = load_recipe("recipes/quickstart.yaml", ["rl.steps=10"])
    cfg.rl.optim.lr
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import hashlib
import inspect
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
EVALS_DIR = REPO_ROOT / "evals"
STAGES = ("prepare", "sft", "rl", "eval", "report")
CHECKPOINTS = ("base", "sft", "rl")
"""The models of a run that eval.checkpoints names, in training order."""
WARMUP_RL = 10
"""Default RL warmup steps (measured: docs/rl-defaults.md)."""


class RecipeError(ValueError):
    """A recipe, override or task file that cannot be turned into a config."""


def num(default: Any, *, gt: float | None = None, ge: float | None = None, le: float | None = None):
    """A numeric field with an allowed range, checked when the recipe is built."""
    return field(default=default, metadata={"gt": gt, "ge": ge, "le": le})


# ----------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class GraderPolicy:
    backend: str = "r1repro"
    """Which checker decides: "r1repro" (this package) or "math_verify" (HF math-verify, run in the
    same sandbox; its own extraction is used)."""
    timeout_s: float = 2.0
    """Wall-clock budget for the symbolic step of one check; after it the worker is killed and
    respawned and the verdict is `timeout`. Use 2 s for RL rewards, 5 s for evaluation."""
    last_number_fallback: bool = False
    """GSM8K-style extraction: when there is no box, no <answer>, no `####` and no "the answer is",
    take the last number of the last sentence. Off by default (it rewards unformatted output)."""
    require_think_close: bool = True
    """A response that opens <think> and never closes it has no answer (`no_answer`)."""
    reject_multiple_boxed: bool = True
    """Different values in several boxes of the final answer segment are a hedge: `multiple_answers`."""
    accept_factored_forms: bool = True
    """Factored and expanded polynomials are equal ((x+1)^2 == x^2+2x+1). When False only forms that
    are structurally equal after parsing count."""
    accept_unreduced_fractions: bool = True
    """An unreduced fraction (2/4 for 1/2, 14/2 for 7) is accepted."""
    percent_optional: bool = True
    """A missing or extra `%` is ignored (50 for 50\\%, and 50\\% for 50)."""
    degree_optional: bool = True
    """A missing or extra degree sign is ignored (30 for 30^\\circ)."""
    base_subscript_optional: bool = True
    """For a gold in a base (413_5) the same digits without a subscript (413) are accepted; a
    different base (413_6) never is."""
    accept_inequality_for_interval: bool = False
    """An inequality (x < 3) is accepted for an interval gold ((-\\infty, 3))."""
    accept_unsimplified_arithmetic: bool = False
    """Unfinished arithmetic (3+4 for 7, 2\\cdot 5 for 10) is accepted."""
    accept_decimal_approximations: bool = False
    """A decimal approximation (0.333, 1.414) of an exact non-terminating gold (1/3, \\sqrt{2}) is
    accepted when within `approx_rel_tol`."""
    approx_rel_tol: float = 1e-4
    """Relative tolerance used only when `accept_decimal_approximations` is True."""
    max_answer_chars: int = 400
    """An extracted answer longer than this is `too_large` (it is not a final answer)."""
    max_nodes: int = 200
    """An answer with more tokens than this is `too_large` before any symbolic work."""
    max_digits: int = 10_000
    """Power towers and factorials whose value would exceed this many digits are `too_large`."""
    cache_size: int = 100_000
    """Verdicts cached per process by (policy, gold, normalised prediction); 0 disables."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TinyModelConfig:
    arch: Literal["llama", "qwen2"] = "llama"
    """Architecture of the embedded model (a transformers class, so HF tools load it)."""
    hidden_size: int = num(128, gt=0)
    """Width of the residual stream."""
    layers: int = num(4, gt=0)
    """Number of transformer blocks."""
    heads: int = num(4, gt=0)
    """Attention heads (hidden_size must be divisible by heads)."""
    intermediate_size: int = num(512, gt=0)
    """Width of the MLP."""
    max_positions: int = num(512, gt=0)
    """Context length."""
    vocab_size: int = num(384, ge=300)
    """Size of the byte-level BPE vocabulary trained on the task's text (256 bytes + merges + specials)."""

    def __post_init__(self) -> None:
        if self.hidden_size % self.heads:  # else the prepare stage fails building the model
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by heads {self.heads}")


@dataclass(frozen=True)
class LoRAConfig:
    r: int = num(16, gt=0)
    """Rank of each low-rank update B @ A."""
    alpha: float = num(32.0, gt=0.0)
    """Scale: the update added to a weight is (alpha / r) * B @ A (peft's lora_alpha)."""
    dropout: float = num(0.0, ge=0.0, le=1.0)
    """Dropout on the adapter's input (peft's lora_dropout); 0 keeps training deterministic."""
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    """Names of the linear layers that get an adapter (the Llama/Qwen2 names); ["all-linear"]: every
    linear layer but the output head (peft's shorthand)."""


@dataclass(frozen=True)
class ModelConfig:
    path: str = "tiny"
    """'tiny' builds the embedded model from `model.tiny`; 'smollm2-135m' loads the GGUF listed in
    ../shared/MODELS.md; anything else is a Hugging Face checkpoint directory or hub id."""
    tiny: TinyModelConfig = field(default_factory=TinyModelConfig)
    """Shape of the embedded model (used when path is 'tiny')."""
    lora: LoRAConfig | None = None
    """Train low-rank adapters (peft, the `lora` extra) instead of every weight, in SFT and RL; None:
    full fine-tuning. The KL reference is the same model with its adapters disabled (no second copy);
    checkpoints hold the adapter (`adapter/`), and a stage's final checkpoint also the merged weights,
    which any HF loader (and the vLLM engine) reads as a plain model."""
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    """Training dtype. On CPU float32 is faster than bfloat16."""
    gradient_checkpointing: bool = False
    """Recompute activations in backward to save memory."""
    threads: int | None = num(None, gt=0)
    """torch intra-op threads; None keeps torch's default."""
    mmap_threshold_mib: float | None = num(1.0, gt=0.0)
    """glibc only: allocations of at least this many MiB get their own mmap, so a freed activation
    goes back to the OS at once instead of staying in the heap. Measured (benchmarks/rl_memory.py):
    SmolLM2-135M policy-gradient step on 16 x 384 tokens, peak RSS 2.83-3.69 -> 2.38 GiB at 4 MiB, no
    slowdown on the tiny model (a 128 KiB threshold cost it 25%). 4 -> 1 MiB on the SmolLM2-135M RL step
    of benchmarks/trl_compare.py (Xeon, 2026-12-06): peak RSS 8,599 -> 7,594 MB, 32.1 -> 30.5 s a step;
    with oneDNN linears 9,326 -> 7,912 MB (0.5 MiB: 7,854 MB but 41% slower: oneDNN's temporaries).
    The tiny model's RL step the other way, 1 -> 4 MiB: 0.70 -> 0.665 s, 665 -> 705 MB (recipes/quickstart.yaml
    sets 4). None: glibc's default (a threshold that grows)."""


@dataclass(frozen=True)
class SourceSpec:
    loader: str = "arithmetic"
    """A loader of r1repro.data.loaders.LOADERS (benchmark files, jsonl, synthetic generators)."""
    split: str = "train"
    """Split to load (train/test; loader-specific)."""
    limit: int | None = num(None, gt=0)
    """Keep a seeded random subset of this many problems (None: all)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Loader-specific options (levels, subjects, field mapping, difficulty knobs); validated by the loader."""


@dataclass(frozen=True)
class DataConfig:
    dir: str | None = None
    """Data directory with the benchmark files; None: $R1REPRO_DATA, else ../shared/data when present."""
    train: tuple[SourceSpec, ...] = (SourceSpec(),)
    """Training problems, concatenated from these sources."""
    template: str = "r1_zero"
    """A prompt template of r1repro.data.templates.TEMPLATES."""
    dedupe: bool = True
    """Drop training problems whose normalised question repeats."""
    decontaminate: bool = True
    """Drop training problems that overlap an evaluation set (exact match or n-gram overlap)."""
    ngram: int = num(13, gt=0)
    """n of the n-gram overlap used by the contamination check."""
    skip_bad: bool = False
    """Skip (and list in the data card) malformed rows instead of failing on the first one."""
    shuffle: bool = True
    """Shuffle the training set with the run's seed."""


@dataclass(frozen=True)
class VLLMConfig:
    gpu_memory_utilization: float = num(0.3, gt=0.0, le=1.0)
    """Share of GPU memory the colocated engine may take (the rest is for training)."""
    enable_sleep_mode: bool = False
    """Let the engine release its memory between generations (sleep/wake around training)."""
    tensor_parallel_size: int = num(1, gt=0)
    """GPUs one engine spans (1 under torchrun: each rank runs its own engine)."""
    max_model_len: int | None = num(None, gt=0)
    """Engine context length; None: the model's."""


@dataclass(frozen=True)
class SamplingConfig:
    max_new_tokens: int = num(256, gt=0)
    """Completion budget in tokens; longer completions are truncated (and flagged)."""
    temperature: float = num(1.0, ge=0.0)
    """Sampling temperature; 0 means greedy."""
    top_p: float = num(1.0, gt=0.0, le=1.0)
    """Nucleus sampling mass."""
    batch_size: int = num(64, gt=0)
    """Sequences generated together."""
    backend: Literal["hf", "vllm"] = "hf"
    """Rollout engine: 'hf' (CPU/GPU, transformers) or 'vllm' (GPU extra)."""
    engine: Literal["loop", "generate"] = "loop"
    """HF backend: r1repro's KV-cache loop, or transformers' model.generate."""
    vllm: VLLMConfig = field(default_factory=VLLMConfig)
    """vLLM engine settings (backend: vllm)."""


@dataclass(frozen=True)
class OptimConfig:
    lr: float = num(1e-5, ge=0.0)
    """Peak learning rate (AdamW). 0 freezes the weights: a control run that samples and scores
    exactly like training but never moves the policy."""
    weight_decay: float = num(0.0, ge=0.0)
    """AdamW weight decay."""
    beta1: float = num(0.9, ge=0.0, le=1.0)
    """AdamW beta1."""
    beta2: float = num(0.999, ge=0.0, le=1.0)
    """AdamW beta2."""
    warmup_steps: int = num(0, ge=0)
    """Linear warmup steps."""
    schedule: Literal["constant", "cosine", "linear"] = "constant"
    """Decay after warmup, down to min_lr_ratio * lr at the last step."""
    min_lr_ratio: float = num(0.0, ge=0.0, le=1.0)
    """Final learning rate as a fraction of lr (cosine/linear)."""
    max_grad_norm: float = num(1.0, gt=0.0)
    """Gradient clipping by global norm."""


@dataclass(frozen=True)
class SFTConfig:
    enabled: bool = True
    """Run the SFT stage (teacher forcing on worked solutions) before RL."""
    data: str | None = None
    """JSONL of {prompt, response} (or Problem records with solutions); None: the run's data/train.jsonl."""
    traces_from: str | None = None
    """A finished run directory: train on the samples its RL stage got right (R1's rejection-sampled
    traces, written to sft/traces.jsonl) instead of `data`."""
    traces_per_problem: int = num(1, gt=0)
    """With traces_from: at most this many distinct correct traces per problem, latest RL step first."""
    limit: int | None = num(None, gt=0)
    """Use only the first N training examples (the SFT warm start is deliberately small)."""
    steps: int = num(100, ge=0)
    """Optimizer steps."""
    batch_size: int = num(32, gt=0)
    """Sequences per optimizer step (split into micro_batch-sized pieces)."""
    micro_batch: int = num(32, gt=0)
    """Sequences per forward/backward (gradient accumulation when smaller than batch_size)."""
    average: Literal["token", "sequence"] = "token"
    """Loss averaging: mean over all response tokens of the batch, or mean of per-sequence means."""
    max_len: int = num(512, gt=0)
    """Truncate prompt+response to this many tokens."""
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-3, warmup_steps=10, schedule="cosine"))
    """Optimizer and schedule."""
    eval_every: int = num(50, ge=0)
    """Held-out loss and greedy accuracy every N steps (0: never)."""
    eval_size: int = num(64, ge=0)
    """Held-out examples for that evaluation."""
    save_every: int = num(0, ge=0)
    """Checkpoint every N steps (0: only the final one)."""
    keep_last: int = num(2, gt=0)
    """Checkpoints to keep."""
    log_every: int = num(10, gt=0)
    """Metrics record every N steps."""
    logprob_chunk: int = num(1024, gt=0)
    """Tokens per chunk of the memory-lean log-prob computation (the LM head never sees more at once)."""


@dataclass(frozen=True)
class CriticConfig:
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-4, warmup_steps=5))
    """The value model's own optimizer and schedule."""
    gamma: float = num(1.0, ge=0.0, le=1.0)
    """Discount over completion tokens (1: the outcome reward counts fully at every token)."""
    lam: float = num(0.95, ge=0.0, le=1.0)
    """GAE lambda: 1 gives A_t = R - V(s_t); lower trusts the critic more (less variance, more bias)."""
    value_clip: float | None = num(0.2, gt=0.0)
    """PPO value clipping: the new value may leave the old one by at most this much (None: no clip)."""
    whiten: bool = False
    """Normalise the token advantages to mean 0, std 1 over the batch (TRL's and OpenRLHF's default).
    Off here: with sparse 0/1 rewards a batch where every reward is equal has advantages that are
    only the critic's noise, and whitening blows that up to unit size (measured on the smoke test's
    toy reward: 0.008 -> 0.31 in 12 steps without, no progress with)."""


@dataclass(frozen=True)
class RLConfig:
    enabled: bool = True
    """Run the RL stage."""
    algorithm: Literal["pg", "raft", "ppo"] = "pg"
    """'pg': policy gradient with the advantage and loss below; 'raft': expert iteration (SFT on the
    correct samples); 'ppo': PPO with a learned value model (rl.critic): per-token GAE advantages
    replace rl.advantage, with the clipped policy loss (rl.loss should be ppo_clip) and value loss."""
    init: Literal["auto", "base", "sft"] = "auto"
    """Starting weights: 'auto' uses the SFT checkpoint when the run has one, else the base model."""
    steps: int = num(50, ge=0)
    """RL steps (one batch of rollouts each)."""
    prompts_per_step: int = num(16, gt=0)
    """Prompts sampled per step."""
    group_size: int = num(8, gt=0)
    """Completions per prompt (k)."""
    advantage: str = "rloo"
    """An advantage estimator of r1repro.algos.ADVANTAGES (REINFORCE with or without a baseline, RLOO,
    GRPO and its variants)."""
    loss: str = "pg"
    """A policy loss of r1repro.algos.POLICY_LOSSES (vanilla policy gradient, PPO's clipped ratios)."""
    aggregation: str = "token_mean"
    """How per-token losses become one number, a name of r1repro.algos.AGGREGATIONS."""
    aggregation_constant: float | None = num(None, gt=0)
    """Normaliser of seq_sum_constant; None: sampling.max_new_tokens."""
    epochs: int = num(1, gt=0)
    """Passes over each batch of rollouts (mu). Above 1 the PPO ratio departs from 1."""
    minibatches: int = num(1, gt=0)
    """Optimizer steps per epoch (the batch is split into this many minibatches)."""
    micro_batch: int = num(32, gt=0)
    """Sequences per forward/backward (gradient accumulation inside a minibatch)."""
    clip_low: float = num(0.2, ge=0.0, le=1.0)
    """PPO lower clip: ratio >= 1 - clip_low."""
    clip_high: float = num(0.2, ge=0.0)
    """PPO upper clip: ratio <= 1 + clip_high (clip-higher when larger than clip_low)."""
    kl_coef: float = num(0.0, ge=0.0)
    """KL penalty to the reference (initial) model; 0 loads no reference model."""
    kl_estimator: str = "k3"
    """A KL estimator of r1repro.algos.KL_ESTIMATORS (Schulman's k1, k2, k3)."""
    kl_in: Literal["loss", "reward"] = "loss"
    """Apply the KL penalty in the loss (GRPO) or subtract it from the reward (PPO-RLHF)."""
    entropy_coef: float = num(0.0, ge=0.0)
    """Entropy bonus coefficient."""
    rewards: dict[str, float | dict[str, Any]] = field(default_factory=lambda: {"correct": 1.0})
    """Rewards of r1repro.rewards.REWARDS, summed into the reward: `name: weight`, or `name: {weight:
    w, <the reward's options>}` (as TRL passes per-reward kwargs). correct: `wrong`, `unparseable`
    (the value of a wrong answer and of one that cannot be read; 0); language: `script` (the
    target script of the language-consistency reward; latin)."""
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    """Rollout sampling."""
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-5, warmup_steps=WARMUP_RL))
    """Optimizer and schedule. The warmup is on by default: Adam's first steps move every weight by
    about lr whatever the gradient (docs/rl-defaults.md)."""
    critic: CriticConfig = field(default_factory=CriticConfig)
    """The value model (rl.algorithm: ppo only)."""
    eval_every: int = num(0, ge=0)
    """Greedy held-out accuracy every N RL steps, and before the first (0: never). Logged as eval/*
    in rl/metrics.jsonl; the graded completions go to rl/evals/step_N.jsonl."""
    eval_size: int = num(100, gt=0)
    """Problems of that evaluation (the first N of the task)."""
    eval_task: str | None = None
    """The eval task (a key of eval.tasks) used for it; None: the first task."""
    logprob_chunk: int = num(1024, gt=0)
    """Tokens per chunk of the memory-lean log-prob computation."""
    share_prompt: bool = True
    """Forward each distinct prompt once; its k completions attend to its keys/values (same log-probs
    and gradients; off automatically under gradient checkpointing). In one process once an optimizer
    step (models.ForwardedPrompts); under DDP/FSDP once in each micro-batch that has its samples."""
    skip_zero_advantage: bool = True
    """Leave sequences whose advantage is exactly 0 out of the forward/backward: their loss is 0 x
    (log-prob or ratio), so the gradient is the same (they still count in the aggregation). Off
    automatically with a KL term in the loss, an entropy bonus, or per-token advantages (ppo).
    entropy and ratio/* are then measured on the sequences that were trained on."""
    save_every: int = num(0, ge=0)
    """Checkpoint every N steps (0: only the final one)."""
    keep_last: int = num(2, gt=0)
    """Checkpoints to keep."""
    log_rollouts_every: int = num(1, ge=0)
    """Write rl/rollouts/step_N.jsonl every N steps (0: never)."""
    max_nonfinite: int = num(3, gt=0)
    """Stop the run after this many consecutive steps with a non-finite loss or gradient."""
    dynamic_sampling: bool = False
    """DAPO's dynamic sampling: drop the groups whose k rewards are all equal (no learning signal under
    a group baseline) and draw more prompts until the step has prompts_per_step informative groups
    (verl: algorithm.filter_groups). Logged: dynamic/draws, dynamic/prompts, dynamic/all_same, dynamic/filled."""
    max_draws: int = num(4, gt=0)
    """With dynamic_sampling: draws of prompts per step at most, the first included (verl:
    max_num_gen_batches). A batch still short after them is filled up with dropped groups, so every
    step trains on prompts_per_step groups; the share that was filling is logged as dynamic/filled."""
    mask_truncated: bool = False
    """Leave completions that hit sampling.max_new_tokens out of the loss (their tokens get no gradient and
    do not count in the token normaliser; TRL: mask_truncated_completions, DAPO: overlong filtering)."""
    overlong_buffer: int = num(0, ge=0)
    """DAPO's soft overlong punishment: over the last this-many tokens of the sampling.max_new_tokens budget
    the reward falls linearly, to -overlong_penalty at the budget (verl: overlong_buffer.len); 0: off."""
    overlong_penalty: float = num(1.0, ge=0.0)
    """The reward taken off a completion that reaches the budget (verl: overlong_buffer.penalty_factor)."""

    def __post_init__(self):
        if self.overlong_buffer > self.sampling.max_new_tokens:
            raise ValueError(f"rl.overlong_buffer={self.overlong_buffer} is longer than the budget "
                             f"rl.sampling.max_new_tokens={self.sampling.max_new_tokens}")


@dataclass(frozen=True)
class TaskConfig:
    dataset: SourceSpec = field(default_factory=lambda: SourceSpec(split="test"))
    """Where the task's problems come from."""
    template: str | None = None
    """Prompt template; None: the recipe's data.template."""
    k: int = num(0, ge=0)
    """Samples per problem for pass@k / maj@k (0: greedy only)."""
    greedy: bool = True
    """Also decode greedily (the 'accuracy' metric)."""
    sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig(temperature=0.6, top_p=0.95))
    """Sampling for the k samples (greedy ignores temperature/top_p)."""
    grader: GraderPolicy = field(default_factory=lambda: GraderPolicy(timeout_s=5.0))
    """Grader policy, logged with the results."""
    flexible: bool = False
    """Also report lm-eval's "flexible-extract" view, `accuracy/flexible` and `pass@j/flexible`: a
    response with no box, answer tag, `####` or answer phrase is graded on the last number of its
    last sentence. The headline metrics stay as `grader` says (strict unless it sets
    last_number_fallback)."""
    language: str = "latin"
    """Target script for the language-mixing metrics."""
    forced_prefix: str = ""
    """Text put after the prompt as if the model had written it, to force a behaviour and measure the
    skill apart from the choice (quickstart: ' (a)' forces a worked solution, ' </think>' a direct
    answer). The grader sees it as the start of the response."""


@dataclass(frozen=True)
class EvalConfig:
    enabled: bool = True
    """Run the eval stage."""
    tasks: dict[str, TaskConfig] = field(default_factory=dict)
    """Tasks by name; each entry is deep-merged over evals/<name>.yaml when that file exists."""
    checkpoints: tuple[Literal[CHECKPOINTS], ...] = ("sft", "rl")
    """Which of the run's models to evaluate."""
    limit: int | None = num(None, gt=0)
    """Evaluate only the first N problems of each task."""


@dataclass(frozen=True)
class ReportConfig:
    enabled: bool = True
    """Run the report stage."""
    traces: int = num(12, ge=0)
    """Problems shown in the trace browser."""


@dataclass(frozen=True)
class DistConfig:
    strategy: Literal["ddp", "fsdp"] = "ddp"
    """Wrapper for multi-process training under torchrun (WORLD_SIZE > 1)."""


@dataclass(frozen=True)
class Recipe:
    name: str = "run"
    """Run name: the run directory is <runs_dir>/<name>."""
    seed: int = 0
    """Seed of data sampling, initialisation and generation."""
    runs_dir: str = "runs"
    """Parent directory of run directories."""
    report_to: tuple[str, ...] = ()
    """Experiment trackers of r1repro.trackers.TRACKERS; the name TRL and transformers
    use. Every metrics record of SFT, RL and eval goes to each, with the keys of metrics.jsonl; one tracker
    run per stage (tensorboard: runs/<name>/tb/<stage>/; wandb: group <name>, offline unless
    WANDB_API_KEY is set, files under runs/<name>/wandb/). --resume continues the same tracker run."""
    stages: tuple[Literal["prepare", "sft", "rl", "eval", "report"], ...] = STAGES
    """Stages `r1repro run` executes, in this order."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """The policy model."""
    data: DataConfig = field(default_factory=DataConfig)
    """Training data and prompt template."""
    grader: GraderPolicy = field(default_factory=GraderPolicy)
    """Answer checker used by the RL rewards."""
    sft: SFTConfig = field(default_factory=SFTConfig)
    """Supervised warm start."""
    rl: RLConfig = field(default_factory=RLConfig)
    """Reinforcement learning."""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """Evaluation tasks."""
    report: ReportConfig = field(default_factory=ReportConfig)
    """Report rendering."""
    dist: DistConfig = field(default_factory=DistConfig)
    """Multi-process settings."""


# ----------------------------------------------------------------------------- YAML layer
def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except yaml.YAMLError as e:
        raise RecipeError(f"{path}: invalid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping, got {type(data).__name__}")
    return data


def _merge(base: dict, top: dict, origins: dict, src: str, prefix: str = "") -> dict:
    """Deep-merge `top` over `base` (mappings merge, anything else replaces); record each leaf's file."""
    out = dict(base)
    for k, v in top.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v, origins, src, key + ".")
        else:
            out[k] = v
            origins[key] = src
            _record_leaves(v, key, origins, src)
    return out


def _record_leaves(v: Any, key: str, origins: dict, src: str) -> None:
    if isinstance(v, dict):
        for k2, v2 in v.items():
            origins[f"{key}.{k2}"] = src
            _record_leaves(v2, f"{key}.{k2}", origins, src)


def _read_with_bases(path: Path, origins: dict, seen: tuple = (), key: str = "base", prefix: str = "") -> dict:
    path = path.resolve()
    if path in seen:
        raise RecipeError(f"{path}: `{key}:` cycle through {' -> '.join(map(str, seen))}")
    data = _read_yaml(path)
    parent = data.pop(key, None)
    merged: dict = {}
    if parent is not None:
        if not isinstance(parent, str):
            raise RecipeError(f"{path}: `{key}:` must be a path to another YAML file")
        if not (path.parent / parent).is_file():  # name the file that holds the `base:` line
            raise RecipeError(f"{path}: `{key}: {parent}`: no such recipe file {(path.parent / parent).resolve()}")
        merged = _read_with_bases((path.parent / parent), origins, seen + (path,), key, prefix)
    return _merge(merged, data, origins, str(path), prefix)


def apply_override(tree: dict, override: str, origins: dict) -> dict:
    """Apply one `dotted.key=value` override (value parsed as YAML) and return the new tree."""
    if "=" not in override:
        raise RecipeError(f"override {override!r}: expected key=value, e.g. rl.optim.lr=1e-6")
    key, raw = override.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise RecipeError(f"override {override!r}: invalid value: {e}") from None
    nested: Any = value
    for part in reversed(key.strip().split(".")):
        nested = {part: nested}
    return _merge(tree, nested, origins, f"command-line override {override!r}")


# ----------------------------------------------------------------------------- build & validate
def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _check_range(value: Any, meta: Mapping, where: str) -> None:
    if value is None:
        return
    gt, ge, le = meta.get("gt"), meta.get("ge"), meta.get("le")
    bad = (gt is not None and not value > gt) or (ge is not None and not value >= ge) or (
        le is not None and not value <= le
    )
    if bad:
        parts = [f"> {gt}" if gt is not None else None, f">= {ge}" if ge is not None else None,
                 f"<= {le}" if le is not None else None]
        raise RecipeError(f"{where} = {value!r} is out of range: must be {' and '.join(p for p in parts if p)}")


def _convert(value: Any, tp: Any, path: str, origins: dict) -> Any:
    """Convert a YAML value to field type `tp`; `path` is the dotted key path (for messages)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    where = _where(path, origins)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in (a for a in args if a is not type(None)):
            try:
                return _convert(value, a, path, origins)
            except RecipeError as e:
                errors.append(str(e))
        raise RecipeError(errors[0] if len(errors) == 1 else f"{where}: {value!r} is not a {_type_name(tp)}")
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise RecipeError(f"{where} = {value!r} is not allowed{hint} allowed: {', '.join(map(str, args))}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise RecipeError(f"{where}: expected a mapping of {tp.__name__} fields, got {value!r}")
        return build(tp, value, origins, path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise RecipeError(f"{where}: expected a list, got {value!r}")
        item_types = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if len(item_types) != len(value):
            raise RecipeError(f"{where}: expected {len(item_types)} items, got {len(value)}")
        return tuple(_convert(v, t, f"{path}[{i}]", origins) for i, (v, t) in enumerate(zip(value, item_types)))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise RecipeError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): _convert(v, args[1], f"{path}.{k}", origins) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise RecipeError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):  # PyYAML reads `1e-5` (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecipeError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise RecipeError(f"{where}: expected a string, got {value!r}")
        return value
    raise RecipeError(f"{where}: unsupported field type {_type_name(tp)}")


def where(path: str, origins: Mapping[str, str]) -> str:
    """`file: key.path`, naming the file (or override) that set the key or its nearest parent."""
    return _where(path, origins)


def _where(path: str, origins: Mapping[str, str]) -> str:
    key = re.sub(r"\[\d+\]", "", path)
    while key and key not in origins:
        key = key.rpartition(".")[0]
    return f"{origins[key]}: {path}" if key else path


def build(cls: type, data: Mapping, origins: dict | None = None, prefix: str = "") -> Any:
    """Build dataclass `cls` from a mapping, strictly: unknown keys, wrong types and ranges are errors."""
    origins = origins or {}
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.5)
            hint = f"; did you mean '{prefix + '.' if prefix else ''}{close[0]}'?" if close else ""
            raise RecipeError(f"{_where(path, origins)}: unknown key{hint} valid keys: {', '.join(fields)}")
        v = _convert(value, hints[key], path, origins)
        _check_range(v, fields[key].metadata, _where(path, origins))
        kwargs[key] = v
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise RecipeError(f"{_where(prefix, origins) or cls.__name__}: {e}") from None
    return obj


# ----------------------------------------------------------------------------- public API
def load_task(name_or_path: str, extra: Mapping | None = None, origins: dict | None = None) -> TaskConfig:
    """An evaluation task: evals/<name>.yaml (with `include:` bases) deep-merged with `extra`."""
    origins = origins if origins is not None else {}
    path = Path(name_or_path)
    if not path.suffix:
        path = EVALS_DIR / f"{name_or_path}.yaml"
    prefix = f"eval.tasks.{Path(name_or_path).stem}"
    from_files: dict[str, str] = {}  # keys the task file (and its includes) set; the recipe's win
    tree = _read_with_bases(path, from_files, key="include", prefix=prefix + ".") if path.exists() else {}
    for k, src in from_files.items():
        origins.setdefault(k, src)
    if not path.exists() and not extra:
        known = sorted(p.stem for p in EVALS_DIR.glob("*.yaml") if not p.stem.startswith("_"))
        close = difflib.get_close_matches(name_or_path, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RecipeError(f"unknown eval task {name_or_path!r} (no {path}){hint} known: {', '.join(known)}")
    tree = _merge(tree, dict(extra or {}), {}, "")
    return build(TaskConfig, tree, origins, prefix)


def load_recipe(path: str | Path, overrides: Sequence[str] = (), *, origins: dict[str, str] | None = None) -> Recipe:
    """Read a recipe (following `base:`), apply dotted overrides, build and validate it.

    origins: filled with the file (or override) that set each dotted key, for later messages
    (`where`). Names the code registers (loaders, templates, advantages, ...) are checked by
    r1repro.checks, which imports the modules that register them."""
    origins = origins if origins is not None else {}
    tree = _read_with_bases(Path(path), origins)
    for ov in overrides:
        tree = apply_override(tree, ov, origins)
    tasks = (tree.get("eval") or {}).get("tasks") or {}
    if not isinstance(tasks, Mapping):
        raise RecipeError(f"{_where('eval.tasks', origins)}: expected a mapping of task name -> settings")
    resolved = {name: load_task(name, extra or {}, origins) for name, extra in tasks.items()}
    tree.setdefault("eval", {})
    tree["eval"] = {**tree["eval"], "tasks": {}}
    recipe = build(Recipe, tree, origins)
    return dataclasses.replace(recipe, eval=dataclasses.replace(recipe.eval, tasks=resolved))


def to_dict(obj: Any) -> Any:
    """Plain YAML/JSON-able data (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def to_yaml(obj: Any) -> str:
    return yaml.safe_dump(to_dict(obj), sort_keys=False)


def config_hash(obj: Any) -> str:
    return hashlib.sha256(yaml.safe_dump(to_dict(obj), sort_keys=True).encode()).hexdigest()


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a config dataclass (read from the source)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for stmt, nxt in zip(body, body[1:]):
        if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[stmt.target.id] = inspect.cleandoc(nxt.value.value)  # type: ignore[union-attr]
    return docs


def describe(cls: type = Recipe, prefix: str = "", defaults: Any = None,
             valid: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """One line per field, nested: `rl.optim.lr (float = 1e-05): Peak learning rate (AdamW).`

    The values are those of `defaults` (an instance; by default `cls()`), so a nested config whose
    parent field builds it with other values (sft.optim: lr 1e-3, cosine, warmup 10) shows those.
    valid: dotted field -> the names it accepts (the registries', r1repro.checks.valid_names), added
    to that field's line as ` Valid: a, b, c.`: config itself imports no registry."""
    defaults = cls() if defaults is None else defaults
    docs, lines = field_docs(cls), []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp, value = hints[f.name], getattr(defaults, f.name)
        args = typing.get_args(tp)
        inner = [a for a in args if dataclasses.is_dataclass(a)] if type(None) in args else []  # `X | None`
        if dataclasses.is_dataclass(tp) or inner:
            kind = f" ({inner[0].__name__} | None = {to_dict(value)!r})" if inner else ""
            lines.append(f"{prefix}{f.name}{kind}: {docs.get(f.name, '')}")
            lines += describe(inner[0] if inner else tp, f"{prefix}{f.name}.", value, valid)  # optional: its defaults
            continue
        names = (valid or {}).get(f"{prefix}{f.name}")
        extra = f" Valid: {', '.join(names)}." if names else ""
        lines.append(f"{prefix}{f.name} ({_type_name(tp)} = {to_dict(value)!r}): {docs.get(f.name, '')}{extra}")
    return lines
