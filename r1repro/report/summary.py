"""The run summary as plain rows: overview, key config, stages and timings, hardware, versions.

What: small functions from RunData to lists of (label, value) strings or table rows, shared by
the HTML page and report.md; `flatten(config)` gives dotted keys (also used by the comparison).
Why: the summary is read first; it must say which recipe ran, on what, for how long, and where a
stage failed, even when most files are missing.
"""

from __future__ import annotations

import json
from typing import Any

from r1repro.report.load import SELF, RunData

KEY_CONFIG = ("model.path", "data.template", "sft.enabled", "sft.steps", "rl.algorithm", "rl.advantage",
              "rl.loss", "rl.aggregation", "rl.steps", "rl.prompts_per_step", "rl.group_size", "rl.kl_coef",
              "rl.clip_low", "rl.clip_high", "rl.optim.lr", "rl.sampling.max_new_tokens",
              "rl.sampling.temperature", "eval.checkpoints")
TIMING_KEYS = ("time/generate", "time/score", "time/train", "time/step", "tokens_per_s")


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{"rl": {"loss": "pg"}} -> {"rl.loss": "pg"}; lists stay values."""
    if not isinstance(obj, dict):
        return {prefix: obj} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in obj.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def show(v: Any, limit: int = 160) -> str:
    """A value as one short line: lists of scalars joined, other containers as cut JSON."""
    if isinstance(v, (list, tuple)) and all(not isinstance(x, (dict, list, tuple)) for x in v):
        return ", ".join(show(x) for x in v) or "–"
    if isinstance(v, (dict, list, tuple)):
        text = json.dumps(v, ensure_ascii=False, default=str)
        return text if len(text) <= limit else text[: limit - 1] + "…"
    if isinstance(v, float):
        return f"{v:.4g}"
    return "–" if v is None else str(v)


def overview(run: RunData) -> list[tuple[str, str]]:
    m = run.manifest
    sha = m.get("git_sha")
    rows = [("run", run.name), ("directory", str(run.path)), ("created", show(m.get("created"))),
            ("seed", show(m.get("seed", run.config.get("seed")))),
            ("git sha", sha[:12] if isinstance(sha, str) else "–"),
            ("config hash", str(m.get("config_hash", "–"))[:12])]
    return rows


def key_config(run: RunData) -> list[tuple[str, str]]:
    flat = flatten(run.config)
    return [(k, show(flat[k])) for k in KEY_CONFIG if k in flat]


def stage_rows(run: RunData) -> list[list[str]]:
    rows = []
    for name, e in (run.manifest.get("stages") or {}).items():
        e = e if isinstance(e, dict) else {}
        status = show(e.get("status"))
        if name == SELF and e.get("status") == "running":
            status = "rendering this report"  # the pipeline's report stage, whose time is not known yet
        secs = e.get("seconds")
        rows.append([name, status, f"{secs:.1f}" if isinstance(secs, (int, float)) else "–",
                     show(e.get("started")), show(e.get("ended")), show(e.get("error")) if e.get("error") else ""])
    return rows


def rl_timing(run: RunData) -> list[tuple[str, str]]:
    """Mean over RL steps of each timing metric logged (seconds per step, tokens per second), and the
    RL process's peak resident memory."""
    out = []
    for key in TIMING_KEYS:
        vals = [r[key] for r in run.rl_metrics if isinstance(r.get(key), (int, float))]
        if vals:
            unit = " tok/s" if key == "tokens_per_s" else " s"
            out.append((f"{key} (mean of {len(vals)} steps)", f"{sum(vals) / len(vals):.2f}{unit}"))
    peaks = [r["mem/peak_rss_gb"] for r in run.rl_metrics if isinstance(r.get("mem/peak_rss_gb"), (int, float))]
    if peaks:
        out.append(("peak RSS (RL process)", f"{max(peaks):.2f} GiB"))
    return out


def versions(run: RunData) -> list[tuple[str, str]]:
    return [(k, show(v)) for k, v in (run.manifest.get("versions") or {}).items()]


def hardware(run: RunData) -> list[tuple[str, str]]:
    return [(k, show(v)) for k, v in (run.manifest.get("hardware") or {}).items()]


def headline(run: RunData) -> tuple[list[str], list[list[str]]]:
    """(headers, rows): greedy accuracy of every eval task per checkpoint, and the change from the
    first checkpoint evaluated to the last, with its paired 95% CI when the eval stage wrote one."""
    ckpts = [c for c in ("base", "sft", "rl") if any(c in by for by in run.evals.values())]
    rows = []
    for task in run.tasks:
        accs = [run.evals[task].get(c, {}).get("metrics", {}).get("accuracy") for c in ckpts]
        known = [a for a in accs if isinstance(a, (int, float))]
        change = f"{100 * (known[-1] - known[0]):+.1f} points" if len(known) > 1 else "–"
        first = next((c for c, a in zip(ckpts, accs) if isinstance(a, (int, float))), None)
        last = next((c for c, a in zip(reversed(ckpts), reversed(accs)) if isinstance(a, (int, float))), None)
        paired = (run.evals[task].get(last or "", {}).get("change") or {})
        ci = (paired.get("accuracy") or {}).get("ci95") if len(known) > 1 and paired.get("from") == first else None
        if isinstance(ci, list) and len(ci) == 2:
            change += f" (95% CI {100 * ci[0]:+.1f} to {100 * ci[1]:+.1f})"
        rows.append([task, *[f"{100 * a:.1f}%" if isinstance(a, (int, float)) else "–" for a in accs], change])
    return ["task (greedy accuracy)", *ckpts, "change"], rows


def rl_curve_line(run: RunData) -> str:
    """'Held-out greedy accuracy during RL: 33.5% at step 0 -> 97.5% at step 40' (rl.eval_every), or ''."""
    curve = [(r["step"], r["eval/accuracy"]) for r in run.rl_metrics if isinstance(r.get("eval/accuracy"), (int, float))]
    if len(curve) < 2:
        return ""
    (s0, a0), (s1, a1) = curve[0], curve[-1]
    return f"Held-out greedy accuracy during RL: {100 * a0:.1f}% at step {s0} → {100 * a1:.1f}% at step {s1}."


def target_script(run: RunData) -> str:
    """The script the run's language-consistency reward targets (rl.rewards.language.script), else latin:
    what the trace browser marks as foreign."""
    spec = ((run.config.get("rl") or {}).get("rewards") or {}).get("language")
    return str(spec.get("script", "latin")) if isinstance(spec, dict) else "latin"
