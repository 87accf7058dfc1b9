"""`r1repro eval --model PATH --task NAME`: evaluate any checkpoint on a task, no recipe or run needed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from r1repro.config import load_task
from r1repro.data.loaders import load_source
from r1repro.evals.harness import evaluate
from r1repro.models import load_model


def eval_checkpoint(model_path: str, task_name: str, *, limit: int | None = None, k: int | None = None,
                    max_new_tokens: int | None = None, batch_size: int | None = None,
                    template: str | None = None, data_dir: str | None = None,
                    out: str | None = None, seed: int = 0, resume: bool = True) -> dict:
    task = load_task(task_name)
    if k is not None:
        task = dataclasses.replace(task, k=k)
    if max_new_tokens is not None:
        task = dataclasses.replace(task, sampling=dataclasses.replace(task.sampling, max_new_tokens=max_new_tokens))
    if batch_size is not None:
        task = dataclasses.replace(task, sampling=dataclasses.replace(task.sampling, batch_size=batch_size))
    problems = load_source(task.dataset, data_dir, seed=seed).problems
    problems = problems[:limit] if limit else problems
    model, tokenizer = load_model(model_path)
    template = template or task.template or ("chat" if getattr(tokenizer, "chat_template", None) else "boxed")
    name = Path(task_name).stem
    out_dir = Path(out) / name if out else Path("runs") / "eval" / Path(model_path.rstrip("/")).name / name
    meta = {"task": name, "checkpoint": Path(model_path).name, "model": model_path}
    return evaluate(model, tokenizer, task, problems, out_dir, template_name=template, meta=meta, seed=seed,
                    resume=resume)
