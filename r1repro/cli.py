"""Command line: `r1repro run|prepare|sft|rl|eval|report|config`.

    r1repro run recipes/quickstart.yaml                      # every stage, end to end
    r1repro run recipes/quickstart.yaml rl.steps=10 --force  # dotted overrides; --force starts over
    r1repro run recipes/quickstart.yaml --resume             # continue an interrupted run
    r1repro rl recipes/quickstart.yaml                       # one stage of a run
    r1repro eval --model PATH --task gsm8k --limit 200 --k 4 # any HF checkpoint, no recipe
    r1repro report runs/a runs/b --out runs/compare          # one run, or several side by side
    r1repro config recipes/quickstart.yaml --describe        # resolved config, or every field's doc
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from r1repro.checks import check_recipe
from r1repro.config import STAGES, RecipeError, load_recipe, to_yaml
from r1repro.data.schema import DataError
from r1repro.rundir import RunDirError, RunPaths

log = logging.getLogger("r1repro")

RECIPE_HELP = "recipe YAML (see recipes/); `base:` inherits another recipe"
OVERRIDE_HELP = "dotted overrides applied after the recipe, e.g. rl.optim.lr=1e-6 rl.steps=10"


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("recipe", help=RECIPE_HELP)
    p.add_argument("overrides", nargs="*", metavar="key=value", help=OVERRIDE_HELP)
    p.add_argument("--run-dir", help="run directory (default: <runs_dir>/<name> from the recipe)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run/stage from its last checkpoint")
    p.add_argument("--force", action="store_true",
                   help="`run`: delete an existing run directory and start over; a stage command: redo a finished stage")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="r1repro", description="R1-Zero-style RL with verifiable rewards.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a recipe's stages end to end", description="Run a recipe's stages in order.")
    _add_run_args(p)
    p.add_argument("--stages", help=f"comma-separated subset of {','.join(STAGES)} (default: the recipe's stages)")
    p.add_argument("--dry-run", action="store_true",
                   help="build data, grader, rewards and trainer pieces, check them, and stop before loading weights")
    for stage, what in [("prepare", "load, dedupe, decontaminate data; build the embedded model"),
                        ("sft", "teacher forcing on worked solutions"), ("rl", "reinforcement learning")]:
        _add_run_args(sub.add_parser(stage, help=what, description=f"The {stage} stage of a run: {what}."))
    p = sub.add_parser("eval", help="evaluate a run's checkpoints, or any HF checkpoint on a task",
                       description="Either `r1repro eval RECIPE` (the eval stage of a run) or "
                                   "`r1repro eval --model PATH --task NAME` (no recipe needed).")
    p.add_argument("recipe", nargs="?", help=RECIPE_HELP)
    p.add_argument("overrides", nargs="*", metavar="key=value", help=OVERRIDE_HELP)
    p.add_argument("--run-dir", help="run directory (with a recipe)")
    p.add_argument("--resume", action="store_true", help="keep already graded samples and continue")
    p.add_argument("--force", action="store_true", help="redo a finished eval stage")
    p.add_argument("--model", help="checkpoint directory or hub id (without a recipe)")
    p.add_argument("--task", action="append", help="task name (evals/<name>.yaml) or YAML path; repeatable")
    p.add_argument("--limit", type=int, help="first N problems only")
    p.add_argument("--k", type=int, help="samples per problem for pass@k/maj@k (overrides the task)")
    p.add_argument("--max-new-tokens", type=int, help="completion budget (overrides the task)")
    p.add_argument("--batch-size", type=int, help="sequences generated together (overrides sampling.batch_size)")
    p.add_argument("--template", help="prompt template (default: the task's, else the one the checkpoint was "
                                      "trained with, from its meta.json, else chat/boxed)")
    p.add_argument("--data-dir", help="data directory (default: $R1REPRO_DATA or ../shared/data)")
    p.add_argument("--out", help="output directory (default: runs/eval/<model name>)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p = sub.add_parser("report", help="render a run's report, or compare runs",
                       description="Render runs/<name>/report/ for one run, or a comparison of several.")
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--out", help="output directory for a comparison (default: runs/compare)")
    p.add_argument("--traces", type=int, default=12, help="problems shown in the trace browser")
    p = sub.add_parser("config", help="print a resolved recipe, or document every field",
                       description="Print the resolved config of a recipe (after base: and overrides).")
    p.add_argument("recipe", nargs="?", help=RECIPE_HELP)
    p.add_argument("overrides", nargs="*", metavar="key=value", help=OVERRIDE_HELP)
    p.add_argument("--describe", action="store_true", help="list every field with its type, default and doc")
    return ap


def _open(args, cfg, *, create_mode: str):
    from r1repro.pipeline import open_run

    run_dir = Path(args.run_dir) if args.run_dir else Path(cfg.runs_dir) / cfg.name
    if create_mode == "run":
        return open_run(cfg, run_dir, force=args.force, resume=args.resume)
    # a stage command opens the run if it exists (whatever the stage state), else creates it
    exists = RunPaths(run_dir).manifest.exists()
    return open_run(cfg, run_dir, resume=exists, strict_config=False)


def load(args, stages: Sequence[str] | None = None):
    """The recipe, with every name, option and (for `stages`) input path checked: before any file is
    written (r1repro.checks); `stages` None: the recipe's own."""
    origins: dict[str, str] = {}
    cfg = load_recipe(args.recipe, args.overrides, origins=origins)
    check_recipe(cfg, origins, stages=cfg.stages if stages is None else stages)
    return cfg


def cmd_run(args) -> None:
    from r1repro.pipeline import run_stages

    stages = args.stages.split(",") if args.stages else None
    bad = [s for s in stages or () if s not in STAGES]
    if bad:
        raise RecipeError(f"--stages: unknown stage(s) {', '.join(bad)}; known: {', '.join(STAGES)}")
    cfg = load(args, stages)
    if args.dry_run:
        import tempfile

        from r1repro.pipeline import dry_run

        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(dry_run(cfg, tmp), indent=2))
        return
    stages = stages or list(cfg.stages)
    run = _open(args, cfg, create_mode="run")
    run_stages(cfg, run, stages, resume=args.resume)
    log.info("run finished: %s", run.path)


def cmd_stage(args) -> None:
    from r1repro.pipeline import run_stages

    cfg = load(args, [args.command])
    run = _open(args, cfg, create_mode="stage")
    status = run.status(args.command)
    if status == "done" and not args.force:
        raise RunDirError(f"stage {args.command!r} already finished in {run.path}; pass --force to redo it")
    if status in ("running", "failed") and not args.resume and not args.force:
        log.info("stage %s was %s; starting it over, which deletes its checkpoints (pass --resume to continue "
                 "from the last one)", args.command, status)
    run_stages(cfg, run, [args.command], resume=args.resume, redo=True)


def cmd_eval(args) -> None:
    if args.recipe:
        if args.model or args.task:
            raise RecipeError("give either a recipe, or --model with --task, not both")
        return cmd_stage(args)
    if not (args.model and args.task):
        raise RecipeError("r1repro eval needs a recipe, or --model PATH and --task NAME")
    from r1repro.evals.standalone import eval_checkpoint
    from r1repro.rundir import setup_logging

    setup_logging(None)
    for task in args.task:
        summary = eval_checkpoint(args.model, task, limit=args.limit, k=args.k, max_new_tokens=args.max_new_tokens,
                                  batch_size=args.batch_size, template=args.template, data_dir=args.data_dir,
                                  out=args.out, seed=args.seed)
        print(json.dumps({"task": task, "model": args.model, "n": summary["n"], **summary["metrics"]}, indent=2))


def cmd_report(args) -> None:
    from r1repro.report import render_comparison, render_run

    if len(args.runs) == 1:
        if args.out:
            raise RecipeError(f"--out is for a comparison of several runs; the report of one run is written "
                              f"to its own directory ({Path(args.runs[0]) / 'report'})")
        paths = render_run(Path(args.runs[0]), traces=args.traces)
    else:
        paths = render_comparison([Path(r) for r in args.runs], Path(args.out or "runs/compare"))
    for key, p in paths.items():
        print(f"{key}: {p}")


def cmd_config(args) -> None:
    from r1repro.config import describe

    if args.describe:
        from r1repro.checks import valid_names

        print("\n".join(describe(valid=valid_names())))
        return
    if not args.recipe:
        raise RecipeError("r1repro config needs a recipe (or --describe)")
    print(to_yaml(load(args, stages=())), end="")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides may also follow options (`r1repro rl R.yaml --force rl.steps=3`)
    stray = [a for a in extra if a.startswith("-") or "=" not in a or not hasattr(args, "overrides")]
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    if extra:
        args.overrides = [*(args.overrides or []), *extra]
    from r1repro.rundir import setup_logging

    setup_logging(None)
    handlers = {"run": cmd_run, "prepare": cmd_stage, "sft": cmd_stage, "rl": cmd_stage, "eval": cmd_eval,
                "report": cmd_report, "config": cmd_config}
    try:
        handlers[args.command](args)
    except (RecipeError, RunDirError, DataError, FileNotFoundError) as e:
        print(f"r1repro: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
