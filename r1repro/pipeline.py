"""The staged pipeline: prepare -> sft -> rl -> eval -> report, over one run directory.

Each stage is a function (cfg, run, resume) that reads its inputs through the manifest. The
`prepare` stage writes the data and, for the embedded model, trains its tokenizer on the training
text and initialises the weights (runs/<name>/base/), so every later stage loads a real checkpoint.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from r1repro.config import Recipe, config_hash, to_yaml
from r1repro.rundir import RunDir, setup_logging

log = logging.getLogger("r1repro")


def run_prepare(cfg: Recipe, run: RunDir, *, resume: bool = False) -> dict:
    from r1repro.data.prepare import prepare
    from r1repro.data.schema import read_jsonl
    from r1repro.data.templates import TEMPLATES, sft_target

    with run.stage("prepare") as st:
        evals = {name: task.dataset for name, task in cfg.eval.tasks.items()}
        card = prepare(cfg.data.train, evals, run.paths.data, data_dir=cfg.data.dir, seed=cfg.seed,
                       dedupe=cfg.data.dedupe, decontaminate=cfg.data.decontaminate, ngram=cfg.data.ngram,
                       skip_bad=cfg.data.skip_bad, shuffle=cfg.data.shuffle)
        st.output("train", run.paths.train_data())
        st.output("card", run.paths.card)
        for name in evals:
            st.output(f"eval-{name}", run.paths.eval_data(name))
        st.inputs.update(card.get("inputs", {}))
        if cfg.model.path == "tiny":
            from r1repro.models import make_tiny

            template = TEMPLATES[cfg.data.template]
            train = read_jsonl(run.paths.train_data())
            texts = [template.prompt(p.question) + sft_target(template, p) for p in train]
            make_tiny(cfg.model.tiny, texts, run.paths.base, cfg.seed, meta={"template": cfg.data.template})
            st.output("base_model", "base")
    return card


def run_report(cfg: Recipe, run: RunDir, *, resume: bool = False) -> dict:
    from r1repro.report import render_run

    with run.stage("report") as st:
        paths = render_run(run.path, traces=cfg.report.traces)
        for key, p in paths.items():
            st.output(key, p)
    return paths


def stage_fn(name: str):
    if name == "prepare":
        return run_prepare
    if name == "sft":
        from r1repro.train.sft import run_sft

        return run_sft
    if name == "rl":
        from r1repro.train.rl import run_rl

        return run_rl
    if name == "eval":
        from r1repro.evals.harness import run_eval

        return run_eval
    if name == "report":
        return run_report
    raise ValueError(f"unknown stage {name!r}")


def enabled(cfg: Recipe, stage: str) -> bool:
    return {"sft": cfg.sft.enabled, "rl": cfg.rl.enabled, "eval": cfg.eval.enabled,
            "report": cfg.report.enabled}.get(stage, True)


def open_run(cfg: Recipe, run_dir: str | Path | None = None, *, force: bool = False, resume: bool = False,
             strict_config: bool = True) -> RunDir:
    from r1repro import dist
    from r1repro.checks import check_recipe

    check_recipe(cfg)  # a bad name fails here, before the run directory exists (the CLI checked already)
    path = Path(run_dir) if run_dir else Path(cfg.runs_dir) / cfg.name
    dist.init()  # under torchrun rank 0 creates (or checks) the run; the others read it afterwards
    run = dist.main_first(lambda: RunDir.open(path, config_yaml=to_yaml(cfg), config_hash=config_hash(cfg),
                                               seed=cfg.seed, force=force, resume=resume,
                                               strict_config=strict_config))
    if run is None:
        run = RunDir.load(path)
        run.config_hash = config_hash(cfg)
    setup_logging(run.path)
    return run


def run_stages(cfg: Recipe, run: RunDir, stages: Sequence[str], *, resume: bool = False,
               redo: bool = False) -> None:
    """Run the stages in order. With resume, finished stages are skipped and unfinished ones continue.

    Under torchrun the rl stage runs on every rank; the other stages run on rank 0 while the other
    ranks wait, then re-read the manifest (docs/scaling.md).
    """
    import torch

    from r1repro import dist
    from r1repro.models import set_mmap_threshold

    if cfg.model.threads:
        torch.set_num_threads(cfg.model.threads)
    if cfg.model.mmap_threshold_mib:
        set_mmap_threshold(cfg.model.mmap_threshold_mib)
    for name in stages:
        if not enabled(cfg, name):
            log.info("stage %s: disabled in the recipe", name)
            continue
        status = run.status(name)
        if status == "done" and not redo:
            log.info("stage %s: already done, skipping", name)
            continue
        t0 = time.time()
        log.info("stage %s: %s", name, "resuming" if status in ("running", "failed") and resume else "starting")
        go = functools.partial(stage_fn(name), cfg, run, resume=resume and status in ("running", "failed"))
        if name == "rl":
            go()
        else:
            dist.main_first(go)
            if not dist.is_main():
                run.manifest = RunDir.load(run.path).manifest
        log.info("stage %s: done in %.1f s", name, time.time() - t0)


def dry_run(cfg: Recipe, out_dir: str | Path) -> dict:
    """Resolve and build everything a run needs except the model weights, and check it fits together.

    Checks every name, option and input path (r1repro.checks), then builds the data (prepare into
    out_dir), the prompt template, the grader and rewards (a gold answer written in the template's
    format must score the full correctness reward); loads no weights and imports neither
    transformers nor vllm.
    """
    from r1repro.checks import check_recipe
    from r1repro.data.prepare import prepare
    from r1repro.data.schema import read_jsonl
    from r1repro.data.templates import TEMPLATES, sft_target
    from r1repro.rewards import Scorer

    rc = cfg.rl
    check_recipe(cfg, stages=cfg.stages)  # every registered name and loader option (the CLI did it already)
    template = TEMPLATES[cfg.data.template]
    pieces = {"advantage": rc.advantage, "loss": rc.loss, "aggregation": rc.aggregation, "kl": rc.kl_estimator,
              "rewards": sorted(rc.rewards)}
    evals = {name: task.dataset for name, task in cfg.eval.tasks.items()}
    card = prepare(cfg.data.train, evals, Path(out_dir), data_dir=cfg.data.dir, seed=cfg.seed, dedupe=cfg.data.dedupe,
                   decontaminate=cfg.data.decontaminate, ngram=cfg.data.ngram, skip_bad=cfg.data.skip_bad,
                   shuffle=cfg.data.shuffle)
    train = read_jsonl(Path(out_dir) / "train.jsonl")
    if len(train) < rc.prompts_per_step:
        raise ValueError(f"only {len(train)} training problems for rl.prompts_per_step={rc.prompts_per_step}")
    weights = {"correct": 1.0, **({"format": 1.0} if "format" in rc.rewards else {})}
    scorer = Scorer(weights, policy=cfg.grader, answer_format=template.answer_format)
    probe = train[: min(64, len(train))]
    # the reference answer, in the template's own answer format, must be graded correct (and, with a
    # format reward, earn it)
    responses = [template.response_prefix + sft_target(template, p) for p in probe]
    result = scorer(responses, [p.gold for p in probe], [p.meta for p in probe])
    formatted = result.components.get("format", [1.0] * len(probe))
    failed = [(p.id, p.gold, v.reason if not v.correct else "format")
              for p, v, f in zip(probe, result.verdicts, formatted) if not v.correct or f != 1.0]
    if failed:
        raise ValueError(f"the grader rejects {len(failed)} reference answers, e.g. {failed[:3]}")
    return {"train": len(train), "eval": {k[5:]: v["count"] for k, v in card["outputs"].items() if k.startswith("eval-")},
            "pieces": sorted(pieces), "probe": len(probe), "template": template.name,
            "updates": rc.steps * rc.epochs * rc.minibatches, "model": cfg.model.path}
