"""Training curves as small PNG images, one panel per quantity.

What: `run_charts(run)` and `overlay_charts(runs)` return `Chart`s (file name, title, PNG bytes)
for the RL panels in RL_PANELS and the SFT panels in SFT_PANELS; a panel whose keys were never
logged is skipped and named in the returned `absent` list.
Why: the same PNG is written next to report.md and embedded (base64) in index.html, so both
show identical pictures and the HTML stays one self-contained file.
How: matplotlib's object API (Figure + Agg canvas, no pyplot state), 4.2 x 2.6 in at 90 dpi,
reduced to a 64-colour palette with Pillow (a matplotlib dependency).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from r1repro.report.load import RunData


@dataclass(frozen=True)
class Panel:
    name: str                   # file stem
    title: str
    keys: tuple[str, ...]       # metric keys plotted as lines
    ylabel: str                 # quantity and unit
    labels: tuple[str, ...] = ()  # legend entries for keys (default: the keys)


RL_PANELS = (
    Panel("rl_reward", "Reward", ("reward/mean", "reward/correct", "reward/format"), "reward per sample"),
    Panel("rl_heldout", "Held-out accuracy during RL", ("eval/accuracy",), "fraction correct (greedy)"),
    Panel("rl_accuracy", "Training accuracy", ("acc/train",), "fraction correct"),
    Panel("rl_work", "Shows its work", ("work/rate", "eval/work_rate"), "share of completions",
          ("RL samples", "held-out, greedy")),
    Panel("rl_format", "Format rate", ("format/rate", "eval/format"), "fraction in the template's answer format",
          ("RL samples", "held-out, greedy")),
    Panel("rl_length", "Completion length", ("length/mean", "length/max"), "tokens"),
    Panel("rl_truncated", "Truncation rate", ("length/truncated",), "fraction truncated"),
    Panel("rl_kl", "KL to reference", ("kl",), "nats per token"),
    Panel("rl_entropy", "Entropy", ("entropy",), "nats per token"),
    Panel("rl_clip", "Clip fraction", ("clip/frac",), "fraction of tokens"),
    Panel("rl_langmix", "Language mixing", ("lang/mixed_share", "eval/lang_mixed_share"), "share of completions",
          ("RL samples", "held-out, greedy")),
    Panel("rl_reflection", "Reflection rate", ("reflection/rate",), "share of completions"),
)
SFT_PANELS = (
    Panel("sft_loss", "SFT loss", ("loss/train", "loss/eval"), "cross-entropy (nats/token)"),
    Panel("sft_accuracy", "SFT eval accuracy", ("acc/eval",), "fraction correct"),
)


@dataclass(frozen=True)
class Chart:
    name: str    # file stem, e.g. "rl_reward"
    title: str
    png: bytes

    @property
    def filename(self) -> str:
        return f"{self.name}.png"


Series = tuple[str, list[float], list[float]]  # label, steps, values


def series(records: Sequence[dict], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of the finite numeric values of `key`."""
    xs, ys = [], []
    for r in records:
        v = r.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            xs.append(r["step"])
            ys.append(float(v))
    return xs, ys


def plot_png(title: str, ylabel: str, lines: Sequence[Series], xlabel: str = "step") -> bytes:
    """One small line chart as PNG bytes."""
    fig = Figure(figsize=(4.2, 2.6), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, xs, ys in lines:
        ax.plot(xs, ys, label=label, linewidth=1.4, marker="o" if len(xs) <= 3 else None, markersize=3)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(lines) > 1:
        ax.legend(fontsize=7, frameon=False)
    fig.subplots_adjust(left=0.16, right=0.97, top=0.88, bottom=0.19)  # fixed: tight_layout costs 1/3
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return _palette_png(buf.getvalue())


def _palette_png(png: bytes, colors: int = 64) -> bytes:
    """The same picture with a 64-colour palette: about 3x smaller, which keeps index.html light."""
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=colors)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _lines(panel: Panel, label: str, records: Sequence[dict], overlay: bool) -> list[Series]:
    """One line per logged key; overlaid runs get only the panel's first logged key, named by run."""
    lines = []
    for i, key in enumerate(panel.keys):
        xs, ys = series(records, key)
        if xs:
            lines.append((label if overlay else (panel.labels[i] if i < len(panel.labels) else key), xs, ys))
    return lines[:1] if overlay else lines


def _charts(panels, sources: Sequence[tuple[str, Sequence[dict]]], overlay: bool):
    """Charts for panels over (label, records) sources, plus the titles of panels with no data."""
    charts, absent = [], []
    for p in panels:
        lines = [line for label, records in sources for line in _lines(p, label, records, overlay)]
        if lines:
            charts.append(Chart(p.name, p.title, plot_png(p.title, p.ylabel, lines)))
        else:
            absent.append(f"{p.title} ({', '.join(p.keys)})")
    return charts, absent


def run_charts(run: RunData) -> tuple[list[Chart], list[str]]:
    """RL then SFT charts of one run, and the panels that had no data."""
    rl, rl_absent = _charts(RL_PANELS, [("rl", run.rl_metrics)], overlay=False) if run.rl_metrics else ([], [])
    sft, sft_absent = _charts(SFT_PANELS, [("sft", run.sft_metrics)], overlay=False) if run.sft_metrics \
        else ([], [])
    return rl + sft, rl_absent + sft_absent


def overlay_charts(runs: Sequence[RunData]) -> tuple[list[Chart], list[str]]:
    """Each panel with one line per run: the panel's first logged key (reward/mean, length/mean, ...)."""
    rl, a = _charts(RL_PANELS, [(r.name, r.rl_metrics) for r in runs], overlay=True)
    sft, b = _charts(SFT_PANELS, [(r.name, r.sft_metrics) for r in runs], overlay=True)
    return rl + sft, a + b
