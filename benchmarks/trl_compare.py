"""r1repro vs TRL's GRPOTrainer on this machine: step time, peak memory, learning per wall-clock second.

What: the same model, prompts, k, completion budget, batch, learning rate and GRPO objective, run by
r1repro's real RL stage (r1repro.train.rl: sample -> score -> advantages -> policy_update) and by
TRL's GRPOTrainer (HF `generate` on CPU, no vLLM, no KL), each in its own process, alternating
(ours, TRL, ours, TRL, ...) so machine noise hits both. Both sides score with r1repro's Scorer.
Why: issues #10 and #21; users choose between the two. How to run (`pip install -e .[bench]` for TRL):

    python benchmarks/trl_compare.py step --model tiny            # the quickstart's tiny model, after its SFT
    python benchmarks/trl_compare.py step --model smollm2-135m    # SmolLM2-135M on recipes/smollm2-135m-arith.yaml
    python benchmarks/trl_compare.py learn --model tiny --pairs 3 # time to 90% held-out

--model picks a preset (PRESETS: recipe, prompts, k, budget, lr, threads, steps); any flag overrides
it. Both sides start from the base run directory's SFT checkpoint (else from the recipe's model) and
draw prompts from its train.jsonl in the same order. The base run directory (--base, default
runs/trl-bench-MODEL) is made on first use by `r1repro run RECIPE --stages prepare[,sft]`. `step`
writes benchmarks/results/trl_step[_LABEL].json, `learn` trl_learn.json.

`learn` measures time to accuracy: both sides train until the held-out greedy accuracy, measured
every --eval-every steps on the first --eval-size problems of the recipe's first eval task with the
same r1repro evaluation code on both sides (its time excluded from the clock), first reaches
--target (or --max-steps pass); the result is the training seconds until then, per side and pair.

Timing, the same on both sides: a step's time is the wall-clock between consecutive step ends (the
first step from its start), so it includes logging and bookkeeping; `generate` and `score` are each
side's own timers around generation and reward computation; `train+other` is the rest. Peak RSS is
ru_maxrss of each worker process from os.wait4 (imports, model, optimizer, everything).
The settings that differ between the two sides, and why, are listed in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_line, machine_info  # noqa: E402

from r1repro.config import ModelConfig

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TRL_MMAP_MIB = 4.0


class BudgetReached(Exception):
    pass


# ----------------------------------------------------------------------------- shared settings
# --model presets: the recipe, the stages its base run needs, and the flags' defaults for that model
COMMON = {"prompts": 16, "k": 8, "temperature": 1.0, "top_p": 1.0, "lr": 1e-4, "micro_batch": 32, "threads": 1,
          "seed": 0, "pairs": 2, "warmup": 2, "steps": 10}
PRESETS = {
    "tiny": {"recipe": "recipes/quickstart.yaml", "stages": "prepare,sft", "label": "tiny",
             "step": {"max_new_tokens": 96, "lr_warmup": 0}, "learn": {"max_new_tokens": 48, "lr_warmup": 5}},
    # the real-model recipe's task, sampling and lr; 2 threads, 1 pair of 1 + 4 steps (a step takes minutes)
    "smollm2-135m": {"recipe": "recipes/smollm2-135m-arith.yaml", "stages": "prepare", "label": "smollm2-135m",
                     "step": {"prompts": 8, "max_new_tokens": 128, "temperature": 0.8, "lr": 2e-5, "micro_batch": 16,
                              "threads": 2, "pairs": 1, "warmup": 1, "steps": 4, "lr_warmup": 0},
                     "learn": {"prompts": 8, "max_new_tokens": 128, "temperature": 0.8, "lr": 2e-5,
                               "micro_batch": 16, "threads": 2, "lr_warmup": 3}},
}


def apply_preset(a) -> None:
    """Fill every flag left unset from the --model preset; make the base run directory if missing."""
    preset = PRESETS[a.model]
    for key, value in {**COMMON, **preset[a.cmd], "recipe": preset["recipe"], "label": preset["label"]}.items():
        if getattr(a, key, value) is None:
            setattr(a, key, value)
    a.base = a.base or str(ROOT / "runs" / f"trl-bench-{a.model}")
    stages = preset["stages"].split(",")
    from r1repro.rundir import RunDir

    if Path(a.base).exists() and all(RunDir.load(Path(a.base)).output_path(s, k) for s, k in
                                      (("prepare", "base_model"), ("sft", "checkpoint")) if s in stages):
        return
    # an absolute run dir: the manifest then records the SFT checkpoint by an absolute path
    cmd = [sys.executable, "-m", "r1repro.cli", "run", a.recipe, "--stages", preset["stages"],
           "--run-dir", str(Path(a.base).resolve()), f"seed={a.seed}"]
    print("making the base run:", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd + (["--resume"] if Path(a.base).exists() else []), cwd=ROOT, check=True)


def recipe_overrides(spec: dict) -> list[str]:
    """The recipe overrides that put our side on the shared settings (GRPO, token-mean, no KL)."""
    return [f"model.threads={spec['threads']}", f"seed={spec['seed']}",
            f"rl.steps={spec['steps']}", f"rl.prompts_per_step={spec['prompts']}", f"rl.group_size={spec['k']}",
            "rl.advantage=grpo", "rl.loss=pg", "rl.aggregation=token_mean", "rl.epochs=1", "rl.minibatches=1",
            "rl.kl_coef=0.0", f"rl.micro_batch={spec['micro_batch']}", f"rl.optim.lr={spec['lr']}",
            "rl.optim.schedule=constant", f"rl.optim.warmup_steps={spec.get('lr_warmup', 0)}",
            "rl.optim.weight_decay=0.0",
            "rl.optim.max_grad_norm=1.0", f"rl.sampling.max_new_tokens={spec['max_new_tokens']}",
            f"rl.sampling.temperature={spec['temperature']}", f"rl.sampling.top_p={spec['top_p']}",
            f"rl.sampling.batch_size={spec['prompts'] * spec['k']}", "rl.save_every=0",
            f"rl.eval_every={spec.get('eval_every', 0)}", f"rl.eval_size={spec.get('eval_size', 100)}",
            *spec.get("extra_overrides", [])]


def start_model(base: Path, cfg) -> str:
    from r1repro.models import resolve_model_path
    from r1repro.rundir import RunDir

    run = RunDir.load(base)
    for stage, key in (("sft", "checkpoint"), ("prepare", "base_model")):
        p = run.output_path(stage, key)
        if p:
            return str(p)
    return resolve_model_path(cfg.model.path)


# ----------------------------------------------------------------------------- workers (own process)
def worker_ours(spec: dict, out: Path) -> None:
    import r1repro.train.rl as rl
    from r1repro.config import load_recipe
    from r1repro.pipeline import open_run, run_stages

    cfg = load_recipe(spec["recipe"], recipe_overrides(spec))
    run_dir = Path(spec["workdir"]) / "run"
    shutil.copytree(spec["base"], run_dir)
    run = open_run(cfg, run_dir, resume=True, strict_config=False)
    ends: list[float] = []
    cpu_ends: list[float] = []
    state = {"t0": None, "cpu0": None}
    target = spec.get("target")

    real_open = rl.open_metrics

    def open_metrics(*a, **kw):  # instrumentation only: a wall-clock stamp per logged step
        logger = real_open(*a, **kw)
        real_log = logger.log

        def log(record):
            if record.get("step", 0) == 0:  # the held-out evaluation before RL: not a training step
                return real_log(record)
            ends.append(time.perf_counter())
            cpu_ends.append(time.process_time())
            real_log(record)
            if target is not None and record.get("eval/accuracy", -1.0) >= target:
                raise BudgetReached

        logger.log = log
        return logger

    real_sample = rl.sample

    def sample(backend, prompts, rc, seed, first=0):
        if state["t0"] is None:
            state["t0"], state["cpu0"] = time.perf_counter(), time.process_time()
        return real_sample(backend, prompts, rc, seed, first)

    rl.open_metrics, rl.sample = open_metrics, sample
    try:
        run_stages(cfg, run, ["rl"], redo=True)
    except BudgetReached:
        pass
    recs = [json.loads(line) for line in (run_dir / "rl" / "metrics.jsonl").read_text().splitlines() if line]
    recs = [r for r in recs if r["step"] > 0]
    steps = []
    for i, r in enumerate(recs):
        # a step's wall-clock, less the held-out evaluation that ran after it (time/eval)
        wall = ends[i] - (ends[i - 1] if i else state["t0"]) - r.get("time/eval", 0.0)
        cpu = cpu_ends[i] - (cpu_ends[i - 1] if i else state["cpu0"])
        steps.append({"step": r["step"], "wall": wall, "cpu": cpu, "generate": r["time/generate"], "score": r["time/score"],
                      "train": r["time/train"], "reward": r["reward/mean"], "length": r["length/mean"],
                      "skipped_zero_adv": r.get("skipped/zero_adv"),
                      **({"eval_acc": r["eval/accuracy"]} if "eval/accuracy" in r else {})})
    import torch

    out.write_text(json.dumps({"steps": steps, "final": None, "train_s": sum(s["wall"] for s in steps),
                               "torch_threads": torch.get_num_threads()}))


def worker_trl(spec: dict, out: Path) -> None:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from r1repro.config import load_recipe
    from r1repro.data.schema import Problem
    from r1repro.data.templates import TEMPLATES
    from r1repro.files import read_jsonl
    from r1repro.models import load_model
    from r1repro.rewards import Scorer
    from r1repro.train.common import EpochSampler

    torch.set_num_threads(spec["threads"])
    cfg = load_recipe(spec["recipe"], recipe_overrides(spec))
    rc, template = cfg.rl, TEMPLATES[cfg.data.template]
    base = Path(spec["base"])
    problems = [Problem.from_dict(r) for r in read_jsonl(base / "data" / "train.jsonl")]
    sampler = EpochSampler(len(problems), cfg.seed)  # our prompt order, step by step
    n_steps = spec["steps"]
    order = [problems[i] for _ in range(n_steps) for i in sampler.take(spec["prompts"])]
    model_path = start_model(base, cfg)
    model, tokenizer = load_model(model_path, dtype="float32")
    # the prompt text our side samples from (a chat template's is rendered by the tokenizer, BOS included;
    # TRL tokenizes prompt text without adding special tokens, so both see the same ids)
    data = Dataset.from_list([{"prompt": template.prompt(p.question, tokenizer), "gold": p.gold,
                               "meta": json.dumps(p.meta)} for p in order])
    scorer = Scorer(rc.rewards, policy=cfg.grader)

    def r1repro_reward(prompts, completions, gold, meta, **_):
        responses = [template.response_prefix + c for c in completions]
        return scorer(responses, list(gold), [json.loads(m) for m in meta]).rewards

    k, micro = spec["k"], spec["micro_batch"]
    batch = spec["prompts"] * k
    args = GRPOConfig(
        output_dir=str(Path(spec["workdir"]) / "trl"), max_steps=n_steps, seed=cfg.seed, use_cpu=True,
        per_device_train_batch_size=micro, gradient_accumulation_steps=batch // micro,  # one step = P x k
        num_generations=k, max_completion_length=spec["max_new_tokens"], temperature=spec["temperature"],
        top_p=spec["top_p"], top_k=0, learning_rate=spec["lr"], lr_scheduler_type="constant_with_warmup",
        warmup_steps=spec.get("lr_warmup", 0),  # HF's warmup starts at lr 0, ours at lr / warmup
        weight_decay=0.0, max_grad_norm=1.0, adam_beta1=0.9, adam_beta2=0.999,
        beta=0.0, num_iterations=1, loss_type="dapo", scale_rewards="group",  # = our grpo + token_mean
        use_vllm=False, bf16=False, fp16=False, gradient_checkpointing=False,
        shuffle_dataset=False, logging_steps=1, save_strategy="no", report_to="none", disable_tqdm=True,
        dataloader_num_workers=0, remove_unused_columns=False,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=r1repro_reward, args=args, train_dataset=data,
                          processing_class=tokenizer)
    acc = {"generate": 0.0, "score": 0.0}

    def timed(fn, key):  # instrumentation only: TRL's own methods, timed
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                acc[key] += time.perf_counter() - t
        return wrapper

    trainer._generate_single_turn = timed(trainer._generate_single_turn, "generate")
    trainer._calculate_rewards = timed(trainer._calculate_rewards, "score")
    steps: list[dict] = []
    state = {"t0": None, "last": None, "cpu_last": None}
    target, every = spec.get("target"), spec.get("eval_every", 0)
    heldout = heldout_evaluator(spec, cfg, tokenizer) if target is not None else None

    class Clock(TrainerCallback):
        def on_step_begin(self, args, st, control, **kw):
            if state["t0"] is None:
                state["t0"] = state["last"] = time.perf_counter()
                state["cpu_last"] = time.process_time()

        def on_log(self, args, st, control, logs=None, **kw):
            if steps and logs and "reward" in logs:
                steps[-1].update(reward=logs["reward"], length=logs.get("completions/mean_length"))

        def on_step_end(self, args, st, control, **kw):
            now, cpu = time.perf_counter(), time.process_time()
            steps.append({"step": st.global_step, "wall": now - state["last"], "cpu": cpu - state["cpu_last"],
                          "generate": acc["generate"], "score": acc["score"]})
            acc["generate"] = acc["score"] = 0.0
            if heldout is not None and (st.global_step % every == 0 or st.global_step == n_steps):
                steps[-1]["eval_acc"] = heldout(trainer.model)  # off the clock, as on our side
                control.should_training_stop = steps[-1]["eval_acc"] >= target
            state["last"], state["cpu_last"] = time.perf_counter(), time.process_time()

    trainer.add_callback(Clock())
    trainer.train()
    out.write_text(json.dumps({"steps": steps, "final": None, "train_s": sum(s["wall"] for s in steps),
                               "torch_threads": torch.get_num_threads()}))


def heldout_evaluator(spec: dict, cfg, tokenizer):
    """model -> greedy accuracy on the first eval_size problems of the recipe's first eval task, with
    r1repro's own sampling loop and grader: the same measurement for both sides."""
    from r1repro.data.schema import Problem
    from r1repro.data.templates import TEMPLATES
    from r1repro.evals.harness import generate_and_grade
    from r1repro.files import read_jsonl
    from r1repro.rollout import make_backend

    name, task = next(iter(cfg.eval.tasks.items()))
    template = TEMPLATES[task.template or cfg.data.template]
    problems = [Problem.from_dict(r) for r in read_jsonl(Path(spec["base"]) / "data" / f"eval-{name}.jsonl")]
    problems = problems[: spec["eval_size"]]

    def evaluate(model) -> float:
        backend = make_backend("hf", model, tokenizer, stop=template.stop, batch_size=task.sampling.batch_size)
        recs = generate_and_grade(backend, template, tokenizer, problems, task, n=1, greedy=True, seed=cfg.seed)
        return sum(r["correct"] for r in recs) / len(recs)

    return evaluate


def run_worker(side: str, spec: dict, log_dir: Path, profile: Path | None = None) -> dict:
    """One side in a fresh process; returns its steps plus peak RSS from wait4. With `profile`, the
    worker runs under py-spy (20 samples a second, Python frames), which writes its stacks there."""
    work = Path(tempfile.mkdtemp(prefix=f"trlbench-{side}-", dir=ROOT / "runs"))
    spec = {**spec, "workdir": str(work)}
    (work / "spec.json").write_text(json.dumps(spec))
    # glibc's mmap threshold: ours, the pipeline's default (model.mmap_threshold_mib, which it also sets
    # itself); TRL, the 4 MiB it has had since 2026-11-24 (1 MiB cut its RSS but slowed its tiny step
    # 1.5x on a Xeon, 2026-12-06: docs/benchmarks.md)
    mmap_mib = ModelConfig.mmap_threshold_mib if side == "ours" else TRL_MMAP_MIB
    env = {**os.environ, "OMP_NUM_THREADS": str(spec["threads"]), "MKL_NUM_THREADS": str(spec["threads"]),
           "TOKENIZERS_PARALLELISM": "false", "PYTHONHASHSEED": "0", "MALLOC_MMAP_THRESHOLD_": str(int(mmap_mib * 2**20))}
    log_path = log_dir / f"{side}-{int(time.time())}.log"
    t0 = time.time()
    with open(log_path, "w") as logf:
        cmd = [sys.executable, __file__, "_worker", side, str(work / "spec.json")]
        if profile is not None:
            spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            cmd = [spy, "record", "--rate", "20", "--format", "raw", "--output", str(profile), "--", *cmd]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=logf, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{side} worker failed (exit {os.waitstatus_to_exitcode(status)}); see {log_path}")
    res = json.loads((work / "result.json").read_text())
    res.update(side=side, peak_rss_mb=ru.ru_maxrss / 1024, process_s=time.time() - t0, log=str(log_path),
               cpu_s=ru.ru_utime + ru.ru_stime)  # cpu_s / process_s > 1 would mean more than one busy thread
    shutil.rmtree(work)  # its checkpoints (1.6 GB a 135M run); a failed worker's stays for a look, beside its log
    return res


# ----------------------------------------------------------------------------- reporting
def machine() -> dict:
    return machine_info(("r1repro", "torch", "transformers", "trl", "accelerate", "datasets"))


def summarise(runs: list[dict], warmup: int) -> dict:
    steps = [s for r in runs for s in r["steps"][warmup:]]
    med = lambda key: statistics.median(s[key] for s in steps)  # noqa: E731
    out = {"n_steps": len(steps), "step_s": med("wall"), "step_cpu_s": med("cpu") if "cpu" in steps[0] else None, "generate_s": med("generate"), "score_s": med("score"),
           "train_other_s": statistics.median(s["wall"] - s["generate"] - s["score"] for s in steps),
           "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
           "per_run_step_s": [statistics.median(s["wall"] for s in r["steps"][warmup:]) for r in runs]}
    lens = [s["length"] for s in steps if s.get("length") is not None]
    out["mean_completion_len"] = statistics.mean(lens) if lens else None
    return out


# where a step's time goes, from py-spy's stacks: the first phase whose marker a stack holds (root first)
PHASES = (("generate", ("sample_loop (", "_generate_single_turn (", "generate (")),
          ("score", ("_calculate_rewards (", "score (r1repro/train/rl.py")),
          ("backward", ("backward (",)),
          ("optimizer", ("torch/optim/",)),
          ("train forward", ("policy_update (", "training_step (", "compute_loss (")))
IN_STEP = ("rl_step (", "training_step (")  # a sample inside a training step, either side


def profile_table(raw: Path, top: int = 8) -> dict:
    """Shares of the samples taken inside training steps, by phase, and the heaviest leaf frames."""
    phases: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not any(m in stack for m in IN_STEP):
            continue
        phase = next((name for name, marks in PHASES if any(m in stack for m in marks)), "other")
        phases[phase] += int(count)
        leaves[f"{phase}: {stack.rsplit(';', 1)[-1]}"] += int(count)
    total = sum(phases.values()) or 1
    return {"samples": total, "phases": {k: round(v / total, 3) for k, v in phases.most_common()},
            "top_frames": [(k, round(v / total, 3)) for k, v in leaves.most_common(top)]}


def cmd_profile(a, spec: dict, log_dir: Path) -> None:
    """Each side once under py-spy: where its training steps spend their time (not timed: sampling slows it)."""
    out = {}
    for side in a.sides:
        raw = log_dir / f"profile-{a.label}-{side}.txt"
        run_worker(side, spec, log_dir, profile=raw)
        out[side] = profile_table(raw)
        print(f"\n{side}: {out[side]['samples']} samples in training steps")
        print("| phase | share |\n|---|---|")
        for k, v in out[side]["phases"].items():
            print(f"| {k} | {100 * v:.1f}% |")
        print("| top frames (phase: leaf Python frame) | share |\n|---|---|")
        for k, v in out[side]["top_frames"]:
            print(f"| {k} | {100 * v:.1f}% |")
    write(RESULTS / f"trl_profile_{a.label}.json", {"benchmark": "profile", "label": a.label, "settings": spec,
                                                     "profile": out, "machine": machine()})


def cmd_step(a) -> None:
    spec = shared_spec(a, steps=a.warmup + a.steps)
    log_dir = ROOT / "runs" / "trlbench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    if a.profile:
        return cmd_profile(a, spec, log_dir)
    runs: dict[str, list] = {"ours": [], "trl": []}
    for i in range(a.pairs):
        for side in a.sides:
            r = run_worker(side, spec, log_dir)
            runs[side].append(r)
            med = statistics.median(s["wall"] for s in r["steps"][a.warmup:])
            print(f"pair {i + 1}/{a.pairs} {side:>4}: median {med:.2f} s/step, peak RSS {r['peak_rss_mb']:.0f} MB",
                  flush=True)
    summ = {side: summarise(rs, a.warmup) for side, rs in runs.items() if rs}
    if len(summ) < 2:  # one side only (--sides): its numbers, no ratio
        write(RESULTS / f"trl_step_{a.label}_{a.sides[0]}_only.json",
              {"benchmark": "step", "label": a.label, "settings": spec, "warmup": a.warmup, "summary": summ,
               "runs": runs, "machine": machine()})
        print(json.dumps(summ, indent=1))
        return
    o, t = summ["ours"], summ["trl"]
    print(f"\n{a.label}: {a.prompts} prompts x k={a.k}, <= {a.max_new_tokens} new tokens, "
          f"{a.steps} steps after {a.warmup} warm-up, {a.pairs} alternating pair(s), {a.threads} thread(s); "
          f"{cpu_line(machine())}")
    print("| side | s/step (median) | CPU s/step | generate | score | train+other | peak RSS MB | mean completion tokens |")
    print("|---|---|---|---|---|---|---|---|")
    for side, s in summ.items():
        print(f"| {side} | {s['step_s']:.2f} | {s['step_cpu_s']:.2f} | {s['generate_s']:.2f} | {s['score_s']:.3f} "
              f"| {s['train_other_s']:.2f} | {s['peak_rss_mb']:.0f} | {s['mean_completion_len']:.1f} |")
    ratio = {"step": o["step_s"] / t["step_s"], "step_cpu": o["step_cpu_s"] / t["step_cpu_s"],
             "peak_rss": o["peak_rss_mb"] / t["peak_rss_mb"],
             "generate": o["generate_s"] / t["generate_s"], "train_other": o["train_other_s"] / t["train_other_s"]}
    print(f"ratio ours/TRL: step {ratio['step']:.2f} (CPU {ratio['step_cpu']:.2f}), generate {ratio['generate']:.2f}, "
          f"train+other {ratio['train_other']:.2f}, peak RSS {ratio['peak_rss']:.2f}")
    out = RESULTS / (f"trl_step_{a.label}.json" if a.label != "tiny" else "trl_step.json")
    write(out, {"benchmark": "step", "label": a.label, "settings": spec, "warmup": a.warmup, "pairs": a.pairs,
                "summary": summ, "ratio_ours_over_trl": ratio, "runs": runs, "machine": machine()})


def time_to_target(r: dict, target: float) -> tuple[int | None, float | None]:
    """(step, training seconds) at the first held-out evaluation that reached target."""
    clock = 0.0
    for st in r["steps"]:
        clock += st["wall"]
        if st.get("eval_acc", -1.0) >= target:
            return st["step"], clock
    return None, None


def cmd_learn(a) -> None:
    spec = {**shared_spec(a, steps=a.max_steps), "target": a.target, "eval_every": a.eval_every,
            "eval_size": a.eval_size}
    log_dir = ROOT / "runs" / "trlbench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(a.pairs):
        for side in ("ours", "trl"):
            r = run_worker(side, spec, log_dir)
            r["pair"], (r["steps_to_target"], r["seconds_to_target"]) = i + 1, time_to_target(r, a.target)
            rows.append(r)
            reached = (f"{r['steps_to_target']} steps, {r['seconds_to_target']:.0f} s" if r["steps_to_target"]
                       else f"not within {len(r['steps'])} steps")
            print(f"pair {i + 1}/{a.pairs} {side:>4}: {100 * a.target:.0f}% held-out after {reached}; "
                  f"{statistics.median(s['wall'] for s in r['steps']):.2f} s/step, peak RSS {r['peak_rss_mb']:.0f} MB",
                  flush=True)
    print(f"\ntime to {100 * a.target:.0f}% held-out greedy accuracy ({a.eval_size} problems, checked every "
          f"{a.eval_every} steps, evaluation off the clock): GRPO, {a.prompts} prompts x k={a.k}, lr {a.lr}, "
          f"lr warmup {a.lr_warmup} steps")
    print("| pair | ours: steps | ours: s | TRL: steps | TRL: s | ratio ours/TRL |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for i in range(a.pairs):
        o, t = rows[2 * i], rows[2 * i + 1]
        ratio = o["seconds_to_target"] / t["seconds_to_target"] if o["seconds_to_target"] and t["seconds_to_target"] \
            else None
        ratios.append(ratio)
        fmt = lambda r, k: "never" if r[k] is None else f"{r[k]:.0f}"  # noqa: E731
        print(f"| {i + 1} | {fmt(o, 'steps_to_target')} | {fmt(o, 'seconds_to_target')} | {fmt(t, 'steps_to_target')} "
              f"| {fmt(t, 'seconds_to_target')} | {'-' if ratio is None else f'{ratio:.2f}'} |")
    secs = {side: [r["seconds_to_target"] for r in rows if r["side"] == side and r["seconds_to_target"]]
            for side in ("ours", "trl")}
    summary = {side: statistics.mean(v) if v else None for side, v in secs.items()}
    if summary["ours"] and summary["trl"]:
        print(f"mean seconds to target: ours {summary['ours']:.0f}, TRL {summary['trl']:.0f}: "
              f"ratio {summary['ours'] / summary['trl']:.2f}")
    write(RESULTS / "trl_learn.json", {"benchmark": "learn", "settings": spec, "target": a.target,
                                       "mean_seconds_to_target": summary, "ratios": ratios,
                                       "runs": rows, "machine": machine()})


def shared_spec(a, steps: int) -> dict:
    return {"recipe": a.recipe, "base": str(Path(a.base).resolve()), "prompts": a.prompts, "k": a.k,
            "max_new_tokens": a.max_new_tokens, "temperature": a.temperature, "top_p": a.top_p, "lr": a.lr,
            "micro_batch": a.micro_batch, "threads": a.threads, "seed": a.seed, "steps": steps,
            "lr_warmup": a.lr_warmup,
            "extra_overrides": a.overrides}


def write(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, default=str) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        side, spec_path = sys.argv[2], Path(sys.argv[3])
        spec = json.loads(spec_path.read_text())
        {"ours": worker_ours, "trl": worker_trl}[side](spec, spec_path.parent / "result.json")
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("step", "learn"):
        p = sub.add_parser(name)
        p.add_argument("--model", default="tiny", choices=sorted(PRESETS), help="preset of the flags below")
        p.add_argument("--base", help="run dir with prepare (+ sft) done (default: runs/trl-bench-MODEL, made if missing)")
        p.add_argument("--recipe")
        p.add_argument("--prompts", type=int, help="prompts per step")
        p.add_argument("--k", type=int, help="samples per prompt")
        p.add_argument("--max-new-tokens", type=int)
        p.add_argument("--temperature", type=float)
        p.add_argument("--top-p", type=float)
        p.add_argument("--lr", type=float)
        p.add_argument("--micro-batch", type=int, help="sequences per forward/backward")
        p.add_argument("--lr-warmup", type=int, help="linear lr warmup steps")
        p.add_argument("--threads", type=int, help="torch/OpenMP threads, both sides")
        p.add_argument("--seed", type=int)
        p.add_argument("--pairs", type=int, help="alternating (ours, TRL) pairs")
        p.add_argument("overrides", nargs="*", help="extra recipe overrides for our side (documented differences)")
        if name == "step":
            p.add_argument("--warmup", type=int, help="steps left out of the medians")
            p.add_argument("--steps", type=int, help="measured steps")
            p.add_argument("--label")
            p.add_argument("--sides", nargs="+", default=["ours", "trl"], choices=["ours", "trl"],
                           help="run only one side (no ratio; for models too slow to alternate here)")
            p.add_argument("--profile", action="store_true",
                           help="instead of timing: each side once under py-spy, phases and top frames of its steps")
        else:
            p.add_argument("--target", type=float, default=0.9, help="held-out greedy accuracy to reach")
            p.add_argument("--eval-every", type=int, default=2, help="RL steps between held-out evaluations")
            p.add_argument("--eval-size", type=int, default=100, help="held-out problems per evaluation")
            p.add_argument("--max-steps", type=int, default=60, help="stop here if the target is not reached")
    a = ap.parse_args()
    apply_preset(a)
    {"step": cmd_step, "learn": cmd_learn}[a.cmd](a)


if __name__ == "__main__":
    main()
