"""What GRPO's division by the group std does to the learning signal, next to RLOO and Dr. GRPO.

What: for groups of k=8 binary rewards with c correct (c = 0..8) it prints the advantage magnitude
of a correct and of an incorrect sample under ADVANTAGES["grpo"] (sample std, eps 1e-4 like TRL),
["rloo"] and ["dr_grpo"], and the total |advantage| of the group (how hard the group pushes).
Then, for groups with exactly one correct answer, it prints the same for k = 2..64.

Why: with binary rewards the group std is sqrt(p(1-p) k/(k-1)), smallest for groups that almost all
pass or all fail; dividing by it makes a 1-of-8 group push as hard as a 4-of-8 group per unit of
centred reward (the last column, grpo / dr_grpo = 1 / (std + eps), is that per-group factor).
Dr. GRPO drops the division (and RLOO is Dr. GRPO times k/(k-1)); the table shows
the size of the effect exactly, without training anything.

How: `python benchmarks/std_normalisation.py` (a second) prints both tables and writes
benchmarks/results/std_normalisation.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "std_normalisation.json"
sys.path.insert(0, str(ROOT))  # run as a script from a checkout, installed or not

ESTIMATORS = ("grpo", "rloo", "dr_grpo")


def group_row(k: int, c: int) -> dict:
    """Advantages of one group with c of k correct: |A| of a correct / incorrect sample, sum |A|."""
    import torch

    from r1repro.algos import ADVANTAGES

    rewards = torch.tensor([[1.0] * c + [0.0] * (k - c)], dtype=torch.float64)  # (1, k)
    row: dict = {"k": k, "correct": c}
    for name in ESTIMATORS:
        adv = ADVANTAGES[name](rewards)[0]  # (k,)
        row[name] = {
            "correct": abs(float(adv[0])) if c > 0 else None,
            "incorrect": abs(float(adv[-1])) if c < k else None,
            "sum_abs": float(adv.abs().sum()),
        }
    dr = row["dr_grpo"]["sum_abs"]
    row["grpo_over_dr_grpo"] = row["grpo"]["sum_abs"] / dr if dr > 0 else None  # = 1 / (std + eps)
    return row


def _fmt(x: float | None) -> str:
    return f"{x:9.3f}" if x is not None else "        -"


def print_table(title: str, rows: list[dict], key: str) -> None:
    print(title)
    head = f"{key:>7} " + " ".join(f"{n + ' +':>9} {n + ' -':>9} {'sum':>7}" for n in ESTIMATORS)
    print(head + "  grpo/dr_grpo")
    for r in rows:
        cells = " ".join(
            f"{_fmt(r[n]['correct'])} {_fmt(r[n]['incorrect'])} {r[n]['sum_abs']:7.3f}" for n in ESTIMATORS
        )
        print(f"{r[key]:>7} {cells}  {_fmt(r['grpo_over_dr_grpo'])}")
    print()


def main() -> None:
    by_c = [group_row(8, c) for c in range(9)]
    one_of_k = [group_row(k, 1) for k in (2, 4, 8, 16, 32, 64)]
    print_table(
        "k=8 groups, c correct: |A| of a correct (+) and an incorrect (-) sample, sum of |A|", by_c, "correct"
    )
    print_table("groups with 1 correct of k", one_of_k, "k")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    note = "grpo: sample std, eps=1e-4 added to the std (TRL); rloo: leave-one-out mean; dr_grpo: r - mean"
    RESULTS.write_text(
        json.dumps({"note": note, "k8_by_correct": by_c, "one_of_k": one_of_k}, indent=2) + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
